//! Asynchronous client/server (zguide chapter 3, `asyncsrv`): DEALER clients
//! talk to a ROUTER server without the lock-step of REQ/REP — a client sends
//! a request every interval and takes whatever replies turn up meanwhile, and
//! a request may get any number of replies (zero to four here).
//!
//! Everything runs in one process, each task on its own thread:
//!
//! * clients: DEALER sockets with a printable routing id, polling for
//!   replies between requests;
//! * the server: a ROUTER frontend for the clients, a DEALER backend on
//!   `inproc://backend` for its workers, joined by `ferrozmq::proxy`;
//! * server workers: DEALER sockets that receive `[client id][request]`
//!   and send back `[client id][request]` as replies, after random delays.
//!
//! ```text
//! cargo run -p ferrozmq --example zguide_asyncsrv
//! ```
//!
//! Options: `--endpoint ENDPOINT` (the server binds it, clients connect to it
//! with `*` read as `localhost`; default `tcp://*:5570`), `--clients N`
//! (default 3), `--workers N` (default 5), `--interval-ms MS` (between a
//! client's requests; default 1000), `--max-delay-ms MS` (a worker sleeps
//! up to this long before each reply; default 1000), `--seconds S` (run time;
//! default 5), `--requests N` (each client stops sending after N requests)
//! and `--replies R` (every request gets exactly R replies instead of a
//! random 0..=4). Given both `--requests` and `--replies`, the clients know
//! what to expect and the program exits as soon as all replies are in.

use ferrozmq::{poll, Context, Error, PollItem, SocketType, DONTWAIT, POLLIN};
use std::str::FromStr;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const USAGE: &str = "zguide_asyncsrv [--endpoint ENDPOINT] [--clients N] [--workers N] [--interval-ms MS] \
                     [--max-delay-ms MS] [--seconds S] [--requests N] [--replies R]";

