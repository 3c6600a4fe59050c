//! Acceptance: the request-reply family (REQ, REP, DEALER, ROUTER), STREAM,
//! monitor events and heartbeats against REAL libzmq (pyzmq peers running
//! tests/peers/zmq_peer.py), in both directions (ferrozmq binds / libzmq
//! connects, and the reverse), over tcp and ipc.
//!
//! 1. Every socket pair, envelopes checked byte for byte, ROUTER_MANDATORY.
//! 2. REQ -> ROUTER/DEALER broker -> REP chains whose hops alternate
//!    implementation, 10 000 requests each, every reply matched.
//! 3. STREAM <-> STREAM raw TCP: notifications and data both ways.
//! 4. Monitor events: the same scenario run with a libzmq socket monitored
//!    and with a ferrozmq socket monitored must give the same sequence.
//! 5. Heartbeats against a peer process frozen with SIGSTOP, both ways.
//! 6. Bad input: incompatible socket types, malformed envelopes, a ROUTER
//!    message without a routing id, malformed PINGs.
//!
//! Without pyzmq these tests FAIL (run `bash scripts/setup.sh`). Every test
//! runs under a watchdog ([`common::bounded`]); every wait is bounded;
//! synchronisation is on conditions (READY lines, events, replies), never on
//! sleeps (a few negative checks - "nothing arrives within 300 ms" - are
//! bounded reads, not synchronisation).
//!
//! The heartbeat test where libzmq must detect a frozen *ferrozmq* peer runs
//! the ferrozmq side in a child process: this test binary itself, re-run
//! with `--exact ferrozmq_child_peer --ignored` and the
//! `FERROZMQ_REQREP_CHILD` environment variable (that helper "test" is
//! `#[ignore]`d and does nothing without the variable).

mod common;

use common::*;
use ferrozmq::monitor::{EventKind, EVENT_ALL};
use ferrozmq::{Context, Error, Monitor, Socket, SocketType};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use Transport::{Ipc, Tcp};

/// Per-test budget.
const LIMIT: Duration = Duration::from_secs(30);
/// How long any one expected message or event may take.
const WAIT_MS: u64 = 5000;

type Frames = Vec<Vec<u8>>;

fn frames(parts: &[&[u8]]) -> Frames {
    parts.iter().map(|p| p.to_vec()).collect()
}

fn to_frames(m: Vec<ferrozmq::Msg>) -> Frames {
    m.iter().map(|f| f.to_vec()).collect()
}

fn py_type(t: SocketType) -> &'static str {
    match t {
        SocketType::Req => "req",
        SocketType::Rep => "rep",
        SocketType::Dealer => "dealer",
        SocketType::Router => "router",
        SocketType::Stream => "stream",
        SocketType::Pub => "pub",
        SocketType::Sub => "sub",
        SocketType::Push => "push",
        SocketType::Pull => "pull",
        SocketType::Pair => "pair",
        other => panic!("no peer type for {other:?}"),
    }
}

/// A port nobody listens on (bound and released), for a peer that binds later.
fn free_tcp_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("tcp://{}", l.local_addr().unwrap())
}

// -------------------------------------------------------------------- nodes

/// A socket option for either implementation.
#[derive(Clone)]
enum Opt {
    RoutingId(Vec<u8>),
    Int(&'static str, i32),
}

impl Opt {
    fn apply(&self, s: &Socket) {
        match self {
            Opt::RoutingId(id) => s.set_routing_id(id).unwrap(),
            Opt::Int(name, v) => s.set_option(name, &v.to_string()).unwrap_or_else(|e| panic!("option {name}: {e}")),
        }
    }

    fn peer_arg(&self) -> String {
        match self {
            Opt::RoutingId(id) => format!("routing_id=x{}", hex(id)),
            Opt::Int(name, v) => format!("{name}={v}"),
        }
    }
}

/// One end of an exchange: a ferrozmq socket here, or a libzmq socket in a
/// `ctl` peer process.
#[allow(clippy::large_enum_variant)]
enum Node {
    Ferro(Socket),
    Lib(Peer),
}

impl Node {
    fn who(&self) -> &'static str {
        match self {
            Node::Ferro(_) => "ferrozmq",
            Node::Lib(_) => "libzmq",
        }
    }

    /// Sends a whole message; `Err(errno name)` if the send fails.
    fn try_send(&mut self, msg: &[&[u8]]) -> Result<(), String> {
        match self {
            Node::Ferro(s) => s.send_multipart(msg.iter().copied(), 0).map_err(|e| format!("{e:?}")),
            Node::Lib(p) => {
                let r = p.cmd(&format!("SEND {}", enc_frames(msg)));
                if r == "OK" {
                    return Ok(());
                }
                match r.strip_prefix("ERR ") {
                    Some(rest) => Err(rest.split_whitespace().next().unwrap_or_default().to_string()),
                    None => p.fail(&format!("SEND answered {r:?}")),
                }
            }
        }
    }

    fn send(&mut self, msg: &[&[u8]], what: &str) {
        if let Err(e) = self.try_send(msg) {
            panic!("{what}: {} send of {} failed: {e}", self.who(), describe(msg));
        }
    }

    /// The next message within `ms`, or None.
    fn try_recv(&mut self, ms: u64) -> Option<Frames> {
        match self {
            Node::Ferro(s) => {
                s.set_rcvtimeo(ms as i32).unwrap();
                match s.recv_multipart(0) {
                    Ok(m) => Some(to_frames(m)),
                    Err(Error::EAGAIN) => None,
                    Err(e) => panic!("ferrozmq recv: {e}"),
                }
            }
            Node::Lib(p) => p.recv(ms),
        }
    }

    fn recv(&mut self, what: &str) -> Frames {
        match self.try_recv(WAIT_MS) {
            Some(m) => m,
            None => match self {
                Node::Lib(p) => p.fail(&format!("{what}: libzmq received nothing within {WAIT_MS} ms")),
                Node::Ferro(_) => panic!("{what}: ferrozmq received nothing within {WAIT_MS} ms"),
            },
        }
    }

    /// Receives and checks one message, frame by frame.
    fn expect(&mut self, exp: &[&[u8]], what: &str) {
        let got = self.recv(what);
        assert_eq!(
            describe(&got),
            describe(exp),
            "{what}: {} received a different message (got {} frames, expected {})",
            self.who(),
            got.len(),
            exp.len()
        );
        assert_eq!(got, frames(exp), "{what}");
    }

    /// Checks that nothing arrives within `ms`.
    fn expect_nothing(&mut self, ms: u64, what: &str) {
        if let Some(m) = self.try_recv(ms) {
            panic!("{what}: {} received an unexpected message {}", self.who(), describe(&m));
        }
    }
}

/// What one side of a pair is.
struct Side {
    ty: SocketType,
    opts: Vec<Opt>,
}

impl Side {
    fn new(ty: SocketType) -> Side {
        Side { ty, opts: Vec::new() }
    }
    fn opt(mut self, o: Opt) -> Side {
        self.opts.push(o);
        self
    }
}

/// A connected pair: `a` and `b` (one ferrozmq, one libzmq) plus what must
/// outlive them.
struct Pair {
    a: Node,
    b: Node,
    _ctx: Context,
    _cleanup: Cleanup,
}

/// Opens `a` and `b`: the ferrozmq one is `a` if `ferro_is_a`; the ferrozmq
/// one binds if `ferro_binds` (and the libzmq one connects), or the reverse.
fn open_pair(wd: &Watchdog, t: Transport, a: Side, b: Side, ferro_is_a: bool, ferro_binds: bool) -> Pair {
    let (fs, ls) = if ferro_is_a { (&a, &b) } else { (&b, &a) };
    let ctx = Context::new();
    let s = ctx.socket(fs.ty).unwrap();
    s.set_linger(0).unwrap();
    s.set_sndtimeo(WAIT_MS as i32).unwrap();
    for o in &fs.opts {
        o.apply(&s);
    }
    let opt_args: Vec<String> = ls.opts.iter().flat_map(|o| ["--opt".to_string(), o.peer_arg()]).collect();
    let mut args: Vec<String> = vec!["ctl".into(), py_type(ls.ty).into()];
    args.extend(opt_args);
    let ep = t.bind_ep("pair");
    let mut cleanup = vec![ep.clone()];
    let peer = if ferro_binds {
        s.bind(&ep).unwrap_or_else(|e| panic!("ferrozmq bind {ep}: {e}"));
        let resolved = s.last_endpoint().unwrap();
        cleanup.push(resolved.clone());
        args.extend(["--connect".to_string(), resolved]);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut p = wd.peer(&argv);
        p.ready();
        p
    } else {
        args.extend(["--bind".to_string(), ep.clone()]);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut p = wd.peer(&argv);
        let eps = p.ready();
        s.connect(&eps[0]).unwrap_or_else(|e| panic!("ferrozmq connect {}: {e}", eps[0]));
        p
    };
    let (f, l) = (Node::Ferro(s), Node::Lib(peer));
    let (a, b) = if ferro_is_a { (f, l) } else { (l, f) };
    Pair { a, b, _ctx: ctx, _cleanup: Cleanup(cleanup) }
}

/// A routing id as libzmq generates it for a peer without ROUTING_ID:
/// 5 bytes, a zero then a 32-bit counter.
fn assert_auto_id(id: &[u8], what: &str) {
    assert!(
        id.len() == 5 && id[0] == 0,
        "{what}: expected a generated 5-byte routing id starting with 0, got {}",
        hex(id)
    );
}

// ------------------------------------------------------ 1. socket pairs

