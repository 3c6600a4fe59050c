//! Acceptance: CURVE and PLAIN security between ferrozmq and REAL libzmq
//! (pyzmq, in a separate python process running tests/peers/secure_peer.py),
//! in both roles:
//!
//! 1. CURVE with ZAP: a client the handler allows passes messages; one it
//!    denies gets HANDSHAKE_FAILED_AUTH 400 on both sides' monitors, passes
//!    nothing, and the server keeps serving allowed clients meanwhile.
//! 2. The same with PLAIN, good and bad passwords.
//! 3. CURVE bulk over tcp and ipc, both directions: 100 000 messages of
//!    1 KiB and four of 1 MiB, nothing lost, order kept.
//! 4. A client with the wrong server key never completes the handshake:
//!    the server reports HANDSHAKE_FAILED_PROTOCOL ZMTP_CRYPTOGRAPHIC, the
//!    client HANDSHAKE_FAILED_NO_DETAIL and DISCONNECTED.
//! 5. What reaches a ZAP handler: the ZAP domain, the peer address, the
//!    server's routing id, the mechanism and the exact credentials (PLAIN
//!    user name and password, the 32-byte CURVE client key), as libzmq's
//!    handler sees a ferrozmq client's and as a handler in ferrozmq's context
//!    sees a libzmq client's.
//!
//! Without pyzmq these tests FAIL (run `bash scripts/setup.sh`); they are
//! never skipped. Every test runs under a watchdog ([`common::bounded`]),
//! every ferrozmq call that could block has a timeout, every wait on the
//! peer is bounded, and synchronisation is on conditions (replies, monitor
//! events), never on sleeps.

mod common;

use common::*;
use ferrozmq::auth::Authenticator;
use ferrozmq::curve::KeyPair;
use ferrozmq::monitor::{EventKind, EVENT_ALL};
use ferrozmq::options::ids;
use ferrozmq::{Context, Error, Event, Monitor, Socket, SocketType, DONTWAIT, SNDMORE};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use Transport::{Ipc, Tcp};

/// Per-test budget of the handshake tests.
const LIMIT: Duration = Duration::from_secs(30);
/// Per-test budget of the bulk tests. Each takes ~10 s in a debug build on
/// 2 cores (the unoptimised RustCrypto XSalsa20-Poly1305 is ~95% of it: the
/// same stream with NULL takes 0.2-0.5 s), 0.3-0.5 s in release.
const BULK_LIMIT: Duration = Duration::from_secs(120);
/// Messages in the bulk CURVE streams.
const N_BULK: u64 = 100_000;
/// Send/receive timeout on the ferrozmq side.
const IO_TIMEOUT_MS: i32 = 10_000;
/// How long an expected event may take to show up.
const EVENT_WAIT: Duration = Duration::from_secs(5);
/// ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC.
const ZMTP_CRYPTOGRAPHIC: u32 = 0x1100_0001;

// ------------------------------------------------------------- the peer

fn secure_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/secure_peer.py")
}

/// Lines the peer prints on its own (not replies to a command).
const ASYNC_PREFIXES: [&str; 5] = ["EVENT ", "ZAP ", "STREAM ", "WAITING ", "FAIL"];

#[derive(Default)]
struct AsyncLog {
    lines: Vec<String>,
    closed: bool,
}

/// A running secure_peer.py: commands and their replies on one channel,
/// the lines it prints on its own (monitor events, ZAP requests, stream
/// results) in a log the test waits on. Dropping it kills the process.
struct SecPeer {
    child: Child,
    stdin: Option<ChildStdin>,
    replies: Receiver<String>,
    log: Arc<(Mutex<AsyncLog>, Condvar)>,
    transcript: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    deadline: Instant,
}

