//! The proxy device: forwarding both ways, capture, and steering.

use ferrozmq::{proxy_steerable, Context, SocketType};

#[test]
fn steerable_proxy_forwards_captures_pauses_and_reports() {
    let ctx = Context::new();
    let ctx2 = ctx.clone();
    let h = std::thread::spawn(move || {
        let frontend = ctx2.socket(SocketType::Router).unwrap();
        frontend.bind("inproc://front").unwrap();
        let backend = ctx2.socket(SocketType::Dealer).unwrap();
        backend.bind("inproc://back").unwrap();
        let capture = ctx2.socket(SocketType::Push).unwrap();
        capture.bind("inproc://capture").unwrap();
        let control = ctx2.socket(SocketType::Rep).unwrap();
        control.bind("inproc://control").unwrap();
        proxy_steerable(&frontend, &backend, Some(&capture), Some(&control))
    });
    let control = ctx.socket(SocketType::Req).unwrap();
    control.connect("inproc://control").unwrap();
    let client = ctx.socket(SocketType::Req).unwrap();
    client.connect("inproc://front").unwrap();
    let worker = ctx.socket(SocketType::Rep).unwrap();
    worker.connect("inproc://back").unwrap();
    let capture = ctx.socket(SocketType::Pull).unwrap();
    capture.connect("inproc://capture").unwrap();
    for s in [&client, &worker, &capture, &control] {
        s.set_rcvtimeo(5000).unwrap();
    }
    for i in 0..100 {
        client.send(format!("req {i}"), 0).unwrap();
        assert_eq!(worker.recv_string(0).unwrap().unwrap(), format!("req {i}"));
        worker.send(format!("rep {i}"), 0).unwrap();
        assert_eq!(client.recv_string(0).unwrap().unwrap(), format!("rep {i}"));
    }
    // The capture saw every frame of both directions: 100 requests of 3
    // frames (id, delimiter, body) and 100 replies of the same shape.
    let mut frames = 0;
    while capture.recv_msg(ferrozmq::DONTWAIT).is_ok() {
        frames += 1;
    }
    assert_eq!(frames, 600);

    control.send("STATISTICS", 0).unwrap();
    let stats = control.recv_multipart(0).unwrap();
    assert_eq!(stats.len(), 8);
    let v: Vec<u64> = stats.iter().map(|m| u64::from_ne_bytes(m.as_bytes().try_into().unwrap())).collect();
    assert_eq!(v[0], 100, "frontend messages in");
    assert_eq!(v[2], 100, "frontend messages out");
    assert_eq!(v[4], 100, "backend messages in");
    assert_eq!(v[6], 100, "backend messages out");

    control.send("PAUSE", 0).unwrap();
    assert!(control.recv_msg(0).unwrap().is_empty(), "REP control: empty acknowledgement");
    client.send("while paused", 0).unwrap();
    worker.set_rcvtimeo(200).unwrap();
    assert!(worker.recv_msg(0).is_err(), "paused proxy forwards nothing");
    control.send("RESUME", 0).unwrap();
    assert!(control.recv_msg(0).unwrap().is_empty());
    worker.set_rcvtimeo(5000).unwrap();
    assert_eq!(&*worker.recv_msg(0).unwrap(), b"while paused");
    control.send("TERMINATE", 0).unwrap();
    assert!(control.recv_msg(0).unwrap().is_empty());
    h.join().unwrap().unwrap();
}

#[test]
fn proxy_over_tcp_req_router_dealer_rep() {
    let ctx = Context::new();
    let front = ctx.socket(SocketType::Router).unwrap();
    front.bind("tcp://127.0.0.1:*").unwrap();
    let back = ctx.socket(SocketType::Dealer).unwrap();
    back.bind("tcp://127.0.0.1:*").unwrap();
    let (fe, be) = (front.last_endpoint().unwrap(), back.last_endpoint().unwrap());
    let h = std::thread::spawn(move || {
        let _ = ferrozmq::proxy(&front, &back, None);
    });
    let worker = ctx.socket(SocketType::Rep).unwrap();
    worker.connect(&be).unwrap();
    let client = ctx.socket(SocketType::Req).unwrap();
    client.connect(&fe).unwrap();
    client.set_rcvtimeo(5000).unwrap();
    worker.set_rcvtimeo(5000).unwrap();
    for i in 0..20 {
        client.send(format!("q{i}"), 0).unwrap();
        assert_eq!(worker.recv_string(0).unwrap().unwrap(), format!("q{i}"));
        worker.send(format!("a{i}"), 0).unwrap();
        assert_eq!(client.recv_string(0).unwrap().unwrap(), format!("a{i}"));
    }
    drop(client);
    drop(worker);
    ctx.shutdown();
    h.join().unwrap();
}

#[test]
fn proxy_delivers_the_last_reply_of_a_worker_that_exits_at_once() {
    let ctx = Context::new();
    let front = ctx.socket(SocketType::Router).unwrap();
    front.bind("tcp://127.0.0.1:*").unwrap();
    let back = ctx.socket(SocketType::Dealer).unwrap();
    back.bind("tcp://127.0.0.1:*").unwrap();
    let (fe, be) = (front.last_endpoint().unwrap(), back.last_endpoint().unwrap());
    let pctx = ctx.clone();
    let h = std::thread::spawn(move || {
        let _ = ferrozmq::proxy(&front, &back, None);
        drop(pctx);
    });
    let client = ctx.socket(SocketType::Req).unwrap();
    client.connect(&fe).unwrap();
    client.set_rcvtimeo(5000).unwrap();
    for i in 0..5 {
        // A fresh worker process per request, exiting right after replying.
        let wctx = Context::new();
        let worker = wctx.socket(SocketType::Rep).unwrap();
        worker.connect(&be).unwrap();
        worker.set_rcvtimeo(5000).unwrap();
        client.send(format!("q{i}"), 0).unwrap();
        assert_eq!(worker.recv_string(0).unwrap().unwrap(), format!("q{i}"));
        worker.send(format!("a{i}"), 0).unwrap();
        drop(worker);
        drop(wctx);
        assert_eq!(client.recv_string(0).unwrap().unwrap(), format!("a{i}"), "reply {i} lost");
    }
    drop(client);
    ctx.shutdown();
    h.join().unwrap();
}

#[test]
fn proxy_from_pull_to_push_with_a_push_capture() {
    // pyzmq's ThreadProxy(PULL, PUSH, PUSH): the backend and the capture are
    // send-only; the proxy must not fail trying to read from them.
    let ctx = Context::new();
    let front = ctx.socket(SocketType::Pull).unwrap();
    front.bind("inproc://pp-front").unwrap();
    let back = ctx.socket(SocketType::Push).unwrap();
    back.bind("inproc://pp-back").unwrap();
    let capture = ctx.socket(SocketType::Push).unwrap();
    capture.bind("inproc://pp-capture").unwrap();
    let h = std::thread::spawn(move || ferrozmq::proxy(&front, &back, Some(&capture)));
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect("inproc://pp-front").unwrap();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.connect("inproc://pp-back").unwrap();
    let mon = ctx.socket(SocketType::Pull).unwrap();
    mon.connect("inproc://pp-capture").unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    mon.set_rcvtimeo(5000).unwrap();
    push.send("hello", 0).unwrap();
    assert_eq!(&*pull.recv_msg(0).unwrap(), b"hello");
    assert_eq!(&*mon.recv_msg(0).unwrap(), b"hello");
    drop((push, pull, mon));
    ctx.shutdown();
    assert_eq!(h.join().unwrap(), Err(ferrozmq::Error::ETERM));
}