/// The bodies of the three rounds: a plain one, one with an empty frame and
/// a long (8-byte length) frame inside, one starting with an empty frame.
fn body(round: usize) -> Vec<Vec<u8>> {
    match round {
        0 => vec![b"request 0".to_vec()],
        1 => vec![b"request 1".to_vec(), vec![], pat(1, 300)],
        _ => vec![vec![], b"request 2 after an empty frame".to_vec(), pat(2, 40)],
    }
}

fn reply(round: usize) -> Vec<Vec<u8>> {
    match round {
        0 => vec![b"reply 0".to_vec()],
        1 => vec![b"reply 1".to_vec(), vec![], pat(11, 256)],
        _ => vec![vec![], b"reply 2".to_vec()],
    }
}

fn refs(v: &[Vec<u8>]) -> Vec<&[u8]> {
    v.iter().map(|f| f.as_slice()).collect()
}

fn with_prefix(prefix: &[&[u8]], rest: &[Vec<u8>]) -> Vec<Vec<u8>> {
    prefix.iter().map(|p| p.to_vec()).chain(rest.iter().cloned()).collect()
}

/// Explicit routing ids over ipc, generated ones over tcp: both kinds are
/// checked in every pairing.
fn client_id(t: Transport) -> Option<Vec<u8>> {
    match t {
        Ipc => Some(b"client-\x01\xff".to_vec()),
        Tcp => None,
    }
}

fn check_id(got: &[u8], explicit: &Option<Vec<u8>>, what: &str) {
    match explicit {
        Some(id) => assert_eq!(hex(got), hex(id), "{what}: routing id is the peer's ROUTING_ID"),
        None => assert_auto_id(got, what),
    }
}

fn with_id(side: Side, id: &Option<Vec<u8>>) -> Side {
    match id {
        Some(id) => side.opt(Opt::RoutingId(id.clone())),
        None => side,
    }
}

const UNKNOWN_ID: &[u8] = b"\x00nobody";

/// REQ -> REP: the REP application sees the body alone, the REQ the reply alone.
fn req_rep(wd: &Watchdog, name: &str, t: Transport, ferro_is_a: bool, ferro_binds: bool) {
    let mut p = open_pair(wd, t, Side::new(SocketType::Req), Side::new(SocketType::Rep), ferro_is_a, ferro_binds);
    for round in 0..3 {
        let what = format!("{name}, round {round}");
        p.a.send(&refs(&body(round)), &what);
        p.b.expect(&refs(&body(round)), &format!("{what}: request at REP"));
        p.b.send(&refs(&reply(round)), &what);
        p.a.expect(&refs(&reply(round)), &format!("{what}: reply at REQ"));
    }
}

/// REQ -> ROUTER: the ROUTER sees [id, "", body...]; it answers with
/// [id, "", reply...] and the REQ gets the reply alone. With
/// ROUTER_MANDATORY an unknown id fails with EHOSTUNREACH.
fn req_router(wd: &Watchdog, name: &str, t: Transport, ferro_is_a: bool, ferro_binds: bool) {
    let id = client_id(t);
    let a = with_id(Side::new(SocketType::Req), &id);
    let b = Side::new(SocketType::Router).opt(Opt::Int("router_mandatory", 1));
    let mut p = open_pair(wd, t, a, b, ferro_is_a, ferro_binds);
    let mut first_id: Option<Vec<u8>> = None;
    for round in 0..3 {
        let what = format!("{name}, round {round}");
        p.a.send(&refs(&body(round)), &what);
        let got = p.b.recv(&format!("{what}: request at ROUTER"));
        assert!(got.len() >= 2, "{what}: ROUTER got {}", describe(&got));
        check_id(&got[0], &id, &what);
        if let Some(f) = &first_id {
            assert_eq!(&got[0], f, "{what}: the routing id changed");
        }
        first_id = Some(got[0].clone());
        assert_eq!(
            describe(&got[1..]),
            describe(&with_prefix(&[b""], &body(round))),
            "{what}: [id, \"\", body] at ROUTER"
        );
        assert_eq!(got[1..].to_vec(), with_prefix(&[b""], &body(round)), "{what}");
        let r = with_prefix(&[&got[0], b""], &reply(round));
        p.b.send(&refs(&r), &what);
        p.a.expect(&refs(&reply(round)), &format!("{what}: reply at REQ"));
    }
    let e = p.b.try_send(&[UNKNOWN_ID, b"", b"x"]);
    assert_eq!(e, Err("EHOSTUNREACH".to_string()), "{name}: {} ROUTER_MANDATORY send to an unknown id", p.b.who());
}

/// DEALER -> REP: the DEALER supplies the empty delimiter and gets it back.
fn dealer_rep(wd: &Watchdog, name: &str, t: Transport, ferro_is_a: bool, ferro_binds: bool) {
    let mut p = open_pair(wd, t, Side::new(SocketType::Dealer), Side::new(SocketType::Rep), ferro_is_a, ferro_binds);
    for round in 0..3 {
        let what = format!("{name}, round {round}");
        p.a.send(&refs(&with_prefix(&[b""], &body(round))), &what);
        p.b.expect(&refs(&body(round)), &format!("{what}: request at REP"));
        p.b.send(&refs(&reply(round)), &what);
        p.a.expect(&refs(&with_prefix(&[b""], &reply(round))), &format!("{what}: reply at DEALER"));
    }
}

/// DEALER -> ROUTER: [id, frames...] both ways, nothing added or removed.
fn dealer_router(wd: &Watchdog, name: &str, t: Transport, ferro_is_a: bool, ferro_binds: bool) {
    let id = client_id(t);
    let a = with_id(Side::new(SocketType::Dealer), &id);
    let b = Side::new(SocketType::Router).opt(Opt::Int("router_mandatory", 1));
    let mut p = open_pair(wd, t, a, b, ferro_is_a, ferro_binds);
    for round in 0..3 {
        let what = format!("{name}, round {round}");
        p.a.send(&refs(&body(round)), &what);
        let got = p.b.recv(&format!("{what}: at ROUTER"));
        check_id(&got[0], &id, &what);
        assert_eq!(describe(&got[1..]), describe(&body(round)), "{what}: [id, body...] at ROUTER");
        assert_eq!(got[1..].to_vec(), body(round), "{what}");
        p.b.send(&refs(&with_prefix(&[&got[0]], &reply(round))), &what);
        p.a.expect(&refs(&reply(round)), &format!("{what}: at DEALER"));
    }
    let e = p.b.try_send(&[UNKNOWN_ID, b"x"]);
    assert_eq!(e, Err("EHOSTUNREACH".to_string()), "{name}: {} ROUTER_MANDATORY send to an unknown id", p.b.who());
}

/// Sends `msg` with ROUTER_MANDATORY, retrying while the peer is not
/// connected yet (EHOSTUNREACH), for at most 5 s.
fn send_when_routable(n: &mut Node, msg: &[&[u8]], what: &str) {
    let end = Instant::now() + Duration::from_millis(WAIT_MS);
    loop {
        match n.try_send(msg) {
            Ok(()) => return,
            Err(e) if e == "EHOSTUNREACH" && Instant::now() < end => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("{what}: {} send to {} never became possible: {e}", n.who(), describe(&msg[..1])),
        }
    }
}

/// ROUTER <-> ROUTER with explicit routing ids on both: the first sender
/// (either side may be first: both know the other's id) waits until the
/// connection is up with ROUTER_MANDATORY; each side sees [sender id, ...].
fn router_router(wd: &Watchdog, name: &str, t: Transport, ferro_is_a: bool, ferro_binds: bool) {
    let (ida, idb): (&[u8], &[u8]) = (b"router-A", b"router-B\x00\xfe");
    let a = Side::new(SocketType::Router).opt(Opt::RoutingId(ida.to_vec())).opt(Opt::Int("router_mandatory", 1));
    let b = Side::new(SocketType::Router).opt(Opt::RoutingId(idb.to_vec())).opt(Opt::Int("router_mandatory", 1));
    let mut p = open_pair(wd, t, a, b, ferro_is_a, ferro_binds);
    send_when_routable(&mut p.a, &[idb, b"hello from A"], name);
    p.b.expect(&[ida, b"hello from A"], &format!("{name}: at B"));
    for round in 0..3 {
        let what = format!("{name}, round {round}");
        p.b.send(&refs(&with_prefix(&[ida], &body(round))), &what);
        p.a.expect(&refs(&with_prefix(&[idb], &body(round))), &format!("{what}: at A"));
        p.a.send(&refs(&with_prefix(&[idb], &reply(round))), &what);
        p.b.expect(&refs(&with_prefix(&[ida], &reply(round))), &format!("{what}: at B"));
    }
    for n in [&mut p.a, &mut p.b] {
        let e = n.try_send(&[UNKNOWN_ID, b"x"]);
        assert_eq!(e, Err("EHOSTUNREACH".to_string()), "{name}: {} ROUTER_MANDATORY send to an unknown id", n.who());
    }
}

type PairScenario = fn(&Watchdog, &str, Transport, bool, bool);

fn run_pair(pair: &str, scenario: PairScenario, ferro_is_a: bool, ferro_binds: bool, t: Transport) {
    let name = format!(
        "{pair}: ferrozmq is the {}, {}, {t:?}",
        if ferro_is_a { "client" } else { "server" },
        if ferro_binds { "ferrozmq binds" } else { "libzmq binds" }
    );
    bounded(&name.clone(), LIMIT, move |wd| scenario(wd, &name, t, ferro_is_a, ferro_binds));
}