impl SecPeer {
    /// Starts the peer under the test's watchdog and waits for READY.
    fn spawn(wd: &Watchdog) -> SecPeer {
        require_pyzmq();
        assert!(secure_script().exists(), "peer script missing: {}", secure_script().display());
        let limit = wd.remaining().saturating_sub(Duration::from_secs(2)).max(Duration::from_secs(1));
        let mut child = Command::new(python())
            .arg("-u")
            .arg(secure_script())
            .arg("--timeout")
            .arg((limit.as_secs() + 5).to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e} (run scripts/setup.sh)", python()));
        wd.watch_pid(child.id());
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let log: Arc<(Mutex<AsyncLog>, Condvar)> = Arc::default();
        let transcript: Arc<Mutex<Vec<String>>> = Arc::default();
        let (log2, tr2) = (log.clone(), transcript.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                tr2.lock().unwrap_or_else(|p| p.into_inner()).push(line.clone());
                let is_async = ASYNC_PREFIXES.iter().any(|p| line.starts_with(p));
                if is_async {
                    log2.0.lock().unwrap_or_else(|p| p.into_inner()).lines.push(line.clone());
                    log2.1.notify_all();
                }
                // A fatal FAIL also ends a wait for a reply.
                if (!is_async || line.starts_with("FAIL")) && tx.send(line).is_err() {
                    break;
                }
            }
            log2.0.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
            log2.1.notify_all();
        });
        let stderr = collect_stderr(&mut child);
        let mut p = SecPeer {
            stdin: child.stdin.take(),
            child,
            replies: rx,
            log,
            transcript,
            stderr,
            deadline: Instant::now() + limit,
        };
        let r = p.reply("READY");
        if r != "READY" {
            p.fail(&format!("expected READY, got {r:?}"));
        }
        p
    }

    /// Panics with what the peer said (last lines) and its stderr.
    fn fail(&self, what: &str) -> ! {
        // Let a crashing peer's last words arrive.
        let _ = wait_until(Duration::from_millis(100), || self.log.0.lock().unwrap_or_else(|p| p.into_inner()).closed);
        // (Copy out before panicking: a panic holding the lock would
        // poison it for the reader threads.)
        let (total, tail) = {
            let t = self.transcript.lock().unwrap_or_else(|p| p.into_inner());
            (t.len(), t[t.len().saturating_sub(60)..].to_vec())
        };
        let stderr = self.stderr.lock().unwrap_or_else(|p| p.into_inner()).trim().to_string();
        panic!(
            "{what}\n  secure peer output ({total} lines, last {}):\n    {}\n  stderr: {stderr}",
            tail.len(),
            tail.join("\n    "),
        )
    }

    fn reply(&mut self, what: &str) -> String {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match self.replies.recv_timeout(left) {
            Ok(l) if l.starts_with("FAIL") => self.fail(&format!("peer failed while we waited for {what}: {l}")),
            Ok(l) => l,
            Err(RecvTimeoutError::Timeout) => self.fail(&format!("peer deadline passed waiting for {what}")),
            Err(RecvTimeoutError::Disconnected) => self.fail(&format!("peer exited while we waited for {what}")),
        }
    }

    /// Sends one command and returns its reply line.
    fn cmd(&mut self, line: &str) -> String {
        let stdin = self.stdin.as_mut().expect("stdin open");
        if let Err(e) = writeln!(stdin, "{line}").and_then(|_| stdin.flush()) {
            self.fail(&format!("cannot write {line:?} to the peer: {e}"));
        }
        self.reply(line)
    }

    /// A command that must answer `OK [value]`; returns the value.
    fn ok(&mut self, line: &str) -> String {
        let r = self.cmd(line);
        if r == "OK" {
            return String::new();
        }
        match r.strip_prefix("OK ") {
            Some(v) => v.to_string(),
            None => self.fail(&format!("command {line:?} answered {r:?}")),
        }
    }

    fn socket(&mut self, name: &str, kind: &str) {
        self.ok(&format!("SOCKET {name} {kind}"));
    }

    fn opt(&mut self, name: &str, opt: &str, value: &str) {
        self.ok(&format!("OPT {name} {opt} {value}"));
    }

    fn bind(&mut self, name: &str, ep: &str) -> String {
        self.ok(&format!("BIND {name} {ep}"))
    }

    fn connect(&mut self, name: &str, ep: &str) {
        self.ok(&format!("CONNECT {name} {ep}"));
    }

    fn send(&mut self, name: &str, frames: &[&[u8]]) {
        self.ok(&format!("SEND {name} {}", enc_frames(frames)));
    }

    fn recv(&mut self, name: &str, ms: u64) -> Option<Vec<Vec<u8>>> {
        let r = self.cmd(&format!("RECV {name} {ms}"));
        if r == "TIMEOUT" {
            return None;
        }
        match r.strip_prefix("MSG") {
            Some(rest) => Some(dec_frames(rest)),
            None => self.fail(&format!("RECV {name} answered {r:?}")),
        }
    }

    /// A libzmq key pair (zmq_curve_keypair) as (public, secret) bytes.
    fn keypair(&mut self) -> ([u8; 32], [u8; 32]) {
        let r = self.cmd("KEYPAIR");
        let w: Vec<&str> = r.split_whitespace().collect();
        if w.len() != 3 || w[0] != "KEYS" {
            self.fail(&format!("KEYPAIR answered {r:?}"));
        }
        (key32(&ferrozmq::z85::decode(w[1]).unwrap()), key32(&ferrozmq::z85::decode(w[2]).unwrap()))
    }

    /// The first line of the log (seen so far or printed within `timeout`)
    /// that matches; None on timeout. A FAIL line or a failed stream ends
    /// the test at once.
    fn wait_async(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let end = (Instant::now() + timeout).min(self.deadline);
        let (lock, cv) = &*self.log;
        let mut g = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(l) = g.lines.iter().find(|l| pred(l)) {
                return Some(l.clone());
            }
            if let Some(l) = g.lines.iter().find(|l| l.starts_with("FAIL") || is_stream_fail(l)) {
                let l = l.clone();
                drop(g);
                self.fail(&format!("peer reported: {l}"));
            }
            if g.closed {
                drop(g);
                self.fail("peer exited");
            }
            let now = Instant::now();
            if now >= end {
                return None;
            }
            g = cv.wait_timeout(g, end - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Like [`SecPeer::wait_async`], failing the test on timeout.
    fn expect_async(&self, timeout: Duration, what: &str, pred: impl Fn(&str) -> bool) -> String {
        match self.wait_async(timeout, pred) {
            Some(l) => l,
            None => self.fail(&format!("no {what} from the peer within {timeout:?}")),
        }
    }

    /// Every log line so far that matches.
    fn async_lines(&self, pred: impl Fn(&str) -> bool) -> Vec<String> {
        self.log.0.lock().unwrap_or_else(|p| p.into_inner()).lines.iter().filter(|l| pred(l)).cloned().collect()
    }

    /// Waits for libzmq monitor event `name` on socket `sock` (with `value`
    /// if given); returns its value.
    fn expect_event(&self, sock: &str, name: &str, value: Option<u32>) -> u32 {
        let prefix = format!("EVENT {sock} {name} ");
        let l = self.expect_async(EVENT_WAIT, &format!("libzmq event {name} on `{sock}` (value {value:?})"), |l| {
            l.strip_prefix(&prefix)
                .is_some_and(|rest| value.is_none_or(|v| rest.split(' ').next() == Some(v.to_string().as_str())))
        });
        l[prefix.len()..].split(' ').next().unwrap().parse().unwrap()
    }

    /// The libzmq events of `sock` so far, as (NAME, value).
    fn events_of(&self, sock: &str) -> Vec<(String, u32)> {
        let prefix = format!("EVENT {sock} ");
        self.async_lines(|l| l.starts_with(&prefix))
            .iter()
            .map(|l| {
                let w: Vec<&str> = l.split(' ').collect();
                (w[2].to_string(), w[3].parse().unwrap())
            })
            .collect()
    }

    /// The ZAP requests the peer's handler answered so far.
    fn zap_requests(&self) -> Vec<ZapLine> {
        self.async_lines(|l| l.starts_with("ZAP ")).iter().map(|l| ZapLine::parse(l)).collect()
    }
}

impl Drop for SecPeer {
    fn drop(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_stream_fail(l: &str) -> bool {
    l.starts_with("STREAM ") && l.split(' ').nth(2) == Some("FAIL")
}

/// One `ZAP ...` line of the peer: a request libzmq's handler received.
#[derive(Debug)]
struct ZapLine {
    version: Vec<u8>,
    request_id: Vec<u8>,
    domain: Vec<u8>,
    address: Vec<u8>,
    identity: Vec<u8>,
    mechanism: Vec<u8>,
    creds: Vec<Vec<u8>>,
    status: String,
}

impl ZapLine {
    fn parse(l: &str) -> ZapLine {
        let mut z = ZapLine {
            version: vec![],
            request_id: vec![],
            domain: vec![],
            address: vec![],
            identity: vec![],
            mechanism: vec![],
            creds: vec![],
            status: String::new(),
        };
        for w in l.split(' ').skip(1) {
            let (k, v) = w.split_once('=').unwrap_or_else(|| panic!("bad ZAP line {l:?}"));
            let bytes = |v: &str| unhex(v.strip_prefix('x').unwrap_or_else(|| panic!("bad ZAP field {w:?}")));
            match k {
                "version" => z.version = bytes(v),
                "request_id" => z.request_id = bytes(v),
                "domain" => z.domain = bytes(v),
                "address" => z.address = bytes(v),
                "identity" => z.identity = bytes(v),
                "mechanism" => z.mechanism = bytes(v),
                "creds" => z.creds = if v.is_empty() { vec![] } else { v.split(',').map(bytes).collect() },
                "status" => z.status = v.to_string(),
                _ => panic!("unknown ZAP field {k:?} in {l:?}"),
            }
        }
        z
    }
}

// ------------------------------------------------------------- helpers

fn key32(v: &[u8]) -> [u8; 32] {
    v.try_into().unwrap_or_else(|_| panic!("key of {} bytes", v.len()))
}

fn z85(k: &[u8]) -> String {
    ferrozmq::z85::encode(k).unwrap()
}

/// `x<hex>`, the peer's notation for bytes.
fn x(b: &[u8]) -> String {
    format!("x{}", hex(b))
}

/// A ferrozmq socket's monitor, remembering every event read.
struct Events {
    mon: Monitor,
    seen: Vec<Event>,
    who: &'static str,
}

impl Events {
    fn new(s: &Socket, who: &'static str) -> Events {
        Events { mon: s.monitor_events(EVENT_ALL).unwrap(), seen: Vec::new(), who }
    }

    /// The first event (seen before or arriving within `timeout`) that
    /// matches.
    fn wait(&mut self, timeout: Duration, pred: impl Fn(&Event) -> bool) -> Option<Event> {
        if let Some(e) = self.seen.iter().find(|e| pred(e)) {
            return Some(e.clone());
        }
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            match self.mon.next_event(left.as_millis().max(1) as i32) {
                Ok(e) => {
                    self.seen.push(e.clone());
                    if pred(&e) {
                        return Some(e);
                    }
                }
                Err(Error::EAGAIN) => return None,
                Err(e) => panic!("{}: monitor: {e}", self.who),
            }
        }
    }

    fn expect(&mut self, kind: EventKind) -> Event {
        match self.wait(EVENT_WAIT, |e| e.kind == kind) {
            Some(e) => e,
            None => panic!("{}: no {kind:?} event within {EVENT_WAIT:?}; saw {:?}", self.who, self.kinds()),
        }
    }

    /// Reads every event that arrives within `d` (the window in which
    /// something must NOT happen, or a short drain).
    fn drain_for(&mut self, d: Duration) {
        let _ = self.wait(d, |_| false);
    }

    fn count(&self, kind: EventKind) -> usize {
        self.seen.iter().filter(|e| e.kind == kind).count()
    }

    fn kinds(&self) -> Vec<(EventKind, u32)> {
        self.seen.iter().map(|e| (e.kind, e.value)).collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mech {
    Curve,
    Plain,
}

/// One client's credentials.
#[derive(Clone, Debug)]
enum Cred {
    Curve { public: [u8; 32], secret: [u8; 32] },
    Plain { user: Vec<u8>, pass: Vec<u8> },
}

impl Cred {
    fn curve(k: &KeyPair) -> Cred {
        Cred::Curve { public: k.public, secret: *k.secret() }
    }

    fn plain(user: &[u8], pass: &[u8]) -> Cred {
        Cred::Plain { user: user.to_vec(), pass: pass.to_vec() }
    }

    /// Makes a ferrozmq socket a client with these credentials (`server`:
    /// the CURVE server's public key). Z85 text by name here; the raw
    /// 32-byte form is used in the ZAP tests.
    fn apply_ferro(&self, s: &Socket, server: &[u8; 32]) {
        match self {
            Cred::Curve { public, secret } => {
                s.set_option("curve_serverkey", &z85(server)).unwrap();
                s.set_option("curve_publickey", &z85(public)).unwrap();
                s.set_option("curve_secretkey", &z85(secret)).unwrap();
            }
            Cred::Plain { user, pass } => {
                s.set_option_raw(ids::PLAIN_USERNAME, user).unwrap();
                s.set_option_raw(ids::PLAIN_PASSWORD, pass).unwrap();
            }
        }
    }

    /// The same for a libzmq socket of the peer (keys as raw bytes, the
    /// server key as Z85 text).
    fn apply_peer(&self, p: &mut SecPeer, sock: &str, server: &[u8; 32]) {
        match self {
            Cred::Curve { public, secret } => {
                p.opt(sock, "CURVE_SERVERKEY", &format!("s:{}", z85(server)));
                p.opt(sock, "CURVE_PUBLICKEY", &x(public));
                p.opt(sock, "CURVE_SECRETKEY", &x(secret));
            }
            Cred::Plain { user, pass } => {
                p.opt(sock, "PLAIN_USERNAME", &x(user));
                p.opt(sock, "PLAIN_PASSWORD", &x(pass));
            }
        }
    }

    /// Allows these credentials in the peer's ZAP handler.
    fn allow_in_peer(&self, p: &mut SecPeer) {
        match self {
            Cred::Curve { public, .. } => p.ok(&format!("ZAPCURVE {}", x(public))),
            Cred::Plain { user, pass } => p.ok(&format!("ZAPPLAIN {} {}", x(user), x(pass))),
        };
    }

    /// Allows these credentials in ferrozmq's Authenticator.
    fn allow_in(&self, auth: &Authenticator) {
        match self {
            // (Z85 text here; the raw form in the other direction's keys.)
            Cred::Curve { public, .. } => auth.curve_allow(z85(public).as_bytes()).unwrap(),
            Cred::Plain { user, pass } => {
                auth.plain_user(std::str::from_utf8(user).unwrap(), std::str::from_utf8(pass).unwrap())
            }
        }
    }
}

/// Makes a ferrozmq socket a server of `mech` (`secret`: the CURVE key).
fn ferro_server(s: &Socket, mech: Mech, secret: &[u8; 32]) {
    match mech {
        Mech::Curve => {
            s.set_option("curve_server", "1").unwrap();
            s.set_option_raw(ids::CURVE_SECRETKEY, secret).unwrap();
        }
        Mech::Plain => s.set_option("plain_server", "1").unwrap(),
    }
}

/// Makes a peer socket a server of `mech`.
fn peer_server(p: &mut SecPeer, sock: &str, mech: Mech, secret: &[u8; 32]) {
    match mech {
        Mech::Curve => {
            p.opt(sock, "CURVE_SERVER", "1");
            p.opt(sock, "CURVE_SECRETKEY", &x(secret));
        }
        Mech::Plain => p.opt(sock, "PLAIN_SERVER", "1"),
    }
}

// ------------------------------------------ 1 + 2. ZAP allows, then denies

/// Three clients of one mechanism: A and C allowed, B denied (unknown
/// CURVE key / wrong password).
fn three_clients(mech: Mech, keys: [([u8; 32], [u8; 32]); 3]) -> [Cred; 3] {
    match mech {
        Mech::Curve => keys.map(|(public, secret)| Cred::Curve { public, secret }),
        Mech::Plain => [
            Cred::plain(b"admin", b"secret"),
            Cred::plain(b"admin", b"wrong password"),
            Cred::plain(b"guest", b"guest-pw"),
        ],
    }
}

/// One round trip between a ferrozmq DEALER and the peer's ROUTER `srv`.
fn round_trip_to_peer(p: &mut SecPeer, client: &Socket, body: &str) {
    client.send(body, 0).unwrap_or_else(|e| panic!("send {body:?}: {e}"));
    let Some(got) = p.recv("srv", 5000) else { p.fail(&format!("libzmq server did not receive {body:?}")) };
    assert_eq!(got.len(), 2, "ROUTER message [id, body]: {}", describe(&got));
    assert_eq!(got[1], body.as_bytes(), "libzmq server received the wrong message");
    let echo = format!("echo {body}");
    p.send("srv", &[&got[0], echo.as_bytes()]);
    let back = client.recv_msg(0).unwrap_or_else(|e| panic!("no echo of {body:?}: {e}"));
    assert_eq!(back.as_bytes(), echo.as_bytes());
}

/// ferrozmq CURVE/PLAIN clients (DEALER) -> libzmq server (ROUTER) whose
/// python ZAP handler allows A and C and denies B.
fn ferrozmq_clients_libzmq_server(mech: Mech) {
    let name = format!("{mech:?}: ferrozmq clients -> libzmq server with ZAP allow/deny");
    bounded(&name.clone(), LIMIT, move |wd| {
        let mut p = SecPeer::spawn(wd);
        let server_keys = KeyPair::generate();
        let ks = [KeyPair::generate(), KeyPair::generate(), KeyPair::generate()];
        let [a_cred, b_cred, c_cred] = three_clients(mech, ks.clone().map(|k| (k.public, *k.secret())));
        p.ok("ZAP");
        a_cred.allow_in_peer(&mut p);
        c_cred.allow_in_peer(&mut p);
        p.socket("srv", "router");
        p.ok("MON srv");
        peer_server(&mut p, "srv", mech, server_keys.secret());
        let ep = p.bind("srv", "tcp://127.0.0.1:*");

        let ctx = Context::new();
        let client = |cred: &Cred, who: &'static str| {
            let s = ctx.socket(SocketType::Dealer).unwrap();
            s.set_linger(0).unwrap();
            s.set_rcvtimeo(IO_TIMEOUT_MS).unwrap();
            s.set_sndtimeo(IO_TIMEOUT_MS).unwrap();
            cred.apply_ferro(&s, &server_keys.public);
            let ev = Events::new(&s, who);
            s.connect(&ep).unwrap();
            (s, ev)
        };

        // A is allowed: messages pass both ways.
        let (a, mut a_ev) = client(&a_cred, "client A");
        round_trip_to_peer(&mut p, &a, "A 1");
        a_ev.expect(EventKind::HandshakeSucceeded);

        // B is denied: AUTH 400 on both monitors, its message never arrives.
        let (b, mut b_ev) = client(&b_cred, "client B");
        // Queued before the handshake — or refused at once if the denial
        // already ended the connection (a refused session is not retried,
        // as in libzmq, and its pipe goes with it): either way it must never
        // arrive, which is checked below.
        match b.send("B 1 must not pass", DONTWAIT) {
            Ok(()) | Err(Error::EAGAIN) => {}
            Err(e) => panic!("{name}: client B's send failed with {e}"),
        }
        let e = b_ev.expect(EventKind::HandshakeFailedAuth);
        assert_eq!(e.value, 400, "{name}: client B's AUTH event value; events {:?}", b_ev.kinds());
        p.expect_event("srv", "HANDSHAKE_FAILED_AUTH", Some(400));
        assert!(
            p.zap_requests().iter().any(|z| z.status == "400"),
            "{name}: the ZAP handler never denied a request: {:?}",
            p.zap_requests()
        );

        // Meanwhile the server serves C and A.
        let (c, mut c_ev) = client(&c_cred, "client C");
        round_trip_to_peer(&mut p, &c, "C 1");
        c_ev.expect(EventKind::HandshakeSucceeded);
        round_trip_to_peer(&mut p, &a, "A 2");

        // Nothing from B, and B never got through.
        assert_eq!(p.recv("srv", 300), None, "{name}: the libzmq server received something more (from B?)");
        b_ev.drain_for(Duration::from_millis(20));
        assert_eq!(b_ev.count(EventKind::HandshakeSucceeded), 0, "{name}: B's events {:?}", b_ev.kinds());
        // As libzmq's client (session_base_t::engine_error): an ERROR from
        // the server ends the session, no reconnect (the 400 came > 300 ms
        // ago, reconnect_ivl is 100 ms).
        assert_eq!(b_ev.count(EventKind::ConnectRetried), 0, "{name}: B reconnected: {:?}", b_ev.kinds());
        let denied = p.zap_requests().iter().filter(|z| z.status == "400").count();
        assert_eq!(denied, 1, "{name}: B asked again after being denied: {:?}", p.zap_requests());
        assert_eq!(b.recv_msg(DONTWAIT).unwrap_err(), Error::EAGAIN);
        let ok = p.events_of("srv").iter().filter(|(n, _)| n == "HANDSHAKE_SUCCEEDED").count();
        assert_eq!(ok, 2, "{name}: libzmq server handshakes (A and C only): {:?}", p.events_of("srv"));
        let statuses: Vec<String> = p.zap_requests().into_iter().map(|z| z.status).collect();
        assert_eq!(statuses.iter().filter(|s| *s == "200").count(), 2, "{name}: ZAP statuses {statuses:?}");
    });
}

/// One round trip between the peer's DEALER `sock` and a ferrozmq ROUTER.
fn round_trip_from_peer(p: &mut SecPeer, sock: &str, server: &Socket, body: &str) {
    p.send(sock, &[body.as_bytes()]);
    let got = server.recv_multipart(0).unwrap_or_else(|e| p.fail(&format!("ferrozmq server: no {body:?}: {e}")));
    assert_eq!(got.len(), 2, "ROUTER message [id, body]: {}", describe(&got));
    assert_eq!(got[1].as_bytes(), body.as_bytes(), "ferrozmq server received the wrong message");
    // The libzmq client's properties and the ZAP verdict travel with it.
    for f in &got {
        assert_eq!(f.gets("Socket-Type"), Some("DEALER"), "properties of {body:?}");
        assert_eq!(f.gets("Peer-Address"), Some("127.0.0.1"), "properties of {body:?}");
        assert!(f.gets("User-Id").is_some(), "{body:?} has no User-Id after ZAP 200");
    }
    let echo = format!("echo {body}");
    server.send_multipart([got[0].as_bytes(), echo.as_bytes()], 0).unwrap();
    match p.recv(sock, 5000) {
        Some(m) if m == [echo.as_bytes().to_vec()] => {}
        other => p.fail(&format!("libzmq client `{sock}`: expected {echo:?}, got {other:?}")),
    }
}

/// libzmq CURVE/PLAIN clients (DEALER) -> ferrozmq server (ROUTER) with
/// ferrozmq's Authenticator allowing A and C, denying B.
fn libzmq_clients_ferrozmq_server(mech: Mech) {
    let name = format!("{mech:?}: libzmq clients -> ferrozmq server with Authenticator allow/deny");
    bounded(&name.clone(), LIMIT, move |wd| {
        let mut p = SecPeer::spawn(wd);
        // The clients' keys come from libzmq (zmq_curve_keypair).
        let keys = [p.keypair(), p.keypair(), p.keypair()];
        let [a_cred, b_cred, c_cred] = three_clients(mech, keys);
        let server_keys = KeyPair::generate();

        let ctx = Context::new();
        let auth = Authenticator::new(&ctx).unwrap();
        a_cred.allow_in(&auth);
        c_cred.allow_in(&auth);
        let server = ctx.socket(SocketType::Router).unwrap();
        server.set_linger(0).unwrap();
        server.set_rcvtimeo(IO_TIMEOUT_MS).unwrap();
        server.set_sndtimeo(IO_TIMEOUT_MS).unwrap();
        ferro_server(&server, mech, server_keys.secret());
        let mut s_ev = Events::new(&server, "ferrozmq server");
        server.bind("tcp://127.0.0.1:*").unwrap();
        let ep = server.last_endpoint().unwrap();

        let client = |p: &mut SecPeer, sock: &str, cred: &Cred| {
            p.socket(sock, "dealer");
            p.ok(&format!("MON {sock}"));
            cred.apply_peer(p, sock, &server_keys.public);
            p.connect(sock, &ep);
        };

        // A is allowed.
        client(&mut p, "a", &a_cred);
        round_trip_from_peer(&mut p, "a", &server, "A 1");
        p.expect_event("a", "HANDSHAKE_SUCCEEDED", None);
        s_ev.expect(EventKind::HandshakeSucceeded);

        // B is denied: AUTH 400 on ferrozmq's monitor and on libzmq's.
        client(&mut p, "b", &b_cred);
        p.send("b", &[b"B 1 must not pass"]);
        let e = s_ev.expect(EventKind::HandshakeFailedAuth);
        assert_eq!(e.value, 400, "{name}: server AUTH event value; events {:?}", s_ev.kinds());
        p.expect_event("b", "HANDSHAKE_FAILED_AUTH", Some(400));

        // Meanwhile the server serves C and A.
        client(&mut p, "c", &c_cred);
        round_trip_from_peer(&mut p, "c", &server, "C 1");
        p.expect_event("c", "HANDSHAKE_SUCCEEDED", None);
        round_trip_from_peer(&mut p, "a", &server, "A 2");

        // Nothing from B, and B never got through.
        server.set_rcvtimeo(300).unwrap();
        match server.recv_multipart(0) {
            Err(Error::EAGAIN) => {}
            other => panic!("{name}: the ferrozmq server received more (from B?): {other:?}"),
        }
        s_ev.drain_for(Duration::from_millis(20));
        assert_eq!(s_ev.count(EventKind::HandshakeSucceeded), 2, "{name}: server events {:?}", s_ev.kinds());
        assert!(
            !p.events_of("b").iter().any(|(n, _)| n == "HANDSHAKE_SUCCEEDED"),
            "{name}: libzmq client B completed a handshake: {:?}",
            p.events_of("b")
        );
        drop(auth);
    });
}

#[test]
fn curve_ferrozmq_clients_to_libzmq_server_zap_allow_and_deny() {
    ferrozmq_clients_libzmq_server(Mech::Curve);
}

#[test]
fn curve_libzmq_clients_to_ferrozmq_server_authenticator_allow_and_deny() {
    libzmq_clients_ferrozmq_server(Mech::Curve);
}

#[test]
fn plain_ferrozmq_clients_to_libzmq_server_good_and_bad_passwords() {
    ferrozmq_clients_libzmq_server(Mech::Plain);
}

#[test]
fn plain_libzmq_clients_to_ferrozmq_server_good_and_bad_passwords() {
    libzmq_clients_ferrozmq_server(Mech::Plain);
}

// ------------------------------------------------------ 3. CURVE bulk

const BIG: usize = 1 << 20;
const SMALL: usize = 1024;

/// The pattern table: byte k is `(k % 256 * 7 + 3) & 0xff`.
fn table() -> &'static [u8] {
    static T: OnceLock<Vec<u8>> = OnceLock::new();
    T.get_or_init(|| (0..BIG + 256).map(|k| ((k % 256 * 7 + 3) & 0xFF) as u8).collect())
}

fn bulk_size(i: u64) -> usize {
    if i % 25_000 == 24_999 {
        BIG
    } else {
        SMALL
    }
}

/// Writes message `i` of the bulk stream (secure_peer.py `bulk`) into `buf`.
fn bulk_into(i: u64, buf: &mut Vec<u8>) {
    let n = bulk_size(i);
    let off = (i % 256) as usize;
    buf.clear();
    buf.extend_from_slice(&i.to_be_bytes());
    buf.extend_from_slice(&table()[off..off + n - 8]);
}

fn check_bulk(i: u64, got: &[u8], what: &str) {
    let n = bulk_size(i);
    let off = (i % 256) as usize;
    let ok = got.len() == n && got[..8] == i.to_be_bytes() && got[8..] == table()[off..off + n - 8];
    if !ok {
        let seq = got.get(..8).map(|h| u64::from_be_bytes(h.try_into().unwrap()));
        panic!("{what}: message {i} differs: got {} bytes (sequence number {seq:?}), expected {n} bytes", got.len());
    }
}

/// Sets up CURVE between a ferrozmq socket `s` and the peer's socket `rx`
/// over `t`: the server is ferrozmq's if `ferro_server`, else libzmq's;
/// whoever is server binds. Keys: ferrozmq's for the server, libzmq's for
/// the client.
fn curve_pair(p: &mut SecPeer, s: &Socket, sock: &str, t: Transport, ferro_server: bool) -> Cleanup {
    let ep = t.bind_ep("sec");
    if ferro_server {
        let server = KeyPair::generate();
        let (public, secret) = p.keypair();
        ferro_server_keys(s, &server);
        s.bind(&ep).unwrap_or_else(|e| panic!("bind {ep}: {e}"));
        let resolved = s.last_endpoint().unwrap();
        Cred::Curve { public, secret }.apply_peer(p, sock, &server.public);
        p.connect(sock, &resolved);
        Cleanup(vec![ep, resolved])
    } else {
        let (server_public, server_secret) = p.keypair();
        peer_server(p, sock, Mech::Curve, &server_secret);
        let resolved = p.bind(sock, &ep);
        Cred::curve(&KeyPair::generate()).apply_ferro(s, &server_public);
        s.connect(&resolved).unwrap_or_else(|e| panic!("connect {resolved}: {e}"));
        Cleanup(vec![ep, resolved])
    }
}

fn ferro_server_keys(s: &Socket, k: &KeyPair) {
    s.set_option("curve_server", "1").unwrap();
    s.set_option("curve_secretkey", &k.to_z85().1).unwrap();
}

fn role(ferro_server: bool) -> &'static str {
    if ferro_server {
        "ferrozmq CURVE server binds"
    } else {
        "libzmq CURVE server binds"
    }
}

/// ferrozmq PUSH -> libzmq PULL, CURVE: 100 000 × 1 KiB + 4 × 1 MiB.
fn bulk_to_libzmq(t: Transport, ferro_server: bool) {
    let name = format!("CURVE bulk ferrozmq PUSH -> libzmq PULL, {t:?}, {}", role(ferro_server));
    bounded(&name.clone(), BULK_LIMIT, move |wd| {
        let mut p = SecPeer::spawn(wd);
        let ctx = Context::new();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_sndtimeo(IO_TIMEOUT_MS).unwrap();
        p.socket("rx", "pull");
        let _c = curve_pair(&mut p, &push, "rx", t, ferro_server);
        p.ok(&format!("RECVSTREAM rx {N_BULK}"));
        let t0 = Instant::now();
        let mut buf = Vec::with_capacity(BIG);
        for i in 0..N_BULK {
            bulk_into(i, &mut buf);
            if let Err(e) = push.send(buf.as_slice(), 0) {
                p.fail(&format!("{name}: send of message {i}: {e}"));
            }
        }
        let sent = t0.elapsed();
        let l = p.expect_async(wd.remaining(), "end of the stream", |l| l.starts_with("STREAM rx "));
        let total = t0.elapsed();
        assert!(l.starts_with(&format!("STREAM rx OK messages={N_BULK} ")), "{name}: {l}");
        eprintln!(
            "TIMING {name}: {N_BULK} messages sent in {sent:.2?}, all verified by libzmq after {total:.2?} ({l})"
        );
    });
}

/// libzmq PUSH -> ferrozmq PULL, CURVE: 100 000 × 1 KiB + 4 × 1 MiB.
fn bulk_from_libzmq(t: Transport, ferro_server: bool) {
    let name = format!("CURVE bulk libzmq PUSH -> ferrozmq PULL, {t:?}, {}", role(ferro_server));
    bounded(&name.clone(), BULK_LIMIT, move |wd| {
        let mut p = SecPeer::spawn(wd);
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull).unwrap();
        pull.set_rcvtimeo(IO_TIMEOUT_MS).unwrap();
        p.socket("tx", "push");
        let _c = curve_pair(&mut p, &pull, "tx", t, ferro_server);
        p.ok(&format!("SENDSTREAM tx {N_BULK}"));
        let t0 = Instant::now();
        for i in 0..N_BULK {
            let m = pull.recv_msg(0).unwrap_or_else(|e| p.fail(&format!("{name}: receiving message {i}: {e}")));
            if m.get_more() {
                p.fail(&format!("{name}: message {i} has more frames"));
            }
            check_bulk(i, m.as_bytes(), &name);
        }
        let total = t0.elapsed();
        let l = p.expect_async(wd.remaining(), "end of the stream", |l| l.starts_with("STREAM tx "));
        assert!(l.starts_with(&format!("STREAM tx SENT {N_BULK} ")), "{name}: {l}");
        assert_eq!(pull.recv_msg(DONTWAIT).unwrap_err(), Error::EAGAIN, "{name}: extra message after the stream");
        eprintln!("TIMING {name}: {N_BULK} messages received and verified by ferrozmq in {total:.2?} ({l})");
    });
}

