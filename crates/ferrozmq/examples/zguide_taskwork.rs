//! Task worker (zguide chapter 1, `taskwork`): the middle of a parallel
//! pipeline. It pulls workloads from the ventilator, "does" each one by
//! sleeping that many milliseconds, and pushes an empty result to the sink.
//!
//! PULL fair-queues the tasks in, PUSH passes the results on; start as many
//! workers as you like, they share the batch.
//!
//! ```text
//! cargo run -p ferrozmq --example zguide_tasksink
//! cargo run -p ferrozmq --example zguide_taskwork
//! cargo run -p ferrozmq --example zguide_taskvent
//! ```
//!
//! Prints each workload followed by a dot as it takes it. Options:
//! `--pull ENDPOINT` (the ventilator; default `tcp://localhost:5557`),
//! `--push ENDPOINT` (the sink; default `tcp://localhost:5558`), `--count N`
//! (exit after N tasks; default: work forever).

use ferrozmq::{Context, Msg, SocketType};
use std::io::Write;
use std::str::FromStr;
use std::time::Duration;

const USAGE: &str = "zguide_taskwork [--pull ENDPOINT] [--push ENDPOINT] [--count N]";

struct Options {
    pull: String,
    push: String,
    count: Option<u64>,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options { pull: "tcp://localhost:5557".into(), push: "tcp://localhost:5558".into(), count: None };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--pull" => o.pull = value(&mut args, &flag),
                "--push" => o.push = value(&mut args, &flag),
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

    // Socket to receive tasks on.
    let receiver = ctx.socket(SocketType::Pull)?;
    receiver.connect(&opts.pull)?;
    // Socket to send results to.
    let sender = ctx.socket(SocketType::Push)?;
    sender.connect(&opts.push)?;
    println!("Worker pulling tasks from {}, pushing results to {}", opts.pull, opts.push);

    let mut done = 0u64;
    while opts.count.is_none_or(|n| done < n) {
        let task = receiver.recv_msg(0)?;
        let text = String::from_utf8_lossy(&task);
        let workload: u64 = text.trim().parse().unwrap_or(0);
        // Show progress as the guide does: the workload, then a dot.
        print!("{text}.");
        std::io::stdout().flush()?;
        std::thread::sleep(Duration::from_millis(workload)); // "Do the work"
        sender.send(Msg::new(), 0)?;
        done += 1;
    }
    println!();
    Ok(())
}