/// The eight variants of a pair: ferrozmq as client or server (the "client"
/// is the REQ/DEALER, or the first ROUTER), binding or connecting, tcp/ipc.
macro_rules! pair_suite {
    ($m:ident, $scenario:path) => {
        mod $m {
            use super::*;
            #[test]
            fn ferrozmq_client_binds_tcp() {
                run_pair(stringify!($m), $scenario, true, true, Tcp)
            }
            #[test]
            fn ferrozmq_client_binds_ipc() {
                run_pair(stringify!($m), $scenario, true, true, Ipc)
            }
            #[test]
            fn ferrozmq_client_connects_tcp() {
                run_pair(stringify!($m), $scenario, true, false, Tcp)
            }
            #[test]
            fn ferrozmq_client_connects_ipc() {
                run_pair(stringify!($m), $scenario, true, false, Ipc)
            }
            #[test]
            fn ferrozmq_server_binds_tcp() {
                run_pair(stringify!($m), $scenario, false, true, Tcp)
            }
            #[test]
            fn ferrozmq_server_binds_ipc() {
                run_pair(stringify!($m), $scenario, false, true, Ipc)
            }
            #[test]
            fn ferrozmq_server_connects_tcp() {
                run_pair(stringify!($m), $scenario, false, false, Tcp)
            }
            #[test]
            fn ferrozmq_server_connects_ipc() {
                run_pair(stringify!($m), $scenario, false, false, Ipc)
            }
        }
    };
}

pair_suite!(req_rep_pair, super::req_rep);
pair_suite!(req_router_pair, super::req_router);
pair_suite!(dealer_rep_pair, super::dealer_rep);
pair_suite!(dealer_router_pair, super::dealer_router);
pair_suite!(router_router_pair, super::router_router);

// ------------------------------------------------------------ 2. chains

const CHAIN_CLIENTS: usize = 4;
const CHAIN_PER_CLIENT: usize = 2500;
const CHAIN_WORKERS: usize = 3;

/// Checks `OK requests=N workers=w0:n0,...` from the peer roles.
fn check_worker_counts(line: &str, name: &str) {
    let mut words = line.split_whitespace();
    let total = words.next().and_then(|w| w.strip_prefix("requests=")).and_then(|n| n.parse::<usize>().ok());
    assert_eq!(total, Some(CHAIN_CLIENTS * CHAIN_PER_CLIENT), "{name}: {line}");
    let counts: BTreeMap<String, usize> = words
        .next()
        .and_then(|w| w.strip_prefix("workers="))
        .unwrap_or_default()
        .split(',')
        .filter_map(|kv| kv.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
        .collect();
    assert_eq!(counts.len(), CHAIN_WORKERS, "{name}: every worker must have served requests: {line}");
    assert!(counts.values().all(|&n| n > 0), "{name}: {line}");
}

/// ferrozmq REQ clients -> libzmq broker (ROUTER/DEALER, zmq.proxy) ->
/// ferrozmq REP workers. The libzmq broker binds, ferrozmq connects.
fn chain_ferrozmq_ends(t: Transport) {
    let name = format!("chain ferrozmq REQ -> libzmq broker -> ferrozmq REP, {t:?}");
    bounded(&name.clone(), LIMIT, move |wd| {
        let (fe, be) = (t.bind_ep("fe"), t.bind_ep("be"));
        let _c = Cleanup(vec![fe.clone(), be.clone()]);
        let mut broker = wd.peer(&["broker", "--bind", &fe, "--bind", &be]);
        let eps = broker.ready();
        let (fe, be) = (eps[0].clone(), eps[1].clone());
        let ctx = Context::new();
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..CHAIN_WORKERS)
            .map(|k| {
                let (ctx, be, stop) = (ctx.clone(), be.clone(), stop.clone());
                std::thread::spawn(move || {
                    let rep = ctx.socket(SocketType::Rep).unwrap();
                    rep.set_linger(0).unwrap();
                    rep.set_rcvtimeo(50).unwrap();
                    rep.set_sndtimeo(WAIT_MS as i32).unwrap();
                    rep.connect(&be).unwrap();
                    let me = format!("w{k}");
                    let mut served = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        match rep.recv_multipart(0) {
                            Ok(req) => {
                                let mut out: Vec<Vec<u8>> = vec![req[0].to_vec(), me.as_bytes().to_vec()];
                                out.extend(req[1..].iter().map(|f| f.to_vec()));
                                rep.send_multipart(out, 0).unwrap_or_else(|e| panic!("worker {k}: reply: {e}"));
                                served += 1;
                            }
                            Err(Error::EAGAIN) => {}
                            Err(e) => panic!("worker {k}: {e}"),
                        }
                    }
                    served
                })
            })
            .collect();
        let clients: Vec<_> = (0..CHAIN_CLIENTS)
            .map(|k| {
                let (ctx, fe) = (ctx.clone(), fe.clone());
                std::thread::spawn(move || {
                    let req = ctx.socket(SocketType::Req).unwrap();
                    req.set_linger(0).unwrap();
                    req.set_rcvtimeo(10_000).unwrap();
                    req.set_sndtimeo(10_000).unwrap();
                    req.connect(&fe).unwrap();
                    let mut by_worker: BTreeMap<String, usize> = BTreeMap::new();
                    for seq in 0..CHAIN_PER_CLIENT {
                        let rid = format!("c{k}-{seq}");
                        let payload = pat((k * 100_003 + seq) as u64, seq % 50);
                        req.send_multipart([rid.as_bytes(), payload.as_slice()], 0)
                            .unwrap_or_else(|e| panic!("client {k} request {seq}: send: {e}"));
                        let rep =
                            req.recv_multipart(0).unwrap_or_else(|e| panic!("client {k} request {seq}: no reply: {e}"));
                        let rep = to_frames(rep);
                        assert!(
                            rep.len() == 3 && rep[0] == rid.as_bytes() && rep[2] == payload,
                            "client {k} request {seq}: reply {} does not match request {}",
                            describe(&rep),
                            describe(&[rid.as_bytes(), &payload])
                        );
                        *by_worker.entry(String::from_utf8_lossy(&rep[1]).into_owned()).or_default() += 1;
                    }
                    by_worker
                })
            })
            .collect();
        let mut by_worker: BTreeMap<String, usize> = BTreeMap::new();
        for c in clients {
            for (w, n) in c.join().expect("client thread") {
                *by_worker.entry(w).or_default() += n;
            }
        }
        stop.store(true, Ordering::Relaxed);
        let served: Vec<usize> = workers.into_iter().map(|w| w.join().expect("worker thread")).collect();
        let line = format!(
            "requests={} workers={}",
            by_worker.values().sum::<usize>(),
            by_worker.iter().map(|(w, n)| format!("{w}:{n}")).collect::<Vec<_>>().join(",")
        );
        check_worker_counts(&line, &name);
        assert_eq!(served.iter().sum::<usize>(), CHAIN_CLIENTS * CHAIN_PER_CLIENT, "{name}: served {served:?}");
        drop(broker);
    });
}

/// libzmq REQ clients -> ferrozmq broker (ROUTER/DEALER, ferrozmq::proxy in
/// a thread) -> libzmq REP workers. ferrozmq binds, libzmq connects.
fn chain_libzmq_ends(t: Transport) {
    let name = format!("chain libzmq REQ -> ferrozmq broker -> libzmq REP, {t:?}");
    bounded(&name.clone(), LIMIT, move |wd| {
        let ctx = Context::new();
        let control = inproc("proxy-control");
        let (fe, be) = (t.bind_ep("fe"), t.bind_ep("be"));
        let mut cleanup = vec![fe.clone(), be.clone()];
        let (tx, rx) = mpsc::channel();
        let pctx = ctx.clone();
        let pcontrol = control.clone();
        let proxy = std::thread::spawn(move || {
            let front = pctx.socket(SocketType::Router).unwrap();
            let back = pctx.socket(SocketType::Dealer).unwrap();
            let ctl = pctx.socket(SocketType::Pair).unwrap();
            for s in [&front, &back, &ctl] {
                s.set_linger(0).unwrap();
            }
            front.bind(&fe).unwrap();
            back.bind(&be).unwrap();
            ctl.bind(&pcontrol).unwrap();
            tx.send((front.last_endpoint().unwrap(), back.last_endpoint().unwrap())).unwrap();
            ferrozmq::proxy_steerable(&front, &back, None, Some(&ctl))
        });
        let (fe, be) = rx.recv_timeout(Duration::from_secs(5)).expect("the proxy thread binds");
        cleanup.extend([fe.clone(), be.clone()]);
        let _c = Cleanup(cleanup);
        let ctl = ctx.socket(SocketType::Pair).unwrap();
        ctl.set_linger(0).unwrap();
        ctl.connect(&control).unwrap();
        let workers_n = CHAIN_WORKERS.to_string();
        let mut workers = wd.peer(&["rep-workers", "--workers", &workers_n, "--connect", &be]);
        workers.ready();
        let (clients_n, count) = (CHAIN_CLIENTS.to_string(), CHAIN_PER_CLIENT.to_string());
        let mut clients = wd.peer(&["req-clients", "--clients", &clients_n, "--count", &count, "--connect", &fe]);
        clients.ready();
        let ok = loop {
            let l = clients.try_line(Duration::from_secs(3600)).unwrap_or_default();
            if let Some(ok) = l.strip_prefix("OK ") {
                break ok.to_string();
            }
            if l.starts_with("FAIL") {
                // Say what the broker saw (frontend in/out, backend in/out),
                // if it still answers.
                ctl.set_rcvtimeo(2000).unwrap();
                ctl.send("STATISTICS", 0).unwrap();
                let stats = match ctl.recv_multipart(0) {
                    Ok(m) => format!(
                        "{:?}",
                        m.iter().map(|f| u64::from_ne_bytes(f[..8].try_into().unwrap())).collect::<Vec<_>>()
                    ),
                    Err(e) => format!("no answer ({e}): the proxy is blocked"),
                };
                clients.fail(&format!(
                    "{name}: the clients failed; broker statistics [front msgs in, bytes in, msgs out, bytes out, \
                     back msgs in, bytes in, msgs out, bytes out]: {stats}; workers said {:?}",
                    workers.seen()
                ));
            }
        };
        check_worker_counts(&ok, &name);
        clients.wait_success();
        drop(workers);
        ctl.send("TERMINATE", 0).unwrap();
        let (dtx, drx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = dtx.send(proxy.join());
        });
        let r = drx.recv_timeout(Duration::from_secs(5)).expect("the proxy returns after TERMINATE");
        assert_eq!(r.expect("proxy thread"), Ok(()), "{name}: proxy result");
    });
}

