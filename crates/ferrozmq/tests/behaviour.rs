//! libzmq behaviours of the foundation: reconnect, IMMEDIATE, HWM mute
//! actions, poll, termination, unbind/disconnect. Every wait is bounded.

use ferrozmq::{poll, Context, Error, PollItem, SocketType, DONTWAIT, POLLIN, POLLOUT};
use std::time::{Duration, Instant};

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn connect_before_bind_queues_and_reconnects_after_peer_restart() {
    let ctx = Context::new();
    let port = free_tcp_port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&ep).unwrap();
    for i in 0..10 {
        push.send(format!("early{i}"), DONTWAIT).expect("queued before any connection");
    }
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    pull.bind(&ep).unwrap();
    for i in 0..10 {
        assert_eq!(pull.recv_string(0).unwrap().unwrap(), format!("early{i}"));
    }
    drop(pull);
    // The peer restarts on the same port; the connect side reconnects by itself.
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(100).unwrap();
    let t0 = Instant::now();
    loop {
        match pull.bind(&ep) {
            Ok(()) => break,
            Err(Error::EADDRINUSE) if t0.elapsed() < Duration::from_secs(5) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("rebind: {e}"),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        push.send("after", DONTWAIT).ok();
        if let Ok(m) = pull.recv_msg(0) {
            assert_eq!(&*m, b"after");
            break;
        }
        assert!(Instant::now() < deadline, "never reconnected");
    }
}

#[test]
fn immediate_refuses_to_queue_without_a_connection() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_immediate(true).unwrap();
    push.connect(&format!("tcp://127.0.0.1:{}", free_tcp_port())).unwrap();
    assert_eq!(push.send("x", DONTWAIT), Err(Error::EAGAIN));
    push.set_sndtimeo(50).unwrap();
    let t0 = Instant::now();
    assert_eq!(push.send("x", 0), Err(Error::EAGAIN));
    assert!(t0.elapsed() >= Duration::from_millis(40));
}

#[test]
fn push_blocks_at_hwm_and_resumes_when_drained() {
    for ep in ["inproc://hwm", "tcp://127.0.0.1:*"] {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull).unwrap();
        pull.set_rcvhwm(10).unwrap();
        pull.bind(ep).unwrap();
        let ep = pull.last_endpoint().unwrap();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_sndhwm(10).unwrap();
        push.connect(&ep).unwrap();
        push.set_sndtimeo(2000).unwrap();
        let mut sent = 0;
        // Fill every queue on the way; the count is bounded by the HWMs
        // (plus what the kernel buffers for tcp).
        let t0 = Instant::now();
        let mut last_progress = Instant::now();
        // Mute state reached = no send succeeds for 300 ms (tcp: the I/O
        // threads and the kernel buffers take a while to fill).
        while last_progress.elapsed() < Duration::from_millis(300) {
            match push.send(vec![0u8; 1024], DONTWAIT) {
                Ok(()) => {
                    sent += 1;
                    last_progress = Instant::now();
                }
                Err(Error::EAGAIN) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("{e}"),
            }
            assert!(t0.elapsed() < Duration::from_secs(20), "{ep}: never reached HWM ({sent} sent)");
        }
        assert!(sent >= 10, "{ep}: only {sent} sent before mute");
        if ep.starts_with("inproc") {
            assert_eq!(sent, 20, "inproc HWM is SNDHWM + RCVHWM");
        }
        pull.set_rcvtimeo(2000).unwrap();
        for _ in 0..sent {
            pull.recv_msg(0).unwrap();
        }
        push.send("again", 0).unwrap();
        assert_eq!(&*pull.recv_msg(0).unwrap(), b"again");
    }
}

#[test]
fn pub_drops_at_hwm_instead_of_blocking() {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub).unwrap();
    publisher.set_sndhwm(5).unwrap();
    publisher.bind("inproc://drop").unwrap();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_rcvhwm(5).unwrap();
    sub.connect("inproc://drop").unwrap();
    sub.set_subscribe(b"").unwrap();
    // Let the subscription in.
    sub.set_rcvtimeo(10).unwrap();
    loop {
        publisher.send("sync", 0).unwrap();
        if sub.recv_msg(0).is_ok() {
            break;
        }
    }
    while sub.recv_msg(DONTWAIT).is_ok() {}
    for i in 0..1000 {
        publisher.send(format!("{i}"), DONTWAIT).expect("PUB never blocks");
    }
    let mut got = 0;
    while sub.recv_msg(DONTWAIT).is_ok() {
        got += 1;
    }
    assert_eq!(got, 10, "inproc queue holds SNDHWM + RCVHWM, the rest is dropped");
}

