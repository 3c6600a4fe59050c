//! Hello World client (zguide chapter 1, `hwclient`): the REQ end of the
//! request-reply pattern. It connects a REQ socket to the Hello World server,
//! sends "Hello" ten times and waits for each "World".
//!
//! A REQ socket strictly alternates: send one request, receive one reply.
//! The connection is made in the background, so the client may start before
//! the server; the first request simply waits in the queue.
//!
//! ```text
//! cargo run -p ferrozmq --example zguide_hwserver
//! cargo run -p ferrozmq --example zguide_hwclient
//! ```
//!
//! Options: `--connect ENDPOINT` (default `tcp://localhost:5555`),
//! `--count N` (requests to send; default 10).

use ferrozmq::{Context, SocketType};
use std::str::FromStr;

const USAGE: &str = "zguide_hwclient [--connect ENDPOINT] [--count N]";

struct Options {
    connect: String,
    count: u64,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options { connect: "tcp://localhost:5555".into(), count: 10 };
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
    println!("Connecting to hello world server at {}...", opts.connect);
    let requester = ctx.socket(SocketType::Req)?;
    requester.connect(&opts.connect)?;

    for n in 0..opts.count {
        println!("Sending Hello {n}...");
        requester.send("Hello", 0)?;
        let reply = requester.recv_msg(0)?;
        println!("Received {} {n}", String::from_utf8_lossy(&reply));
    }
    Ok(())
}
