//! Task sink on tokio (zguide chapter 1, `tasksink`, with the async API):
//! the end of a parallel pipeline. It waits for the ventilator's
//! start-of-batch signal, collects one result per task from the workers and
//! reports how long the batch took. Interchangeable with `zguide_tasksink`
//! (same options and output).
//!
//! Here the results are read as a `Stream` of messages
//! ([`ferrozmq::AsyncSocket::recv_stream`]).
//!
//! ```text
//! cargo run -p ferrozmq --example async_tasksink
//! cargo run -p ferrozmq --example async_taskwork
//! cargo run -p ferrozmq --example async_taskvent
//! ```
//!
//! Prints `:` for every tenth result and `.` for the others. Options:
//! `--bind ENDPOINT` (default `tcp://*:5558`), `--count N` (results in a
//! batch; default 100).
#![cfg_attr(not(feature = "tokio"), allow(dead_code, unused_imports))]

use ferrozmq::{Context, SocketType};
use std::str::FromStr;

const USAGE: &str = "async_tasksink [--bind ENDPOINT] [--count N]";

struct Options {
    bind: String,
    count: u64,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options { bind: "tcp://*:5558".into(), count: 100 };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--bind" => o.bind = value(&mut args, &flag),
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
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use ferrozmq::AsyncContextExt;
    use futures_core::Stream;
    use std::io::Write;
    use std::pin::Pin;
    use std::time::Instant;

    let opts = Options::parse();
    let ctx = Context::new();
    let receiver = ctx.async_socket(SocketType::Pull)?;
    receiver.bind(&opts.bind)?;
    println!("Sink collecting {} results on {}", opts.count, receiver.last_endpoint()?);

    // Results are empty messages; the ventilator's "0" starts the batch. It
    // travels on its own connection, which need not win the race against
    // the workers, so it is recognised by content and the clock starts at
    // whichever comes first. The sink also waits for it before finishing:
    // left unread, it would keep the ventilator lingering.
    let mut results_stream = receiver.recv_stream();
    let mut start = None;
    let mut started = false;
    let mut results = 0u64;
    let mut out = std::io::stdout();
    while results < opts.count || !started {
        // `StreamExt::next` (futures crates) reads the same; this needs none.
        let next = std::future::poll_fn(|cx| Pin::new(&mut results_stream).poll_next(cx)).await;
        let Some(msg) = next else { break };
        let msg = msg?;
        start.get_or_insert_with(Instant::now);
        if &*msg[0] == b"0" && !started {
            started = true;
            continue;
        }
        out.write_all(if results % 10 == 0 { b":" } else { b"." })?;
        out.flush()?;
        results += 1;
    }
    let elapsed = start.map_or(0, |s| s.elapsed().as_millis());
    println!("\nTotal elapsed time: {elapsed} msec");
    Ok(())
}

#[cfg(not(feature = "tokio"))]
fn main() {
    eprintln!("{USAGE}: needs ferrozmq's `tokio` feature (on by default)");
    std::process::exit(2)
}