#[test]
fn chain_ferrozmq_clients_libzmq_broker_ferrozmq_workers_tcp() {
    chain_ferrozmq_ends(Tcp);
}
#[test]
fn chain_ferrozmq_clients_libzmq_broker_ferrozmq_workers_ipc() {
    chain_ferrozmq_ends(Ipc);
}
#[test]
fn chain_libzmq_clients_ferrozmq_broker_libzmq_workers_tcp() {
    chain_libzmq_ends(Tcp);
}
#[test]
fn chain_libzmq_clients_ferrozmq_broker_libzmq_workers_ipc() {
    chain_libzmq_ends(Ipc);
}

// ------------------------------------------------------------ 3. STREAM

/// Receives raw data for `id` until `len` bytes have arrived.
fn recv_stream_data(n: &mut Node, id: &[u8], len: usize, what: &str) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < len {
        let m = n.recv(&format!("{what} ({} of {len} bytes so far)", got.len()));
        assert_eq!(m.len(), 2, "{what}: {} STREAM message {}", n.who(), describe(&m));
        assert_eq!(hex(&m[0]), hex(id), "{what}: data from an unexpected connection");
        assert!(!m[1].is_empty(), "{what}: a notification in the middle of the data");
        got.extend_from_slice(&m[1]);
    }
    got
}

/// Receives a connect/disconnect notification `[id, ""]` and returns the id.
fn recv_note(n: &mut Node, what: &str) -> Vec<u8> {
    let m = n.recv(what);
    assert!(
        m.len() == 2 && m[1].is_empty(),
        "{what}: {} expected a notification [id, \"\"], got {}",
        n.who(),
        describe(&m)
    );
    m[0].clone()
}

/// A libzmq STREAM and a ferrozmq STREAM talk raw TCP to each other.
///
/// As libzmq 4.3.5 does (checked libzmq <-> libzmq with pyzmq): both sides
/// get a connect notification `[id, ""]`; data is passed through as is; the
/// side that closes a connection (sending `[id, ""]`) gets no notification
/// for it, the other side gets a disconnect notification `[id, ""]`; when
/// the *binding* side closes, the connecting STREAM reconnects (both sides
/// then get a fresh connect notification, the binder with a new id); when
/// the connecting side closes, it does not reconnect.
fn stream_interop(ferro_binds: bool, ferro_closes: bool) {
    let name = format!(
        "STREAM {}, {} closes",
        if ferro_binds { "ferrozmq binds, libzmq connects" } else { "libzmq binds, ferrozmq connects" },
        if ferro_closes { "ferrozmq" } else { "libzmq" }
    );
    bounded(&name.clone(), LIMIT, move |wd| {
        let mut p = open_pair(wd, Tcp, Side::new(SocketType::Stream), Side::new(SocketType::Stream), true, ferro_binds);
        let (f, l) = (&mut p.a, &mut p.b);
        let fid = recv_note(f, &format!("{name}: ferrozmq connect notification"));
        let lid = recv_note(l, &format!("{name}: libzmq connect notification"));
        assert_auto_id(&fid, &format!("{name}: ferrozmq STREAM id"));
        assert_auto_id(&lid, &format!("{name}: libzmq STREAM id"));

        let from_lib: Vec<u8> = [b"hello from libzmq: ".to_vec(), pat(5, 70_000)].concat();
        l.send(&[&lid, &from_lib], &name);
        let got = recv_stream_data(f, &fid, from_lib.len(), &format!("{name}: libzmq -> ferrozmq"));
        assert!(got == from_lib, "{name}: ferrozmq received different bytes");
        let from_ferro: Vec<u8> = [b"hello from ferrozmq: ".to_vec(), pat(9, 70_000)].concat();
        f.send(&[&fid, &from_ferro], &name);
        let got = recv_stream_data(l, &lid, from_ferro.len(), &format!("{name}: ferrozmq -> libzmq"));
        assert!(got == from_ferro, "{name}: libzmq received different bytes");

        let (closer, other, cid, oid) = if ferro_closes { (f, l, fid, lid) } else { (l, f, lid, fid) };
        closer.send(&[&cid, b""], &format!("{name}: close"));
        let note = recv_note(other, &format!("{name}: disconnect notification at the other side"));
        assert_eq!(hex(&note), hex(&oid), "{name}: the disconnect notification names the connection");
        let closer_binds = ferro_closes == ferro_binds;
        if closer_binds {
            // The connecting side reconnects: its connect notification, and
            // the binder's for the new connection (a new id, and no
            // notification for the connection it closed itself).
            recv_note(other, &format!("{name}: connect notification after the reconnection, connecting side"));
            let new = recv_note(closer, &format!("{name}: connect notification after the reconnection, binding side"));
            assert_ne!(
                hex(&new),
                hex(&cid),
                "{name}: the closing side got a notification for the connection it closed itself (libzmq sends none)"
            );
            assert_auto_id(&new, &name);
            if let Some(m) = closer.try_recv(300) {
                panic!(
                    "{name}: the closing side ({}) received {} after closing its connection {} (libzmq sends the \
                     closing side no notification)",
                    closer.who(),
                    describe(&m),
                    hex(&cid)
                );
            }
        } else {
            if let Some(m) = closer.try_recv(300) {
                panic!(
                    "{name}: the closing side ({}) received {} after closing its connection {} (libzmq sends the \
                     closing side no notification, and a connecting STREAM that closed does not reconnect)",
                    closer.who(),
                    describe(&m),
                    hex(&cid)
                );
            }
            other.expect_nothing(100, &format!("{name}: after a close by the connecting side (no reconnection)"));
        }
    });
}

#[test]
fn stream_ferrozmq_binds_ferrozmq_closes() {
    stream_interop(true, true);
}
#[test]
fn stream_ferrozmq_binds_libzmq_closes() {
    stream_interop(true, false);
}
#[test]
fn stream_libzmq_binds_ferrozmq_closes() {
    stream_interop(false, true);
}
#[test]
fn stream_libzmq_binds_libzmq_closes() {
    stream_interop(false, false);
}

// ---------------------------------------------------------- 4. monitor

/// One monitor event: libzmq's name (`CONNECT_RETRIED`), value, endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Ev {
    kind: String,
    value: u32,
    endpoint: String,
}

fn event_name(k: EventKind) -> &'static str {
    match k {
        EventKind::Connected => "CONNECTED",
        EventKind::ConnectDelayed => "CONNECT_DELAYED",
        EventKind::ConnectRetried => "CONNECT_RETRIED",
        EventKind::Listening => "LISTENING",
        EventKind::BindFailed => "BIND_FAILED",
        EventKind::Accepted => "ACCEPTED",
        EventKind::AcceptFailed => "ACCEPT_FAILED",
        EventKind::Closed => "CLOSED",
        EventKind::CloseFailed => "CLOSE_FAILED",
        EventKind::Disconnected => "DISCONNECTED",
        EventKind::MonitorStopped => "MONITOR_STOPPED",
        EventKind::HandshakeFailedNoDetail => "HANDSHAKE_FAILED_NO_DETAIL",
        EventKind::HandshakeSucceeded => "HANDSHAKE_SUCCEEDED",
        EventKind::HandshakeFailedProtocol => "HANDSHAKE_FAILED_PROTOCOL",
        EventKind::HandshakeFailedAuth => "HANDSHAKE_FAILED_AUTH",
    }
}

/// A monitored socket's event stream: a ferrozmq [`Monitor`], or a libzmq
/// socket in a `mon` peer (which prints `EVENT NAME value endpoint`).
#[allow(clippy::large_enum_variant)]
enum Mon {
    Ferro(Monitor),
    Lib(Peer),
}

/// Events and what has been seen of them.
struct EventLog {
    mon: Mon,
    log: Vec<Ev>,
}

