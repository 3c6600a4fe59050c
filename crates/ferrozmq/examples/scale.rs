//! scale: many connections on one socket, ferrozmq side of `bench/scale/`.
//! The libzmq side is `bench/scale/scale.c`: same arguments, same output
//! lines, so any server pairs with any client program. See
//! `bench/scale/README.md` for what is measured and `bench/scale/run.sh` to
//! run both side by side.
//!
//! ```text
//! cargo run --release --example scale -- router-server <bind> <n> <k> [size]
//! cargo run --release --example scale -- router-clients <connect> <n> <k> [size]
//! cargo run --release --example scale -- pub-server <bind> <ctl-bind> <n> <m> [size]
//! cargo run --release --example scale -- sub-clients <connect> <ctl-connect> <n> <m> [size]
//! ```
//!
//! * ROUTER: one ROUTER binds; the client process opens `n` DEALER sockets
//!   (one context), each connects and sends one hello that the ROUTER
//!   echoes; then `k` rounds in which every DEALER sends one request and
//!   waits for its echo.
//! * PUB: one PUB binds and a PULL binds `<ctl-bind>`; the client process
//!   opens `n` SUB sockets (subscribed to everything) and one PUSH to
//!   `<ctl-bind>`. The server publishes empty hellos until every SUB has
//!   seen one, then `m` data messages (an 8-byte big-endian sequence number
//!   at the front) in batches of 250, at most two batches unacknowledged, so
//!   a default-HWM PUB never drops.
//!
//! The server measures its own VmRSS (`/proc/self/status`) after binding and
//! again once every connection has carried a message (ROUTER: when the
//! first request of the timed phase arrives, i.e. after every hello has been
//! echoed and received; PUB: when the clients report that every SUB has its
//! hello) and prints (after − before) / n as bytes per connection; the same
//! for VmData (private writable mappings: heap reserved whether touched or
//! not, so buffers that RSS does not show yet).
//!
//! Default options everywhere (one I/O thread, default HWMs and linger),
//! except the client context's socket limit (it needs n + a few sockets)
//! and receive/send timeouts; `SCALE_BACKLOG`, when set, is applied to the
//! servers' listening sockets (ZMQ_BACKLOG), as in the C program. Every
//! receive is bounded (60 s) and a watchdog (`SCALE_TIMEOUT` seconds,
//! default 600) ends a stuck run with exit status 3; a failing call exits 1,
//! a receive that times out or an unexpected message exits 2.

use ferrozmq::{poll, Context, Msg, PollItem, Socket, SocketType, DONTWAIT, POLLIN, SNDMORE};
use std::process::exit;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const RECV_TIMEOUT_MS: i32 = 60_000;
const HELLO_INTERVAL_MS: i32 = 5;
const BATCH: u64 = 250;

static ROLE: OnceLock<String> = OnceLock::new();

fn role() -> &'static str {
    ROLE.get().map(String::as_str).unwrap_or("scale")
}

/// A failing library call: exit 1, as the C program's `die`.
fn check<T>(what: &str, r: ferrozmq::Result<T>) -> T {
    r.unwrap_or_else(|e| {
        eprintln!("{}: error in {what}: {e}", role());
        exit(1)
    })
}

/// A timeout or an unexpected message: exit 2, as the C program's `fail`.
fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("{}: {msg}", role());
    exit(2)
}

fn start_watchdog() {
    let secs = std::env::var("SCALE_TIMEOUT").ok().and_then(|v| v.parse::<u64>().ok()).filter(|&s| s > 0).unwrap_or(600);
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            std::thread::sleep(Duration::from_secs(secs));
            eprintln!("scale: watchdog: run did not finish in SCALE_TIMEOUT seconds");
            exit(3);
        })
        .expect("watchdog thread");
}

/// Resident (VmRSS) and private writable (VmData) memory, in kB.
#[derive(Clone, Copy)]
struct Mem {
    rss: i64,
    data: i64,
}

fn mem_now() -> Mem {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_else(|e| {
        eprintln!("{}: /proc/self/status: {e}", role());
        exit(1)
    });
    let kb = |key: &str| -> i64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| {
                eprintln!("{}: no {key} in /proc/self/status", role());
                exit(1)
            })
    };
    Mem { rss: kb("VmRSS:"), data: kb("VmData:") }
}

fn print_header(role: &str, n: u64) {
    println!("implementation: ferrozmq {}", env!("CARGO_PKG_VERSION"));
    println!("role: {role}");
    println!("connections: {n}");
}

