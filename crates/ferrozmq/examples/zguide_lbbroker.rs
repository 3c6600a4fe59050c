//! Load-balancing broker (zguide chapter 3, `lbbroker`): clients, workers and
//! the broker in one process, each client and worker on its own thread.
//!
//! Both of the broker's sockets are ROUTERs. Workers are REQ sockets that
//! announce themselves with "READY" and then send each reply as their next
//! request, so a worker's message always means "I am free". The broker keeps
//! a queue of free workers (least recently used first); it only reads the
//! frontend while a worker is free, and hands each client request to the
//! worker at the head of the queue, wrapped in the client's envelope:
//!
//! ```text
//! client -> broker   [client id][""]["HELLO"]
//! broker -> worker   [worker id][""][client id][""]["HELLO"]
//! worker -> broker   [worker id][""][client id][""]["OK"]
//! broker -> client   [client id][""]["OK"]
//! ```
//!
//! ```text
//! cargo run -p ferrozmq --example zguide_lbbroker
//! cargo run -p ferrozmq --example zguide_lbbroker -- --frontend ipc://frontend.ipc --backend ipc://backend.ipc
//! ```
//!
//! Options: `--clients N` (default 10; each sends one request),
//! `--workers N` (default 3), `--frontend ENDPOINT` / `--backend ENDPOINT`
//! (default `inproc://lbbroker-frontend` / `inproc://lbbroker-backend`; the
//! guide uses `ipc://frontend.ipc` / `ipc://backend.ipc`). The broker stops
//! once every client has its reply.

use ferrozmq::{poll, Context, Error, Msg, PollItem, SocketType, POLLIN};
use std::collections::{BTreeMap, VecDeque};
use std::str::FromStr;
use std::thread;

const USAGE: &str = "zguide_lbbroker [--clients N] [--workers N] [--frontend ENDPOINT] [--backend ENDPOINT]";

struct Options {
    clients: usize,
    workers: usize,
    frontend: String,
    backend: String,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options {
            clients: 10,
            workers: 3,
            frontend: "inproc://lbbroker-frontend".into(),
            backend: "inproc://lbbroker-backend".into(),
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--clients" => o.clients = value(&mut args, &flag),
                "--workers" => o.workers = value::<usize>(&mut args, &flag).max(1),
                "--frontend" => o.frontend = value(&mut args, &flag),
                "--backend" => o.backend = value(&mut args, &flag),
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

fn text(frame: &Msg) -> String {
    String::from_utf8_lossy(frame).into_owned()
}

/// A basic request-reply client: one request, one reply.
fn client_task(ctx: Context, endpoint: String, id: String) -> ferrozmq::Result<()> {
    let client = ctx.socket(SocketType::Req)?;
    client.set_routing_id(id.as_bytes())?;
    client.connect(&endpoint)?;
    client.send("HELLO", 0)?;
    let reply = client.recv_msg(0)?;
    println!("{id}: {}", text(&reply));
    Ok(())
}

/// A worker: says READY, then answers requests until the context ends.
fn worker_task(ctx: Context, endpoint: String, id: String) -> ferrozmq::Result<()> {
    let worker = ctx.socket(SocketType::Req)?;
    worker.set_routing_id(id.as_bytes())?;
    worker.connect(&endpoint)?;
    worker.send("READY", 0)?;
    loop {
        // [client id][""][request]: REQ has already removed our own envelope.
        let frames = match worker.recv_multipart(0) {
            Ok(f) => f,
            Err(Error::ETERM) => return Ok(()),
            Err(e) => return Err(e),
        };
        let [client, _empty, request] = &frames[..] else {
            eprintln!("{id}: malformed request ({} frames)", frames.len());
            continue;
        };
        println!("{id}: {} from {}", text(request), text(client));
        match worker.send_multipart([client, &Msg::new(), &Msg::from("OK")], 0) {
            Err(Error::ETERM) => return Ok(()),
            other => other?,
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opts = Options::parse();
    let ctx = Context::new();
    let frontend = ctx.socket(SocketType::Router)?;
    let backend = ctx.socket(SocketType::Router)?;
    frontend.bind(&opts.frontend)?;
    backend.bind(&opts.backend)?;
    println!("Broker: {} clients on {}, {} workers on {}", opts.clients, opts.frontend, opts.workers, opts.backend);

    let clients: Vec<_> = (0..opts.clients)
        .map(|i| {
            let (ctx, ep) = (ctx.clone(), opts.frontend.clone());
            thread::spawn(move || client_task(ctx, ep, format!("Client-{i}")))
        })
        .collect();
    let workers: Vec<_> = (0..opts.workers)
        .map(|i| {
            let (ctx, ep) = (ctx.clone(), opts.backend.clone());
            thread::spawn(move || worker_task(ctx, ep, format!("Worker-{i}")))
        })
        .collect();

    // The load-balancing loop.
    let mut free_workers: VecDeque<Msg> = VecDeque::new();
    let mut handled: BTreeMap<String, u64> = BTreeMap::new();
    let mut outstanding = opts.clients;
    while outstanding > 0 {
        let mut items = [PollItem::from_socket(&backend, POLLIN), PollItem::from_socket(&frontend, POLLIN)];
        // Only listen to clients while some worker is free to serve them.
        let watched = if free_workers.is_empty() { 1 } else { 2 };
        poll(&mut items[..watched], -1)?;

        if items[0].is_readable() {
            // [worker id][""]["READY"] or [worker id][""][client id][""][reply]
            let frames = backend.recv_multipart(0)?;
            let worker = frames[0].clone();
            match &frames[..] {
                [_, _, ready] if &**ready == b"READY" => {}
                [_, _, client, _, reply] => {
                    frontend.send_multipart([client, &Msg::new(), reply], 0)?;
                    *handled.entry(text(&worker)).or_default() += 1;
                    outstanding -= 1;
                }
                _ => return Err(format!("malformed message from worker {}", text(&worker)).into()),
            }
            free_workers.push_back(worker);
        }
        if watched == 2 && items[1].is_readable() {
            // [client id][""][request] -> the least recently used worker
            let frames = frontend.recv_multipart(0)?;
            let [client, _empty, request] = &frames[..] else {
                return Err("malformed client request".into());
            };
            let worker = free_workers.pop_front().expect("a worker is free");
            backend.send_multipart([&worker, &Msg::new(), client, &Msg::new(), request], 0)?;
        }
    }

    for c in clients {
        c.join().expect("client thread panicked")?;
    }
    let summary: Vec<String> = handled.iter().map(|(w, n)| format!("{w}: {n}")).collect();
    println!("Broker routed {} requests ({})", opts.clients, summary.join(", "));
    // Workers are blocked waiting for work: terminating the context wakes
    // them with ETERM.
    ctx.shutdown();
    for w in workers {
        w.join().expect("worker thread panicked")?;
    }
    Ok(())
}