#[test]
fn poll_sockets_and_raw_fds() {
    let ctx = Context::new();
    let a = ctx.socket(SocketType::Pull).unwrap();
    let b = ctx.socket(SocketType::Pull).unwrap();
    a.bind("inproc://poll-a").unwrap();
    b.bind("inproc://poll-b").unwrap();
    let pa = ctx.socket(SocketType::Push).unwrap();
    pa.connect("inproc://poll-a").unwrap();
    let pb = ctx.socket(SocketType::Push).unwrap();
    pb.connect("inproc://poll-b").unwrap();
    let (rx, tx) = std::os::unix::net::UnixStream::pair().unwrap();
    use std::os::fd::AsRawFd;

    let mut items = [PollItem::from_socket(&a, POLLIN), PollItem::from_socket(&b, POLLIN), PollItem::from_fd(rx.as_raw_fd(), POLLIN)];
    let t0 = Instant::now();
    assert_eq!(poll(&mut items, 50).unwrap(), 0);
    assert!(t0.elapsed() >= Duration::from_millis(45), "timeout honoured");

    // Wake from another thread while blocked.
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        pb.send("hi", 0).unwrap();
        pb
    });
    assert_eq!(poll(&mut items, 5000).unwrap(), 1);
    assert!(!items[0].is_readable() && items[1].is_readable() && !items[2].is_readable());
    assert_eq!(&*b.recv_msg(0).unwrap(), b"hi");
    let _pb = h.join().unwrap();

    use std::io::Write;
    (&tx).write_all(b"x").unwrap();
    pa.send("ha", 0).unwrap();
    let mut items = [PollItem::from_socket(&a, POLLIN), PollItem::from_socket(&b, POLLIN), PollItem::from_fd(rx.as_raw_fd(), POLLIN)];
    assert_eq!(poll(&mut items, 1000).unwrap(), 2);
    assert!(items[0].is_readable() && !items[1].is_readable() && items[2].is_readable());

    let mut out = [PollItem::from_socket(&pa, POLLOUT)];
    assert_eq!(poll(&mut out, 0).unwrap(), 1, "PUSH with room is writable");
}

#[test]
fn zmq_fd_becomes_readable_when_a_message_arrives() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    let fd = pull.get_fd().unwrap();
    assert_eq!(pull.get_events().unwrap() & POLLIN, 0);
    push.send("edge", 0).unwrap();
    // Edge semantics: wait on the fd, then re-check EVENTS until POLLIN.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut p = libc_pollfd(fd);
        wait_fd(&mut p, 100);
        if pull.get_events().unwrap() & POLLIN != 0 {
            break;
        }
        assert!(Instant::now() < deadline);
    }
    assert_eq!(&*pull.recv_msg(DONTWAIT).unwrap(), b"edge");
}

fn libc_pollfd(fd: i32) -> [PollItemFd; 1] {
    [PollItemFd(fd)]
}
struct PollItemFd(i32);
fn wait_fd(p: &mut [PollItemFd; 1], ms: i64) {
    let mut items = [PollItem::from_fd(p[0].0, POLLIN)];
    let _ = poll(&mut items, ms);
}

#[test]
fn context_shutdown_unblocks_recv_with_eterm() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://term").unwrap();
    let h = std::thread::spawn(move || {
        let r = pull.recv_msg(0);
        drop(pull);
        r
    });
    std::thread::sleep(Duration::from_millis(50));
    let t0 = Instant::now();
    ctx.term().unwrap();
    assert_eq!(h.join().unwrap().unwrap_err(), Error::ETERM);
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(ctx.socket(SocketType::Push).unwrap_err(), Error::ETERM);
}

#[test]
fn unbind_and_disconnect() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    assert_eq!(pull.unbind("tcp://127.0.0.1:1"), Err(Error::ENOENT));
    pull.unbind(&ep).unwrap();
    // The port is free again (the I/O thread closes it asynchronously).
    let t0 = Instant::now();
    let other = ctx.socket(SocketType::Pull).unwrap();
    while other.bind(&ep).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(5), "port never released");
        std::thread::sleep(Duration::from_millis(5));
    }
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&ep).unwrap();
    assert_eq!(push.disconnect("tcp://127.0.0.1:1"), Err(Error::ENOENT));
    push.disconnect(&ep).unwrap();
    assert_eq!(push.disconnect(&ep), Err(Error::ENOENT));
}

