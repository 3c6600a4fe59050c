//! Byte-level interop with libzmq 4.3 through pyzmq: our sans-IO
//! `Handshake` driven by hand over a std `TcpStream`, against a libzmq socket
//! run by `tests/peers/curve_peer.py` (CURVE, PLAIN, with a ZAP handler that
//! allows or denies). Both directions: our client → libzmq server, libzmq
//! client → our server. Every wait is bounded (socket timeouts, a deadline
//! per exchange, the child is killed on drop).
//!
//! Skipped (with a note on stderr) when `python3 -c "import zmq"` fails or
//! libzmq lacks CURVE, so the suite still runs on machines without pyzmq.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrozmq_proto::curve::KeyPair;
use ferrozmq_proto::*;

const DEADLINE: Duration = Duration::from_secs(15);

fn script() -> String {
    format!("{}/tests/peers/curve_peer.py", env!("CARGO_MANIFEST_DIR"))
}

/// pyzmq with CURVE available?
fn pyzmq_available() -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import zmq, sys; sys.exit(0 if zmq.has('curve') else 1)",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("skipping: python3 with pyzmq (CURVE) is not available");
    }
    ok
}

struct Peer {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Peer {
    fn spawn(args: &[&str]) -> Peer {
        let mut child = Command::new("python3")
            .arg(script())
            .args(args)
            .args(["--timeout", "8"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn python3");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// The first line starting with `prefix` (rest of the line), within the deadline.
    fn wait_line(&mut self, prefix: &str) -> Option<String> {
        if let Some(l) = self.seen.iter().find(|l| l.starts_with(prefix)) {
            return Some(l[prefix.len()..].trim().to_owned());
        }
        let deadline = Instant::now() + DEADLINE;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return Some(rest.trim().to_owned());
                    }
                }
                Err(_) => break,
            }
        }
        eprintln!("no '{prefix}' line from the peer; saw {:?}", self.seen);
        None
    }

