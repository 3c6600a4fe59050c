//! Options that libzmq programs set through the C ABI and that change
//! behaviour: INVERT_MATCHING, METADATA, ZAP_ENFORCE_DOMAIN,
//! CONNECT_TIMEOUT, AFFINITY, IO_THREADS 0, and the ones kept for
//! compatibility only (set and read back).

use ferrozmq::monitor::{EventKind, EVENT_ALL};
use ferrozmq::options::ids;
use ferrozmq::{Context, Error, SocketType};
use std::time::{Duration, Instant};

fn int(v: i32) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

/// Sends `first` until the subscriber gets something (subscriptions travel
/// asynchronously), bounded; returns what it got first.
fn first_delivery(publisher: &ferrozmq::Socket, subscriber: &ferrozmq::Socket, msgs: &[&str]) -> String {
    subscriber.set_rcvtimeo(20).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for m in msgs {
            publisher.send(*m, 0).unwrap();
        }
        if let Ok(m) = subscriber.recv_msg(0) {
            return m.as_str().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "no delivery within 10 s");
    }
}

#[test]
fn invert_matching_sends_and_delivers_what_matches_no_subscription() {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub).unwrap();
    publisher.set_option_raw(ids::INVERT_MATCHING, &int(1)).unwrap();
    publisher.bind("tcp://127.0.0.1:*").unwrap();
    let ep = publisher.last_endpoint().unwrap();
    // libzmq's rule (zmq_setsockopt(3)): with INVERT_MATCHING on the
    // publisher, its subscribers set it too, so that their own filter agrees
    // with what the publisher sends them.
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_option_raw(ids::INVERT_MATCHING, &int(1)).unwrap();
    assert_eq!(sub.get_option_raw(ids::INVERT_MATCHING).unwrap(), int(1));
    sub.set_subscribe(b"a").unwrap();
    sub.connect(&ep).unwrap();
    for _ in 0..10 {
        assert_eq!(first_delivery(&publisher, &sub, &["a-topic", "b-topic"]), "b-topic");
    }
}

#[test]
fn metadata_reaches_the_peer_as_message_properties() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_option_raw(ids::METADATA, b"X-Color:blue").unwrap();
    push.set_option_raw(ids::METADATA, b"X-Shape:round").unwrap();
    for bad in [&b"Color:blue"[..], b"X-Nothing", b"X-Empty:", b":v"] {
        assert_eq!(push.set_option_raw(ids::METADATA, bad).unwrap_err(), Error::EINVAL, "{bad:?}");
    }
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    push.send("hi", 0).unwrap();
    pull.set_rcvtimeo(10_000).unwrap();
    let m = pull.recv_msg(0).unwrap();
    assert_eq!(m.gets("X-Color"), Some("blue"));
    assert_eq!(m.gets("x-shape"), Some("round"));
    assert_eq!(m.property_cstr("X-Color").unwrap().to_bytes(), b"blue");
}

#[test]
fn zap_enforce_domain_fails_the_handshake_without_a_handler() {
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Pull).unwrap();
    server.set_zap_domain("global").unwrap();
    server.set_option_raw(ids::ZAP_ENFORCE_DOMAIN, &int(1)).unwrap();
    assert_eq!(server.get_option_raw(ids::ZAP_ENFORCE_DOMAIN).unwrap(), int(1));
    let events = server.monitor_events(EVENT_ALL).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let client = ctx.socket(SocketType::Push).unwrap();
    client.set_linger(0).unwrap();
    client.connect(&server.last_endpoint().unwrap()).unwrap();
    client.send("refused", ferrozmq::DONTWAIT).ok();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let e = events.next_event(1000);
        if let Ok(e) = e {
            if matches!(e.kind, EventKind::HandshakeFailedNoDetail | EventKind::HandshakeFailedProtocol) {
                break;
            }
            assert_ne!(e.kind, EventKind::HandshakeSucceeded, "no handler, enforced domain: must fail");
        }
        assert!(Instant::now() < deadline, "no handshake failure reported");
    }
    server.set_rcvtimeo(100).unwrap();
    assert_eq!(server.recv_msg(0).unwrap_err(), Error::EAGAIN);
}

