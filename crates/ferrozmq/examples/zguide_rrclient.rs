//! Request-reply client (zguide chapter 2, `rrclient`): a plain REQ client
//! that talks to a broker instead of to a server, so any number of workers
//! can stand behind it. It sends "Hello" ten times and prints the replies.
//!
//! The client code is exactly the Hello World client's: the broker in the
//! middle is invisible to it.
//!
//! ```text
//! cargo run -p ferrozmq --example zguide_rrbroker     # or zguide_msgqueue
//! cargo run -p ferrozmq --example zguide_rrworker
//! cargo run -p ferrozmq --example zguide_rrclient
//! ```
//!
//! Options: `--connect ENDPOINT` (the broker's frontend; default
//! `tcp://localhost:5559`), `--count N` (requests; default 10).

use ferrozmq::{Context, SocketType};
use std::str::FromStr;

const USAGE: &str = "zguide_rrclient [--connect ENDPOINT] [--count N]";

struct Options {
    connect: String,
    count: u64,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options { connect: "tcp://localhost:5559".into(), count: 10 };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--connect" => o.connect = value(&mut args, &flag),
                "--count" => o.count = value(&mut args, &flag),
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
    let requester = ctx.socket(SocketType::Req)?;
    requester.connect(&opts.connect)?;

    for n in 0..opts.count {
        requester.send("Hello", 0)?;
        let reply = requester.recv_msg(0)?;
        println!("Received reply {n} [{}]", String::from_utf8_lossy(&reply));
    }
    Ok(())
}
