//! PLAIN and CURVE between ferrozmq sockets, with the built-in ZAP
//! authenticator: accepted, refused (with the monitor's AUTH event), no
//! handler, wrong server key, and bulk traffic over tcp and ipc.

use ferrozmq::auth::Authenticator;
use ferrozmq::curve::KeyPair;
use ferrozmq::monitor::{EventKind, EVENT_ALL};
use ferrozmq::{Context, Error, Monitor, SocketType};
use std::time::{Duration, Instant};

fn wait_for(m: &Monitor, kind: EventKind) -> ferrozmq::Event {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now()).as_millis() as i32;
        let e = m.next_event(left.max(1)).unwrap_or_else(|e| panic!("no {kind:?} ({e}); saw {seen:?}"));
        if e.kind == kind {
            return e;
        }
        seen.push((e.kind, e.value));
    }
}

fn z85(k: &[u8]) -> String {
    ferrozmq::z85::encode(k).unwrap()
}

#[test]
fn plain_good_and_bad_passwords() {
    let ctx = Context::new();
    let auth = Authenticator::new(&ctx).unwrap();
    auth.plain_user("admin", "secret");
    let server = ctx.socket(SocketType::Pull).unwrap();
    server.set_option("plain_server", "1").unwrap();
    let sm = server.monitor_events(EVENT_ALL).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let ep = server.last_endpoint().unwrap();
    server.set_rcvtimeo(5000).unwrap();

    let good = ctx.socket(SocketType::Push).unwrap();
    good.set_option("plain_username", "admin").unwrap();
    good.set_option("plain_password", "secret").unwrap();
    good.connect(&ep).unwrap();
    good.send("let me in", 0).unwrap();
    assert_eq!(&*server.recv_msg(0).unwrap(), b"let me in");
    wait_for(&sm, EventKind::HandshakeSucceeded);

    let bad = ctx.socket(SocketType::Push).unwrap();
    bad.set_linger(0).unwrap();
    bad.set_option("plain_username", "admin").unwrap();
    bad.set_option("plain_password", "wrong").unwrap();
    let bm = bad.monitor_events(EVENT_ALL).unwrap();
    bad.connect(&ep).unwrap();
    bad.send("should not pass", 0).unwrap();
    assert_eq!(wait_for(&sm, EventKind::HandshakeFailedAuth).value, 400);
    assert_eq!(wait_for(&bm, EventKind::HandshakeFailedAuth).value, 400, "the client learns why");
    server.set_rcvtimeo(300).unwrap();
    assert_eq!(server.recv_msg(0).unwrap_err(), Error::EAGAIN, "nothing from the refused client");
    // The server goes on serving its good client.
    good.send("still here", 0).unwrap();
    server.set_rcvtimeo(5000).unwrap();
    assert_eq!(&*server.recv_msg(0).unwrap(), b"still here");
    drop(auth);
}

#[test]
fn plain_without_a_zap_handler_fails_with_efault() {
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Pull).unwrap();
    server.set_option("plain_server", "1").unwrap();
    let sm = server.monitor_events(EVENT_ALL).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let client = ctx.socket(SocketType::Push).unwrap();
    client.set_linger(0).unwrap();
    client.set_option("plain_username", "u").unwrap();
    client.set_option("plain_password", "p").unwrap();
    client.connect(&server.last_endpoint().unwrap()).unwrap();
    assert_eq!(wait_for(&sm, EventKind::HandshakeFailedNoDetail).value, 14, "EFAULT, as libzmq");
}

fn curve_pair(ctx: &Context, server_keys: &KeyPair, client_keys: &KeyPair, server_key_for_client: &[u8]) -> (ferrozmq::Socket, ferrozmq::Socket, Monitor, Monitor) {
    let server = ctx.socket(SocketType::Pull).unwrap();
    server.set_option("curve_server", "1").unwrap();
    server.set_option_raw(ferrozmq::options::ids::CURVE_SECRETKEY, server_keys.secret()).unwrap();
    let sm = server.monitor_events(EVENT_ALL).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let client = ctx.socket(SocketType::Push).unwrap();
    client.set_linger(0).unwrap();
    client.set_option_raw(ferrozmq::options::ids::CURVE_SERVERKEY, server_key_for_client).unwrap();
    let (cpub, csec) = client_keys.to_z85();
    client.set_option("curve_publickey", &cpub).unwrap();
    client.set_option("curve_secretkey", &csec).unwrap();
    let cm = client.monitor_events(EVENT_ALL).unwrap();
    client.connect(&server.last_endpoint().unwrap()).unwrap();
    (server, client, sm, cm)
}

