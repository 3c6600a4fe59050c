//! ferrozmq <-> ferrozmq over inproc, ipc and tcp: pipeline, pub/sub, pair.

use ferrozmq::{Context, SocketType, DONTWAIT, SNDMORE};

fn endpoints(tag: &str) -> Vec<String> {
    vec![
        format!("inproc://{tag}"),
        format!("ipc://@ferrozmq-test-{tag}-{}", std::process::id()),
        "tcp://127.0.0.1:*".to_string(),
    ]
}

fn bind(s: &ferrozmq::Socket, ep: &str) -> String {
    s.bind(ep).unwrap();
    s.last_endpoint().unwrap()
}

#[test]
fn push_pull_in_order_with_multipart_over_every_transport() {
    for ep in endpoints("pp") {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull).unwrap();
        let push = ctx.socket(SocketType::Push).unwrap();
        let ep = bind(&pull, &ep);
        push.connect(&ep).unwrap();
        pull.set_rcvtimeo(5000).unwrap();
        const N: u32 = 20_000;
        let h = std::thread::spawn(move || {
            for i in 0..N {
                push.send(format!("head{i}"), SNDMORE).unwrap();
                push.send(Vec::new(), SNDMORE).unwrap();
                push.send(i.to_le_bytes().to_vec(), 0).unwrap();
            }
            push.send(vec![0xABu8; 1 << 20], 0).unwrap();
        });
        for i in 0..N {
            let parts = pull.recv_multipart(0).unwrap_or_else(|e| panic!("{ep}: message {i}: {e}"));
            assert_eq!(parts.len(), 3, "{ep}");
            assert_eq!(parts[0].as_bytes(), format!("head{i}").as_bytes());
            assert!(parts[1].is_empty());
            assert_eq!(parts[2].as_bytes(), &i.to_le_bytes());
        }
        let big = pull.recv_msg(0).unwrap();
        assert_eq!(big.len(), 1 << 20);
        assert!(big.iter().all(|b| *b == 0xAB));
        h.join().unwrap();
    }
}

#[test]
fn pub_sub_prefix_filtering_over_every_transport() {
    for ep in endpoints("ps") {
        let ctx = Context::new();
        let publisher = ctx.socket(SocketType::Pub).unwrap();
        let sub = ctx.socket(SocketType::Sub).unwrap();
        let ep = bind(&publisher, &ep);
        sub.connect(&ep).unwrap();
        sub.set_subscribe(b"a").unwrap();
        sub.set_rcvtimeo(20).unwrap();
        // Wait for the subscription to arrive.
        let mut ok = false;
        for _ in 0..500 {
            publisher.send("a-sync", 0).unwrap();
            if sub.recv_msg(0).is_ok() {
                ok = true;
                break;
            }
        }
        assert!(ok, "{ep}: subscription never arrived");
        while sub.recv_msg(DONTWAIT).is_ok() {}
        sub.set_rcvtimeo(2000).unwrap();
        for t in ["a1", "b1", "ab", "c", "a2"] {
            publisher.send(t, 0).unwrap();
        }
        publisher.send("end", 0).unwrap();
        sub.set_subscribe(b"end").unwrap();
        let got: Vec<String> = (0..3).map(|_| sub.recv_string(0).unwrap().unwrap()).collect();
        assert_eq!(got, ["a1", "ab", "a2"], "{ep}");
    }
}

#[test]
fn pair_both_ways_every_transport() {
    for ep in endpoints("pair") {
        let ctx = Context::new();
        let a = ctx.socket(SocketType::Pair).unwrap();
        let b = ctx.socket(SocketType::Pair).unwrap();
        let ep = bind(&a, &ep);
        b.connect(&ep).unwrap();
        a.set_rcvtimeo(5000).unwrap();
        b.set_rcvtimeo(5000).unwrap();
        b.send("ping", 0).unwrap();
        assert_eq!(&*a.recv_msg(0).unwrap(), b"ping", "{ep}");
        a.send("pong", 0).unwrap();
        assert_eq!(&*b.recv_msg(0).unwrap(), b"pong", "{ep}");
    }
}

#[test]
fn api_misuse_is_an_error_not_a_panic() {
    let ctx = Context::new();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    assert_eq!(sub.send("x", 0), Err(ferrozmq::Error::ENOTSUP));
    let publisher = ctx.socket(SocketType::Pub).unwrap();
    assert_eq!(publisher.recv_msg(0).unwrap_err(), ferrozmq::Error::ENOTSUP);
    assert_eq!(publisher.bind("nonsense").unwrap_err(), ferrozmq::Error::EINVAL);
    assert_eq!(publisher.bind("bogus://x").unwrap_err(), ferrozmq::Error::EPROTONOSUPPORT);
    assert_eq!(publisher.set_option("no_such_option", "1").unwrap_err(), ferrozmq::Error::EINVAL);
    publisher.bind("tcp://127.0.0.1:*").unwrap();
    let ep = publisher.last_endpoint().unwrap();
    let other = ctx.socket(SocketType::Pub).unwrap();
    assert_eq!(other.bind(&ep).unwrap_err(), ferrozmq::Error::EADDRINUSE);
    let pull = ctx.socket(SocketType::Pull).unwrap();
    assert_eq!(pull.recv_msg(DONTWAIT).unwrap_err(), ferrozmq::Error::EAGAIN);
}

#[test]
fn tcp_ipv6_loopback_and_dual_stack_wildcard() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        // Without an IPv6 loopback there is nothing to test against.
        eprintln!("note: no IPv6 loopback on this machine");
        return;
    }
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    assert_eq!(pull.bind("tcp://[::1]:*").unwrap_err(), ferrozmq::Error::EINVAL, "IPv6 needs ZMQ_IPV6");
    pull.set_ipv6(true).unwrap();
    pull.bind("tcp://[::1]:*").unwrap();
    let ep6 = pull.last_endpoint().unwrap();
    assert!(ep6.starts_with("tcp://[::1]:"), "{ep6}");
    pull.bind("tcp://*:*").unwrap();
    let port = pull.last_endpoint().unwrap().rsplit(':').next().unwrap().to_string();
    pull.set_rcvtimeo(5000).unwrap();
    let p6 = ctx.socket(SocketType::Push).unwrap();
    p6.set_ipv6(true).unwrap();
    p6.connect(&ep6).unwrap();
    p6.send("over v6", 0).unwrap();
    assert_eq!(&*pull.recv_msg(0).unwrap(), b"over v6");
    // The IPv6 wildcard also accepts IPv4 clients (dual stack), as libzmq.
    let p4 = ctx.socket(SocketType::Push).unwrap();
    p4.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    p4.send("over v4", 0).unwrap();
    assert_eq!(&*pull.recv_msg(0).unwrap(), b"over v4");
}