fn print_memory(before: Mem, after: Mem, n: u64) {
    println!("rss before: {} [kB]", before.rss);
    println!("rss after: {} [kB]", after.rss);
    println!("memory per connection: {} [B]", (after.rss - before.rss) * 1024 / n as i64);
    println!("vmdata before: {} [kB]", before.data);
    println!("vmdata after: {} [kB]", after.data);
    println!("vmdata per connection: {} [B]", (after.data - before.data) * 1024 / n as i64);
}

fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// Receives one frame; a timeout ends the run (exit 2).
fn recv_frame(s: &Socket, phase: &str) -> Msg {
    match s.recv_msg(0) {
        Ok(m) => m,
        Err(ferrozmq::Error::EAGAIN) => fail(format!("receive timed out after {RECV_TIMEOUT_MS} ms ({phase})")),
        Err(e) => {
            eprintln!("{}: error in {phase}: {e}", role());
            exit(1)
        }
    }
}

fn send_msg(s: &Socket, msg: impl Into<Msg>, flags: i32, what: &str) {
    match s.send(msg, flags) {
        Ok(()) => {}
        Err(ferrozmq::Error::EAGAIN) => fail(format!("send timed out after {RECV_TIMEOUT_MS} ms ({what})")),
        Err(e) => {
            eprintln!("{}: error in {what}: {e}", role());
            exit(1)
        }
    }
}

/// Applies `SCALE_BACKLOG` (if set) to a socket that will bind.
fn apply_backlog(s: &Socket) {
    if let Ok(v) = std::env::var("SCALE_BACKLOG") {
        if !v.is_empty() {
            check("zmq_setsockopt(BACKLOG)", s.set_option("backlog", &v));
        }
    }
}

fn arg(s: &str, name: &str, min: u64) -> u64 {
    match s.parse::<u64>() {
        Ok(v) if v >= min => v,
        _ => {
            eprintln!("{}: bad {name}: {s} (a number >= {min})", role());
            exit(1)
        }
    }
}

// ---------------------------------------------------------------- ROUTER

/// Echoes one whole message (routing id + frames).
fn echo_rest(s: &Socket, mut frame: Msg, phase: &str) {
    loop {
        let more = frame.get_more();
        check("zmq_msg_send", s.send(frame, if more { SNDMORE } else { 0 }));
        if !more {
            return;
        }
        frame = recv_frame(s, phase);
    }
}

fn router_server(bind: &str, n: u64, k: u64) {
    let ctx = Context::new();
    let s = check("zmq_socket", ctx.socket(SocketType::Router));
    check("zmq_setsockopt(RCVTIMEO)", s.set_rcvtimeo(RECV_TIMEOUT_MS));
    apply_backlog(&s);
    check("zmq_bind", s.bind(bind));
    let before = mem_now();
    println!("listening: {bind}");

    for _ in 0..n {
        let id = recv_frame(&s, "hello");
        echo_rest(&s, id, "hello");
    }
    // The first request of the timed phase: the clients send it only when
    // every DEALER has its hello echo, so every connection has carried a
    // message both ways.
    let id = recv_frame(&s, "first request");
    let after = mem_now();
    let t0 = Instant::now();
    echo_rest(&s, id, "first request");
    let total = n * k;
    for _ in 1..total {
        let id = recv_frame(&s, "requests");
        echo_rest(&s, id, "requests");
    }
    let elapsed = t0.elapsed();

    print_header("router-server", n);
    print_memory(before, after, n);
    println!("requests echoed: {total}");
    println!("server throughput: {:.0} [msg/s]", per_second(total, elapsed));
    drop(s);
    check("zmq_ctx_term", ctx.term());
}

fn client_context(n: u64) -> Context {
    check("zmq_ctx_new", Context::builder().max_sockets(n as usize + 64).build())
}

fn router_clients(connect: &str, n: u64, k: u64, size: usize) {
    let ctx = client_context(n);
    let payload = Msg::from(vec![b'x'; size]);
    let mut socks = Vec::with_capacity(n as usize);

    let t0 = Instant::now();
    for _ in 0..n {
        let s = check("zmq_socket", ctx.socket(SocketType::Dealer));
        check("zmq_setsockopt(RCVTIMEO)", s.set_rcvtimeo(RECV_TIMEOUT_MS));
        check("zmq_setsockopt(SNDTIMEO)", s.set_sndtimeo(RECV_TIMEOUT_MS));
        check("zmq_connect", s.connect(connect));
        send_msg(&s, &payload, 0, "hello");
        socks.push(s);
    }
    for s in &socks {
        let m = recv_frame(s, "hello reply");
        if m.len() != size {
            fail(format!("hello reply of {} bytes, expected {size}", m.len()));
        }
    }
    let connect_time = t0.elapsed();

    let t1 = Instant::now();
    for _ in 0..k {
        for s in &socks {
            send_msg(s, &payload, 0, "request");
        }
        for s in &socks {
            let m = recv_frame(s, "reply");
            if m.len() != size {
                fail(format!("reply of {} bytes, expected {size}", m.len()));
            }
        }
    }
    let elapsed = t1.elapsed();

    print_header("router-clients", n);
    println!("connect time: {:.3} [s]", connect_time.as_secs_f64());
    println!("round trips: {}", n * k);
    println!("throughput: {:.0} [msg/s]", per_second(n * k, elapsed));
    drop(socks);
    check("zmq_ctx_term", ctx.term());
}

