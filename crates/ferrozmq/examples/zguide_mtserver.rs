//! Multithreaded Hello World server (zguide chapter 2, `mtserver`): the
//! Hello World server scaled up with a pool of worker threads, invisibly to
//! its clients (use `zguide_hwclient`).
//!
//! A ROUTER socket faces the clients, a DEALER socket binds
//! `inproc://workers`, and `ferrozmq::proxy` joins them; each worker thread
//! connects a REP socket to `inproc://workers` and does the Hello World
//! server's work. Sockets are never shared between threads: each worker
//! creates its own, from a clone of the one context (inproc endpoints only
//! reach sockets of the same context).
//!
//! ```text
//! cargo run -p ferrozmq --example zguide_mtserver
//! cargo run -p ferrozmq --example zguide_hwclient
//! ```
//!
//! Options: `--bind ENDPOINT` (default `tcp://*:5555`), `--workers N`
//! (default 5), `--work-ms MS` (default 1000), `--count N` (exit after
//! answering N requests; default: serve forever). To stop by itself the
//! server runs the steerable proxy, and a counting thread reading the
//! proxy's capture copies sends it `TERMINATE` once N requests and N replies
//! have passed (see `zguide_msgqueue`).

use ferrozmq::{Context, Error, SocketType};
use std::str::FromStr;
use std::thread;
use std::time::Duration;

const USAGE: &str = "zguide_mtserver [--bind ENDPOINT] [--workers N] [--work-ms MS] [--count N]";

struct Options {
    bind: String,
    workers: usize,
    work: Duration,
    count: Option<u64>,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options { bind: "tcp://*:5555".into(), workers: 5, work: Duration::from_millis(1000), count: None };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--bind" => o.bind = value(&mut args, &flag),
                "--workers" => o.workers = value::<usize>(&mut args, &flag).max(1),
                "--work-ms" => o.work = Duration::from_millis(value(&mut args, &flag)),
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

/// One worker thread: a REP socket on the inproc backend.
fn worker_routine(ctx: Context, index: usize, work: Duration) -> ferrozmq::Result<()> {
    let receiver = ctx.socket(SocketType::Rep)?;
    receiver.connect("inproc://workers")?;
    loop {
        let request = receiver.recv_msg(0)?;
        println!("Worker {index}: Received request: [{}]", String::from_utf8_lossy(&request));
        thread::sleep(work); // Do some 'work'
        receiver.send("World", 0)?;
    }
}

/// Stops the proxy after `limit` whole messages went through it (see
/// `zguide_msgqueue`).
fn stop_after(ctx: &Context, limit: u64) -> ferrozmq::Result<thread::JoinHandle<ferrozmq::Result<()>>> {
    let copies = ctx.socket(SocketType::Pull)?;
    copies.set_rcvhwm(0)?;
    copies.connect("inproc://capture")?;
    let control = ctx.socket(SocketType::Push)?;
    control.connect("inproc://control")?;
    Ok(thread::spawn(move || {
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

    // Socket to talk to clients
    let clients = ctx.socket(SocketType::Router)?;
    clients.bind(&opts.bind)?;
    // Socket to talk to workers
    let workers = ctx.socket(SocketType::Dealer)?;
    workers.bind("inproc://workers")?;
    println!("Multithreaded server on {} with {} workers", clients.last_endpoint()?, opts.workers);

    // Launch the pool of worker threads
    let pool: Vec<_> = (0..opts.workers)
        .map(|i| {
            let ctx = ctx.clone();
            let work = opts.work;
            thread::spawn(move || match worker_routine(ctx, i, work) {
                Err(Error::ETERM) => Ok(()),
                other => other,
            })
        })
        .collect();

    match opts.count {
        // Connect the worker threads to the client threads; runs until the
        // context is terminated.
        None => ferrozmq::proxy(&clients, &workers, None)?,
        Some(n) => {
            let capture = ctx.socket(SocketType::Push)?;
            capture.set_sndhwm(0)?;
            capture.bind("inproc://capture")?;
            let control = ctx.socket(SocketType::Pull)?;
            control.bind("inproc://control")?;
            let counter = stop_after(&ctx, 2 * n)?;
            ferrozmq::proxy_steerable(&clients, &workers, Some(&capture), Some(&control))?;
            counter.join().expect("counting thread panicked")?;
            println!("Answered {n} requests, exiting");
        }
    }

    // The workers wait for requests: terminating the context releases them.
    // (The replies already handed to `clients` are still delivered: the
    // sockets linger, and the context's I/O thread finishes when they are out.)
    ctx.shutdown();
    for w in pool {
        w.join().expect("worker thread panicked")?;
    }
    Ok(())
}
