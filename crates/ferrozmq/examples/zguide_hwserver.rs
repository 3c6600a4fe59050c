//! Hello World server (zguide chapter 1, `hwserver`): the REP end of the
//! request-reply pattern. It binds a REP socket and answers every request
//! with "World" after pretending to work on it.
//!
//! A REP socket receives one request, then must send exactly one reply
//! before it can receive the next; the envelope that routes the reply back
//! to the right client is handled for you.
//!
//! Run it, then the client in another terminal:
//!
//! ```text
//! cargo run -p ferrozmq --example zguide_hwserver
//! cargo run -p ferrozmq --example zguide_hwclient
//! ```
//!
//! Options: `--bind ENDPOINT` (default `tcp://*:5555`), `--count N` (exit
//! after answering N requests; default: serve forever), `--work-ms MS` (the
//! simulated work per request; default 1000).

use ferrozmq::{Context, SocketType};
use std::str::FromStr;
use std::time::Duration;

const USAGE: &str = "zguide_hwserver [--bind ENDPOINT] [--count N] [--work-ms MS]";

struct Options {
    bind: String,
    count: Option<u64>,
    work: Duration,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options { bind: "tcp://*:5555".into(), count: None, work: Duration::from_millis(1000) };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--bind" => o.bind = value(&mut args, &flag),
                "--count" => o.count = Some(value(&mut args, &flag)),
                "--work-ms" => o.work = Duration::from_millis(value(&mut args, &flag)),
                _ => usage(),
            }
        }
        o
    }
}

fn value<T: FromStr>(args: &mut impl Iterator<Item = String>, flag: &str) -> T {
    args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        eprintln!("{flag} needs a valid value");
        usage()
    })
}

fn usage() -> ! {
    eprintln!("usage: {USAGE}");
    std::process::exit(2)
}

fn main() -> Result<(), ferrozmq::Error> {
    let opts = Options::parse();
    let ctx = Context::new();
    let responder = ctx.socket(SocketType::Rep)?;
    responder.bind(&opts.bind)?;
    println!("Hello World server listening on {}", responder.last_endpoint()?);

    let mut served = 0u64;
    while opts.count.is_none_or(|n| served < n) {
        let request = responder.recv_msg(0)?;
        println!("Received {}", String::from_utf8_lossy(&request));
        std::thread::sleep(opts.work); // "Do some work"
        responder.send("World", 0)?;
        served += 1;
    }
    // Dropping the socket and the context lingers until the last reply has
    // been handed to the network.
    println!("Served {served} requests, exiting");
    Ok(())
}
