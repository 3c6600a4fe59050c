//! Acceptance: ferrozmq against a REAL older-protocol ZeroMQ peer — JeroMQ
//! 0.3.6 (Debian's `libjeromq-java`), a Java port of libzmq 3.2 that speaks
//! ZMTP 2.0 (greeting revision 0x01: a 12-octet greeting, an identity
//! frame, no security mechanisms) — to prove ferrozmq's downgrade from ZMTP
//! 3.1 (RFC 23 §"Backwards Interoperability", RFC 15).
//!
//! The peer is tests/peers/jeromq/JeroPeer.java, compiled once per test run
//! with `javac` into a directory under CARGO_TARGET_TMPDIR and run with
//! `java -cp jeromq.jar:DIR JeroPeer ...`. Without a JDK or the JeroMQ jar
//! these tests FAIL (run `bash scripts/setup.sh`); they are never skipped.
//! The jar is `/usr/share/java/jeromq.jar` unless `FERROZMQ_JEROMQ_JAR`
//! says otherwise.
//!
//! Every test runs under a watchdog ([`common::bounded`]) that kills the JVMs
//! it started and fails after [`LIMIT`]; every ferrozmq call that could block
//! has RCVTIMEO/SNDTIMEO set; synchronisation is on conditions (READY lines,
//! probe messages), never on sleeps. tcp only: JeroMQ has no ipc on the JVM.
//!
//! Besides the socket-level scenarios (PUSH/PULL, REQ/REP, PUB/SUB with
//! prefix filtering, DEALER/ROUTER with identities, both sides binding),
//! the `wire_*` tests record the bytes exchanged — JeroMQ against a plain
//! TcpListener, and ferrozmq against JeroMQ through a recording relay — to
//! show which protocol version was actually spoken.

mod common;

use common::*;
use ferrozmq::monitor::{EventKind, Monitor, EVENT_ALL};
use ferrozmq::{Context, Socket, SocketType, DONTWAIT};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Per-test budget (JVM start-up is ~0.5 s each).
const LIMIT: Duration = Duration::from_secs(30);
/// Messages in the PUSH -> PULL tests.
const N_STREAM: u64 = 1000;
/// Round trips in the REQ/REP tests.
const N_REQ: u64 = 100;
/// Receive/send timeout on the ferrozmq side.
const IO_TIMEOUT_MS: i32 = 10_000;

/// The ZMTP signature JeroMQ and ferrozmq send first: `FF`, identity length
/// + 1 as 8 big-endian octets, `7F`.
fn signature(identity_len: u8) -> [u8; 10] {
    [0xFF, 0, 0, 0, 0, 0, 0, 0, identity_len + 1, 0x7F]
}

// ------------------------------------------------------------ java toolchain

fn jeromq_jar() -> PathBuf {
    std::env::var_os("FERROZMQ_JEROMQ_JAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java/jeromq.jar"))
}

fn peer_source() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/jeromq/JeroPeer.java")
}

