//! Per-socket statistics (`Socket::stats`): counts in and out per peer and
//! in total, queues, HWM drops and reconnections, over tcp and inproc.
//! Counters are published asynchronously (per batch), so waits are on
//! conditions with a deadline.

use ferrozmq::{Context, SocketStats, SocketType, SNDMORE};
use std::time::{Duration, Instant};

fn wait_until(what: &str, mut f: impl FnMut() -> Option<SocketStats>) -> SocketStats {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(s) = f() {
            return s;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn counts_messages_bytes_and_queues_per_peer_over_tcp() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    let ep = pull.last_endpoint().unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&ep).unwrap();
    for i in 0..100 {
        // 99 single-frame messages of 10 bytes and one of two frames.
        if i == 99 {
            push.send("abcde", SNDMORE).unwrap();
            push.send("fghij", 0).unwrap();
        } else {
            push.send(format!("msg-{i:06}"), 0).unwrap();
        }
    }
    let out = push.stats();
    assert_eq!((out.msgs_out, out.bytes_out), (100, 1000), "{out:?}");
    assert_eq!(out.peers.len(), 1);
    assert_eq!(out.peers[0].endpoint, ep);
    for _ in 0..60 {
        pull.recv_msg(0).unwrap();
    }
    let s = wait_until("40 queued at the receiver", || {
        let s = pull.stats();
        (s.queued_in == 40).then_some(s)
    });
    assert_eq!((s.msgs_in, s.bytes_in), (60, 600), "{s:?}");
    assert_eq!(s.peers.len(), 1);
    let peer = &s.peers[0];
    assert!(peer.endpoint.starts_with("tcp://127.0.0.1:"), "remote address: {}", peer.endpoint);
    assert_ne!(peer.endpoint, ep, "the accepted peer is named by its own address");
    while pull.recv_msg(0).unwrap().get_more() || pull.stats().msgs_in < 100 {}
    let s = pull.stats();
    assert_eq!((s.msgs_in, s.bytes_in, s.queued_in), (100, 1000, 0), "multipart counts once: {s:?}");
    let out = wait_until("everything written", || {
        let s = push.stats();
        (s.queued_out == 0).then_some(s)
    });
    assert_eq!(out.dropped, 0);
}

#[test]
fn publisher_counts_drops_at_the_hwm_per_subscriber() {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub).unwrap();
    publisher.set_sndhwm(10).unwrap();
    publisher.bind("inproc://stats-drops").unwrap();
    let fast = ctx.socket(SocketType::Sub).unwrap();
    let slow = ctx.socket(SocketType::Sub).unwrap();
    for s in [&fast, &slow] {
        s.set_rcvhwm(10).unwrap();
        s.set_subscribe(b"").unwrap();
        s.set_rcvtimeo(5000).unwrap();
        s.connect("inproc://stats-drops").unwrap();
    }
    // Wait until both subscriptions are in.
    fast.set_rcvtimeo(10).unwrap();
    slow.set_rcvtimeo(10).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let (mut f_ok, mut s_ok) = (false, false);
    while !(f_ok && s_ok) {
        assert!(Instant::now() < deadline, "subscriptions never arrived");
        publisher.send("warm-up", 0).unwrap();
        f_ok |= fast.recv_msg(0).is_ok();
        s_ok |= slow.recv_msg(0).is_ok();
    }
    while fast.recv_msg(0).is_ok() {}
    while slow.recv_msg(0).is_ok() {}
    let before = publisher.stats();
    // 1000 messages; the fast subscriber drains as it goes, the slow one
    // never reads.
    for i in 0..1000 {
        publisher.send(format!("{i}"), 0).unwrap();
        while fast.recv_msg(ferrozmq::DONTWAIT).is_ok() {}
    }
    let s = publisher.stats();
    assert_eq!(s.peers.len(), 2);
    let total_sent: u64 = s.msgs_out - before.msgs_out;
    let dropped = s.dropped - before.dropped;
    assert_eq!(total_sent + dropped, 2000, "every message went to or was dropped for each peer: {s:?}");
    assert!(dropped >= 1000 - 20 - 10, "the slow subscriber missed nearly all: {s:?}");
    let slow_peer = s.peers.iter().max_by_key(|p| p.dropped).unwrap();
    assert!(slow_peer.queued_out <= 20, "{slow_peer:?}");
}

#[test]
fn reconnections_are_counted_and_gone_peers_stay_in_the_totals() {
    let ctx = Context::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let ep = format!("tcp://127.0.0.1:{port}");
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.set_option("reconnect_ivl", "20").unwrap();
    dealer.connect(&ep).unwrap();
    let router = ctx.socket(SocketType::Router).unwrap();
    router.set_linger(0).unwrap();
    router.set_rcvtimeo(5000).unwrap();
    router.bind(&ep).unwrap();
    dealer.send("one", 0).unwrap();
    assert_eq!(router.recv_multipart(0).unwrap()[1].as_bytes(), b"one");
    let r = router.stats();
    assert_eq!((r.msgs_in, r.peers.len()), (1, 1));
    // The server goes away and comes back on the same port.
    drop(router);
    let router = ctx.socket(SocketType::Router).unwrap();
    router.set_rcvtimeo(5000).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while router.bind(&ep).is_err() {
        assert!(Instant::now() < deadline, "could not rebind {ep}");
        std::thread::sleep(Duration::from_millis(10));
    }
    dealer.send("two", 0).unwrap();
    assert_eq!(router.recv_multipart(0).unwrap()[1].as_bytes(), b"two");
    let d = wait_until("one reconnect", || {
        let s = dealer.stats();
        (s.reconnects == 1).then_some(s)
    });
    assert_eq!(d.msgs_out, 2);
    assert_eq!(d.peers.len(), 1, "one connect endpoint, one peer across reconnects");
    assert_eq!(d.peers[0].endpoint, ep);
    // The second router saw a new peer; the first one's counts are gone
    // with it, but a socket keeps totals of peers that left.
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://stats-gone").unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    {
        let push = ctx.socket(SocketType::Push).unwrap();
        push.connect("inproc://stats-gone").unwrap();
        push.send("bye", 0).unwrap();
    }
    pull.recv_msg(0).unwrap();
    let s = wait_until("the inproc peer retired", || {
        let s = pull.stats();
        s.peers.is_empty().then_some(s)
    });
    assert_eq!((s.msgs_in, s.bytes_in), (1, 3), "{s:?}");
}