#[test]
fn ipc_wildcard_and_abstract_names() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("ipc://*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    assert!(ep.starts_with("ipc:///"), "{ep}");
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&ep).unwrap();
    push.send("via wildcard path", 0).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    assert_eq!(&*pull.recv_msg(0).unwrap(), b"via wildcard path");
    drop(pull);
    let path = ep.trim_start_matches("ipc://").to_string();
    let t0 = Instant::now();
    while std::path::Path::new(&path).exists() {
        assert!(t0.elapsed() < Duration::from_secs(5), "socket file not removed on close");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn xpub_sees_subscriptions_and_verbose_duplicates() {
    let ctx = Context::new();
    let xpub = ctx.socket(SocketType::XPub).unwrap();
    xpub.bind("inproc://xpub").unwrap();
    xpub.set_rcvtimeo(2000).unwrap();
    let s1 = ctx.socket(SocketType::Sub).unwrap();
    s1.connect("inproc://xpub").unwrap();
    let s2 = ctx.socket(SocketType::Sub).unwrap();
    s2.connect("inproc://xpub").unwrap();
    s1.set_subscribe(b"news").unwrap();
    assert_eq!(&*xpub.recv_msg(0).unwrap(), b"\x01news");
    s2.set_subscribe(b"news").unwrap();
    xpub.set_rcvtimeo(100).unwrap();
    assert_eq!(xpub.recv_msg(0).unwrap_err(), Error::EAGAIN, "duplicate is not passed on");
    s1.set_unsubscribe(b"news").unwrap();
    assert_eq!(xpub.recv_msg(0).unwrap_err(), Error::EAGAIN, "s2 still subscribed");
    drop(s2);
    xpub.set_rcvtimeo(2000).unwrap();
    assert_eq!(&*xpub.recv_msg(0).unwrap(), b"\x00news", "last subscriber gone");

    xpub.set_xpub_verbose(true).unwrap();
    let s3 = ctx.socket(SocketType::Sub).unwrap();
    s3.connect("inproc://xpub").unwrap();
    s3.set_subscribe(b"x").unwrap();
    s3.set_subscribe(b"x").unwrap();
    assert_eq!(&*xpub.recv_msg(0).unwrap(), b"\x01x");
    assert_eq!(&*xpub.recv_msg(0).unwrap(), b"\x01x", "verbose passes duplicates");
}

#[test]
fn tcp_socket_options_reach_the_connections() {
    use ferrozmq::monitor::{EventKind, EVENT_ALL};
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_option("tcp_keepalive", "1").unwrap();
    pull.set_option("tcp_keepalive_idle", "77").unwrap();
    pull.set_option("rcvbuf", "131072").unwrap();
    let m = pull.monitor_events(EVENT_ALL).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    let fd = loop {
        let e = m.next_event(5000).expect("accepted event");
        if e.kind == EventKind::Accepted {
            break e.value as i32;
        }
    };
    // SAFETY: the fd belongs to the live accepted connection for the whole
    // test (nothing closes it); we only read options through it.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let sock = socket2::SockRef::from(&borrowed);
    assert!(sock.keepalive().unwrap(), "SO_KEEPALIVE set");
    assert_eq!(sock.keepalive_time().unwrap(), Duration::from_secs(77));
    assert!(sock.recv_buffer_size().unwrap() >= 131072, "SO_RCVBUF applied (the kernel doubles it)");
    assert!(sock.nodelay().unwrap(), "TCP_NODELAY always on");
}

#[test]
fn conflate_keeps_only_the_newest_message() {
    for ep in ["inproc://conflate", "tcp://127.0.0.1:*"] {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull).unwrap();
        pull.set_option("conflate", "1").unwrap();
        pull.bind(ep).unwrap();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&pull.last_endpoint().unwrap()).unwrap();
        for i in 0..100 {
            push.send(format!("{i}"), 0).unwrap();
        }
        // Wait until the last one has arrived, then only it is there.
        pull.set_rcvtimeo(5000).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut last = String::new();
        let mut received = 0;
        while last != "99" {
            last = pull.recv_string(0).unwrap().unwrap();
            received += 1;
            assert!(Instant::now() < deadline);
        }
        if ep.starts_with("inproc") {
            assert_eq!(received, 1, "inproc: only the newest message is kept");
        } else {
            assert!(received < 100, "tcp: older messages were conflated");
        }
        assert_eq!(pull.recv_msg(DONTWAIT).unwrap_err(), Error::EAGAIN, "{ep}: older messages were dropped");
    }
}

#[test]
fn poll_wakes_for_the_first_message_on_a_pipe_never_read() {
    // A socket that is only ever polled (as a proxy's is) must be woken by
    // the first message on a fresh pipe, over every transport.
    for ep in ["inproc://poll-first", "tcp://127.0.0.1:*"] {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull).unwrap();
        pull.bind(ep).unwrap();
        let ep = pull.last_endpoint().unwrap();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&ep).unwrap();
        let mut items = [PollItem::from_socket(&pull, POLLIN)];
        assert_eq!(poll(&mut items, 20).unwrap(), 0);
        let h = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            push.send("first", 0).unwrap();
            push
        });
        let t0 = Instant::now();
        let mut items = [PollItem::from_socket(&pull, POLLIN)];
        assert_eq!(poll(&mut items, 3000).unwrap(), 1, "{ep}");
        assert!(t0.elapsed() < Duration::from_millis(1500), "{ep}: woken late ({:?})", t0.elapsed());
        let _push = h.join().unwrap();
        assert_eq!(&*pull.recv_msg(DONTWAIT).unwrap(), b"first");
    }
}