#[test]
fn curve_bulk_ferrozmq_to_libzmq_tcp_libzmq_server() {
    bulk_to_libzmq(Tcp, false);
}
#[test]
fn curve_bulk_ferrozmq_to_libzmq_ipc_ferrozmq_server() {
    bulk_to_libzmq(Ipc, true);
}
#[test]
fn curve_bulk_libzmq_to_ferrozmq_tcp_ferrozmq_server() {
    bulk_from_libzmq(Tcp, true);
}
#[test]
fn curve_bulk_libzmq_to_ferrozmq_ipc_libzmq_server() {
    bulk_from_libzmq(Ipc, false);
}

// ---------------------------------------------- 4. wrong server key

/// A ferrozmq client with the wrong server key -> libzmq CURVE server: the
/// server reports HANDSHAKE_FAILED_PROTOCOL ZMTP_CRYPTOGRAPHIC, the client
/// HANDSHAKE_FAILED_NO_DETAIL and DISCONNECTED, and no HANDSHAKE_SUCCEEDED
/// in 2 s. A client with the right key, alongside, gets through.
#[test]
fn curve_wrong_server_key_ferrozmq_client_to_libzmq_server() {
    let name = "CURVE wrong server key: ferrozmq client -> libzmq server";
    bounded(name, LIMIT, move |wd| {
        let mut p = SecPeer::spawn(wd);
        let (server_public, server_secret) = p.keypair();
        p.socket("srv", "pull");
        p.ok("MON srv");
        peer_server(&mut p, "srv", Mech::Curve, &server_secret);
        let ep = p.bind("srv", "tcp://127.0.0.1:*");
        let ctx = Context::new();

        // Control: the right key works.
        let good = ctx.socket(SocketType::Push).unwrap();
        good.set_linger(0).unwrap();
        good.set_sndtimeo(IO_TIMEOUT_MS).unwrap();
        Cred::curve(&KeyPair::generate()).apply_ferro(&good, &server_public);
        good.connect(&ep).unwrap();
        good.send("good", 0).unwrap();
        assert_eq!(p.recv("srv", 5000), Some(vec![b"good".to_vec()]), "{name}: control client");
        p.expect_event("srv", "HANDSHAKE_SUCCEEDED", None);

        // The wrong server key (some other server's).
        let bad = ctx.socket(SocketType::Push).unwrap();
        bad.set_linger(0).unwrap();
        bad.set_sndtimeo(IO_TIMEOUT_MS).unwrap();
        Cred::curve(&KeyPair::generate()).apply_ferro(&bad, &KeyPair::generate().public);
        let mut ev = Events::new(&bad, "wrong-key client");
        bad.connect(&ep).unwrap();
        bad.send("bad", 0).expect("PUSH queues before the handshake");
        let v = p.expect_event("srv", "HANDSHAKE_FAILED_PROTOCOL", None);
        assert_eq!(v, ZMTP_CRYPTOGRAPHIC, "{name}: libzmq server's protocol error {v:#x}");
        // 2 s in which the client must not get through.
        let ok = ev.wait(Duration::from_secs(2), |e| e.kind == EventKind::HandshakeSucceeded);
        assert!(ok.is_none(), "{name}: HANDSHAKE_SUCCEEDED with a wrong server key; events {:?}", ev.kinds());
        assert!(
            ev.count(EventKind::HandshakeFailedNoDetail) > 0 && ev.count(EventKind::Disconnected) > 0,
            "{name}: the client got no clear error event (HANDSHAKE_FAILED_NO_DETAIL + DISCONNECTED); events {:?}",
            ev.kinds()
        );
        assert_eq!(p.recv("srv", 100), None, "{name}: the wrong-key client's message arrived");
        let ok = p.events_of("srv").iter().filter(|(n, _)| n == "HANDSHAKE_SUCCEEDED").count();
        assert_eq!(ok, 1, "{name}: libzmq server events {:?}", p.events_of("srv"));
    });
}