#[test]
fn connect_timeout_gives_up_a_connect_that_does_not_complete() {
    // A listening socket whose backlog is full leaves further connects in
    // SYN-sent; so does an address nothing answers. With no network here,
    // fill a backlog-1 listener that never accepts.
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = blocker.local_addr().unwrap();
    socket2::SockRef::from(&blocker).listen(0).unwrap();
    let mut hold = Vec::new();
    for _ in 0..4 {
        if let Ok(s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            hold.push(s);
        }
    }
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Dealer).unwrap();
    s.set_option_raw(ids::CONNECT_TIMEOUT, &int(100)).unwrap();
    s.set_option_raw(ids::RECONNECT_IVL, &int(50)).unwrap();
    s.set_linger(0).unwrap();
    let events = s.monitor_events(EVENT_ALL).unwrap();
    s.connect(&format!("tcp://{addr}")).unwrap();
    // Either the kernel completes the connect (then the handshake hangs and
    // HANDSHAKE_IVL applies) or it stays pending and CONNECT_TIMEOUT retries
    // it: with a full backlog on loopback it stays pending.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut retried = false;
    while Instant::now() < deadline && !retried {
        if let Ok(e) = events.next_event(500) {
            retried = e.kind == EventKind::ConnectRetried;
        }
    }
    assert!(retried, "a connect that did not complete within CONNECT_TIMEOUT is retried");
    drop(hold);
}

#[test]
fn affinity_and_io_threads_zero() {
    let ctx = Context::builder().io_threads(2).build().unwrap();
    let s = ctx.socket(SocketType::Pull).unwrap();
    s.set_option_raw(ids::AFFINITY, &2u64.to_ne_bytes()).unwrap();
    assert_eq!(s.get_option_raw(ids::AFFINITY).unwrap(), 2u64.to_ne_bytes().to_vec());
    s.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&s.last_endpoint().unwrap()).unwrap();
    push.send("via thread 1", 0).unwrap();
    s.set_rcvtimeo(10_000).unwrap();
    assert_eq!(&*s.recv_msg(0).unwrap(), b"via thread 1");

    // No I/O threads: inproc works, tcp and ipc are EMTHREAD (libzmq's rule).
    let ctx0 = Context::builder().io_threads(0).build().unwrap();
    let a = ctx0.socket(SocketType::Pair).unwrap();
    let b = ctx0.socket(SocketType::Pair).unwrap();
    a.bind("inproc://zero-threads").unwrap();
    b.connect("inproc://zero-threads").unwrap();
    a.send("x", 0).unwrap();
    assert_eq!(&*b.recv_msg(0).unwrap(), b"x");
    assert_eq!(a.bind("tcp://127.0.0.1:*").unwrap_err(), Error::EMTHREAD);
    assert_eq!(a.connect("ipc:///tmp/nowhere").unwrap_err(), Error::EMTHREAD);
    drop((a, b));
    ctx0.term().unwrap();
}

#[test]
fn compatibility_options_are_kept() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Dealer).unwrap();
    for (id, v) in [
        (ids::MULTICAST_LOOP, 0),
        (ids::LOOPBACK_FASTPATH, 1),
        (ids::IN_BATCH_SIZE, 4096),
        (ids::OUT_BATCH_SIZE, 4096),
        (ids::PRIORITY, 3),
        (ids::BUSY_POLL, 1),
        (ids::USE_FD, -1),
    ] {
        s.set_option_raw(id, &int(v)).unwrap();
        assert_eq!(s.get_option_raw(id).unwrap(), int(v), "option {id}");
    }
    assert_eq!(s.set_option_raw(ids::USE_FD, &int(3)).unwrap_err(), Error::EINVAL, "USE_FD needs fd passing: refused");
}