impl EventLog {
    fn who(&self) -> &'static str {
        match self.mon {
            Mon::Ferro(_) => "ferrozmq",
            Mon::Lib(_) => "libzmq",
        }
    }

    /// The next event within `timeout`, appended to the log.
    fn next(&mut self, timeout: Duration) -> Option<Ev> {
        let end = Instant::now() + timeout;
        let ev = match &mut self.mon {
            Mon::Ferro(m) => match m.next_event(timeout.as_millis().max(1) as i32) {
                Ok(e) => Ev { kind: event_name(e.kind).to_string(), value: e.value, endpoint: e.endpoint },
                Err(Error::EAGAIN) => return None,
                Err(e) => panic!("ferrozmq monitor: {e}"),
            },
            Mon::Lib(p) => loop {
                let left = end.saturating_duration_since(Instant::now());
                let l = p.try_line(left)?;
                let Some(rest) = l.strip_prefix("EVENT ") else {
                    if l.starts_with("FAIL") {
                        p.fail("peer failed");
                    }
                    continue;
                };
                let mut w = rest.splitn(3, ' ');
                let (kind, value, ep) = (w.next().unwrap(), w.next().unwrap(), w.next().unwrap_or("-"));
                break Ev {
                    kind: kind.to_string(),
                    value: value.parse().unwrap_or(0),
                    endpoint: if ep == "-" { String::new() } else { ep.to_string() },
                };
            },
        };
        self.log.push(ev.clone());
        Some(ev)
    }

    /// Reads events until `cond(log)` holds; fails after `within`.
    fn until(&mut self, within: Duration, what: &str, cond: impl Fn(&[Ev]) -> bool) {
        let end = Instant::now() + within;
        while !cond(&self.log) {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() || self.next(left).is_none() && Instant::now() >= end {
                panic!("{}: {what}: not seen within {within:?}; events: {}", self.who(), kinds(&self.log).join(" "));
            }
        }
    }

    /// Reads events until one of `kind` arrives.
    fn until_kind(&mut self, kind: &str, what: &str) -> Ev {
        let n = self.log.len();
        self.until(Duration::from_millis(WAIT_MS), what, |l| l[n..].iter().any(|e| e.kind == kind));
        self.log[n..].iter().find(|e| e.kind == kind).unwrap().clone()
    }

    /// Collects whatever arrives during `d`.
    fn for_a_while(&mut self, d: Duration) {
        let end = Instant::now() + d;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            self.next(left);
        }
    }
}

fn kinds(l: &[Ev]) -> Vec<String> {
    l.iter().map(|e| e.kind.clone()).collect()
}

/// Kinds with values, for diagnostics.
fn detailed(l: &[Ev]) -> String {
    l.iter().map(|e| format!("{}({})", e.kind, e.value)).collect::<Vec<_>>().join(" ")
}

fn count(l: &[Ev], kind: &str) -> usize {
    l.iter().filter(|e| e.kind == kind).count()
}

/// Collapses back-to-back repetitions of any block (`A B C A B C A` ->
/// `A B C A`): the number of reconnection cycles depends on timing.
fn dedup_cycles<T: PartialEq + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    'again: loop {
        for len in 1..=v.len() / 2 {
            for i in 0..=v.len() - 2 * len {
                if v[i..i + len] == v[i + len..i + 2 * len] {
                    v.drain(i + len..i + 2 * len);
                    continue 'again;
                }
            }
        }
        return v;
    }
}

/// Kinds with the endpoint's form: `<ep>` for the scenario's endpoint,
/// `<none>` for an empty one, otherwise the endpoint with its port elided.
fn shape(l: &[Ev], ep: &str) -> Vec<String> {
    l.iter()
        .map(|e| {
            let form = if e.endpoint == ep {
                "<ep>".to_string()
            } else if e.endpoint.is_empty() {
                "<none>".to_string()
            } else if let Some((host, _port)) = e.endpoint.strip_prefix("tcp://").and_then(|r| r.rsplit_once(':')) {
                format!("tcp://{host}:<port>")
            } else {
                e.endpoint.clone()
            };
            format!("{}@{form}", e.kind)
        })
        .collect()
}

/// Asserts the ferrozmq and the libzmq run of a scenario gave the same
/// sequence of event kinds (cycles de-duplicated), with endpoints of the
/// same form.
fn assert_same_events(name: &str, lib: &[Ev], lib_ep: &str, ferro: &[Ev], ferro_ep: &str) {
    let (l, f) = (dedup_cycles(&shape(lib, lib_ep)), dedup_cycles(&shape(ferro, ferro_ep)));
    assert!(
        l == f,
        "{name}: ferrozmq's monitor events differ from libzmq's for the same scenario\n  \
         libzmq   (de-duplicated): {}\n  ferrozmq (de-duplicated): {}\n  \
         libzmq   (raw): {}\n  ferrozmq (raw): {}",
        l.join(" "),
        f.join(" "),
        detailed(lib),
        detailed(ferro)
    );
}

/// Which implementation a scenario's monitored socket is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Impl {
    Ferro,
    Lib,
}

/// A monitored socket of `ty` (with `opts`) that binds or connects `ep`.
/// Returns its events, the endpoint it resolved, and (ferrozmq) the socket
/// to keep alive.
fn monitored(
    wd: &Watchdog,
    who: Impl,
    ty: SocketType,
    opts: &[Opt],
    bind: bool,
    ep: &str,
) -> (EventLog, String, Option<(Context, Socket)>) {
    match who {
        Impl::Lib => {
            let mut args: Vec<String> = vec!["mon".into(), py_type(ty).into()];
            for o in opts {
                args.extend(["--opt".to_string(), o.peer_arg()]);
            }
            args.extend([if bind { "--bind" } else { "--connect" }.to_string(), ep.to_string()]);
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut p = wd.peer(&argv);
            // Events may be printed before READY: keep them.
            let mut pending = Vec::new();
            let resolved = loop {
                let l = p.line();
                if let Some(r) = l.strip_prefix("READY ") {
                    break r.to_string();
                }
                pending.push(l);
            };
            let mut log = EventLog { mon: Mon::Lib(p), log: Vec::new() };
            for l in pending {
                if let Some(rest) = l.strip_prefix("EVENT ") {
                    let mut w = rest.splitn(3, ' ');
                    let (kind, value, e) = (w.next().unwrap(), w.next().unwrap(), w.next().unwrap_or("-"));
                    log.log.push(Ev {
                        kind: kind.into(),
                        value: value.parse().unwrap_or(0),
                        endpoint: if e == "-" { String::new() } else { e.into() },
                    });
                }
            }
            (log, resolved, None)
        }
        Impl::Ferro => {
            let ctx = Context::new();
            let s = ctx.socket(ty).unwrap();
            s.set_linger(0).unwrap();
            for o in opts {
                o.apply(&s);
            }
            let m = s.monitor_events(EVENT_ALL).unwrap();
            let resolved = if bind {
                s.bind(ep).unwrap();
                s.last_endpoint().unwrap()
            } else {
                s.connect(ep).unwrap();
                ep.to_string()
            };
            (EventLog { mon: Mon::Ferro(m), log: Vec::new() }, resolved, Some((ctx, s)))
        }
    }
}

/// Scenario (a), the connecting side: a DEALER (RECONNECT_IVL 100 ms)
/// connects to an endpoint nobody listens on yet; after two failed
/// attempts a libzmq ROUTER binds it; once the handshake is done the ROUTER
/// process is killed; the DEALER reconnects (watched for two more cycles).
fn monitor_connect_run(wd: &Watchdog, who: Impl, t: Transport) -> (Vec<Ev>, String) {
    let ep = match t {
        Tcp => free_tcp_endpoint(),
        Ipc => ipc_path("mon-connect"),
    };
    let _c = Cleanup(vec![ep.clone()]);
    let (mut ev, _, keep) = monitored(wd, who, SocketType::Dealer, &[Opt::Int("reconnect_ivl", 100)], false, &ep);
    let within = Duration::from_millis(WAIT_MS);
    ev.until(within, "two failed connection attempts", |l| count(l, "CONNECT_RETRIED") >= 2);
    let mut binder = wd.peer(&["ctl", "router", "--bind", &ep]);
    binder.ready();
    ev.until_kind("HANDSHAKE_SUCCEEDED", "the handshake with the peer that bound");
    drop(binder); // SIGKILL: the peer goes away
    ev.until(within, "the disconnection and two reconnection cycles", |l| {
        let Some(d) = l.iter().position(|e| e.kind == "DISCONNECTED") else { return false };
        count(&l[d..], "CONNECT_RETRIED") >= 3
    });
    drop(keep);
    (ev.log, ep)
}

/// Scenario (b), the binding side: a ROUTER binds; a libzmq DEALER
/// connects, completes the handshake, then closes; then the ROUTER itself
/// is closed.
fn monitor_bind_run(wd: &Watchdog, who: Impl, t: Transport) -> (Vec<Ev>, String) {
    let ep = t.bind_ep("mon-bind");
    let _c = Cleanup(vec![ep.clone()]);
    let (mut ev, resolved, keep) = monitored(wd, who, SocketType::Router, &[], true, &ep);
    let _c2 = Cleanup(vec![resolved.clone()]);
    ev.until_kind("LISTENING", "listening");
    let mut peer = wd.peer(&["ctl", "dealer", "--connect", &resolved]);
    peer.ready();
    ev.until_kind("HANDSHAKE_SUCCEEDED", "the handshake with the peer that connected");
    peer.cmd_ok("CLOSE");
    ev.until_kind("DISCONNECTED", "the peer's disconnection");
    drop(peer);
    // Close the monitored socket itself.
    let mut _ctx = None;
    match &mut ev.mon {
        Mon::Lib(p) => p.send_line("CLOSE"),
        Mon::Ferro(_) => {
            let (c, s) = keep.expect("the ferrozmq socket");
            drop(s);
            _ctx = Some(c);
        }
    }
    ev.until_kind("MONITOR_STOPPED", "the end of monitoring when the socket closes");
    (ev.log, resolved)
}

fn monitor_compare(scenario: &'static str, t: Transport) {
    let name = format!("monitor events, {scenario} side, {t:?}");
    bounded(&name.clone(), LIMIT, move |wd| {
        let run = |who| match scenario {
            "connecting" => monitor_connect_run(wd, who, t),
            _ => monitor_bind_run(wd, who, t),
        };
        let (lib, lib_ep) = run(Impl::Lib);
        let (ferro, ferro_ep) = run(Impl::Ferro);
        assert_same_events(&name, &lib, &lib_ep, &ferro, &ferro_ep);
    });
}

