//! Hello World server on tokio (zguide chapter 1, `hwserver`, with the
//! async API): a REP socket that answers every request with "World" after
//! pretending to work on it. It is interchangeable with `zguide_hwserver`:
//! the same options, the same output, and any REQ client can talk to it —
//! the blocking `zguide_hwclient`, `async_hwclient` or a libzmq program.
//!
//! ```text
//! cargo run -p ferrozmq --example async_hwserver
//! cargo run -p ferrozmq --example async_hwclient     # or zguide_hwclient
//! ```
//!
//! Options: `--bind ENDPOINT` (default `tcp://*:5555`), `--count N` (exit
//! after answering N requests; default: serve forever), `--work-ms MS` (the
//! simulated work per request, an async sleep; default 1000).
#![cfg_attr(not(feature = "tokio"), allow(dead_code, unused_imports))]

use ferrozmq::{Context, SocketType};
use std::str::FromStr;
use std::time::Duration;

const USAGE: &str = "async_hwserver [--bind ENDPOINT] [--count N] [--work-ms MS]";

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

#[cfg(feature = "tokio")]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), ferrozmq::Error> {
    use ferrozmq::AsyncContextExt;

    let opts = Options::parse();
    let ctx = Context::new();
    let responder = ctx.async_socket(SocketType::Rep)?;
    responder.bind(&opts.bind)?;
    println!("Hello World server listening on {}", responder.last_endpoint()?);

    let mut served = 0u64;
    while opts.count.is_none_or(|n| served < n) {
        let request = responder.recv().await?;
        println!("Received {}", String::from_utf8_lossy(&request));
        tokio::time::sleep(opts.work).await; // "Do some work" without blocking the runtime
        responder.send("World").await?;
        served += 1;
    }
    // Dropping the socket and the context lingers until the last reply has
    // been handed to the network.
    println!("Served {served} requests, exiting");
    Ok(())
}

#[cfg(not(feature = "tokio"))]
fn main() {
    eprintln!("{USAGE}: needs ferrozmq's `tokio` feature (on by default)");
    std::process::exit(2)
}