#[derive(Clone)]
struct Options {
    endpoint: String,
    clients: usize,
    workers: usize,
    interval: Duration,
    max_delay_ms: u64,
    seconds: u64,
    requests: Option<u64>,
    replies: Option<u64>,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options {
            endpoint: "tcp://*:5570".into(),
            clients: 3,
            workers: 5,
            interval: Duration::from_millis(1000),
            max_delay_ms: 1000,
            seconds: 5,
            requests: None,
            replies: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--endpoint" => o.endpoint = value(&mut args, &flag),
                "--clients" => o.clients = value(&mut args, &flag),
                "--workers" => o.workers = value::<usize>(&mut args, &flag).max(1),
                "--interval-ms" => o.interval = Duration::from_millis(value(&mut args, &flag)),
                "--max-delay-ms" => o.max_delay_ms = value::<u64>(&mut args, &flag).max(1),
                "--seconds" => o.seconds = value(&mut args, &flag),
                "--requests" => o.requests = Some(value(&mut args, &flag)),
                "--replies" => o.replies = Some(value(&mut args, &flag)),
                _ => usage(),
            }
        }
        o
    }

    /// Replies a client waits for before it stops, if that is known.
    fn expected_replies(&self) -> Option<u64> {
        Some(self.requests? * self.replies?)
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
    fn new(stream: u64) -> Rng {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        let mut rng = Rng(nanos ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        rng.below(2); // stir
        rng
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// ETERM means "the context is shutting down": the task ends quietly.
fn until_term(r: ferrozmq::Result<()>) -> ferrozmq::Result<()> {
    match r {
        Err(Error::ETERM) => Ok(()),
        other => other,
    }
}

/// A client: sends a request every interval, printing replies as they come.
fn client_task(ctx: Context, opts: Options, index: u64) -> ferrozmq::Result<()> {
    let mut rng = Rng::new(index);
    let identity = format!("{:04X}-{:04X}", rng.below(0x10000), rng.below(0x10000));
    let client = ctx.socket(SocketType::Dealer)?;
    client.set_routing_id(identity.as_bytes())?;
    client.connect(&opts.endpoint.replace('*', "localhost"))?;

    let (mut sent, mut received) = (0u64, 0u64);
    let expected = opts.expected_replies();
    loop {
        if opts.requests.is_none_or(|n| sent < n) {
            sent += 1;
            client.send(format!("request #{sent} from {identity}"), 0)?;
        }
        // Collect replies until it is time for the next request.
        let next_request = Instant::now() + opts.interval;
        loop {
            let left = next_request.saturating_duration_since(Instant::now());
            let mut items = [PollItem::from_socket(&client, POLLIN)];
            if poll(&mut items, left.as_millis() as i64)? == 0 {
                break;
            }
            while let Ok(reply) = client.recv_msg(DONTWAIT) {
                received += 1;
                println!("{identity} received: {}", String::from_utf8_lossy(&reply));
                if expected.is_some_and(|e| received >= e) {
                    println!("{identity} done: {sent} requests, {received} replies");
                    return Ok(());
                }
            }
        }
    }
}

/// A server worker: answers each request with zero or more copies of it.
fn server_worker(ctx: Context, opts: Options, index: u64) -> ferrozmq::Result<()> {
    let mut rng = Rng::new(1000 + index);
    let worker = ctx.socket(SocketType::Dealer)?;
    worker.connect("inproc://backend")?;
    loop {
        // The DEALER-to-DEALER hop keeps the ROUTER's envelope: [client id][request]
        let frames = worker.recv_multipart(0)?;
        let [identity, request] = &frames[..] else {
            eprintln!("worker {index}: malformed request ({} frames)", frames.len());
            continue;
        };
        let replies = opts.replies.unwrap_or_else(|| rng.below(5));
        for _ in 0..replies {
            // Sleep for some fraction of a second
            thread::sleep(Duration::from_millis(rng.below(opts.max_delay_ms) + 1));
            worker.send_multipart([identity, request], 0)?;
        }
    }
}

/// The server: ROUTER frontend, DEALER backend, a pool of workers, a proxy.
fn server_task(ctx: Context, opts: Options) -> ferrozmq::Result<()> {
    let frontend = ctx.socket(SocketType::Router)?;
    frontend.bind(&opts.endpoint)?;
    let backend = ctx.socket(SocketType::Dealer)?;
    backend.bind("inproc://backend")?;
    println!("Server on {} with {} workers", frontend.last_endpoint()?, opts.workers);

    let workers: Vec<_> = (0..opts.workers as u64)
        .map(|i| {
            let (ctx, opts) = (ctx.clone(), opts.clone());
            thread::spawn(move || until_term(server_worker(ctx, opts, i)))
        })
        .collect();
    // Connect the workers to the clients; returns ETERM at shutdown.
    let result = until_term(ferrozmq::proxy(&frontend, &backend, None));
    for w in workers {
        w.join().expect("worker thread panicked")?;
    }
    result
}

fn main() -> ferrozmq::Result<()> {
    let opts = Options::parse();
    let ctx = Context::new();

    let server = {
        let (ctx, opts) = (ctx.clone(), opts.clone());
        thread::spawn(move || server_task(ctx, opts))
    };
    let mut clients: Vec<_> = (0..opts.clients as u64)
        .map(|i| {
            let (ctx, opts) = (ctx.clone(), opts.clone());
            thread::spawn(move || until_term(client_task(ctx, opts, i)))
        })
        .collect();

    if opts.expected_replies().is_some() {
        for c in clients.drain(..) {
            c.join().expect("client thread panicked")?;
        }
    } else {
        // Run for a while, then stop everything.
        thread::sleep(Duration::from_secs(opts.seconds));
    }
    ctx.shutdown();
    for c in clients {
        c.join().expect("client thread panicked")?;
    }
    server.join().expect("server thread panicked")?;
    println!("Done");
    Ok(())
}
