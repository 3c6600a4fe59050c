//! Request-reply worker (zguide chapter 2, `rrworker`): a REP service that
//! connects to a broker's backend (instead of binding, as the Hello World
//! server does), so workers can come and go while clients see one address.
//!
//! ```text
//! cargo run -p ferrozmq --example zguide_rrbroker     # or zguide_msgqueue
//! cargo run -p ferrozmq --example zguide_rrworker
//! cargo run -p ferrozmq --example zguide_rrclient
//! ```
//!
//! Options: `--connect ENDPOINT` (the broker's backend; default
//! `tcp://localhost:5560`), `--count N` (exit after N requests; default:
//! serve forever), `--work-ms MS` (simulated work; default 1000).

use ferrozmq::{Context, SocketType};
use std::str::FromStr;
use std::time::Duration;

const USAGE: &str = "zguide_rrworker [--connect ENDPOINT] [--count N] [--work-ms MS]";

struct Options {
    connect: String,
    count: Option<u64>,
    work: Duration,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options { connect: "tcp://localhost:5560".into(), count: None, work: Duration::from_millis(1000) };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--connect" => o.connect = value(&mut args, &flag),
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
    responder.connect(&opts.connect)?;

    let mut served = 0u64;
    while opts.count.is_none_or(|n| served < n) {
        let request = responder.recv_msg(0)?;
        println!("Received request: [{}]", String::from_utf8_lossy(&request));
        std::thread::sleep(opts.work); // "Do some work"
        responder.send("World", 0)?;
        served += 1;
    }
    Ok(())
}
