//! Task sink (zguide chapter 1, `tasksink`): the end of a parallel pipeline.
//! It waits for the ventilator's start-of-batch signal, collects one result
//! per task from the workers and reports how long the batch took.
//!
//! PULL fair-queues the results from every worker; with more workers the
//! batch finishes sooner.
//!
//! ```text
//! cargo run -p ferrozmq --example zguide_tasksink
//! cargo run -p ferrozmq --example zguide_taskwork
//! cargo run -p ferrozmq --example zguide_taskvent
//! ```
//!
//! Prints `:` for every tenth result and `.` for the others. Options:
//! `--bind ENDPOINT` (default `tcp://*:5558`), `--count N` (results in a
//! batch; default 100).

use ferrozmq::{Context, SocketType};
use std::io::Write;
use std::str::FromStr;
use std::time::Instant;

const USAGE: &str = "zguide_tasksink [--bind ENDPOINT] [--count N]";

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

fn main() -> Result<(), ferrozmq::Error> {
    let opts = Options::parse();
    let ctx = Context::new();
    let receiver = ctx.socket(SocketType::Pull)?;
    receiver.bind(&opts.bind)?;
    println!("Sink collecting {} results on {}", opts.count, receiver.last_endpoint()?);

    // Results are empty messages; the ventilator's "0" starts the batch. (It
    // is checked by content rather than assumed to come first: it travels on
    // its own connection, which need not win the race against the workers.)
    let mut start = None;
    let mut results = 0u64;
    let mut out = std::io::stdout();
    while results < opts.count {
        let msg = receiver.recv_msg(0)?;
        if &*msg == b"0" && start.is_none() {
            start = Some(Instant::now());
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