#[test]
fn monitor_events_connecting_side_match_libzmq_tcp() {
    monitor_compare("connecting", Tcp);
}
#[test]
fn monitor_events_connecting_side_match_libzmq_ipc() {
    monitor_compare("connecting", Ipc);
}
#[test]
fn monitor_events_binding_side_match_libzmq_tcp() {
    monitor_compare("binding", Tcp);
}
#[test]
fn monitor_events_binding_side_match_libzmq_ipc() {
    monitor_compare("binding", Ipc);
}

// ----------------------------------------------------------- 5. heartbeats

/// Sends SIGSTOP to a process now and SIGCONT when dropped.
struct Frozen(u32);

impl Frozen {
    fn new(pid: u32) -> Frozen {
        // SAFETY: kill(2) on a child process this test started.
        assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGSTOP) }, 0, "SIGSTOP {pid}");
        Frozen(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::kill(self.0 as i32, libc::SIGCONT) };
    }
}

/// A ferrozmq DEALER with HEARTBEAT_IVL 100 / HEARTBEAT_TIMEOUT 300 and a
/// libzmq ROUTER peer process: the connection stays up while the peer
/// answers the PINGs; once the peer is frozen (SIGSTOP) ferrozmq reports
/// DISCONNECTED within ~1 s.
fn heartbeat_ferrozmq_detects(t: Transport, ferro_binds: bool) {
    let name = format!(
        "heartbeat: ferrozmq detects a frozen libzmq peer, {t:?}, {}",
        if ferro_binds { "ferrozmq binds" } else { "libzmq binds" }
    );
    bounded(&name.clone(), LIMIT, move |wd| {
        let ctx = Context::new();
        let s = ctx.socket(SocketType::Dealer).unwrap();
        s.set_linger(0).unwrap();
        s.set_option("heartbeat_ivl", "100").unwrap();
        s.set_option("heartbeat_timeout", "300").unwrap();
        let m = s.monitor_events(EVENT_ALL).unwrap();
        let mut ev = EventLog { mon: Mon::Ferro(m), log: Vec::new() };
        let ep = t.bind_ep("hb");
        let mut cleanup = vec![ep.clone()];
        let mut peer = if ferro_binds {
            s.bind(&ep).unwrap();
            let r = s.last_endpoint().unwrap();
            cleanup.push(r.clone());
            let mut p = wd.peer(&["ctl", "router", "--connect", &r]);
            p.ready();
            p
        } else {
            let mut p = wd.peer(&["ctl", "router", "--bind", &ep]);
            let eps = p.ready();
            s.connect(&eps[0]).unwrap();
            p
        };
        let _c = Cleanup(cleanup);
        ev.until_kind("HANDSHAKE_SUCCEEDED", "handshake");
        s.send("up?", 0).unwrap();
        let m = peer.recv(WAIT_MS).unwrap_or_else(|| peer.fail("no message"));
        assert_eq!(m[1], b"up?");
        // Idle for 3 timeouts: the libzmq peer's PONGs keep it up.
        ev.for_a_while(Duration::from_millis(900));
        assert!(
            !ev.log.iter().any(|e| e.kind == "DISCONNECTED"),
            "{name}: disconnected while the peer answers PINGs: {:?}",
            kinds(&ev.log)
        );
        let frozen = Frozen::new(peer.pid());
        let t0 = Instant::now();
        let d = ev.until_kind("DISCONNECTED", "DISCONNECTED after the peer froze");
        let took = t0.elapsed();
        drop(frozen);
        assert!(took < Duration::from_millis(1000), "{name}: DISCONNECTED only after {took:?} ({d:?})");
        assert!(took >= Duration::from_millis(100), "{name}: DISCONNECTED too early, {took:?}");
    });
}

#[test]
fn heartbeat_ferrozmq_detects_frozen_libzmq_peer_connecting_tcp() {
    heartbeat_ferrozmq_detects(Tcp, false);
}
#[test]
fn heartbeat_ferrozmq_detects_frozen_libzmq_peer_binding_ipc() {
    heartbeat_ferrozmq_detects(Ipc, true);
}

// The ferrozmq peer process for the reverse direction.

const CHILD_ENV: &str = "FERROZMQ_REQREP_CHILD";

/// Helper, not a test: with `FERROZMQ_REQREP_CHILD="TYPE bind|connect EP"`
/// it runs one ferrozmq socket (no heartbeat options of its own: the engine
/// answers PINGs) until its stdin closes, printing `READY <endpoint>` first.
/// Without the variable it does nothing.
#[test]
#[ignore = "helper process for the heartbeat tests, runs only with FERROZMQ_REQREP_CHILD set"]
fn ferrozmq_child_peer() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let w: Vec<&str> = spec.split_whitespace().collect();
    let ty = [
        SocketType::Router,
        SocketType::Dealer,
        SocketType::Req,
        SocketType::Rep,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Push,
        SocketType::Pull,
        SocketType::Pair,
    ]
    .into_iter()
    .find(|t| py_type(*t) == w[0])
    .unwrap_or_else(|| panic!("child: socket type {}", w[0]));
    // Never outlive the parent by much, whatever happens.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(40));
        std::process::exit(2);
    });
    let ctx = Context::new();
    let s = ctx.socket(ty).unwrap();
    s.set_linger(0).unwrap();
    let ep = if w[1] == "bind" {
        s.bind(w[2]).unwrap();
        s.last_endpoint().unwrap()
    } else {
        s.connect(w[2]).unwrap();
        w[2].to_string()
    };
    println!("\nREADY {ep}");
    std::io::stdout().flush().unwrap();
    let mut buf = [0u8; 64];
    while std::io::stdin().read(&mut buf).map(|n| n > 0).unwrap_or(false) {}
    std::process::exit(0);
}

/// This test binary re-run as [`ferrozmq_child_peer`].
struct ChildPeer {
    child: Child,
    _stdin: ChildStdin,
    lines: Receiver<String>,
}

impl ChildPeer {
    fn spawn(wd: &Watchdog, spec: &str) -> (ChildPeer, String) {
        let exe = std::env::current_exe().unwrap();
        let mut child = Command::new(exe)
            .args(["--exact", "ferrozmq_child_peer", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, spec)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("re-run the test binary as the ferrozmq peer");
        wd.watch_pid(child.id());
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take().unwrap();
        let c = ChildPeer { child, _stdin: stdin, lines: rx };
        let end = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match c.lines.recv_timeout(left) {
                Ok(l) => {
                    // (libtest may have written "test ... " on the same line)
                    if let Some(k) = l.find("READY ") {
                        return (c, l[k + 6..].trim().to_string());
                    }
                    seen.push(l);
                }
                Err(e) => panic!("the ferrozmq child peer did not start ({e}); it printed {seen:?}"),
            }
        }
    }
}

impl Drop for ChildPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A libzmq DEALER with ZMQ_HEARTBEAT_IVL 100 / ZMQ_HEARTBEAT_TIMEOUT 300
/// and a ferrozmq ROUTER in another process (answering PINGs, no heartbeats
/// of its own): the connection stays up through 2 s of idle; once the
/// ferrozmq process is frozen (SIGSTOP) libzmq reports DISCONNECTED within
/// ~1 s.
fn heartbeat_libzmq_detects(t: Transport, lib_binds: bool) {
    let name = format!(
        "heartbeat: libzmq detects a frozen ferrozmq peer, {t:?}, {}",
        if lib_binds { "libzmq binds" } else { "ferrozmq binds" }
    );
    bounded(&name.clone(), LIMIT, move |wd| {
        let opts = [Opt::Int("heartbeat_ivl", 100), Opt::Int("heartbeat_timeout", 300)];
        let ep = t.bind_ep("hb-rev");
        let mut cleanup = vec![ep.clone()];
        let (mut ev, child) = if lib_binds {
            let (ev, resolved, _) = monitored(wd, Impl::Lib, SocketType::Dealer, &opts, true, &ep);
            cleanup.push(resolved.clone());
            let (child, _) = ChildPeer::spawn(wd, &format!("router connect {resolved}"));
            (ev, child)
        } else {
            let (child, resolved) = ChildPeer::spawn(wd, &format!("router bind {ep}"));
            cleanup.push(resolved.clone());
            let (ev, _, _) = monitored(wd, Impl::Lib, SocketType::Dealer, &opts, false, &resolved);
            (ev, child)
        };
        let _c = Cleanup(cleanup);
        ev.until_kind("HANDSHAKE_SUCCEEDED", "handshake with the ferrozmq peer");
        ev.for_a_while(Duration::from_secs(2));
        assert!(
            !ev.log.iter().any(|e| e.kind == "DISCONNECTED" || e.kind.starts_with("HANDSHAKE_FAILED")),
            "{name}: libzmq dropped the connection while ferrozmq answers its PINGs: {:?}",
            kinds(&ev.log)
        );
        let frozen = Frozen::new(child.child.id());
        let t0 = Instant::now();
        let d = ev.until_kind("DISCONNECTED", "DISCONNECTED after the ferrozmq peer froze");
        let took = t0.elapsed();
        drop(frozen);
        assert!(took < Duration::from_millis(1000), "{name}: DISCONNECTED only after {took:?} ({d:?})");
        drop(child);
    });
}

#[test]
fn heartbeat_libzmq_detects_frozen_ferrozmq_peer_libzmq_binds_tcp() {
    heartbeat_libzmq_detects(Tcp, true);
}
#[test]
fn heartbeat_libzmq_detects_frozen_ferrozmq_peer_ferrozmq_binds_ipc() {
    heartbeat_libzmq_detects(Ipc, false);
}

// ------------------------------------------------------------ 6. bad input

/// ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA: what a socket-type mismatch is.
const ZMTP_INVALID_METADATA: u32 = 0x1000_0018;

