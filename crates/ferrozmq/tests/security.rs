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
    // Queued, or refused at once if the denial already ended the
    // connection (a refused session is not retried): never delivered.
    match bad.send("should not pass", ferrozmq::DONTWAIT) {
        Ok(()) | Err(Error::EAGAIN) => {}
        Err(e) => panic!("the refused client's send failed with {e}"),
    }
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
    // Queued, or refused at once if the denial already ended the
    // connection: never delivered.
    assert!(matches!(client2.send("x", ferrozmq::DONTWAIT), Ok(()) | Err(Error::EAGAIN)));
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

#[test]
fn received_messages_carry_user_id_zap_metadata_and_peer_properties() {
    // A hand-written ZAP handler (RFC 27) that accepts with a user id and a
    // metadata block: both must be readable from every received frame, next
    // to the peer's own properties, as libzmq's zmq_msg_gets offers them.
    let ctx = Context::new();
    let zap = ctx.socket(SocketType::Rep).unwrap();
    zap.bind("inproc://zeromq.zap.01").unwrap();
    zap.set_rcvtimeo(5000).unwrap();
    let handler = std::thread::spawn(move || {
        let req = zap.recv_multipart(0).expect("a ZAP request");
        assert_eq!(req[5].as_bytes(), b"PLAIN");
        let mut meta = ferrozmq_proto::Metadata::new();
        meta.insert("Hello", &b"World"[..]);
        let mut block = bytes::BytesMut::new();
        meta.encode(&mut block);
        let reply = [&b"1.0"[..], req[1].as_bytes(), b"200", b"OK", b"user-42", &block];
        for (i, f) in reply.iter().enumerate() {
            zap.send(*f, if i < reply.len() - 1 { ferrozmq::SNDMORE } else { 0 }).unwrap();
        }
    });
    let server = ctx.socket(SocketType::Pull).unwrap();
    server.set_option("plain_server", "1").unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    server.set_rcvtimeo(5000).unwrap();
    let client = ctx.socket(SocketType::Push).unwrap();
    client.set_option("plain_username", "u").unwrap();
    client.set_option("plain_password", "p").unwrap();
    client.set_option("routing_id", "client-a").unwrap();
    client.connect(&server.last_endpoint().unwrap()).unwrap();
    client.send("first", ferrozmq::SNDMORE).unwrap();
    client.send("second", 0).unwrap();
    handler.join().unwrap();
    for want in ["first", "second"] {
        let m = server.recv_msg(0).unwrap();
        assert_eq!(m.as_str(), Some(want));
        assert_eq!(m.gets("User-Id"), Some("user-42"));
        assert_eq!(m.gets("hello"), Some("World"), "ZAP metadata, names ignore case");
        assert_eq!(m.gets("Socket-Type"), Some("PUSH"));
        // Only REQ/DEALER/ROUTER announce their routing id (libzmq's rule).
        assert_eq!(m.gets("Identity"), None);
        assert_eq!(m.gets("Peer-Address"), Some("127.0.0.1"));
        assert_eq!(m.gets("X-Absent"), None);
    }
    // Nothing else arrived.
    let m = server.recv_msg(ferrozmq::DONTWAIT);
    assert_eq!(m.unwrap_err(), Error::EAGAIN);
}

#[test]
fn null_connections_carry_peer_properties_and_inproc_none() {
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Pull).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let ep = server.last_endpoint().unwrap();
    server.bind("inproc://props").unwrap();
    server.set_rcvtimeo(5000).unwrap();
    let tcp = ctx.socket(SocketType::Push).unwrap();
    tcp.connect(&ep).unwrap();
    tcp.send("over tcp", 0).unwrap();
    let m = server.recv_msg(0).unwrap();
    assert_eq!(m.gets("Socket-Type"), Some("PUSH"));
    assert_eq!(m.gets("User-Id"), None, "no ZAP, no user id");
    let local = ctx.socket(SocketType::Push).unwrap();
    local.connect("inproc://props").unwrap();
    local.send("over inproc", 0).unwrap();
    let m = server.recv_msg(0).unwrap();
    assert_eq!(m.as_str(), Some("over inproc"));
    assert_eq!(m.gets("Socket-Type"), None, "inproc frames carry no properties, as in libzmq");
}

#[test]
fn routing_id_is_a_message_property_for_dealers() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    router.set_rcvtimeo(5000).unwrap();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.set_option("routing_id", "dealer-7").unwrap();
    dealer.connect(&router.last_endpoint().unwrap()).unwrap();
    dealer.send("hi", 0).unwrap();
    let frames = router.recv_multipart(0).unwrap();
    assert_eq!(frames[0].as_bytes(), b"dealer-7");
    for f in &frames {
        assert_eq!(f.gets("Routing-Id"), Some("dealer-7"));
        assert_eq!(f.gets("Identity"), Some("dealer-7"));
        assert_eq!(f.gets("Socket-Type"), Some("DEALER"));
    }
}