// ------------------------------------------------------------------- PUB

fn send_batch(publisher: &Socket, b: u64, m: u64, size: usize) {
    let first = b * BATCH;
    let end = (first + BATCH).min(m);
    for seq in first..end {
        let mut data = vec![b'd'; size];
        data[..8].copy_from_slice(&seq.to_be_bytes());
        check("zmq_msg_send", publisher.send(data, 0));
    }
}

/// Receives a control message as text; `None` on a timeout when
/// `timeout_ok`.
fn recv_ctl(ctl: &Socket, timeout_ok: bool) -> Option<String> {
    match ctl.recv_msg(0) {
        Ok(m) => Some(String::from_utf8_lossy(&m).into_owned()),
        Err(ferrozmq::Error::EAGAIN) if timeout_ok => None,
        Err(ferrozmq::Error::EAGAIN) => fail(format!("control receive timed out after {RECV_TIMEOUT_MS} ms")),
        Err(e) => {
            eprintln!("{}: error in zmq_recv(control): {e}", role());
            exit(1)
        }
    }
}

fn pub_server(bind: &str, ctl_bind: &str, n: u64, m: u64, size: usize) {
    let ctx = Context::new();
    let publisher = check("zmq_socket", ctx.socket(SocketType::Pub));
    let ctl = check("zmq_socket", ctx.socket(SocketType::Pull));
    check("zmq_setsockopt(RCVTIMEO)", ctl.set_rcvtimeo(RECV_TIMEOUT_MS));
    apply_backlog(&publisher);
    check("zmq_bind", publisher.bind(bind));
    check("zmq_bind(control)", ctl.bind(ctl_bind));
    let before = mem_now();
    println!("listening: {bind} {ctl_bind}");

    let first = recv_ctl(&ctl, false).unwrap_or_default();
    if first != "connected" {
        fail(format!("unexpected control message '{first}'"));
    }
    // Hellos until every subscriber has seen one.
    check("zmq_setsockopt(RCVTIMEO)", ctl.set_rcvtimeo(HELLO_INTERVAL_MS));
    let deadline = Instant::now() + Duration::from_millis(RECV_TIMEOUT_MS as u64);
    loop {
        check("zmq_send(hello)", publisher.send(Msg::new(), 0));
        if let Some(msg) = recv_ctl(&ctl, true) {
            if msg != "synced" {
                fail(format!("unexpected control message '{msg}'"));
            }
            break;
        }
        if Instant::now() > deadline {
            fail(format!("subscribers not synced after {RECV_TIMEOUT_MS} ms"));
        }
    }
    check("zmq_setsockopt(RCVTIMEO)", ctl.set_rcvtimeo(RECV_TIMEOUT_MS));
    let after = mem_now();

    let batches = m.div_ceil(BATCH);
    let t0 = Instant::now();
    for b in 0..batches.min(2) {
        send_batch(&publisher, b, m, size);
    }
    for b in 0..batches {
        let msg = recv_ctl(&ctl, false).unwrap_or_default();
        if msg != format!("ack {b}") {
            fail(format!("unexpected control message '{msg}'"));
        }
        if b + 2 < batches {
            send_batch(&publisher, b + 2, m, size);
        }
    }
    let elapsed = t0.elapsed();

    print_header("pub-server", n);
    print_memory(before, after, n);
    println!("messages published: {m}");
    println!("deliveries: {}", n * m);
    println!("server throughput: {:.0} [msg/s]", per_second(n * m, elapsed));
    drop(publisher);
    drop(ctl);
    check("zmq_ctx_term", ctx.term());
}

