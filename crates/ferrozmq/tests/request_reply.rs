//! REQ/REP/DEALER/ROUTER between ferrozmq sockets over every transport.

use ferrozmq::{Context, Error, SocketType, DONTWAIT, SNDMORE};

fn endpoints(tag: &str) -> Vec<String> {
    vec![
        format!("inproc://rr-{tag}"),
        format!("ipc://@ferrozmq-rr-{tag}-{}", std::process::id()),
        "tcp://127.0.0.1:*".to_string(),
    ]
}

#[test]
fn req_rep_round_trips_and_efsm() {
    for ep in endpoints("reqrep") {
        let ctx = Context::new();
        let rep = ctx.socket(SocketType::Rep).unwrap();
        rep.bind(&ep).unwrap();
        let ep = rep.last_endpoint().unwrap();
        let req = ctx.socket(SocketType::Req).unwrap();
        req.connect(&ep).unwrap();
        req.set_rcvtimeo(5000).unwrap();
        rep.set_rcvtimeo(5000).unwrap();
        assert_eq!(req.recv_msg(0).unwrap_err(), Error::EFSM, "recv before send");
        assert_eq!(rep.send("x", 0).unwrap_err(), Error::EFSM, "reply before request");
        for i in 0..200 {
            req.send_multipart([format!("req{i}"), "part2".to_string()], 0).unwrap();
            assert_eq!(req.send("again", 0).unwrap_err(), Error::EFSM, "{ep}: two requests");
            let got = rep.recv_multipart(0).unwrap();
            assert_eq!(got.len(), 2, "{ep}: envelope stripped");
            assert_eq!(got[0].as_bytes(), format!("req{i}").as_bytes());
            assert_eq!(rep.recv_msg(DONTWAIT).unwrap_err(), Error::EFSM);
            rep.send(format!("rep{i}"), 0).unwrap();
            assert_eq!(req.recv_string(0).unwrap().unwrap(), format!("rep{i}"), "{ep}");
        }
    }
}

#[test]
fn dealer_router_addressing_and_mandatory() {
    for ep in endpoints("dr") {
        let ctx = Context::new();
        let router = ctx.socket(SocketType::Router).unwrap();
        router.bind(&ep).unwrap();
        let ep = router.last_endpoint().unwrap();
        router.set_rcvtimeo(5000).unwrap();
        let mut dealers = Vec::new();
        for name in ["alice", "bob"] {
            let d = ctx.socket(SocketType::Dealer).unwrap();
            d.set_routing_id(name.as_bytes()).unwrap();
            d.connect(&ep).unwrap();
            d.set_rcvtimeo(5000).unwrap();
            d.send(format!("hello from {name}"), 0).unwrap();
            dealers.push((name, d));
        }
        let mut seen = Vec::new();
        for _ in 0..2 {
            let parts = router.recv_multipart(0).unwrap();
            assert_eq!(parts.len(), 2);
            let who = String::from_utf8(parts[0].to_vec()).unwrap();
            assert_eq!(parts[1].as_bytes(), format!("hello from {who}").as_bytes());
            seen.push(who);
        }
        seen.sort();
        assert_eq!(seen, ["alice", "bob"], "{ep}");
        for (name, d) in &dealers {
            router.send(*name, SNDMORE).unwrap();
            router.send(format!("to {name}"), 0).unwrap();
            assert_eq!(d.recv_string(0).unwrap().unwrap(), format!("to {name}"), "{ep}");
        }
        // Unknown peer: dropped silently, or EHOSTUNREACH when mandatory.
        router.send("nobody", SNDMORE).unwrap();
        router.send("lost", 0).unwrap();
        router.set_option("router_mandatory", "1").unwrap();
        assert_eq!(router.send("nobody", SNDMORE).unwrap_err(), Error::EHOSTUNREACH);
    }
}

#[test]
fn router_auto_ids_are_five_bytes_starting_with_zero() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    let d = ctx.socket(SocketType::Dealer).unwrap();
    d.connect(&router.last_endpoint().unwrap()).unwrap();
    d.send("hi", 0).unwrap();
    router.set_rcvtimeo(5000).unwrap();
    let parts = router.recv_multipart(0).unwrap();
    assert_eq!(parts[0].len(), 5);
    assert_eq!(parts[0][0], 0);
}