#[test]
fn term_waits_for_lingering_messages_then_joins() {
    // A sender closes with messages queued for a receiver that is not there
    // yet; term() must not return before they are delivered.
    let ctx = Context::new();
    let port_probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = port_probe.local_addr().unwrap().port();
    drop(port_probe);
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_linger(-1).unwrap();
    push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    for i in 0..100 {
        push.send(format!("m{i}"), 0).unwrap();
    }
    drop(push);
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        ctx.term().unwrap();
        tx.send(()).unwrap();
    });
    // term() is blocked on the lingering session.
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "term returned with messages still queued");
    let rctx = Context::new();
    let pull = rctx.socket(SocketType::Pull).unwrap();
    pull.bind(&format!("tcp://127.0.0.1:{port}")).unwrap();
    pull.set_rcvtimeo(10_000).unwrap();
    for i in 0..100 {
        assert_eq!(pull.recv_string(0).unwrap().unwrap(), format!("m{i}"));
    }
    rx.recv_timeout(Duration::from_secs(10)).expect("term returns once the queue is delivered");
    t.join().unwrap();
}

#[test]
fn inproc_disconnect_drops_the_connection() {
    // pyzmq's connect() context manager: after disconnect, the PUSH has no
    // peer (EAGAIN) and the PULL gets nothing.
    let ctx = Context::new();
    let a = ctx.socket(SocketType::Push).unwrap();
    let b = ctx.socket(SocketType::Pull).unwrap();
    a.bind("inproc://disc").unwrap();
    b.connect("inproc://disc").unwrap();
    a.send("hi", 0).unwrap();
    b.set_rcvtimeo(5000).unwrap();
    assert_eq!(&*b.recv_msg(0).unwrap(), b"hi");
    b.disconnect("inproc://disc").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match a.send("after", ferrozmq::DONTWAIT) {
            Err(Error::EAGAIN) => break,
            Ok(()) => assert!(Instant::now() < deadline, "the PUSH still has a peer after disconnect"),
            Err(e) => panic!("{e}"),
        }
        std::thread::yield_now();
    }
    assert_eq!(b.recv_msg(ferrozmq::DONTWAIT).unwrap_err(), Error::EAGAIN);
    assert_eq!(b.disconnect("inproc://disc").unwrap_err(), Error::ENOENT);
    // And a new connection works again.
    b.connect("inproc://disc").unwrap();
    a.send("again", 0).unwrap();
    assert_eq!(&*b.recv_msg(0).unwrap(), b"again");
}

#[test]
fn router_notify_hello_and_disconnect_messages() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    router.set_option_raw(ids::ROUTER_NOTIFY, &int(3)).unwrap();
    assert_eq!(router.get_option_raw(ids::ROUTER_NOTIFY).unwrap(), int(3));
    assert_eq!(router.set_option_raw(ids::ROUTER_NOTIFY, &int(4)).unwrap_err(), Error::EINVAL);
    router.set_option_raw(ids::HELLO_MSG, b"welcome").unwrap();
    router.set_option_raw(ids::DISCONNECT_MSG, b"gone").unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    router.set_rcvtimeo(10_000).unwrap();

    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.set_routing_id(b"d1").unwrap();
    dealer.set_option_raw(ids::HELLO_MSG, b"hello from d1").unwrap();
    dealer.connect(&router.last_endpoint().unwrap()).unwrap();
    dealer.set_rcvtimeo(10_000).unwrap();
    // The ROUTER's hello reaches the dealer.
    assert_eq!(&*dealer.recv_msg(0).unwrap(), b"welcome");
    // The ROUTER sees the connect notice, then the dealer's hello.
    let frames = router.recv_multipart(0).unwrap();
    assert_eq!((&*frames[0], &*frames[1]), (&b"d1"[..], &b""[..]));
    let frames = router.recv_multipart(0).unwrap();
    assert_eq!((&*frames[0], &*frames[1]), (&b"d1"[..], &b"hello from d1"[..]));
    dealer.set_linger(0).unwrap();
    drop(dealer);
    // Disconnection: the notice, then DISCONNECT_MSG, both as from d1.
    let frames = router.recv_multipart(0).unwrap();
    assert_eq!((&*frames[0], &*frames[1]), (&b"d1"[..], &b""[..]));
    let frames = router.recv_multipart(0).unwrap();
    assert_eq!((&*frames[0], &*frames[1]), (&b"d1"[..], &b"gone"[..]));
}

