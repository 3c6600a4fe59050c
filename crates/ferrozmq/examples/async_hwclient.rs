//! Hello World client on tokio (zguide chapter 1, `hwclient`, with the
//! async API): a REQ socket that sends "Hello" and awaits each "World".
//! Interchangeable with `zguide_hwclient` (same options and output); talks
//! to any REP server — `async_hwserver`, the blocking `zguide_hwserver`, or
//! a libzmq program.
//!
//! The connection is made in the background, so the client may start before
//! the server; the first request simply waits in the queue.
//!
//! ```text
//! cargo run -p ferrozmq --example async_hwserver     # or zguide_hwserver
//! cargo run -p ferrozmq --example async_hwclient
//! ```
//!
//! Options: `--connect ENDPOINT` (default `tcp://localhost:5555`),
//! `--count N` (requests to send; default 10).
#![cfg_attr(not(feature = "tokio"), allow(dead_code, unused_imports))]

use ferrozmq::{Context, SocketType};
use std::str::FromStr;

const USAGE: &str = "async_hwclient [--connect ENDPOINT] [--count N]";

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

#[cfg(feature = "tokio")]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), ferrozmq::Error> {
    use ferrozmq::AsyncContextExt;

    let opts = Options::parse();
    let ctx = Context::new();
    println!("Connecting to hello world server at {}...", opts.connect);
    let requester = ctx.async_socket(SocketType::Req)?;
    requester.connect(&opts.connect)?;

    for request_nbr in 0..opts.count {
        println!("Sending Hello {request_nbr}...");
        requester.send("Hello").await?;
        let reply = requester.recv().await?;
        println!("Received {} {request_nbr}", String::from_utf8_lossy(&reply));
    }
    Ok(())
}

#[cfg(not(feature = "tokio"))]
fn main() {
    eprintln!("{USAGE}: needs ferrozmq's `tokio` feature (on by default)");
    std::process::exit(2)
}
