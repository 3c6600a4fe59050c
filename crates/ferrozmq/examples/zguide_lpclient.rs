//! Lazy Pirate client (zguide chapter 4, `lpclient`): reliable request-reply
//! done on the client side. Instead of blocking forever on a reply, the
//! client polls with a timeout; if no reply comes it closes its REQ socket
//! (a REQ socket that sent a request cannot send another until it gets the
//! reply), opens a fresh one and resends the request, giving up after a
//! number of tries.
//!
//! Each request is a sequence number that the server echoes, so the client
//! can tell a valid reply from a stray one.
//!
//! ```text
//! cargo run -p ferrozmq --example zguide_lpserver
//! cargo run -p ferrozmq --example zguide_lpclient
//! ```
//!
//! Kill and restart the server while the client runs to see it recover.
//! Options: `--connect ENDPOINT` (default `tcp://localhost:5555`),
//! `--count N` (requests to make; default: go on forever), `--timeout-ms MS`
//! (default 2500), `--retries N` (tries per request before giving up;
//! default 3). Exits with status 1 if it abandons.

use ferrozmq::{poll, Context, PollItem, Socket, SocketType, POLLIN};
use std::str::FromStr;

const USAGE: &str = "zguide_lpclient [--connect ENDPOINT] [--count N] [--timeout-ms MS] [--retries N]";

struct Options {
    connect: String,
    count: Option<u64>,
    timeout_ms: i64,
    retries: u32,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options { connect: "tcp://localhost:5555".into(), count: None, timeout_ms: 2500, retries: 3 };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--connect" => o.connect = value(&mut args, &flag),
                "--count" => o.count = Some(value(&mut args, &flag)),
                "--timeout-ms" => o.timeout_ms = value(&mut args, &flag),
                "--retries" => o.retries = value::<u32>(&mut args, &flag).max(1),
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

/// A fresh REQ socket. LINGER 0: when we give up on it, a request still
/// queued must not keep the socket (or the process) alive.
fn connect(ctx: &Context, endpoint: &str) -> ferrozmq::Result<Socket> {
    let client = ctx.socket(SocketType::Req)?;
    client.set_linger(0)?;
    client.connect(endpoint)?;
    Ok(client)
}

fn main() -> Result<(), ferrozmq::Error> {
    let opts = Options::parse();
    let ctx = Context::new();
    println!("I: connecting to server at {}...", opts.connect);
    let mut client = connect(&ctx, &opts.connect)?;

    let mut sequence = 0u64;
    while opts.count.is_none_or(|n| sequence < n) {
        sequence += 1;
        let request = sequence.to_string();
        client.send(&request, 0)?;

        let mut retries_left = opts.retries;
        loop {
            let mut items = [PollItem::from_socket(&client, POLLIN)];
            poll(&mut items, opts.timeout_ms)?;
            if items[0].is_readable() {
                // We got a reply from the server; it must match the sequence.
                let reply = client.recv_msg(0)?;
                if *reply == *request.as_bytes() {
                    println!("I: server replied OK ({request})");
                    break;
                }
                println!("E: malformed reply from server: {}", String::from_utf8_lossy(&reply));
                // A REQ socket takes one reply per request: wait for a new one.
                retries_left -= 1;
            } else {
                retries_left -= 1;
            }
            if retries_left == 0 {
                println!("E: server seems to be offline, abandoning");
                std::process::exit(1);
            }
            println!("W: no response from server, retrying...");
            // The old socket is confused: close it and open a new one.
            drop(std::mem::replace(&mut client, connect(&ctx, &opts.connect)?));
            println!("I: reconnecting to server...");
            // Send the request again on the new socket.
            client.send(&request, 0)?;
        }
    }
    Ok(())
}