/// A libzmq client with the wrong server key -> ferrozmq CURVE server:
/// ferrozmq's monitor reports HANDSHAKE_FAILED_PROTOCOL ZMTP_CRYPTOGRAPHIC;
/// libzmq's client reports HANDSHAKE_FAILED_NO_DETAIL / DISCONNECTED and
/// no HANDSHAKE_SUCCEEDED in 2 s. A client with the right key gets through.
#[test]
fn curve_wrong_server_key_libzmq_client_to_ferrozmq_server() {
    let name = "CURVE wrong server key: libzmq client -> ferrozmq server";
    bounded(name, LIMIT, move |wd| {
        let mut p = SecPeer::spawn(wd);
        let ctx = Context::new();
        let auth = Authenticator::new(&ctx).unwrap();
        auth.curve_allow_any();
        let server_keys = KeyPair::generate();
        let server = ctx.socket(SocketType::Pull).unwrap();
        server.set_linger(0).unwrap();
        server.set_rcvtimeo(IO_TIMEOUT_MS).unwrap();
        ferro_server(&server, Mech::Curve, server_keys.secret());
        let mut s_ev = Events::new(&server, "ferrozmq server");
        server.bind("tcp://127.0.0.1:*").unwrap();
        let ep = server.last_endpoint().unwrap();

        // Control: the right key works.
        let (public, secret) = p.keypair();
        p.socket("good", "push");
        Cred::Curve { public, secret }.apply_peer(&mut p, "good", &server_keys.public);
        p.connect("good", &ep);
        p.send("good", &[b"good"]);
        assert_eq!(server.recv_bytes(0).unwrap(), b"good", "{name}: control client");
        s_ev.expect(EventKind::HandshakeSucceeded);

        let (public, secret) = p.keypair();
        p.socket("bad", "push");
        p.ok("MON bad");
        Cred::Curve { public, secret }.apply_peer(&mut p, "bad", &KeyPair::generate().public);
        p.connect("bad", &ep);
        p.send("bad", &[b"bad"]);
        let e = s_ev.expect(EventKind::HandshakeFailedProtocol);
        assert_eq!(e.value, ZMTP_CRYPTOGRAPHIC, "{name}: ferrozmq's protocol error {:#x}", e.value);
        let ok = p.wait_async(Duration::from_secs(2), |l| l.starts_with("EVENT bad HANDSHAKE_SUCCEEDED "));
        assert!(ok.is_none(), "{name}: libzmq client completed a handshake with a wrong key");
        let bad_events = p.events_of("bad");
        assert!(
            bad_events.iter().any(|(n, _)| n == "HANDSHAKE_FAILED_NO_DETAIL")
                && bad_events.iter().any(|(n, _)| n == "DISCONNECTED"),
            "{name}: libzmq client events {bad_events:?}"
        );
        server.set_rcvtimeo(100).unwrap();
        assert_eq!(server.recv_msg(0).unwrap_err(), Error::EAGAIN, "{name}: the wrong-key client's message arrived");
        s_ev.drain_for(Duration::from_millis(20));
        assert_eq!(s_ev.count(EventKind::HandshakeSucceeded), 1, "{name}: server events {:?}", s_ev.kinds());
        drop(auth);
    });
}