#[test]
fn tcp_disconnect_drops_the_peer_at_once() {
    // rust-zmq's test_disconnect: after disconnecting its only endpoint, a
    // REQ has no peer, so a non-blocking send is EAGAIN right away.
    let ctx = Context::new();
    let rep = ctx.socket(SocketType::Rep).unwrap();
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let ep = rep.last_endpoint().unwrap();
    let req = ctx.socket(SocketType::Req).unwrap();
    req.connect(&ep).unwrap();
    req.disconnect(&ep).unwrap();
    assert_eq!(req.send("x", ferrozmq::DONTWAIT).unwrap_err(), Error::EAGAIN);
    assert_eq!(req.disconnect(&ep).unwrap_err(), Error::ENOENT);
}

/// A minimal SOCKS5 proxy (RFC 1928/1929) on loopback for one client: it
/// demands username/password `user`/`secret`, connects where asked and
/// relays both ways. Returns its address and a counter of tunnels opened.
fn socks5_proxy() -> (std::net::SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let opened = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = opened.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut c) = client else { return };
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let count = count.clone();
            std::thread::spawn(move || {
                let mut b = [0u8; 2];
                c.read_exact(&mut b).unwrap();
                let mut methods = vec![0u8; b[1] as usize];
                c.read_exact(&mut methods).unwrap();
                assert!(methods.contains(&2), "username/password offered");
                c.write_all(&[5, 2]).unwrap();
                let mut v = [0u8; 2];
                c.read_exact(&mut v).unwrap();
                let mut user = vec![0u8; v[1] as usize];
                c.read_exact(&mut user).unwrap();
                let mut pl = [0u8; 1];
                c.read_exact(&mut pl).unwrap();
                let mut pass = vec![0u8; pl[0] as usize];
                c.read_exact(&mut pass).unwrap();
                if user != b"user" || pass != b"secret" {
                    c.write_all(&[1, 1]).unwrap();
                    return;
                }
                c.write_all(&[1, 0]).unwrap();
                let mut h = [0u8; 4];
                c.read_exact(&mut h).unwrap();
                assert_eq!(h[..2], [5, 1], "CONNECT");
                let ip = match h[3] {
                    1 => {
                        let mut a = [0u8; 4];
                        c.read_exact(&mut a).unwrap();
                        std::net::IpAddr::from(a)
                    }
                    t => panic!("address type {t}"),
                };
                let mut p = [0u8; 2];
                c.read_exact(&mut p).unwrap();
                let target = std::net::TcpStream::connect((ip, u16::from_be_bytes(p))).unwrap();
                c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).unwrap();
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                c.set_read_timeout(None).unwrap();
                let (mut c2, mut t2) = (c.try_clone().unwrap(), target.try_clone().unwrap());
                let (mut c1, mut t1) = (c, target);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c1, &mut t1);
                    let _ = t1.shutdown(std::net::Shutdown::Write);
                });
                let _ = std::io::copy(&mut t2, &mut c2);
                let _ = c2.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (addr, opened)
}

