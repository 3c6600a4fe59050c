//! Message queue broker (zguide chapter 2, `msgqueue`): the request-reply
//! broker of `zguide_rrbroker` again, but with the built-in proxy doing the
//! forwarding loop: a ROUTER frontend for clients, a DEALER backend for
//! workers, and `ferrozmq::proxy` joining them.
//!
//! ```text
//! cargo run -p ferrozmq --example zguide_msgqueue
//! cargo run -p ferrozmq --example zguide_rrworker
//! cargo run -p ferrozmq --example zguide_rrclient
//! ```
//!
//! Options: `--frontend ENDPOINT` (default `tcp://*:5559`), `--backend
//! ENDPOINT` (default `tcp://*:5560`), `--count N` (exit after N request/reply
//! round trips; default: run forever).
//!
//! A plain proxy runs until its context is terminated. To stop by itself
//! after N round trips, the example uses the steerable proxy: every message
//! the proxy moves is copied to a capture socket, a counting thread reads
//! the copies, and after 2·N whole messages (N requests, N replies) it sends
//! `TERMINATE` on the proxy's control socket. The proxy has already sent a
//! message when its copy can be counted, so the last reply is not lost.

use ferrozmq::{Context, SocketType};
use std::str::FromStr;

const USAGE: &str = "zguide_msgqueue [--frontend ENDPOINT] [--backend ENDPOINT] [--count N]";

struct Options {
    frontend: String,
    backend: String,
    count: Option<u64>,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options { frontend: "tcp://*:5559".into(), backend: "tcp://*:5560".into(), count: None };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--frontend" => o.frontend = value(&mut args, &flag),
                "--backend" => o.backend = value(&mut args, &flag),
                "--count" => o.count = Some(value(&mut args, &flag)),
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

/// Counts the whole messages copied to the capture socket and stops the
/// proxy once `limit` of them have gone through.
fn stop_after(ctx: &Context, limit: u64) -> ferrozmq::Result<std::thread::JoinHandle<ferrozmq::Result<()>>> {
    let copies = ctx.socket(SocketType::Pull)?;
    copies.set_rcvhwm(0)?;
    copies.connect("inproc://msgqueue-capture")?;
    let control = ctx.socket(SocketType::Push)?;
    control.connect("inproc://msgqueue-control")?;
    Ok(std::thread::spawn(move || {
        let mut seen = 0;
        while seen < limit {
            if !copies.recv_msg(0)?.get_more() {
                seen += 1;
            }
        }
        control.send("TERMINATE", 0)
    }))
}

fn main() -> Result<(), ferrozmq::Error> {
    let opts = Options::parse();
    let ctx = Context::new();

    // Socket facing clients
    let frontend = ctx.socket(SocketType::Router)?;
    frontend.bind(&opts.frontend)?;
    // Socket facing services
    let backend = ctx.socket(SocketType::Dealer)?;
    backend.bind(&opts.backend)?;
    println!("Queue: clients on {}, workers on {}", frontend.last_endpoint()?, backend.last_endpoint()?);

    match opts.count {
        // Start the proxy: it only returns when the context is terminated.
        None => ferrozmq::proxy(&frontend, &backend, None)?,
        Some(n) => {
            let capture = ctx.socket(SocketType::Push)?;
            capture.set_sndhwm(0)?; // the proxy never blocks on (or drops) a copy
            capture.bind("inproc://msgqueue-capture")?;
            let control = ctx.socket(SocketType::Pull)?;
            control.bind("inproc://msgqueue-control")?;
            let counter = stop_after(&ctx, 2 * n)?;
            ferrozmq::proxy_steerable(&frontend, &backend, Some(&capture), Some(&control))?;
            counter.join().expect("counting thread panicked")?;
            println!("Queue relayed {n} requests and their replies, exiting");
        }
    }
    Ok(())
}