// -------------------------------------------- 5. what the ZAP handler sees

const DOMAIN: &str = "fzmq-test-domain";
const SERVER_ID: &[u8] = b"srv-ident";

/// A PLAIN user name with a space and non-ASCII text, and a password of
/// 255 bytes (the maximum) covering 0x00..0xfe.
fn odd_plain() -> Cred {
    Cred::plain("fzmq user ü".as_bytes(), &(0u8..255).collect::<Vec<u8>>())
}

/// ferrozmq client -> libzmq server with ZAP_DOMAIN and a routing id: the
/// request libzmq's handler gets carries the domain, 127.0.0.1, the
/// server's routing id, the mechanism and exactly the client's credentials.
fn zap_request_of_ferrozmq_client(mech: Mech) {
    let name = format!("{mech:?}: ZAP request for a ferrozmq client at libzmq's handler");
    bounded(&name.clone(), LIMIT, move |wd| {
        let mut p = SecPeer::spawn(wd);
        let server_keys = KeyPair::generate();
        let client_keys = KeyPair::generate();
        let cred = match mech {
            Mech::Curve => Cred::curve(&client_keys),
            Mech::Plain => odd_plain(),
        };
        p.ok("ZAP");
        cred.allow_in_peer(&mut p);
        p.socket("srv", "pull");
        p.opt("srv", "ZAP_DOMAIN", &format!("s:{DOMAIN}"));
        p.opt("srv", "ROUTING_ID", &x(SERVER_ID));
        peer_server(&mut p, "srv", mech, server_keys.secret());
        let ep = p.bind("srv", "tcp://127.0.0.1:*");

        let ctx = Context::new();
        let c = ctx.socket(SocketType::Push).unwrap();
        c.set_linger(0).unwrap();
        c.set_sndtimeo(IO_TIMEOUT_MS).unwrap();
        match &cred {
            // The raw 32-byte key options here (Z85 in the other tests).
            Cred::Curve { public, secret } => {
                c.set_option_raw(ids::CURVE_SERVERKEY, &server_keys.public).unwrap();
                c.set_option_raw(ids::CURVE_PUBLICKEY, public).unwrap();
                c.set_option_raw(ids::CURVE_SECRETKEY, secret).unwrap();
            }
            Cred::Plain { .. } => cred.apply_ferro(&c, &server_keys.public),
        }
        c.connect(&ep).unwrap();
        c.send("hello", 0).unwrap();
        assert_eq!(p.recv("srv", 5000), Some(vec![b"hello".to_vec()]), "{name}: the allowed client's message");
        let reqs = p.zap_requests();
        assert_eq!(reqs.len(), 1, "{name}: one ZAP request expected: {reqs:?}");
        let z = &reqs[0];
        assert_eq!(z.status, "200", "{name}: {z:?}");
        assert_eq!(z.version, b"1.0", "{name}: {z:?}");
        assert!(!z.request_id.is_empty(), "{name}: {z:?}");
        assert_eq!(z.domain, DOMAIN.as_bytes(), "{name}: ZAP domain: {z:?}");
        assert_eq!(z.address, b"127.0.0.1", "{name}: peer address: {z:?}");
        assert_eq!(z.identity, SERVER_ID, "{name}: identity (the server's routing id): {z:?}");
        match &cred {
            Cred::Curve { public, .. } => {
                assert_eq!(z.mechanism, b"CURVE", "{name}: {z:?}");
                assert_eq!(z.creds, vec![public.to_vec()], "{name}: the 32-byte client key");
            }
            Cred::Plain { user, pass } => {
                assert_eq!(z.mechanism, b"PLAIN", "{name}: {z:?}");
                assert_eq!(z.creds, vec![user.clone(), pass.clone()], "{name}: user name and password");
            }
        }
    });
}