/// Where the monitored socket refused the handshake *itself* (rather than
/// seeing the peer close first): the index of that DISCONNECTED. libzmq
/// reports its own refusal with DISCONNECTED alone, ferrozmq with
/// HANDSHAKE_FAILED_PROTOCOL then DISCONNECTED.
fn own_refusal(l: &[Ev], who: Impl) -> Option<usize> {
    (1..l.len()).find(|&i| {
        l[i].kind == "DISCONNECTED"
            && match who {
                Impl::Lib => l[i - 1].kind != "HANDSHAKE_FAILED_NO_DETAIL",
                Impl::Ferro => l[i - 1].kind == "HANDSHAKE_FAILED_PROTOCOL",
            }
    })
}

/// Checks the events of a socket whose handshakes with an incompatible
/// peer are refused: never HANDSHAKE_SUCCEEDED; every connection ends with
/// DISCONNECTED right after either HANDSHAKE_FAILED_NO_DETAIL (the peer
/// refused first and closed) or the socket's own refusal (libzmq: nothing
/// more; ferrozmq: HANDSHAKE_FAILED_PROTOCOL with ZMTP_INVALID_METADATA).
/// A connecting socket does not reconnect after its own refusal (libzmq:
/// a protocol error ends the session).
fn check_refusals(name: &str, who: Impl, l: &[Ev], connecting: bool) {
    let all = detailed(l);
    assert!(!l.iter().any(|e| e.kind == "HANDSHAKE_SUCCEEDED"), "{name}: {who:?} completed a handshake: {all}");
    for (i, e) in l.iter().enumerate().filter(|(_, e)| e.kind == "DISCONNECTED") {
        let prev = &l[i - 1];
        let ok = match (who, prev.kind.as_str()) {
            (_, "HANDSHAKE_FAILED_NO_DETAIL") => true,
            (Impl::Lib, k) => k == "CONNECTED" || k == "ACCEPTED",
            (Impl::Ferro, "HANDSHAKE_FAILED_PROTOCOL") => prev.value == ZMTP_INVALID_METADATA,
            (Impl::Ferro, _) => false,
        };
        assert!(ok, "{name}: {who:?}: unexpected event before DISCONNECTED #{i} ({e:?}): {all}");
    }
    if connecting {
        let at = own_refusal(l, who).unwrap_or_else(|| panic!("{name}: {who:?} never refused by itself: {all}"));
        assert!(
            at + 1 == l.len(),
            "{name}: {who:?} went on after refusing the handshake itself (libzmq 4.3.5 does not reconnect after a \
             protocol error): {all}"
        );
    }
}

/// Incompatible socket types (REQ and PUB): the handshake is refused.
///
/// With a real libzmq peer this is a race: both sides check the other's
/// READY and the first to notice closes, so the other may see the
/// connection close before its own check (HANDSHAKE_FAILED_NO_DETAIL), and
/// a connecting side that lost the race reconnects. libzmq 4.3.5 (the same
/// scenario run libzmq-only as the reference) reports its own refusal with
/// DISCONNECTED alone, and a connecting socket that refused by itself does
/// not reconnect. ferrozmq must do the same, with the
/// HANDSHAKE_FAILED_PROTOCOL event the issue asks for. See
/// [`check_refusals`]. A bound socket is then also given a raw TCP/ipc peer
/// that sends READY with the incompatible type and keeps the connection
/// open, so that the socket's own refusal is seen deterministically.
fn incompatible_types(t: Transport, monitored_ty: SocketType, other_ty: SocketType, monitored_binds: bool) {
    let name = format!(
        "{:?} {} {:?}: handshake refused, {t:?}",
        monitored_ty,
        if monitored_binds { "bound, connected by" } else { "connecting to" },
        other_ty
    );
    bounded(&name.clone(), LIMIT, move |wd| {
        let run = |who: Impl| -> Vec<Ev> {
            let ep = t.bind_ep("badtype");
            let mut cleanup = vec![ep.clone()];
            let opts = [Opt::Int("reconnect_ivl", 100)];
            let (mut ev, ep, _keep, _other) = if monitored_binds {
                let (ev, resolved, keep) = monitored(wd, who, monitored_ty, &opts, true, &ep);
                let mut other = wd.peer(&["ctl", py_type(other_ty), "--connect", &resolved]);
                other.ready();
                (ev, resolved, keep, other)
            } else {
                let mut other = wd.peer(&["ctl", py_type(other_ty), "--bind", &ep]);
                let resolved = other.ready()[0].clone();
                let (ev, _, keep) = monitored(wd, who, monitored_ty, &opts, false, &resolved);
                (ev, resolved, keep, other)
            };
            cleanup.push(ep.clone());
            let _c = Cleanup(cleanup);
            if monitored_binds {
                // The libzmq peer reconnects until it refuses by itself: wait
                // for 500 ms without events.
                ev.until_kind("DISCONNECTED", "the refused connection's end");
                let start = Instant::now();
                loop {
                    let n = ev.log.len();
                    ev.for_a_while(Duration::from_millis(500));
                    if ev.log.len() == n {
                        break;
                    }
                    assert!(
                        start.elapsed() < Duration::from_secs(10),
                        "{name}: {who:?}: no end: {}",
                        detailed(&ev.log)
                    );
                }
                check_refusals(&name, who, &ev.log, false);
                // A raw peer that does not close by itself.
                let n = ev.log.len();
                let mut raw = RawConn::connect(&ep);
                raw.write(&zmtp_greeting());
                raw.write(&zmtp_ready(&format!("{other_ty:?}").to_uppercase()));
                assert!(
                    raw.closed_within(Duration::from_millis(WAIT_MS)),
                    "{name}: {who:?} kept a raw {other_ty:?} peer"
                );
                ev.until_kind("DISCONNECTED", "the raw peer's end");
                let raw_events: Vec<String> = kinds(&ev.log[n..]);
                let expected: &[&str] = match who {
                    Impl::Lib => &["ACCEPTED", "DISCONNECTED"],
                    Impl::Ferro => &["ACCEPTED", "HANDSHAKE_FAILED_PROTOCOL", "DISCONNECTED"],
                };
                assert_eq!(
                    raw_events,
                    expected,
                    "{name}: {who:?}, raw peer announcing {other_ty:?}: {}",
                    detailed(&ev.log[n..])
                );
                if who == Impl::Ferro {
                    assert_eq!(ev.log[n + 1].value, ZMTP_INVALID_METADATA, "{name}: protocol error code");
                }
            } else {
                ev.until(Duration::from_millis(WAIT_MS), "the socket's own refusal", |l| own_refusal(l, who).is_some());
                // Whatever follows (a reconnection?) within 5 reconnect intervals.
                ev.for_a_while(Duration::from_millis(500));
                check_refusals(&name, who, &ev.log, true);
            }
            ev.log
        };
        run(Impl::Lib);
        run(Impl::Ferro);
    });
}

/// A raw client stream (tcp or ipc).
enum RawConn {
    Tcp(std::net::TcpStream),
    Ipc(std::os::unix::net::UnixStream),
}

impl RawConn {
    fn connect(ep: &str) -> RawConn {
        if let Some(a) = ep.strip_prefix("tcp://") {
            RawConn::Tcp(std::net::TcpStream::connect(a).unwrap())
        } else {
            let p = ep.strip_prefix("ipc://").expect("tcp or ipc");
            RawConn::Ipc(std::os::unix::net::UnixStream::connect(p).unwrap())
        }
    }

    fn write(&mut self, b: &[u8]) {
        let _ = match self {
            RawConn::Tcp(s) => s.write_all(b),
            RawConn::Ipc(s) => s.write_all(b),
        };
    }

    /// True if the other side closes the connection within `d` (whatever
    /// it sends first is read and dropped).
    fn closed_within(&mut self, d: Duration) -> bool {
        let end = Instant::now() + d;
        let mut buf = [0u8; 4096];
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let r = match self {
                RawConn::Tcp(s) => s.set_read_timeout(Some(left)).and_then(|_| s.read(&mut buf)),
                RawConn::Ipc(s) => s.set_read_timeout(Some(left)).and_then(|_| s.read(&mut buf)),
            };
            match r {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    return false
                }
                Err(_) => return true,
            }
        }
    }
}

#[test]
fn bad_libzmq_pub_connects_to_ferrozmq_req_tcp() {
    incompatible_types(Tcp, SocketType::Req, SocketType::Pub, true);
}
#[test]
fn bad_libzmq_pub_connects_to_ferrozmq_req_ipc() {
    incompatible_types(Ipc, SocketType::Req, SocketType::Pub, true);
}
#[test]
fn bad_ferrozmq_req_connects_to_libzmq_pub_tcp() {
    incompatible_types(Tcp, SocketType::Req, SocketType::Pub, false);
}
#[test]
fn bad_ferrozmq_req_connects_to_libzmq_pub_ipc() {
    incompatible_types(Ipc, SocketType::Req, SocketType::Pub, false);
}
#[test]
fn bad_ferrozmq_pub_connects_to_libzmq_req_tcp() {
    incompatible_types(Tcp, SocketType::Pub, SocketType::Req, false);
}
#[test]
fn bad_libzmq_req_connects_to_ferrozmq_pub_ipc() {
    incompatible_types(Ipc, SocketType::Pub, SocketType::Req, true);
}

