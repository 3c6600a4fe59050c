//! Task worker on tokio (zguide chapter 1, `taskwork`, with the async API):
//! the middle of a parallel pipeline. It pulls workloads from the
//! ventilator, "does" each one by sleeping that many milliseconds (an async
//! sleep), and pushes an empty result to the sink. Interchangeable with
//! `zguide_taskwork` (same options and output).
//!
//! PULL fair-queues the tasks in, PUSH passes the results on; start as many
//! workers as you like, async or blocking, they share the batch.
//!
//! ```text
//! cargo run -p ferrozmq --example async_tasksink
//! cargo run -p ferrozmq --example async_taskwork
//! cargo run -p ferrozmq --example async_taskvent
//! ```
//!
//! Prints each workload followed by a dot as it takes it. Options:
//! `--pull ENDPOINT` (the ventilator; default `tcp://localhost:5557`),
//! `--push ENDPOINT` (the sink; default `tcp://localhost:5558`), `--count N`
//! (exit after N tasks; default: work forever).
#![cfg_attr(not(feature = "tokio"), allow(dead_code, unused_imports))]

use ferrozmq::{Context, SocketType};
use std::str::FromStr;

const USAGE: &str = "async_taskwork [--pull ENDPOINT] [--push ENDPOINT] [--count N]";

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

#[cfg(feature = "tokio")]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use ferrozmq::{AsyncContextExt, Msg};
    use std::io::Write;
    use std::time::Duration;

    let opts = Options::parse();
    let ctx = Context::new();

    // Socket to receive tasks on.
    let receiver = ctx.async_socket(SocketType::Pull)?;
    receiver.connect(&opts.pull)?;
    // Socket to send results to.
    let sender = ctx.async_socket(SocketType::Push)?;
    sender.connect(&opts.push)?;
    println!("Worker pulling tasks from {}, pushing results to {}", opts.pull, opts.push);

    let mut done = 0u64;
    while opts.count.is_none_or(|n| done < n) {
        let task = receiver.recv().await?;
        let text = String::from_utf8_lossy(&task);
        let workload: u64 = text.trim().parse().unwrap_or(0);
        // Show progress as the guide does: the workload, then a dot.
        print!("{text}.");
        std::io::stdout().flush()?;
        tokio::time::sleep(Duration::from_millis(workload)).await; // "Do the work"
        sender.send(Msg::new()).await?;
        done += 1;
    }
    println!();
    Ok(())
}

#[cfg(not(feature = "tokio"))]
fn main() {
    eprintln!("{USAGE}: needs ferrozmq's `tokio` feature (on by default)");
    std::process::exit(2)
}