#[test]
fn zap_request_plain_ferrozmq_client_at_libzmq_handler() {
    zap_request_of_ferrozmq_client(Mech::Plain);
}

#[test]
fn zap_request_curve_ferrozmq_client_at_libzmq_handler() {
    zap_request_of_ferrozmq_client(Mech::Curve);
}

/// A recording ZAP handler in a ferrozmq context (a REP socket at
/// inproc://zeromq.zap.01) that accepts every request.
struct RecordingZap {
    stop: Arc<AtomicBool>,
    requests: Receiver<Vec<Vec<u8>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RecordingZap {
    fn start(ctx: &Context) -> RecordingZap {
        let rep = ctx.socket(SocketType::Rep).unwrap();
        rep.set_linger(0).unwrap();
        rep.set_rcvtimeo(50).unwrap();
        rep.set_sndtimeo(1000).unwrap();
        rep.bind("inproc://zeromq.zap.01").unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let st = stop.clone();
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Acquire) {
                let frames = match rep.recv_multipart(0) {
                    Ok(f) => f,
                    Err(Error::EAGAIN) => continue,
                    Err(_) => return,
                };
                let req: Vec<Vec<u8>> = frames.iter().map(|f| f.as_bytes().to_vec()).collect();
                let rid = req.get(1).cloned().unwrap_or_default();
                let _ = tx.send(req);
                let reply: [&[u8]; 6] = [b"1.0", &rid, b"200", b"OK", b"someone", b""];
                for (i, f) in reply.iter().enumerate() {
                    if rep.send(*f, if i < 5 { SNDMORE } else { 0 }).is_err() {
                        return;
                    }
                }
            }
        });
        RecordingZap { stop, requests: rx, thread: Some(thread) }
    }
}