#[test]
fn socks_proxy_tunnels_the_connection() {
    let (proxy, opened) = socks5_proxy();
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Rep).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let client = ctx.socket(SocketType::Req).unwrap();
    client.set_option_raw(ids::SOCKS_PROXY, proxy.to_string().as_bytes()).unwrap();
    client.set_option_raw(ids::SOCKS_USERNAME, b"user").unwrap();
    client.set_option_raw(ids::SOCKS_PASSWORD, b"secret").unwrap();
    assert_eq!(client.get_option_raw(ids::SOCKS_PROXY).unwrap(), proxy.to_string().into_bytes());
    assert_eq!(client.set_option_raw(ids::SOCKS_PROXY, b"no-port").unwrap_err(), Error::EINVAL);
    client.connect(&server.last_endpoint().unwrap()).unwrap();
    client.set_rcvtimeo(10_000).unwrap();
    server.set_rcvtimeo(10_000).unwrap();
    for i in 0..10 {
        client.send(format!("via proxy {i}"), 0).unwrap();
        assert_eq!(server.recv_string(0).unwrap().unwrap(), format!("via proxy {i}"));
        server.send("ok", 0).unwrap();
        assert_eq!(&*client.recv_msg(0).unwrap(), b"ok");
    }
    assert_eq!(opened.load(std::sync::atomic::Ordering::SeqCst), 1, "the connection went through the proxy");
}

#[test]
fn tcp_source_address_is_bound_before_connecting() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let dst = pull.last_endpoint().unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    // libzmq's `tcp://src;dst`: the connection leaves from 127.0.0.2.
    push.connect(&format!("tcp://127.0.0.2;{}", dst.trim_start_matches("tcp://"))).unwrap();
    push.send("from .2", 0).unwrap();
    pull.set_rcvtimeo(10_000).unwrap();
    let m = pull.recv_msg(0).unwrap();
    assert_eq!(m.gets("Peer-Address"), Some("127.0.0.2"));
}

#[test]
fn reconnect_stop_after_a_refused_connect() {
    // A port nothing listens on: the first connect is refused, and with
    // RECONNECT_STOP_CONN_REFUSED there is no retry.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Dealer).unwrap();
    s.set_option_raw(ids::RECONNECT_STOP, &int(1)).unwrap();
    assert_eq!(s.get_option_raw(ids::RECONNECT_STOP).unwrap(), int(1));
    assert_eq!(s.set_option_raw(ids::RECONNECT_STOP, &int(8)).unwrap_err(), Error::EINVAL);
    s.set_option_raw(ids::RECONNECT_IVL, &int(10)).unwrap();
    s.set_linger(0).unwrap();
    let events = s.monitor_events(EVENT_ALL).unwrap();
    s.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    // The refused attempt ends in CLOSED; then nothing: no CONNECT_RETRIED,
    // no new CONNECT_DELAYED, for many reconnect intervals.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let e = events.next_event(1000).expect("the refused attempt is reported");
        assert_ne!(e.kind, EventKind::ConnectRetried, "no retry after a refusal");
        if e.kind == EventKind::Closed {
            break;
        }
        assert!(Instant::now() < deadline);
    }
    match events.next_event(300) {
        Err(Error::EAGAIN) => {}
        Ok(e) => panic!("no event expected after the refusal, got {:?}", e.kind),
        Err(e) => panic!("{e}"),
    }

    // Without the option the same refusal is retried.
    let s2 = ctx.socket(SocketType::Dealer).unwrap();
    s2.set_option_raw(ids::RECONNECT_IVL, &int(10)).unwrap();
    s2.set_linger(0).unwrap();
    let events2 = s2.monitor_events(EVENT_ALL).unwrap();
    s2.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(e) = events2.next_event(1000) {
            if e.kind == EventKind::ConnectRetried {
                break;
            }
        }
        assert!(Instant::now() < deadline, "a refused connect is retried by default");
    }
}

#[test]
fn topics_count_on_both_sides() {
    let ctx = Context::new();
    let xpub = ctx.socket(SocketType::XPub).unwrap();
    xpub.bind("inproc://topics").unwrap();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.connect("inproc://topics").unwrap();
    for t in [&b"a"[..], b"b", b"b", b"c"] {
        sub.set_subscribe(t).unwrap();
    }
    let count = |s: &ferrozmq::Socket| options_int(s.get_option_raw(ids::TOPICS_COUNT).unwrap());
    assert_eq!(count(&sub), 3, "distinct prefixes");
    // The XPUB learns them as the subscriptions arrive.
    xpub.set_rcvtimeo(5000).unwrap();
    for _ in 0..3 {
        xpub.recv_msg(0).unwrap();
    }
    assert_eq!(count(&xpub), 3);
    sub.set_unsubscribe(b"a").unwrap();
    xpub.recv_msg(0).unwrap();
    assert_eq!(count(&xpub), 2);
}