#[test]
fn curve_allowed_denied_and_wrong_server_key() {
    let ctx = Context::new();
    let auth = Authenticator::new(&ctx).unwrap();
    let server_keys = KeyPair::generate();
    let allowed = KeyPair::generate();
    auth.curve_allow(&allowed.public).unwrap();
    let spub = server_keys.public;

    let (server, client, _sm, _cm) = curve_pair(&ctx, &server_keys, &allowed, &spub);
    client.send("encrypted hello", 0).unwrap();
    server.set_rcvtimeo(5000).unwrap();
    assert_eq!(&*server.recv_msg(0).unwrap(), b"encrypted hello");

    let stranger = KeyPair::generate();
    let (server2, client2, sm2, _cm2) = curve_pair(&ctx, &server_keys, &stranger, &spub);
    client2.send("x", 0).unwrap();
    assert_eq!(wait_for(&sm2, EventKind::HandshakeFailedAuth).value, 400);
    server2.set_rcvtimeo(200).unwrap();
    assert_eq!(server2.recv_msg(0).unwrap_err(), Error::EAGAIN);

    // A client with the wrong server key never completes the handshake, and
    // its monitor says so.
    let wrong = KeyPair::generate();
    let (server3, client3, sm3, cm3) = curve_pair(&ctx, &server_keys, &allowed, &wrong.public);
    client3.send("x", 0).unwrap();
    // As with libzmq: the server cannot open the HELLO box and says why
    // (ZMTP_CRYPTOGRAPHIC); the client sees the connection refused mid-
    // handshake (no detail) and keeps retrying without ever completing.
    let e = wait_for(&sm3, EventKind::HandshakeFailedProtocol);
    assert_eq!(e.value, 0x1100_0001, "ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC");
    wait_for(&cm3, EventKind::HandshakeFailedNoDetail);
    server3.set_rcvtimeo(200).unwrap();
    assert_eq!(server3.recv_msg(0).unwrap_err(), Error::EAGAIN);
    let _ = z85(&spub);
}

#[test]
fn curve_bulk_over_tcp_and_ipc_without_a_handler() {
    // No ZAP handler: CURVE accepts any client that knows the server key.
    for ep in ["tcp://127.0.0.1:*".to_string(), format!("ipc://@fzmq-curve-{}", std::process::id())] {
        let ctx = Context::new();
        let sk = KeyPair::generate();
        let ck = KeyPair::generate();
        let server = ctx.socket(SocketType::Pull).unwrap();
        server.set_option("curve_server", "1").unwrap();
        server.set_option("curve_secretkey", &sk.to_z85().1).unwrap();
        server.bind(&ep).unwrap();
        let client = ctx.socket(SocketType::Push).unwrap();
        client.set_option("curve_serverkey", &z85(&sk.public)).unwrap();
        client.set_option("curve_secretkey", &ck.to_z85().1).unwrap();
        client.set_option("curve_publickey", &ck.to_z85().0).unwrap();
        client.connect(&server.last_endpoint().unwrap()).unwrap();
        server.set_rcvtimeo(10_000).unwrap();
        const N: u32 = 20_000;
        let h = std::thread::spawn(move || {
            for i in 0..N {
                let mut body = vec![(i % 251) as u8; 1024];
                body[..4].copy_from_slice(&i.to_le_bytes());
                client.send(body, 0).unwrap();
            }
            for _ in 0..3 {
                client.send(vec![7u8; 1 << 20], 0).unwrap();
            }
        });
        for i in 0..N {
            let m = server.recv_msg(0).unwrap();
            assert_eq!(m.len(), 1024);
            assert_eq!(&m[..4], &i.to_le_bytes(), "{ep}: order");
        }
        for _ in 0..3 {
            let m = server.recv_msg(0).unwrap();
            assert_eq!(m.len(), 1 << 20);
        }
        h.join().unwrap();
    }
}

#[test]
fn mechanism_options_round_trip_like_libzmq() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Dealer).unwrap();
    assert_eq!(s.get_option("mechanism").unwrap(), "0");
    s.set_option("plain_username", "bob").unwrap();
    assert_eq!(s.get_option("mechanism").unwrap(), "1");
    assert_eq!(s.get_option("plain_username").unwrap(), "bob");
    let k = KeyPair::generate();
    s.set_option("curve_serverkey", &z85(&k.public)).unwrap();
    assert_eq!(s.get_option("mechanism").unwrap(), "2");
    assert_eq!(s.get_option_raw(ferrozmq::options::ids::CURVE_SERVERKEY).unwrap(), k.public.to_vec());
    assert_eq!(s.set_option("curve_serverkey", "too short"), Err(Error::EINVAL));
    s.set_option("curve_server", "0").unwrap();
    assert_eq!(s.get_option("mechanism").unwrap(), "0");
}