impl Drop for RecordingZap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// libzmq client -> ferrozmq server with ZAP_DOMAIN and a routing id: the
/// request a ZAP handler in ferrozmq's context gets is the one libzmq's
/// server would send (domain, address, the server's routing id, mechanism,
/// exact credentials).
fn zap_request_of_libzmq_client(mech: Mech) {
    let name = format!("{mech:?}: ZAP request for a libzmq client at a handler in ferrozmq's context");
    bounded(&name.clone(), LIMIT, move |wd| {
        let mut p = SecPeer::spawn(wd);
        let cred = match mech {
            Mech::Curve => {
                let (public, secret) = p.keypair();
                Cred::Curve { public, secret }
            }
            Mech::Plain => odd_plain(),
        };
        let ctx = Context::new();
        let zap = RecordingZap::start(&ctx);
        let server_keys = KeyPair::generate();
        let server = ctx.socket(SocketType::Pull).unwrap();
        server.set_linger(0).unwrap();
        server.set_rcvtimeo(IO_TIMEOUT_MS).unwrap();
        server.set_option("zap_domain", DOMAIN).unwrap();
        server.set_routing_id(SERVER_ID).unwrap();
        ferro_server(&server, mech, server_keys.secret());
        server.bind("tcp://127.0.0.1:*").unwrap();
        let ep = server.last_endpoint().unwrap();

        p.socket("c", "push");
        cred.apply_peer(&mut p, "c", &server_keys.public);
        p.connect("c", &ep);
        p.send("c", &[b"hello"]);
        assert_eq!(server.recv_bytes(0).unwrap(), b"hello", "{name}: the accepted client's message");
        let req = zap.requests.recv_timeout(Duration::from_secs(1)).expect("the handler saw the request");
        assert!(zap.requests.try_recv().is_err(), "{name}: more than one ZAP request");
        let show = describe(&req);
        assert!(req.len() >= 6, "{name}: ZAP request {show}");
        assert_eq!(req[0], b"1.0", "{name}: version: {show}");
        assert!(!req[1].is_empty(), "{name}: request id: {show}");
        assert_eq!(req[2], DOMAIN.as_bytes(), "{name}: domain: {show}");
        assert_eq!(req[3], b"127.0.0.1", "{name}: address: {show}");
        assert_eq!(req[4], SERVER_ID, "{name}: identity (the server's routing id): {show}");
        match &cred {
            Cred::Curve { public, .. } => {
                assert_eq!(req[5], b"CURVE", "{name}: {show}");
                assert_eq!(req[6..], [public.to_vec()], "{name}: the 32-byte client key: {show}");
            }
            Cred::Plain { user, pass } => {
                assert_eq!(req[5], b"PLAIN", "{name}: {show}");
                assert_eq!(req[6..], [user.clone(), pass.clone()], "{name}: user name and password: {show}");
            }
        }
    });
}

#[test]
fn zap_request_plain_libzmq_client_at_ferrozmq_context_handler() {
    zap_request_of_libzmq_client(Mech::Plain);
}

#[test]
fn zap_request_curve_libzmq_client_at_ferrozmq_context_handler() {
    zap_request_of_libzmq_client(Mech::Curve);
}