fn options_int(v: Vec<u8>) -> i32 {
    i32::from_ne_bytes(v.try_into().unwrap())
}

#[test]
fn versioned_monitor_format_2() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Pull).unwrap();
    s.monitor_versioned("inproc://mon-v2", EVENT_ALL, 2).unwrap();
    assert_eq!(s.monitor_versioned("inproc://mon-v3", EVENT_ALL, 3).unwrap_err(), Error::EINVAL);
    let m = ctx.socket(SocketType::Pair).unwrap();
    m.connect("inproc://mon-v2").unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    let ep = s.last_endpoint().unwrap();
    m.set_rcvtimeo(5000).unwrap();
    let f = m.recv_multipart(0).unwrap();
    assert_eq!(f.len(), 5);
    let u64_of = |m: &ferrozmq::Msg| u64::from_ne_bytes(m.as_bytes().try_into().unwrap());
    assert_eq!(u64_of(&f[0]), EventKind::Listening as u64);
    assert_eq!(u64_of(&f[1]), 1, "one value");
    assert!(u64_of(&f[2]) > 0, "the listener's fd");
    assert_eq!(f[3].as_str(), Some(ep.as_str()), "local endpoint");
    assert_eq!(f[4].as_bytes(), b"", "no remote endpoint for a bind");
}

#[test]
fn xpub_manual_lets_the_application_apply_subscriptions() {
    let ctx = Context::new();
    let xpub = ctx.socket(SocketType::XPub).unwrap();
    xpub.set_option_raw(ids::XPUB_MANUAL, &int(1)).unwrap();
    xpub.bind("inproc://manual").unwrap();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.connect("inproc://manual").unwrap();
    sub.set_subscribe(b"A").unwrap();
    xpub.set_rcvtimeo(5000).unwrap();
    assert_eq!(xpub.recv_msg(0).unwrap().as_bytes(), b"\x01A");
    // Not applied yet: nothing reaches the subscriber.
    xpub.send("A0", 0).unwrap();
    sub.set_rcvtimeo(200).unwrap();
    assert_eq!(sub.recv_msg(0).unwrap_err(), Error::EAGAIN);
    // Applied by the application, for the peer it last heard from.
    xpub.set_subscribe(b"A").unwrap();
    xpub.send("A1", 0).unwrap();
    sub.set_rcvtimeo(5000).unwrap();
    assert_eq!(&*sub.recv_msg(0).unwrap(), b"A1");
    xpub.set_unsubscribe(b"A").unwrap();
    xpub.send("A2", 0).unwrap();
    sub.set_rcvtimeo(200).unwrap();
    assert_eq!(sub.recv_msg(0).unwrap_err(), Error::EAGAIN);
}

#[test]
fn term_returns_when_linger_expires_with_a_peer_that_refuses() {
    // Found by the C ABI's random-order stress test: a closed socket whose
    // queue could not be delivered (nothing listens on the ipc path, so each
    // attempt fails at once) kept reconnecting past its LINGER, so term()
    // never returned.
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_option_raw(ids::RECONNECT_IVL, &int(5)).unwrap();
    push.set_linger(50).unwrap();
    push.connect(&format!("ipc:///tmp/ferrozmq-nobody-{}", std::process::id())).unwrap();
    for i in 0..10 {
        push.send(format!("undeliverable {i}"), 0).unwrap();
    }
    drop(push);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        ctx.term().unwrap();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(10)).expect("term returns once LINGER (50 ms) has expired");
}