/// A libzmq DEALER sends requests without the empty delimiter to a ferrozmq
/// REP: they are dropped (libzmq's REP rolls back a traceback stack that
/// ends without a delimiter), and the REP goes on serving well-formed
/// requests, in order.
fn malformed_envelope_at_rep(t: Transport, ferro_binds: bool) {
    let name = format!(
        "malformed envelopes at a ferrozmq REP, {t:?}, {}",
        if ferro_binds { "ferrozmq binds" } else { "libzmq binds" }
    );
    bounded(&name.clone(), LIMIT, move |wd| {
        let mut p = open_pair(wd, t, Side::new(SocketType::Rep), Side::new(SocketType::Dealer), true, ferro_binds);
        let (rep, dealer) = (&mut p.a, &mut p.b);
        for round in 0..2u8 {
            let what = format!("{name}, round {round}");
            dealer.send(&[b"no delimiter"], &what);
            dealer.send(&[b"a", b"b"], &what);
            dealer.send(&[b"x", b"y", b"z"], &what);
            let good = format!("good {round}");
            dealer.send(&[b"", good.as_bytes(), &[round; 3]], &what);
            rep.expect(&[good.as_bytes(), &[round; 3]], &format!("{what}: the well-formed request"));
            rep.send(&[format!("reply {round}").as_bytes()], &what);
            dealer.expect(&[b"", format!("reply {round}").as_bytes()], &format!("{what}: the reply"));
        }
        rep.expect_nothing(100, &format!("{name}: malformed requests must be dropped"));
    });
}

#[test]
fn bad_envelope_without_delimiter_at_ferrozmq_rep_tcp() {
    malformed_envelope_at_rep(Tcp, true);
}
#[test]
fn bad_envelope_without_delimiter_at_ferrozmq_rep_ipc() {
    malformed_envelope_at_rep(Ipc, false);
}

/// A ROUTER message without a routing-id frame (a lone frame): libzmq
/// 4.3.5's ROUTER drops it silently and the send succeeds, even with
/// ROUTER_MANDATORY and even if the frame names a connected peer (the
/// frame is only read as a routing id when more frames follow). The same
/// steps run against a libzmq ROUTER (reference, with a ferrozmq DEALER
/// peer) and a ferrozmq ROUTER (with a libzmq DEALER peer).
#[test]
fn bad_router_message_without_routing_id() {
    let name = "ROUTER message without a routing-id frame";
    bounded(name, LIMIT, move |wd| {
        let run = |ferro: bool| -> Vec<String> {
            let router = Side::new(SocketType::Router).opt(Opt::Int("router_mandatory", 1));
            let dealer = Side::new(SocketType::Dealer).opt(Opt::RoutingId(b"D1".to_vec()));
            let mut p = open_pair(wd, Tcp, router, dealer, ferro, !ferro);
            let (r, d) = (&mut p.a, &mut p.b);
            d.send(&[b"hi"], name);
            r.expect(&[b"D1", b"hi"], name);
            let mut results = Vec::new();
            let msgs: [&[&[u8]]; 4] =
                [&[&b"D1"[..]], &[&b"unknown"[..]], &[&b"unknown"[..], &b"x"[..]], &[&b"D1"[..], &b"next"[..]]];
            for msg in msgs {
                results.push(format!("{} -> {:?}", describe(msg), r.try_send(msg)));
            }
            d.expect(&[b"next"], &format!("{name}: {}: the lone frames must not reach the peer", r.who()));
            d.expect_nothing(200, &format!("{name}: {}", r.who()));
            results
        };
        let lib = run(false);
        let ferro = run(true);
        assert_eq!(
            lib,
            vec![
                "[2:4431] -> Ok(())".to_string(),
                "[7:756e6b6e6f776e] -> Ok(())".into(),
                "[7:756e6b6e6f776e, 1:78] -> Err(\"EHOSTUNREACH\")".into(),
                "[2:4431, 4:6e657874] -> Ok(())".into()
            ],
            "{name}: libzmq reference"
        );
        assert_eq!(ferro, lib, "{name}: ferrozmq's ROUTER must do as libzmq's");
    });
}

// Raw ZMTP (hand-written bytes, RFC 23/37) for the malformed-PING tests.

fn zmtp_greeting() -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1];
    let mut mech = b"NULL".to_vec();
    mech.resize(20, 0);
    g.extend(mech);
    g.push(0); // as-server
    g.extend([0u8; 31]);
    g
}

fn zmtp_command(body: &[u8]) -> Vec<u8> {
    assert!(body.len() < 256);
    let mut v = vec![0x04, body.len() as u8];
    v.extend_from_slice(body);
    v
}

fn zmtp_ready(socket_type: &str) -> Vec<u8> {
    let mut b = b"\x05READY\x0bSocket-Type".to_vec();
    b.extend((socket_type.len() as u32).to_be_bytes());
    b.extend(socket_type.as_bytes());
    zmtp_command(&b)
}

/// Connects to `addr` as a DEALER, completes the NULL handshake, sends the
/// PING command `body`, and returns what comes back within 500 ms and
/// whether the connection was closed.
fn raw_ping(addr: &str, body: &[u8]) -> (Vec<u8>, bool) {
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(WAIT_MS))).unwrap();
    c.write_all(&zmtp_greeting()).unwrap();
    c.write_all(&zmtp_ready("DEALER")).unwrap();
    // The peer's greeting (64) and READY (a short command).
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while buf.len() < 66 || buf.len() < 66 + buf[65] as usize {
        let n = c.read(&mut chunk).expect("reading the peer's greeting and READY");
        assert!(n > 0, "the peer closed during the handshake");
        buf.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(buf.len(), 66 + buf[65] as usize, "nothing but the handshake yet");
    c.write_all(&zmtp_command(body)).unwrap();
    let end = Instant::now() + Duration::from_millis(500);
    let mut got = Vec::new();
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (got, false);
        }
        c.set_read_timeout(Some(left)).unwrap();
        match c.read(&mut chunk) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                return (got, false)
            }
            Err(_) => return (got, true), // ECONNRESET
        }
    }
}

fn ping(ttl: &[u8], context: &[u8]) -> Vec<u8> {
    [&b"\x04PING"[..], ttl, context].concat()
}

fn pong(context: &[u8]) -> Vec<u8> {
    zmtp_command(&[&b"\x04PONG"[..], context].concat())
}

/// Malformed PINGs from a raw TCP client after a NULL handshake:
/// * a 17-byte context (RFC 37 allows 16): libzmq 4.3.5 answers a PONG with
///   the context truncated to 16 bytes and keeps the connection;
/// * a PING without its 2-byte TTL, or with one byte of it: libzmq answers
///   a PONG with 16 bytes of whatever was in its buffer (an over-read) and
///   keeps the connection.
///
/// ferrozmq refuses all of these as malformed commands: it closes the
/// connection (DISCONNECTED on the monitor), without answering, and goes
/// on serving its other peers. A well-formed PING with a 16-byte context is
/// answered by both with the same PONG. (TTL 0: no TTL timer at libzmq.)
#[test]
fn bad_ping_with_oversized_context_or_truncated_ttl() {
    let name = "malformed PINGs";
    bounded(name, LIMIT, move |wd| {
        let ctx16: Vec<u8> = (1..=16).collect();
        let ctx17: Vec<u8> = (1..=17).collect();
        // libzmq (reference, and to document what it does).
        let mut lib = wd.peer(&["ctl", "router", "--bind", TCP_ANY]);
        let lep = lib.ready()[0].clone();
        let laddr = lep.trim_start_matches("tcp://");
        assert_eq!(raw_ping(laddr, &ping(b"\0\0", &ctx16)), (pong(&ctx16), false), "libzmq, 16-byte context");
        assert_eq!(
            raw_ping(laddr, &ping(b"\0\0", &ctx17)),
            (pong(&ctx16), false),
            "libzmq, 17-byte context: truncated"
        );
        for ttl in [&b""[..], b"\0"] {
            let (r, closed) = raw_ping(laddr, &ping(ttl, b""));
            assert!(
                !closed && r.len() == 2 + 5 + 16 && r.starts_with(b"\x04\x15\x04PONG"),
                "libzmq, {}-byte TTL: {}",
                ttl.len(),
                hex(&r)
            );
        }
        drop(lib);

        // ferrozmq.
        let ctx = Context::new();
        let router = ctx.socket(SocketType::Router).unwrap();
        router.set_linger(0).unwrap();
        let m = router.monitor_events(EVENT_ALL).unwrap();
        let mut ev = EventLog { mon: Mon::Ferro(m), log: Vec::new() };
        router.bind(TCP_ANY).unwrap();
        let fep = router.last_endpoint().unwrap();
        let faddr = fep.trim_start_matches("tcp://");
        assert_eq!(raw_ping(faddr, &ping(b"\0\0", &ctx16)), (pong(&ctx16), false), "ferrozmq, 16-byte context");
        for (what, body) in
            [("17-byte context", ping(b"\0\0", &ctx17)), ("no TTL", ping(b"", b"")), ("1-byte TTL", ping(b"\0", b""))]
        {
            let n = ev.log.len();
            let (r, closed) = raw_ping(faddr, &body);
            assert!(
                closed && r.is_empty(),
                "ferrozmq, PING with {what}: expected the connection closed without a reply, got {} (closed: {closed})",
                hex(&r)
            );
            ev.until(Duration::from_millis(WAIT_MS), &format!("DISCONNECTED after the PING with {what}"), |l| {
                l[n..].iter().any(|e| e.kind == "DISCONNECTED")
            });
        }
        // Still serving.
        let mut good = wd.peer(&["ctl", "dealer", "--opt", "routing_id=x676f6f64", "--connect", &fep]);
        good.ready();
        good.send(&[b"still there?"]);
        router.set_rcvtimeo(WAIT_MS as i32).unwrap();
        let got = to_frames(router.recv_multipart(0).expect("the ROUTER still serves a good peer"));
        assert_eq!(got, frames(&[b"good", b"still there?"]));
    });
}