/// Compiles JeroPeer.java once per test run and returns the class path
/// (`jar:dir`); fails the calling test, loudly, if the JDK or JeroMQ is
/// missing: the interop suite must never pass by skipping.
fn classpath() -> &'static str {
    static CP: OnceLock<Result<String, String>> = OnceLock::new();
    let r = CP.get_or_init(|| {
        let jar = jeromq_jar();
        if !jar.exists() {
            return Err(format!("the JeroMQ jar {} does not exist (Debian package libjeromq-java)", jar.display()));
        }
        for tool in ["java", "javac"] {
            match Command::new(tool).current_dir(std::env::temp_dir()).arg("-version").stdin(Stdio::null()).output() {
                Ok(o) if o.status.success() => {}
                Ok(o) => return Err(format!("`{tool} -version` failed ({})", o.status)),
                Err(e) => return Err(format!("cannot run `{tool}`: {e} (a JDK, e.g. default-jdk-headless)")),
            }
        }
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        // Remove the class directories of earlier runs that are gone.
        if let Ok(rd) = std::fs::read_dir(&base) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name.strip_prefix("jeropeer-") {
                    if !PathBuf::from(format!("/proc/{pid}")).exists() {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
        }
        let dir = base.join(format!("jeropeer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let o = Command::new("javac")
            .current_dir(std::env::temp_dir())
            .arg("-nowarn")
            .arg("-cp")
            .arg(&jar)
            .arg("-d")
            .arg(&dir)
            .arg(peer_source())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run javac: {e}"))?;
        if !o.status.success() {
            return Err(format!(
                "javac {} failed ({}): {}",
                peer_source().display(),
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Ok(format!("{}:{}", jar.display(), dir.display()))
    });
    match r {
        Ok(cp) => cp,
        Err(e) => panic!(
            "\n\nThe JeroMQ interop tests need a JDK (java, javac) and JeroMQ 0.3.6, and they are not available:\n  {e}\n\
             Run the project's setup script first:  bash scripts/setup.sh\n\
             (CI installs libjeromq-java there; these tests are not skipped without it.)\n"
        ),
    }
}

// ------------------------------------------------------------------ the peer

/// A running JeroPeer: the same line protocol as zmq_peer.py, so it is a
/// [`common::Peer`] started with `java`. Dropping it kills the JVM.
type JPeer = Peer;

/// Starts `java JeroPeer ARGS --timeout T`, watched by `wd`; its deadline is
/// a little earlier than the watchdog's so that a stuck peer is reported as
/// such.
fn spawn_jeromq(wd: &Watchdog, args: &[&str]) -> JPeer {
    let limit = wd.remaining().saturating_sub(Duration::from_secs(2)).max(Duration::from_secs(1));
    let secs = limit.as_secs().max(1) + 5;
    let mut cmd = Command::new("java");
    // Not the crate directory: a JVM cannot start in a deleted cwd.
    cmd.current_dir(std::env::temp_dir())
        .args(["-XX:+UseSerialGC", "-Xss512k", "-Xmx256m", "-cp", classpath(), "JeroPeer"])
        .args(args)
        .arg("--timeout")
        .arg(secs.to_string());
    let name = format!("JeroMQ {}", args.iter().take(3).cloned().collect::<Vec<_>>().join(" "));
    let p = Peer::from_command(cmd, name, limit);
    wd.watch_pid(p.pid());
    p
}

/// The endpoint of a peer's `READY <endpoint>`.
fn ready_ep(p: &mut JPeer) -> String {
    p.ready().join(" ")
}

// ------------------------------------------------------------------- helpers

/// Joins a ferrozmq socket and a JeroMQ peer: either `s` binds and the peer
/// connects, or the reverse. Returns the peer and a monitor of `s` (set up
/// before the bind/connect, for [`expect_handshake`] and diagnostics).
fn join(wd: &Watchdog, s: &Socket, ferro_binds: bool, role: &str, extra: &[&str]) -> (JPeer, Monitor) {
    let mon = s.monitor_events(EVENT_ALL).unwrap();
    if ferro_binds {
        s.bind(TCP_ANY).unwrap_or_else(|e| panic!("ferrozmq bind: {e}"));
        let ep = s.last_endpoint().unwrap();
        let mut args = vec![role, "connect", ep.as_str()];
        args.extend_from_slice(extra);
        let mut p = spawn_jeromq(wd, &args);
        p.ready();
        (p, mon)
    } else {
        let mut args = vec![role, "bind", TCP_ANY];
        args.extend_from_slice(extra);
        let mut p = spawn_jeromq(wd, &args);
        let ep = ready_ep(&mut p);
        s.connect(&ep).unwrap_or_else(|e| panic!("ferrozmq connect {ep}: {e}"));
        (p, mon)
    }
}

/// The events a monitor has queued, for failure messages.
fn events(m: &Monitor) -> String {
    let mut v = Vec::new();
    while let Ok(e) = m.next_event(0) {
        v.push(format!("{:?}({}) {}", e.kind, e.value, e.endpoint));
    }
    format!("ferrozmq socket events: {v:?}")
}

fn dir(ferro_binds: bool) -> &'static str {
    if ferro_binds {
        "ferrozmq binds, JeroMQ connects"
    } else {
        "JeroMQ binds, ferrozmq connects"
    }
}

/// Waits for HANDSHAKE_SUCCEEDED on a ferrozmq socket's monitor; fails with
/// every event seen otherwise (e.g. HANDSHAKE_FAILED_PROTOCOL and its code).
fn expect_handshake(m: &Monitor, what: &str) {
    let end = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while Instant::now() < end {
        match m.next_event(100) {
            Ok(e) if e.kind == EventKind::HandshakeSucceeded => return,
            Ok(e) => seen.push(format!("{:?}({}) {}", e.kind, e.value, e.endpoint)),
            Err(_) => {}
        }
    }
    panic!("{what}: no HANDSHAKE_SUCCEEDED on the ferrozmq socket; events: {seen:?}");
}

fn frames_of(msg: Vec<ferrozmq::Msg>) -> Vec<Vec<u8>> {
    msg.into_iter().map(|f| f.as_bytes().to_vec()).collect()
}

fn show(frames: &[Vec<u8>]) -> String {
    let parts: Vec<String> = frames.iter().map(|f| format!("{:?}", String::from_utf8_lossy(f))).collect();
    format!("[{}]", parts.join(", "))
}

// ------------------------------------------------------------ wire recording

/// A one-connection TCP relay that records the bytes each way: the client
/// connects to `addr`, the relay connects to the target.
struct Relay {
    addr: String,
    /// client -> server
    up: Arc<Mutex<Vec<u8>>>,
    /// server -> client
    down: Arc<Mutex<Vec<u8>>>,
}

impl Relay {
    fn new(target: &str) -> Relay {
        let target: SocketAddr = target.trim_start_matches("tcp://").parse().expect("relay target");
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("tcp://{}", l.local_addr().unwrap());
        let up: Arc<Mutex<Vec<u8>>> = Arc::default();
        let down: Arc<Mutex<Vec<u8>>> = Arc::default();
        let (u, d) = (up.clone(), down.clone());
        std::thread::spawn(move || {
            let Ok((client, _)) = l.accept() else { return };
            let Ok(server) = TcpStream::connect(target) else { return };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || pump(c2, s2, u));
            pump(server, client, d);
        });
        Relay { addr, up, down }
    }

    fn up(&self) -> Vec<u8> {
        self.up.lock().unwrap().clone()
    }

    fn down(&self) -> Vec<u8> {
        self.down.lock().unwrap().clone()
    }
}

/// Copies `from` to `to`, recording; half-closes `to` at EOF.
fn pump(mut from: TcpStream, mut to: TcpStream, rec: Arc<Mutex<Vec<u8>>>) {
    let mut buf = vec![0u8; 65536];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                rec.lock().unwrap().extend_from_slice(&buf[..n]);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// ZMTP 2.0 frames (RFC 15: flags octet — bit 0 MORE, bit 1 LONG — then a
/// 1- or 8-octet size, then the body) from `b`; also returns the octets
/// left over (an incomplete frame at the end).
fn parse_v2(b: &[u8]) -> (Vec<(u8, Vec<u8>)>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        if pos >= b.len() {
            return (out, 0);
        }
        let flags = b[pos];
        let (len, hdr) = if flags & 0x02 != 0 {
            if b.len() < pos + 9 {
                return (out, b.len() - pos);
            }
            (u64::from_be_bytes(b[pos + 1..pos + 9].try_into().unwrap()) as usize, 9)
        } else {
            if b.len() < pos + 2 {
                return (out, b.len() - pos);
            }
            (b[pos + 1] as usize, 2)
        };
        if b.len() < pos + hdr + len {
            return (out, b.len() - pos);
        }
        out.push((flags, b[pos + hdr..pos + hdr + len].to_vec()));
        pos += hdr + len;
    }
}

/// Groups V2 frames into messages by their MORE bits (a trailing
/// incomplete message is dropped).
fn v2_messages(frames: &[(u8, Vec<u8>)]) -> Vec<Vec<Vec<u8>>> {
    let mut msgs = Vec::new();
    let mut cur = Vec::new();
    for (flags, body) in frames {
        assert_eq!(flags & !0x03, 0, "ZMTP 2.0 frame with reserved flag bits set: {flags:#04x}");
        cur.push(body.clone());
        if flags & 0x01 == 0 {
            msgs.push(std::mem::take(&mut cur));
        }
    }
    msgs
}

/// Checks a ZMTP 2.0 greeting (12 octets) at the start of `b` and returns
/// the V2 frames after it: the first is the identity frame.
fn after_v2_greeting(b: &[u8], who: &str, id_len: u8, first_revision_octet: u8, socket_type: u8) -> Vec<(u8, Vec<u8>)> {
    assert!(b.len() >= 12, "{who}: only {} octets on the wire: {}", b.len(), hex(b));
    assert_eq!(hex(&b[..10]), hex(&signature(id_len)), "{who}: signature");
    assert_eq!(
        b[10], first_revision_octet,
        "{who}: octet 10 (revision / major version) is {:#04x}, expected {first_revision_octet:#04x}",
        b[10]
    );
    assert_eq!(b[11], socket_type, "{who}: octet 11 is {:#04x}, expected the ZMTP 2.0 socket type {socket_type:#04x}", b[11]);
    let (frames, left) = parse_v2(&b[12..]);
    assert_eq!(left, 0, "{who}: {left} trailing octets do not form a ZMTP 2.0 frame: {}", hex(&b[b.len() - left..]));
    assert!(!frames.is_empty(), "{who}: no identity frame after the greeting");
    frames
}

// --------------------------------------------------------- 1. PUSH -> PULL

fn push_to_jeromq(ferro_binds: bool) {
    let name = format!("ferrozmq PUSH -> JeroMQ PULL, {}", dir(ferro_binds));
    bounded(&name.clone(), LIMIT, move |wd| {
        let ctx = Context::new();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_sndtimeo(IO_TIMEOUT_MS).unwrap();
        let n = N_STREAM.to_string();
        let (mut peer, mon) = join(wd, &push, ferro_binds, "pull", &[&n]);
        for i in 0..N_STREAM {
            if let Err(e) = push.send_multipart(message(i), 0) {
                peer.fail(&format!("{name}: send of stream message {i}: {e}; {}", events(&mon)));
            }
        }
        let ok = peer.expect("OK");
        assert!(ok.starts_with(&format!("messages={N_STREAM} ")), "{name}: {ok}");
        peer.wait_success();
        expect_handshake(&mon, &name);
    });
}

fn push_from_jeromq(ferro_binds: bool) {
    let name = format!("JeroMQ PUSH -> ferrozmq PULL, {}", dir(ferro_binds));
    bounded(&name.clone(), LIMIT, move |wd| {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull).unwrap();
        pull.set_rcvtimeo(IO_TIMEOUT_MS).unwrap();
        let n = N_STREAM.to_string();
        let (mut peer, mon) = join(wd, &pull, ferro_binds, "push", &[&n]);
        for i in 0..N_STREAM {
            let got = match pull.recv_multipart(0) {
                Ok(m) => frames_of(m),
                Err(e) => peer.fail(&format!("{name}: receiving stream message {i}: {e}; {}", events(&mon))),
            };
            let exp = message(i);
            assert_eq!(got, exp, "{name}: stream message {i}: got {}, expected {}", describe(&got), describe(&exp));
        }
        peer.expect("DONE");
        peer.wait_success();
        assert!(pull.recv_msg(DONTWAIT).is_err(), "{name}: extra message after the stream");
        expect_handshake(&mon, &name);
    });
}

#[test]
fn push_ferrozmq_binds_to_jeromq_pull() {
    push_to_jeromq(true);
}
#[test]
fn push_ferrozmq_connects_to_jeromq_pull() {
    push_to_jeromq(false);
}
#[test]
fn push_jeromq_to_ferrozmq_pull_binds() {
    push_from_jeromq(true);
}
#[test]
fn push_jeromq_to_ferrozmq_pull_connects() {
    push_from_jeromq(false);
}

// ------------------------------------------------------------ 2. REQ / REP

fn req_to_jeromq_rep(ferro_binds: bool) {
    let name = format!("ferrozmq REQ -> JeroMQ REP, {}", dir(ferro_binds));
    bounded(&name.clone(), LIMIT, move |wd| {
        let ctx = Context::new();
        let req = ctx.socket(SocketType::Req).unwrap();
        req.set_sndtimeo(IO_TIMEOUT_MS).unwrap();
        req.set_rcvtimeo(IO_TIMEOUT_MS).unwrap();
        let n = N_REQ.to_string();
        let (mut peer, mon) = join(wd, &req, ferro_binds, "rep", &[&n]);
        for i in 0..N_REQ {
            let m = message(i);
            if let Err(e) = req.send_multipart(m.clone(), 0) {
                peer.fail(&format!("{name}: send request {i}: {e}; {}", events(&mon)));
            }
            let got = match req.recv_multipart(0) {
                Ok(r) => frames_of(r),
                Err(e) => peer.fail(&format!("{name}: reply {i}: {e}; {}", events(&mon))),
            };
            let mut exp = vec![b"rep".to_vec()];
            exp.extend(m);
            assert_eq!(got, exp, "{name}: reply {i}: got {}, expected {}", describe(&got), describe(&exp));
        }
        assert_eq!(peer.expect("OK"), format!("requests={N_REQ}"));
        peer.expect("DONE");
        peer.wait_success();
        expect_handshake(&mon, &name);
    });
}

fn req_from_jeromq(ferro_binds: bool) {
    let name = format!("JeroMQ REQ -> ferrozmq REP, {}", dir(ferro_binds));
    bounded(&name.clone(), LIMIT, move |wd| {
        let ctx = Context::new();
        let rep = ctx.socket(SocketType::Rep).unwrap();
        rep.set_sndtimeo(IO_TIMEOUT_MS).unwrap();
        rep.set_rcvtimeo(IO_TIMEOUT_MS).unwrap();
        let n = N_REQ.to_string();
        let (mut peer, mon) = join(wd, &rep, ferro_binds, "req", &[&n]);
        for i in 0..N_REQ {
            let got = match rep.recv_multipart(0) {
                Ok(r) => frames_of(r),
                Err(e) => peer.fail(&format!("{name}: request {i}: {e}; {}", events(&mon))),
            };
            let exp = message(i);
            assert_eq!(got, exp, "{name}: request {i}: got {}, expected {}", describe(&got), describe(&exp));
            let mut reply = vec![b"rep".to_vec()];
            reply.extend(got);
            if let Err(e) = rep.send_multipart(reply, 0) {
                peer.fail(&format!("{name}: send reply {i}: {e}; {}", events(&mon)));
            }
        }
        assert_eq!(peer.expect("OK"), format!("requests={N_REQ}"));
        peer.wait_success();
        expect_handshake(&mon, &name);
    });
}

#[test]
fn reqrep_ferrozmq_req_binds_jeromq_rep() {
    req_to_jeromq_rep(true);
}
#[test]
fn reqrep_ferrozmq_req_connects_jeromq_rep() {
    req_to_jeromq_rep(false);
}
#[test]
fn reqrep_jeromq_req_ferrozmq_rep_binds() {
    req_from_jeromq(true);
}
#[test]
fn reqrep_jeromq_req_ferrozmq_rep_connects() {
    req_from_jeromq(false);
}

// ------------------------------------------------------------- 3. PUB / SUB

/// The published messages: `[topic, body]`. With subscriptions "A" and
/// "C/" exactly the `match-*` ones must arrive; the `nomatch-*` bodies must
/// not even be on the wire when the publisher filters (ZMTP 2.0 publishers
/// filter: the subscriber's `\x01prefix` frames tell them what to send).
fn batch1() -> Vec<(&'static [u8], &'static [u8])> {
    vec![
        (b"A", b"match-1"),
        (b"B", b"nomatch-2"),
        (b"AB", b"match-3"),
        (b"a", b"nomatch-4"),
        (b"C", b"nomatch-5"),
        (b"C/", b"match-6"),
        (b"C/x/y", b"match-7"),
        (b"", b"nomatch-8"),
        (b"\x01A", b"nomatch-9"),
        (b"BA", b"nomatch-10"),
        (b"A/1", b"match-11"),
        (b"C:", b"nomatch-12"),
    ]
}

/// After `UNSUB A` + `SUB D`: only the `C/` message remains.
fn batch2() -> Vec<(&'static [u8], &'static [u8])> {
    vec![(b"A", b"nomatch-13"), (b"AB", b"nomatch-14"), (b"C/y", b"match-15"), (b"D", b"match-16"), (b"E", b"nomatch-17")]
}

fn expected(batch: &[(&[u8], &[u8])]) -> Vec<Vec<Vec<u8>>> {
    batch
        .iter()
        .filter(|(_, b)| b.starts_with(b"match-"))
        .map(|(t, b)| vec![t.to_vec(), b.to_vec()])
        .collect()
}

fn is_sync(m: &[Vec<u8>]) -> bool {
    m.len() == 1 && m[0].ends_with(b".sync")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Subscriber-side collection until the `end` marker, dropping late sync
/// probes.
fn collect_until(mut next: impl FnMut() -> Option<Vec<Vec<u8>>>, end: &[u8], what: &str) -> Vec<Vec<Vec<u8>>> {
    let mut got = Vec::new();
    loop {
        let Some(m) = next() else {
            panic!("{what}: the end marker {:?} never arrived; got so far {:?}", String::from_utf8_lossy(end), got.iter().map(|m: &Vec<Vec<u8>>| show(m)).collect::<Vec<_>>())
        };
        if m.len() == 1 && m[0] == end {
            return got;
        }
        if !is_sync(&m) {
            got.push(m);
        }
    }
}

fn check_batch(got: Vec<Vec<Vec<u8>>>, batch: &[(&[u8], &[u8])], what: &str) {
    let exp = expected(batch);
    let g: Vec<String> = got.iter().map(|m| show(m)).collect();
    let e: Vec<String> = exp.iter().map(|m| show(m)).collect();
    assert_eq!(g, e, "{what}: the SUB must get exactly the matching messages, in order");
}

/// The subscription frames a ZMTP 2.0 subscriber sends: after the identity
/// frame, single-frame messages `\x01prefix` / `\x00prefix` (flags 0: data
/// frames, not ZMTP 3.1 SUBSCRIBE commands).
fn check_subscription_frames(sub_to_pub: &[(u8, Vec<u8>)], who: &str) {
    let rest: Vec<(u8, Vec<u8>)> = sub_to_pub[1..].to_vec();
    let shown: Vec<String> = rest.iter().map(|(f, b)| format!("{f:#04x}:{}", hex(b))).collect();
    for (flags, _) in &rest {
        assert_eq!(*flags, 0, "{who}: subscription frames must be single-frame messages (flags 0): {shown:?}");
    }
    let bodies: Vec<Vec<u8>> = rest.into_iter().map(|(_, b)| b).collect();
    let mut initial: Vec<Vec<u8>> = bodies.iter().take(2).cloned().collect();
    initial.sort();
    assert_eq!(initial, vec![b"\x01A".to_vec(), b"\x01C/".to_vec()], "{who}: initial subscriptions: {shown:?}");
    assert_eq!(bodies[2..].to_vec(), vec![b"\x00A".to_vec(), b"\x01D".to_vec()], "{who}: UNSUB A then SUB D: {shown:?}");
}

/// ferrozmq PUB, JeroMQ SUB (subscribed to "A" and "C/"), through a relay.
fn pub_to_jeromq(ferro_binds: bool) {
    let name = format!("ferrozmq PUB -> JeroMQ SUB, {}", dir(ferro_binds));
    bounded(&name.clone(), LIMIT, move |wd| {
        let ctx = Context::new();
        let publ = ctx.socket(SocketType::Pub).unwrap();
        publ.set_sndtimeo(IO_TIMEOUT_MS).unwrap();
        let subs = ["--sub", "x41", "--sub", "x432f"];
        let (mut peer, relay) = if ferro_binds {
            publ.bind(TCP_ANY).unwrap();
            let relay = Relay::new(&publ.last_endpoint().unwrap());
            let mut args = vec!["sub", "connect", relay.addr.as_str()];
            args.extend(subs);
            let mut p = spawn_jeromq(wd, &args);
            p.ready();
            (p, relay)
        } else {
            let mut args = vec!["sub", "bind", TCP_ANY];
            args.extend(subs);
            let mut p = spawn_jeromq(wd, &args);
            let relay = Relay::new(&ready_ep(&mut p));
            publ.connect(&relay.addr).unwrap();
            (p, relay)
        };
        // The bytes ferrozmq sends are the server side's when it binds.
        let ferro_out = |r: &Relay| if ferro_binds { r.down() } else { r.up() };
        let jero_out = |r: &Relay| if ferro_binds { r.up() } else { r.down() };

        // Sync: probe both subscribed topics until both arrive.
        let (mut a, mut c) = (false, false);
        while !(a && c) {
            publ.send(&b"A.sync"[..], 0).unwrap();
            publ.send(&b"C/.sync"[..], 0).unwrap();
            while let Some(m) = peer.recv(20) {
                a |= m == [b"A.sync".to_vec()];
                c |= m == [b"C/.sync".to_vec()];
            }
        }
        let b1 = batch1();
        for (t, b) in &b1 {
            publ.send_multipart([*t, *b], 0).unwrap();
        }
        publ.send(&b"A.end"[..], 0).unwrap();
        let got = collect_until(|| peer.recv(5000), b"A.end", &name);
        check_batch(got, &b1, &format!("{name}, batch 1"));

        // Unsubscribe A, subscribe D; sync on D (the unsubscription
        // travelled first on the same connection).
        peer.cmd_ok("UNSUB x41");
        peer.cmd_ok("SUB x44");
        let mut d = false;
        while !d {
            publ.send(&b"D.sync"[..], 0).unwrap();
            while let Some(m) = peer.recv(20) {
                d |= m == [b"D.sync".to_vec()];
            }
        }
        let b2 = batch2();
        for (t, b) in &b2 {
            publ.send_multipart([*t, *b], 0).unwrap();
        }
        publ.send(&b"D.end"[..], 0).unwrap();
        let got = collect_until(|| peer.recv(5000), b"D.end", &name);
        check_batch(got, &b2, &format!("{name}, batch 2"));

        // On the wire: ferrozmq spoke ZMTP 2.0 (staged greeting, no 64-octet
        // greeting, no mechanism) and filtered publisher-side.
        let fo = ferro_out(&relay);
        let jo = jero_out(&relay);
        let ff = after_v2_greeting(&fo, &format!("{name}: ferrozmq -> JeroMQ"), 0, 0x03, 0x01);
        assert_eq!(ff[0], (0, vec![]), "{name}: ferrozmq's identity frame");
        assert!(!contains(&fo, b"NULL"), "{name}: ferrozmq sent a ZMTP 3 mechanism to a ZMTP 2.0 peer");
        for (_, b) in b1.iter().chain(b2.iter()) {
            let on_wire = contains(&fo, b);
            assert_eq!(
                on_wire,
                b.starts_with(b"match-"),
                "{name}: ferrozmq PUB {} {:?} (publisher-side filtering on the subscriptions it decoded from `\\x01prefix` frames)",
                if on_wire { "sent" } else { "did not send" },
                String::from_utf8_lossy(b)
            );
        }
        let jf = after_v2_greeting(&jo, &format!("{name}: JeroMQ -> ferrozmq"), 0, 0x01, 0x02);
        assert_eq!(jf[0], (0, vec![]), "{name}: JeroMQ's identity frame");
        check_subscription_frames(&jf, &format!("{name}: JeroMQ -> ferrozmq"));
        peer.cmd_ok("QUIT");
        peer.wait_success();
    });
}

/// JeroMQ PUB, ferrozmq SUB (subscribed to "A" and "C/"), through a relay.
fn pub_from_jeromq(ferro_binds: bool) {
    let name = format!("JeroMQ PUB -> ferrozmq SUB, {}", dir(ferro_binds));
    bounded(&name.clone(), LIMIT, move |wd| {
        let ctx = Context::new();
        let sub = ctx.socket(SocketType::Sub).unwrap();
        sub.set_subscribe(b"A").unwrap();
        sub.set_subscribe(b"C/").unwrap();
        let (mut peer, relay) = if ferro_binds {
            sub.bind(TCP_ANY).unwrap();
            let relay = Relay::new(&sub.last_endpoint().unwrap());
            let mut p = spawn_jeromq(wd, &["pub", "connect", relay.addr.as_str()]);
            p.ready();
            (p, relay)
        } else {
            let mut p = spawn_jeromq(wd, &["pub", "bind", TCP_ANY]);
            let relay = Relay::new(&ready_ep(&mut p));
            sub.connect(&relay.addr).unwrap();
            (p, relay)
        };
        let ferro_out = |r: &Relay| if ferro_binds { r.down() } else { r.up() };
        let jero_out = |r: &Relay| if ferro_binds { r.up() } else { r.down() };
        let recv = |ms: i32| -> Option<Vec<Vec<u8>>> {
            sub.set_rcvtimeo(ms).unwrap();
            sub.recv_multipart(0).ok().map(frames_of)
        };

        let (mut a, mut c) = (false, false);
        while !(a && c) {
            peer.send(&[b"A.sync"]);
            peer.send(&[b"C/.sync"]);
            while let Some(m) = recv(20) {
                a |= m == [b"A.sync".to_vec()];
                c |= m == [b"C/.sync".to_vec()];
            }
        }
        let b1 = batch1();
        for (t, b) in &b1 {
            peer.send(&[t, b]);
        }
        peer.send(&[b"A.end"]);
        let got = collect_until(|| recv(5000), b"A.end", &name);
        check_batch(got, &b1, &format!("{name}, batch 1"));

        sub.set_unsubscribe(b"A").unwrap();
        sub.set_subscribe(b"D").unwrap();
        let mut d = false;
        while !d {
            peer.send(&[b"D.sync"]);
            while let Some(m) = recv(20) {
                d |= m == [b"D.sync".to_vec()];
            }
        }
        let b2 = batch2();
        for (t, b) in &b2 {
            peer.send(&[t, b]);
        }
        peer.send(&[b"D.end"]);
        let got = collect_until(|| recv(5000), b"D.end", &name);
        check_batch(got, &b2, &format!("{name}, batch 2"));

        // ferrozmq's subscriptions went out as ZMTP 2.0 `\x01prefix` data
        // frames (not 3.1 SUBSCRIBE commands): JeroMQ, which filters on the
        // publisher side, understood them and sent no `nomatch-*` message.
        let fo = ferro_out(&relay);
        let jo = jero_out(&relay);
        let ff = after_v2_greeting(&fo, &format!("{name}: ferrozmq -> JeroMQ"), 0, 0x03, 0x02);
        assert_eq!(ff[0], (0, vec![]), "{name}: ferrozmq's identity frame");
        assert!(!contains(&fo, b"NULL"), "{name}: ferrozmq sent a ZMTP 3 mechanism to a ZMTP 2.0 peer");
        check_subscription_frames(&ff, &format!("{name}: ferrozmq -> JeroMQ"));
        let _ = after_v2_greeting(&jo, &format!("{name}: JeroMQ -> ferrozmq"), 0, 0x01, 0x01);
        for (_, b) in b1.iter().chain(b2.iter()) {
            assert_eq!(
                contains(&jo, b),
                b.starts_with(b"match-"),
                "{name}: JeroMQ PUB sending {:?} or not shows whether it understood ferrozmq's subscriptions",
                String::from_utf8_lossy(b)
            );
        }
        peer.cmd_ok("QUIT");
        peer.wait_success();
    });
}

#[test]
fn pubsub_ferrozmq_pub_binds_jeromq_sub() {
    pub_to_jeromq(true);
}
#[test]
fn pubsub_ferrozmq_pub_connects_jeromq_sub() {
    pub_to_jeromq(false);
}
#[test]
fn pubsub_jeromq_pub_ferrozmq_sub_binds() {
    pub_from_jeromq(true);
}
#[test]
fn pubsub_jeromq_pub_ferrozmq_sub_connects() {
    pub_from_jeromq(false);
}

// ------------------------------------------------------ 4. DEALER / ROUTER

/// Round trips between a ferrozmq ROUTER and JeroMQ DEALERs: one with the
/// identity "jero-d1", one without (the ROUTER makes one up). Every reply
/// must reach the dealer it is addressed to.
fn router_with_jeromq_dealers(ferro_binds: bool) {
    let name = format!("JeroMQ DEALERs <-> ferrozmq ROUTER, {}", dir(ferro_binds));
    bounded(&name.clone(), LIMIT, move |wd| {
        let ctx = Context::new();
        let router = ctx.socket(SocketType::Router).unwrap();
        router.set_sndtimeo(IO_TIMEOUT_MS).unwrap();
        router.set_rcvtimeo(IO_TIMEOUT_MS).unwrap();
        router.set_option_raw(33, &1i32.to_ne_bytes()).unwrap(); // ZMQ_ROUTER_MANDATORY
        let mut dealers = Vec::new();
        if ferro_binds {
            router.bind(TCP_ANY).unwrap();
            let ep = router.last_endpoint().unwrap();
            dealers.push(spawn_jeromq(wd, &["dealer", "connect", &ep, "--identity", "x6a65726f2d6431"]));
            dealers.push(spawn_jeromq(wd, &["dealer", "connect", &ep]));
            for d in &mut dealers {
                d.ready();
            }
        } else {
            for extra in [&["--identity", "x6a65726f2d6431"][..], &[][..]] {
                let mut args = vec!["dealer", "bind", TCP_ANY];
                args.extend_from_slice(extra);
                let mut d = spawn_jeromq(wd, &args);
                let ep = ready_ep(&mut d);
                router.connect(&ep).unwrap();
                dealers.push(d);
            }
        }
        // Each dealer introduces itself; learn the identities.
        let mut ids: Vec<Vec<u8>> = vec![Vec::new(); 2];
        for (k, d) in dealers.iter_mut().enumerate() {
            let who = format!("d{k}");
            d.send(&[b"hello", who.as_bytes()]);
            let m = frames_of(router.recv_multipart(0).unwrap_or_else(|e| d.fail(&format!("{name}: ROUTER recv hello from {who}: {e}"))));
            assert_eq!(m.len(), 3, "{name}: ROUTER got {}", show(&m));
            assert_eq!(m[1..].to_vec(), vec![b"hello".to_vec(), who.clone().into_bytes()], "{name}: {}", show(&m));
            ids[k] = m[0].clone();
        }
        assert_eq!(ids[0], b"jero-d1", "{name}: the identity JeroMQ sent in its ZMTP 2.0 identity frame");
        assert!(!ids[1].is_empty() && ids[1] != ids[0], "{name}: generated identity {:?}", ids[1]);
        // Interleaved, addressed round trips, some with empty frames.
        for i in 0..20u32 {
            for k in [1usize, 0] {
                let body = format!("to-d{k}-{i}");
                router.send_multipart([ids[k].as_slice(), b"", body.as_bytes()], 0).unwrap_or_else(|e| panic!("{name}: ROUTER send {body}: {e}"));
            }
            for (k, d) in dealers.iter_mut().enumerate() {
                let body = format!("to-d{k}-{i}");
                let got = d.recv(5000).unwrap_or_else(|| d.fail(&format!("{name}: d{k} got no {body}")));
                assert_eq!(got, vec![b"".to_vec(), body.into_bytes()], "{name}: d{k} got {}", show(&got));
                let back = format!("from-d{k}-{i}");
                d.send(&[b"", back.as_bytes()]);
                let m = frames_of(router.recv_multipart(0).unwrap_or_else(|e| d.fail(&format!("{name}: {back}: {e}"))));
                assert_eq!(m, vec![ids[k].clone(), b"".to_vec(), back.into_bytes()], "{name}: ROUTER got {}", show(&m));
            }
        }
        for d in dealers {
            let mut d = d;
            d.cmd_ok("QUIT");
            d.wait_success();
        }
    });
}

/// ferrozmq DEALERs (one with the routing id "ferro-d1", one without: the
/// ROUTER makes one up) and a JeroMQ ROUTER. When ferrozmq binds, the ROUTER
/// connects to both dealers.
fn dealers_with_jeromq_router(ferro_binds: bool) {
    let name = format!("ferrozmq DEALERs <-> JeroMQ ROUTER, {}", dir(ferro_binds));
    bounded(&name.clone(), LIMIT, move |wd| {
        let ctx = Context::new();
        let d1 = ctx.socket(SocketType::Dealer).unwrap();
        d1.set_routing_id(b"ferro-d1").unwrap();
        let d2 = ctx.socket(SocketType::Dealer).unwrap();
        let dealers = [d1, d2];
        for d in &dealers {
            d.set_sndtimeo(IO_TIMEOUT_MS).unwrap();
            d.set_rcvtimeo(IO_TIMEOUT_MS).unwrap();
        }
        let mut peer = if ferro_binds {
            let mut eps = Vec::new();
            for d in &dealers {
                d.bind(TCP_ANY).unwrap();
                eps.push(d.last_endpoint().unwrap());
            }
            let mut p = spawn_jeromq(wd, &["router", "connect", &eps.join(",")]);
            p.ready();
            p
        } else {
            let mut p = spawn_jeromq(wd, &["router", "bind", TCP_ANY]);
            let ep = ready_ep(&mut p);
            for d in &dealers {
                d.connect(&ep).unwrap();
            }
            p
        };
        let mut ids: Vec<Vec<u8>> = vec![Vec::new(); 2];
        for (k, d) in dealers.iter().enumerate() {
            let who = format!("d{k}");
            d.send_multipart([&b"hello"[..], who.as_bytes()], 0).unwrap_or_else(|e| peer.fail(&format!("{name}: {who} send hello: {e}")));
            let m = peer.recv(5000).unwrap_or_else(|| peer.fail(&format!("{name}: JeroMQ ROUTER got no hello from {who}")));
            assert_eq!(m.len(), 3, "{name}: JeroMQ ROUTER got {}", show(&m));
            assert_eq!(m[1..].to_vec(), vec![b"hello".to_vec(), who.into_bytes()], "{name}: {}", show(&m));
            ids[k] = m[0].clone();
        }
        assert_eq!(ids[0], b"ferro-d1", "{name}: the routing id ferrozmq sent in its ZMTP 2.0 identity frame");
        assert!(!ids[1].is_empty() && ids[1] != ids[0], "{name}: generated identity {:?}", ids[1]);
        for i in 0..20u32 {
            for k in [1usize, 0] {
                let body = format!("to-d{k}-{i}");
                peer.send(&[&ids[k], b"", body.as_bytes()]);
            }
            for (k, d) in dealers.iter().enumerate() {
                let body = format!("to-d{k}-{i}");
                let got = frames_of(d.recv_multipart(0).unwrap_or_else(|e| peer.fail(&format!("{name}: d{k} got no {body}: {e}"))));
                assert_eq!(got, vec![b"".to_vec(), body.into_bytes()], "{name}: d{k} got {}", show(&got));
                let back = format!("from-d{k}-{i}");
                d.send_multipart([&b""[..], back.as_bytes()], 0).unwrap();
                let m = peer.recv(5000).unwrap_or_else(|| peer.fail(&format!("{name}: JeroMQ ROUTER got no {back}")));
                assert_eq!(m, vec![ids[k].clone(), b"".to_vec(), back.into_bytes()], "{name}: JeroMQ ROUTER got {}", show(&m));
            }
        }
        peer.cmd_ok("QUIT");
        peer.wait_success();
    });
}

#[test]
fn dealer_router_jeromq_dealers_ferrozmq_router_binds() {
    router_with_jeromq_dealers(true);
}
#[test]
fn dealer_router_jeromq_dealers_ferrozmq_router_connects() {
    router_with_jeromq_dealers(false);
}
#[test]
fn dealer_router_ferrozmq_dealers_binds_jeromq_router() {
    dealers_with_jeromq_router(true);
}
#[test]
fn dealer_router_ferrozmq_dealers_connect_jeromq_router() {
    dealers_with_jeromq_router(false);
}

// ---------------------------------------------------------------- 5. wire

/// Reads exactly `n` octets (the stream has a read timeout set).
fn read_n(s: &mut TcpStream, n: usize, what: &str, so_far: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; n];
    if let Err(e) = s.read_exact(&mut b) {
        panic!("{what}: reading {n} octets: {e} (received before: {})", hex(so_far));
    }
    b
}

/// JeroMQ 0.3.6 against a plain TcpListener acting as a ZMTP 3 peer the
/// way libzmq and ferrozmq do (signature, then the major version once the
/// peer's signature arrived, then — the peer's revision being 0x01 — the
/// ZMTP 2.0 socket-type octet and identity frame). Records what JeroMQ
/// sends: its 11 first octets are `FF 00*7 <id len + 1> 7F 01` (ZMTP 2.0,
/// revision 0x01), it sends nothing past its signature until it saw ours,
/// and then speaks ZMTP 2.0 framing: identity frame, then the messages
/// (LONG flag and 8-octet sizes for frames over 255 octets).
#[test]
fn wire_jeromq_speaks_zmtp_2_0() {
    bounded("wire: JeroMQ greeting", LIMIT, |wd| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let ep = format!("tcp://{}", l.local_addr().unwrap());
        // PUSH with identity "jero", 13 messages (every shape of the stream).
        let mut peer = spawn_jeromq(wd, &["push", "connect", &ep, "13", "--identity", "x6a65726f"]);
        peer.ready();
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let sig = read_n(&mut s, 10, "JeroMQ signature", &[]);
        assert_eq!(hex(&sig), hex(&signature(4)), "JeroMQ's signature (identity \"jero\": length 4 + 1)");
        // A ZMTP 2.0 peer stages its greeting: nothing more before our
        // signature arrives.
        s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut one = [0u8; 1];
        match s.read(&mut one) {
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            other => panic!("JeroMQ sent more than its signature before seeing ours: {other:?} {}", hex(&one)),
        }
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(&signature(0)).unwrap();
        let rev = read_n(&mut s, 2, "JeroMQ revision and socket type", &sig);
        let first11: Vec<u8> = sig.iter().chain(&rev[..1]).copied().collect();
        assert_eq!(hex(&first11), "ff00000000000000057f01", "JeroMQ's first 11 octets: signature + revision 0x01 (ZMTP 2.0)");
        assert_eq!(rev[1], 0x08, "JeroMQ's socket-type octet (PUSH = 8)");
        // Our major version (3), the ZMTP 2.0 socket type (PULL = 7) and an
        // empty identity frame, as ferrozmq sends them to a revision-1 peer.
        s.write_all(&[0x03, 0x07, 0x00, 0x00]).unwrap();
        peer.expect("DONE");
        peer.wait_success();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        let (frames, left) = parse_v2(&rest);
        assert_eq!(left, 0, "trailing octets: {}", hex(&rest));
        assert_eq!(frames[0], (0, b"jero".to_vec()), "JeroMQ's ZMTP 2.0 identity frame");
        let msgs = v2_messages(&frames[1..]);
        let exp: Vec<Vec<Vec<u8>>> = (0..13).map(message).collect();
        assert_eq!(msgs.len(), 13);
        for (i, (g, e)) in msgs.iter().zip(&exp).enumerate() {
            assert_eq!(g, e, "message {i}: got {}, expected {}", describe(g), describe(e));
        }
        // The 300-octet frame of message 3 used the LONG flag (8-octet size).
        let long = frames.iter().find(|(_, b)| b.len() == 300).unwrap();
        assert_eq!(long.0, 0x03, "MORE|LONG on the 300-octet frame");
        let short = frames.iter().find(|(_, b)| b.len() == 255).unwrap();
        assert_eq!(short.0, 0x00, "a 255-octet frame has a 1-octet size");
    });
}

/// ferrozmq against JeroMQ through a recording relay, both ways round:
/// ferrozmq sends its signature, its major version 3 once JeroMQ's
/// signature arrived, and on seeing revision 0x01 the ZMTP 2.0 socket-type
/// octet and identity frame — not the rest of a 64-octet ZMTP 3 greeting,
/// nor a NULL mechanism handshake — then ZMTP 2.0 frames.
fn wire_ferrozmq_downgrades(ferro_binds: bool) {
    let name = format!("wire: ferrozmq downgrade to ZMTP 2.0, {}", dir(ferro_binds));
    bounded(&name.clone(), LIMIT, move |wd| {
        let ctx = Context::new();
        if ferro_binds {
            // ferrozmq PULL (routing id "fz") binds; JeroMQ PUSH ("jero")
            // connects through the relay.
            let pull = ctx.socket(SocketType::Pull).unwrap();
            pull.set_routing_id(b"fz").unwrap();
            pull.set_rcvtimeo(IO_TIMEOUT_MS).unwrap();
            let mon = pull.monitor_events(EVENT_ALL).unwrap();
            pull.bind(TCP_ANY).unwrap();
            let relay = Relay::new(&pull.last_endpoint().unwrap());
            let mut peer = spawn_jeromq(wd, &["push", "connect", &relay.addr, "13", "--identity", "x6a65726f"]);
            peer.ready();
            recv_stream(&pull, 13, &name);
            peer.expect("DONE");
            peer.wait_success();
            expect_handshake(&mon, &name);
            let fo = relay.down();
            let ff = after_v2_greeting(&fo, &format!("{name}: ferrozmq -> JeroMQ"), 2, 0x03, 0x07);
            assert_eq!(ff, vec![(0, b"fz".to_vec())], "{name}: ferrozmq sends its identity frame and nothing else");
            let jo = relay.up();
            let jf = after_v2_greeting(&jo, &format!("{name}: JeroMQ -> ferrozmq"), 4, 0x01, 0x08);
            assert_eq!(jf[0], (0, b"jero".to_vec()));
            assert_eq!(v2_messages(&jf[1..]), (0..13).map(message).collect::<Vec<_>>());
        } else {
            // JeroMQ PULL binds; ferrozmq PUSH (routing id "fz") connects
            // through the relay.
            let push = ctx.socket(SocketType::Push).unwrap();
            push.set_routing_id(b"fz").unwrap();
            push.set_sndtimeo(IO_TIMEOUT_MS).unwrap();
            let mon = push.monitor_events(EVENT_ALL).unwrap();
            let mut peer = spawn_jeromq(wd, &["pull", "bind", TCP_ANY, "13"]);
            let relay = Relay::new(&ready_ep(&mut peer));
            push.connect(&relay.addr).unwrap();
            send_stream(&push, 13);
            peer.expect("OK");
            peer.wait_success();
            expect_handshake(&mon, &name);
            let fo = relay.up();
            let ff = after_v2_greeting(&fo, &format!("{name}: ferrozmq -> JeroMQ"), 2, 0x03, 0x08);
            assert_eq!(ff[0], (0, b"fz".to_vec()), "{name}: ferrozmq's identity frame");
            assert_eq!(v2_messages(&ff[1..]), (0..13).map(message).collect::<Vec<_>>());
            let jo = relay.down();
            assert_eq!(hex(&jo), format!("{}0107{}", hex(&signature(0)), "0000"), "{name}: JeroMQ -> ferrozmq");
        }
    });
}

#[test]
fn wire_ferrozmq_downgrades_when_binding() {
    wire_ferrozmq_downgrades(true);
}
#[test]
fn wire_ferrozmq_downgrades_when_connecting() {
    wire_ferrozmq_downgrades(false);
}
