//! Request-reply broker (zguide chapter 2, `rrbroker`): a hand-written
//! message switch that lets many REQ clients share many REP workers.
//!
//! The frontend is a ROUTER (clients connect to it), the backend a DEALER
//! (workers connect to it). A ROUTER prefixes each incoming request with the
//! sender's routing id; the DEALER load-balances that whole envelope to a
//! worker, whose REP socket hands the envelope back with the reply, and the
//! ROUTER uses it to send the reply to the right client. The broker itself
//! waits on both sockets at once with `poll` and moves whole multipart
//! messages.
//!
//! ```text
//! cargo run -p ferrozmq --example zguide_rrbroker
//! cargo run -p ferrozmq --example zguide_rrworker
//! cargo run -p ferrozmq --example zguide_rrclient
//! ```
//!
//! Options: `--frontend ENDPOINT` (default `tcp://*:5559`), `--backend
//! ENDPOINT` (default `tcp://*:5560`), `--count N` (exit after relaying N
//! replies; default: run forever).

use ferrozmq::{poll, Context, PollItem, SocketType, POLLIN};
use std::str::FromStr;

const USAGE: &str = "zguide_rrbroker [--frontend ENDPOINT] [--backend ENDPOINT] [--count N]";

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

fn main() -> Result<(), ferrozmq::Error> {
    let opts = Options::parse();
    let ctx = Context::new();
    let frontend = ctx.socket(SocketType::Router)?;
    let backend = ctx.socket(SocketType::Dealer)?;
    frontend.bind(&opts.frontend)?;
    backend.bind(&opts.backend)?;
    println!("Broker: clients on {}, workers on {}", frontend.last_endpoint()?, backend.last_endpoint()?);

    let (mut requests, mut replies) = (0u64, 0u64);
    while opts.count.is_none_or(|n| replies < n) {
        let mut items = [PollItem::from_socket(&frontend, POLLIN), PollItem::from_socket(&backend, POLLIN)];
        poll(&mut items, -1)?;
        if items[0].is_readable() {
            // [client routing id, empty delimiter, request] -> a worker
            let message = frontend.recv_multipart(0)?;
            backend.send_multipart(message, 0)?;
            requests += 1;
        }
        if items[1].is_readable() {
            // The same envelope comes back with the reply -> that client
            let message = backend.recv_multipart(0)?;
            frontend.send_multipart(message, 0)?;
            replies += 1;
        }
    }
    println!("Broker relayed {requests} requests and {replies} replies, exiting");
    Ok(())
}