    /// Waits (bounded) for the child to exit; true if it exited with 0.
    fn wait_exit(&mut self) -> bool {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
enum DriveError {
    Protocol(ProtocolError),
    Closed,
    Timeout,
}

/// Drives `hs` over `stream` until it completes; ZAP requests go to `zap`.
fn drive(
    stream: &mut TcpStream,
    hs: &mut Handshake,
    mut zap: impl FnMut(ZapRequest) -> ZapReply,
) -> Result<(PeerInfo, BytesMut), DriveError> {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    stream.set_write_timeout(Some(DEADLINE)).unwrap();
    let deadline = Instant::now() + DEADLINE;
    let mut out = BytesMut::new();
    let mut input = BytesMut::new();
    let mut buf = [0u8; 4096];
    loop {
        hs.poll_transmit(&mut out);
        if !out.is_empty() {
            stream.write_all(&out).map_err(|_| DriveError::Closed)?;
            out.clear();
        }
        match hs.feed(&mut input) {
            Ok(HandshakeStatus::Complete(peer)) => {
                hs.poll_transmit(&mut out);
                stream.write_all(&out).map_err(|_| DriveError::Closed)?;
                return Ok((peer, input));
            }
            Ok(HandshakeStatus::ZapRequest(req)) => {
                assert!(hs.awaiting_zap_reply());
                if let Err(e) = hs.zap_reply(zap(req)) {
                    hs.poll_transmit(&mut out);
                    let _ = stream.write_all(&out);
                    return Err(DriveError::Protocol(e));
                }
                continue;
            }
            Ok(HandshakeStatus::InProgress) => {}
            Err(e) => {
                eprintln!("handshake failed with {e:?}; unconsumed input {input:?}");
                return Err(DriveError::Protocol(e));
            }
        }
        if Instant::now() > deadline {
            return Err(DriveError::Timeout);
        }
        match stream.read(&mut buf) {
            Ok(0) => return Err(DriveError::Closed),
            Ok(n) => {
                if std::env::var_os("INTEROP_TRACE").is_some() {
                    eprintln!("read {:?}", &buf[..n]);
                }
                input.extend_from_slice(&buf[..n])
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return Err(DriveError::Closed),
        }
    }
}

/// Reads `n` whole frames (as decoded, not decrypted) from `stream`.
fn read_frames(stream: &mut TcpStream, input: &mut BytesMut, n: usize) -> Vec<Frame> {
    let decoder = FrameDecoder::new(None);
    let deadline = Instant::now() + DEADLINE;
    let mut frames = Vec::new();
    let mut buf = [0u8; 4096];
    while frames.len() < n {
        if let Some(f) = decoder.decode(input).expect("valid frame") {
            frames.push(f);
            continue;
        }
        assert!(Instant::now() < deadline, "timed out reading frames");
        match stream.read(&mut buf) {
            Ok(0) => panic!("peer closed while reading frames"),
            Ok(k) => input.extend_from_slice(&buf[..k]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    frames
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn z85(k: &[u8; 32]) -> String {
    ferrozmq_proto::z85::encode(k).unwrap()
}

fn curve_config(
    socket_type: SocketType,
    kp: &KeyPair,
    server: bool,
    server_key: Option<[u8; 32]>,
) -> HandshakeConfig {
    let mut c = HandshakeConfig::new(socket_type);
    c.mechanism = MechanismConfig::Curve {
        server,
        public_key: kp.public,
        secret_key: *kp.secret(),
        server_key,
    };
    c
}

fn connect(port: &str) -> TcpStream {
    let deadline = Instant::now() + DEADLINE;
    loop {
        match TcpStream::connect_timeout(
            &format!("127.0.0.1:{port}").parse().unwrap(),
            Duration::from_secs(2),
        ) {
            Ok(s) => return s,
            Err(e) => {
                assert!(Instant::now() < deadline, "connect: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Accepts one connection on `listener`, bounded.
fn accept(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + DEADLINE;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                return s;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no connection from the peer");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

#[test]
fn curve_our_dealer_to_libzmq_router() {
    if !pyzmq_available() {
        return;
    }
    let server = KeyPair::generate();
    let client = KeyPair::generate();
    let (s_pub, s_sec) = server.to_z85();
    let mut peer = Peer::spawn(&[
        "--mech",
        "curve",
        "--role",
        "server",
        "--type",
        "ROUTER",
        &format!("--public={}", s_pub),
        &format!("--secret={}", s_sec.as_str()),
        "--zap",
        "allow",
    ]);
    let port = peer.wait_line("PORT ").expect("python printed its port");
    let mut stream = connect(&port);
    let mut cfg = curve_config(SocketType::Dealer, &client, false, Some(server.public));
    cfg.routing_id = Some(Bytes::from_static(b"rust-dealer"));
    let mut hs = Handshake::new(cfg);
    let (info, _rest) = drive(&mut stream, &mut hs, |_| panic!("client asks no ZAP"))
        .expect("CURVE handshake with libzmq");
    assert_eq!(info.socket_type, Some(SocketType::Router));
    assert_eq!(info.version, ZmtpVersion::V3_1);
    let mut cipher = hs.take_cipher().expect("CURVE has a cipher");
    let mut out = BytesMut::new();
    cipher.encrypt(true, false, b"hello", &mut out).unwrap();
    cipher.encrypt(false, false, b"curve", &mut out).unwrap();
    stream.write_all(&out).unwrap();
    let zap = peer
        .wait_line("ZAP ")
        .expect("libzmq asked its ZAP handler");
    assert_eq!(zap, format!("CURVE {}", hex(&client.public)));
    let recv = peer
        .wait_line("RECV ")
        .expect("libzmq received our message");
    assert_eq!(
        recv,
        format!(
            "{}|{}|{}",
            hex(b"rust-dealer"),
            hex(b"hello"),
            hex(b"curve")
        )
    );
    assert!(peer.wait_exit());
}

#[test]
fn curve_libzmq_push_to_our_pull() {
    if !pyzmq_available() {
        return;
    }
    let server = KeyPair::generate();
    let client = KeyPair::generate();
    let (c_pub, c_sec) = client.to_z85();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let send = format!("{}|{}", hex(b"part one"), hex(&[7u8; 300]));
    let mut peer = Peer::spawn(&[
        "--mech",
        "curve",
        "--role",
        "client",
        "--type",
        "PUSH",
        "--connect",
        &endpoint,
        &format!("--public={}", c_pub),
        &format!("--secret={}", c_sec.as_str()),
        &format!("--server-key={}", z85(&server.public)),
        "--send",
        &send,
    ]);
    let mut stream = accept(&listener);
    let mut cfg = curve_config(SocketType::Pull, &server, true, None);
    cfg.zap.handler = true;
    let mut hs = Handshake::new(cfg);
    let mut asked = Vec::new();
    let (info, mut rest) = drive(&mut stream, &mut hs, |req| {
        asked.push(req.clone());
        let mut reply = ZapReply::ok("curve-user");
        reply.metadata.insert("X-Zap", "yes");
        reply
    })
    .expect("libzmq CURVE client accepted");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].mechanism, "CURVE");
    assert_eq!(
        asked[0].credentials,
        vec![Bytes::copy_from_slice(&client.public)]
    );
    assert_eq!(info.socket_type, Some(SocketType::Push));
    assert_eq!(info.user_id.as_deref(), Some(&b"curve-user"[..]));
    assert_eq!(
        info.metadata.get("User-Id").map(|v| &v[..]),
        Some(&b"curve-user"[..])
    );
    assert_eq!(
        info.metadata.get("X-Zap").map(|v| &v[..]),
        Some(&b"yes"[..])
    );
    let mut cipher = hs.take_cipher().expect("CURVE has a cipher");
    let frames = read_frames(&mut stream, &mut rest, 2);
    // What libzmq puts on the outer frame of a MESSAGE (documented in curve.rs).
    eprintln!(
        "libzmq MESSAGE outer flags: more={} command={}",
        frames[0].more, frames[0].command
    );
    assert!(!frames[0].more && !frames[0].command);
    let first = cipher.decrypt(frames[0].clone()).unwrap();
    assert!(first.more && !first.command);
    assert_eq!(&first.body[..], b"part one");
    let second = cipher.decrypt(frames[1].clone()).unwrap();
    assert!(!second.more);
    assert_eq!(&second.body[..], &[7u8; 300][..]);
    // A replay of libzmq's own frame is refused.
    assert_eq!(
        cipher.decrypt(frames[1].clone()),
        Err(ProtocolError::InvalidSequence)
    );
    assert!(peer.wait_line("SENT").is_some());
    drop(stream);
    assert!(peer.wait_exit());
}

#[test]
fn curve_wrong_server_key_is_refused_by_libzmq() {
    if !pyzmq_available() {
        return;
    }
    let server = KeyPair::generate();
    let client = KeyPair::generate();
    let (s_pub, s_sec) = server.to_z85();
    let mut peer = Peer::spawn(&[
        "--mech",
        "curve",
        "--role",
        "server",
        "--type",
        "PULL",
        &format!("--public={}", s_pub),
        &format!("--secret={}", s_sec.as_str()),
    ]);
    let port = peer.wait_line("PORT ").unwrap();
    let mut stream = connect(&port);
    let wrong = KeyPair::generate().public;
    let mut hs = Handshake::new(curve_config(SocketType::Push, &client, false, Some(wrong)));
    match drive(&mut stream, &mut hs, |_| unreachable!()) {
        Err(DriveError::Closed) => {}
        other => panic!("a wrong server key must never complete: {other:?}"),
    }
    let ev = peer
        .wait_line("EVENT HANDSHAKE_FAILED_PROTOCOL")
        .expect("libzmq reports the failure");
    assert_eq!(ev, (error_codes::ZMTP_CRYPTOGRAPHIC).to_string());
}

#[test]
fn curve_our_server_denies_libzmq_client() {
    if !pyzmq_available() {
        return;
    }
    let server = KeyPair::generate();
    let client = KeyPair::generate();
    let (c_pub, c_sec) = client.to_z85();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let mut peer = Peer::spawn(&[
        "--mech",
        "curve",
        "--role",
        "client",
        "--type",
        "PUSH",
        "--connect",
        &endpoint,
        &format!("--public={}", c_pub),
        &format!("--secret={}", c_sec.as_str()),
        &format!("--server-key={}", z85(&server.public)),
        "--until-failure",
    ]);
    let mut stream = accept(&listener);
    let mut cfg = curve_config(SocketType::Pull, &server, true, None);
    cfg.zap.handler = true;
    let mut hs = Handshake::new(cfg);
    match drive(&mut stream, &mut hs, |_| ZapReply::with_status(400)) {
        Err(DriveError::Protocol(e)) => assert_eq!(e.auth_status(), Some(400)),
        other => panic!("{other:?}"),
    }
    // libzmq parsed our ERROR "400" as a ZAP status.
    let ev = peer
        .wait_line("EVENT HANDSHAKE_FAILED_AUTH")
        .expect("auth event");
    assert_eq!(ev, "400");
}

#[test]
fn plain_our_client_to_libzmq_server() {
    if !pyzmq_available() {
        return;
    }
    let mut peer = Peer::spawn(&[
        "--mech", "plain", "--role", "server", "--type", "PULL", "--zap", "allow",
    ]);
    let port = peer.wait_line("PORT ").unwrap();
    let mut stream = connect(&port);
    let mut cfg = HandshakeConfig::new(SocketType::Push);
    cfg.mechanism = MechanismConfig::Plain {
        server: false,
        username: b"admin".to_vec(),
        password: b"s3cret".to_vec(),
    };
    let mut hs = Handshake::new(cfg);
    let (info, _) = drive(&mut stream, &mut hs, |_| unreachable!()).expect("PLAIN handshake");
    assert_eq!(info.socket_type, Some(SocketType::Pull));
    assert!(hs.take_cipher().is_none());
    let mut out = BytesMut::new();
    encode_frame(false, false, b"plain text", &mut out);
    stream.write_all(&out).unwrap();
    assert_eq!(
        peer.wait_line("ZAP ").unwrap(),
        format!("PLAIN {} {}", hex(b"admin"), hex(b"s3cret"))
    );
    assert_eq!(peer.wait_line("RECV ").unwrap(), hex(b"plain text"));
    assert!(peer.wait_exit());
}

#[test]
fn plain_libzmq_denies_our_client() {
    if !pyzmq_available() {
        return;
    }
    let mut peer = Peer::spawn(&[
        "--mech", "plain", "--role", "server", "--type", "PULL", "--zap", "deny",
    ]);
    let port = peer.wait_line("PORT ").unwrap();
    let mut stream = connect(&port);
    let mut cfg = HandshakeConfig::new(SocketType::Push);
    cfg.mechanism = MechanismConfig::Plain {
        server: false,
        username: b"admin".to_vec(),
        password: b"wrong".to_vec(),
    };
    let mut hs = Handshake::new(cfg);
    match drive(&mut stream, &mut hs, |_| unreachable!()) {
        Err(DriveError::Protocol(e)) => {
            assert_eq!(
                e,
                ProtocolError::PeerError {
                    reason: "400".into()
                }
            );
            assert_eq!(e.auth_status(), Some(400));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        peer.wait_line("EVENT HANDSHAKE_FAILED_AUTH").unwrap(),
        "400"
    );
}

#[test]
fn plain_libzmq_client_to_our_server() {
    if !pyzmq_available() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let mut peer = Peer::spawn(&[
        "--mech",
        "plain",
        "--role",
        "client",
        "--type",
        "DEALER",
        "--connect",
        &endpoint,
        "--username",
        "alice",
        "--password",
        "wonder",
        "--send",
        &hex(b"from libzmq"),
    ]);
    let mut stream = accept(&listener);
    let mut cfg = HandshakeConfig::new(SocketType::Router);
    cfg.mechanism = MechanismConfig::Plain {
        server: true,
        username: Vec::new(),
        password: Vec::new(),
    };
    cfg.zap.handler = true;
    let mut hs = Handshake::new(cfg);
    let mut creds = Vec::new();
    let (info, mut rest) = drive(&mut stream, &mut hs, |req| {
        creds = req.credentials.clone();
        ZapReply::ok("alice")
    })
    .expect("PLAIN server handshake");
    assert_eq!(
        creds,
        vec![Bytes::from_static(b"alice"), Bytes::from_static(b"wonder")]
    );
    assert_eq!(info.socket_type, Some(SocketType::Dealer));
    assert_eq!(info.user_id.as_deref(), Some(&b"alice"[..]));
    let frames = read_frames(&mut stream, &mut rest, 1);
    assert_eq!(&frames[0].body[..], b"from libzmq");
    assert!(peer.wait_line("SENT").is_some());
    drop(stream);
    assert!(peer.wait_exit());
}
