//! Task ventilator on tokio (zguide chapter 1, `taskvent`, with the async
//! API): the source of a parallel pipeline. It pushes a batch of tasks (each
//! one a workload in milliseconds) to the workers, and tells the sink that a
//! batch starts. Interchangeable with `zguide_taskvent` (same options and
//! output); the workers and the sink may be async or blocking.
//!
//! A PUSH socket deals messages round-robin to its connected workers, so
//! the work is spread out — provided the workers are connected before the
//! batch starts. That is why the ventilator waits for Enter: a worker that
//! connects first would otherwise receive the whole batch.
//!
//! ```text
//! cargo run -p ferrozmq --example async_tasksink
//! cargo run -p ferrozmq --example async_taskwork   # as many as you like
//! cargo run -p ferrozmq --example async_taskvent
//! ```
//!
//! Options: `--bind ENDPOINT` (where workers pull tasks; default
//! `tcp://*:5557`), `--sink ENDPOINT` (default `tcp://localhost:5558`),
//! `--tasks N` (default 100), `--max-ms MS` (workloads are drawn from
//! `1..=MS`; default 100), `--no-wait` (do not wait for Enter).
#![cfg_attr(not(feature = "tokio"), allow(dead_code, unused_imports))]

use ferrozmq::{Context, SocketType};
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

const USAGE: &str = "async_taskvent [--bind ENDPOINT] [--sink ENDPOINT] [--tasks N] [--max-ms MS] [--no-wait]";

struct Options {
    bind: String,
    sink: String,
    tasks: u64,
    max_ms: u64,
    wait: bool,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options {
            bind: "tcp://*:5557".into(),
            sink: "tcp://localhost:5558".into(),
            tasks: 100,
            max_ms: 100,
            wait: true,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--bind" => o.bind = value(&mut args, &flag),
                "--sink" => o.sink = value(&mut args, &flag),
                "--tasks" => o.tasks = value(&mut args, &flag),
                "--max-ms" => o.max_ms = value::<u64>(&mut args, &flag).max(1),
                "--no-wait" => o.wait = false,
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

/// A small xorshift generator: the example needs noise, not a dependency.
struct Rng(u64);

impl Rng {
    fn from_clock() -> Rng {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        Rng(nanos ^ (u64::from(std::process::id()) << 32) | 1)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[cfg(feature = "tokio")]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use ferrozmq::AsyncContextExt;
    use std::io::{BufRead, Write};

    let opts = Options::parse();
    let ctx = Context::new();

    // Socket to send tasks on.
    let sender = ctx.async_socket(SocketType::Push)?;
    sender.bind(&opts.bind)?;
    // Socket to tell the sink that a batch starts.
    let sink = ctx.async_socket(SocketType::Push)?;
    sink.connect(&opts.sink)?;

    if opts.wait {
        print!("Press Enter when the workers are ready: ");
        std::io::stdout().flush()?;
        // Reading the terminal blocks: do it off the runtime's thread.
        tokio::task::spawn_blocking(|| std::io::stdin().lock().read_line(&mut String::new())).await??;
    }
    println!("Sending tasks to workers...");

    // The first message, "0", signals the start of the batch.
    sink.send("0").await?;

    let mut rng = Rng::from_clock();
    let mut total_msec = 0;
    for _ in 0..opts.tasks {
        let workload = rng.below(opts.max_ms) + 1;
        total_msec += workload;
        // Waits (without blocking the runtime) while no worker is connected
        // or every worker's queue is full.
        sender.send(workload.to_string()).await?;
    }
    println!("Total expected cost: {total_msec} msec");
    // Sockets linger by default: what was sent is delivered before the
    // process exits.
    Ok(())
}

#[cfg(not(feature = "tokio"))]
fn main() {
    eprintln!("{USAGE}: needs ferrozmq's `tokio` feature (on by default)");
    std::process::exit(2)
}