#[test]
fn router_to_router_with_connect_routing_id() {
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Router).unwrap();
    server.set_routing_id(b"server").unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let client = ctx.socket(SocketType::Router).unwrap();
    client.set_routing_id(b"client").unwrap();
    client.set_option("connect_routing_id", "srv").unwrap();
    client.connect(&server.last_endpoint().unwrap()).unwrap();
    client.set_option("router_mandatory", "1").unwrap();
    // Wait until the handshake identified the peer.
    let t0 = std::time::Instant::now();
    loop {
        match client.send("srv", SNDMORE | DONTWAIT) {
            Ok(()) => break,
            Err(Error::EHOSTUNREACH) => {
                assert!(t0.elapsed().as_secs() < 5, "peer never identified");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => panic!("{e}"),
        }
    }
    client.send("ping", 0).unwrap();
    server.set_rcvtimeo(5000).unwrap();
    let parts = server.recv_multipart(0).unwrap();
    assert_eq!(parts[0].as_bytes(), b"client");
    assert_eq!(parts[1].as_bytes(), b"ping");
    server.send_multipart(["client", "pong"], 0).unwrap();
    client.set_rcvtimeo(5000).unwrap();
    let parts = client.recv_multipart(0).unwrap();
    assert_eq!(parts[0].as_bytes(), b"srv", "CONNECT_ROUTING_ID names the peer locally");
    assert_eq!(parts[1].as_bytes(), b"pong");
}

#[test]
fn req_to_router_and_dealer_to_rep_envelopes() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    router.bind("inproc://env").unwrap();
    let req = ctx.socket(SocketType::Req).unwrap();
    req.connect("inproc://env").unwrap();
    req.send("question", 0).unwrap();
    router.set_rcvtimeo(5000).unwrap();
    let parts = router.recv_multipart(0).unwrap();
    assert_eq!(parts.len(), 3, "id, empty delimiter, body");
    assert!(parts[1].is_empty());
    router.send_multipart([parts[0].clone(), ferrozmq::Msg::new(), "answer".into()], 0).unwrap();
    req.set_rcvtimeo(5000).unwrap();
    assert_eq!(&*req.recv_msg(0).unwrap(), b"answer");

    let rep = ctx.socket(SocketType::Rep).unwrap();
    rep.bind("inproc://env2").unwrap();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.connect("inproc://env2").unwrap();
    // A malformed request (no delimiter) is dropped by REP.
    dealer.send("no delimiter", 0).unwrap();
    dealer.send_multipart(["", "good"], 0).unwrap();
    rep.set_rcvtimeo(5000).unwrap();
    assert_eq!(&*rep.recv_msg(0).unwrap(), b"good");
    rep.send("ok", 0).unwrap();
    dealer.set_rcvtimeo(5000).unwrap();
    let parts = dealer.recv_multipart(0).unwrap();
    assert_eq!(parts.len(), 2);
    assert!(parts[0].is_empty());
    assert_eq!(&*parts[1], b"ok");
}

#[test]
fn req_relaxed_and_correlate() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    router.bind("inproc://relaxed").unwrap();
    let req = ctx.socket(SocketType::Req).unwrap();
    req.set_option("req_relaxed", "1").unwrap();
    req.set_option("req_correlate", "1").unwrap();
    req.connect("inproc://relaxed").unwrap();
    router.set_rcvtimeo(5000).unwrap();
    req.set_rcvtimeo(5000).unwrap();
    req.send("first", 0).unwrap();
    let first = router.recv_multipart(0).unwrap();
    assert_eq!(first.len(), 4, "id, request id, delimiter, body");
    assert_eq!(first[1].len(), 4);
    req.send("second", 0).unwrap();
    let second = router.recv_multipart(0).unwrap();
    // A late reply to the first request is ignored; the second is accepted.
    router.send_multipart(first[..3].iter().cloned().chain(["late".into()]), 0).unwrap();
    router.send_multipart(second[..3].iter().cloned().chain(["fresh".into()]), 0).unwrap();
    assert_eq!(&*req.recv_msg(0).unwrap(), b"fresh");
}