fn sub_clients(connect: &str, ctl_connect: &str, n: u64, m: u64, size: usize) {
    let ctx = client_context(n);
    let ctl = check("zmq_socket", ctx.socket(SocketType::Push));
    check("zmq_setsockopt(SNDTIMEO)", ctl.set_sndtimeo(RECV_TIMEOUT_MS));
    check("zmq_connect(control)", ctl.connect(ctl_connect));
    let mut socks = Vec::with_capacity(n as usize);

    let t0 = Instant::now();
    for _ in 0..n {
        let s = check("zmq_socket", ctx.socket(SocketType::Sub));
        check("zmq_setsockopt(RCVTIMEO)", s.set_rcvtimeo(RECV_TIMEOUT_MS));
        check("zmq_setsockopt(SUBSCRIBE)", s.set_subscribe(b""));
        check("zmq_connect", s.connect(connect));
        socks.push(s);
    }
    send_msg(&ctl, "connected", 0, "control");

    // Every SUB must see one hello; drain whatever arrives meanwhile.
    let mut got = vec![false; socks.len()];
    let mut missing = socks.len();
    let deadline = Instant::now() + Duration::from_millis(RECV_TIMEOUT_MS as u64);
    let mut items: Vec<PollItem<'_>> = socks.iter().map(|s| PollItem::from_socket(s, POLLIN)).collect();
    while missing > 0 {
        let mut seen = 0;
        for (i, s) in socks.iter().enumerate() {
            loop {
                match s.recv_msg(DONTWAIT) {
                    Ok(_) => {
                        seen += 1;
                        if !got[i] {
                            got[i] = true;
                            missing -= 1;
                        }
                    }
                    Err(ferrozmq::Error::EAGAIN) => break,
                    Err(e) => {
                        eprintln!("{}: error in hello: {e}", role());
                        exit(1)
                    }
                }
            }
        }
        if missing == 0 {
            break;
        }
        if Instant::now() > deadline {
            fail(format!("{missing} subscribers still without a hello after {RECV_TIMEOUT_MS} ms"));
        }
        if seen == 0 {
            check("zmq_poll", poll(&mut items, 10));
        }
    }
    drop(items);
    let connect_time = t0.elapsed();
    send_msg(&ctl, "synced", 0, "control");

    let t1 = Instant::now();
    let batches = m.div_ceil(BATCH);
    let mut next = vec![0u64; socks.len()];
    for b in 0..batches {
        let end = (b * BATCH + BATCH).min(m);
        for (i, s) in socks.iter().enumerate() {
            while next[i] < end {
                let msg = recv_frame(s, "data");
                if msg.is_empty() {
                    continue; // a late hello
                }
                if msg.len() != size {
                    fail(format!("data message of {} bytes, expected {size}", msg.len()));
                }
                let seq = u64::from_be_bytes(msg[..8].try_into().expect("8 bytes"));
                if seq != next[i] {
                    fail(format!("subscriber {i}: sequence {seq}, expected {} (message lost)", next[i]));
                }
                next[i] += 1;
            }
        }
        send_msg(&ctl, format!("ack {b}"), 0, "control");
    }
    let elapsed = t1.elapsed();

    print_header("sub-clients", n);
    println!("connect time: {:.3} [s]", connect_time.as_secs_f64());
    println!("deliveries: {}", n * m);
    println!("throughput: {:.0} [msg/s]", per_second(n * m, elapsed));
    drop(socks);
    drop(ctl);
    check("zmq_ctx_term", ctx.term());
}

fn usage() -> ! {
    eprint!(
        "usage: scale router-server <bind> <n> <k> [size]\n       \
         scale router-clients <connect> <n> <k> [size]\n       \
         scale pub-server <bind> <ctl-bind> <n> <m> [size]\n       \
         scale sub-clients <connect> <ctl-connect> <n> <m> [size]\n"
    );
    exit(1)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else { usage() };
    let _ = ROLE.set(cmd.clone());
    start_watchdog();
    match cmd.as_str() {
        "router-server" | "router-clients" => {
            if args.len() != 4 && args.len() != 5 {
                usage();
            }
            let (n, k) = (arg(&args[2], "n", 1), arg(&args[3], "k", 1));
            let size = args.get(4).map_or(8, |s| arg(s, "size", 0)) as usize;
            if cmd == "router-server" {
                router_server(&args[1], n, k);
            } else {
                router_clients(&args[1], n, k, size);
            }
        }
        "pub-server" | "sub-clients" => {
            if args.len() != 5 && args.len() != 6 {
                usage();
            }
            let (n, m) = (arg(&args[3], "n", 1), arg(&args[4], "m", 1));
            let size = args.get(5).map_or(8, |s| arg(s, "size", 8)) as usize;
            if cmd == "pub-server" {
                pub_server(&args[1], &args[2], n, m, size);
            } else {
                sub_clients(&args[1], &args[2], n, m, size);
            }
        }
        _ => usage(),
    }
}
