//! STREAM sockets: raw TCP peers, notifications, and an HTTP exchange with
//! curl.

use ferrozmq::{Context, SocketType, SNDMORE};
use std::io::{Read, Write};
use std::time::Duration;

#[test]
fn raw_tcp_client_notifications_echo_and_close() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Stream).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    s.set_rcvtimeo(5000).unwrap();
    let addr = s.last_endpoint().unwrap().trim_start_matches("tcp://").to_string();
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // Connect notification: [id][""].
    let note = s.recv_multipart(0).unwrap();
    assert_eq!(note.len(), 2);
    assert_eq!(note[0].len(), 5);
    assert!(note[1].is_empty());
    let id = note[0].clone();
    c.write_all(b"hello raw").unwrap();
    let mut got = Vec::new();
    while got.len() < 9 {
        let m = s.recv_multipart(0).unwrap();
        assert_eq!(m[0], id);
        got.extend_from_slice(&m[1]);
    }
    assert_eq!(got, b"hello raw");
    s.send(id.clone(), SNDMORE).unwrap();
    s.send("echo: hello raw", 0).unwrap();
    let mut buf = [0u8; 64];
    let n = c.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"echo: hello raw");
    // Closing from our side: an empty frame.
    s.send(id.clone(), SNDMORE).unwrap();
    s.send("", 0).unwrap();
    assert_eq!(c.read(&mut buf).unwrap(), 0, "connection closed");
    // No notification for a close we asked for (libzmq sends none either).
    s.set_rcvtimeo(200).unwrap();
    assert!(s.recv_msg(0).is_err());
    // A peer that closes is announced: [id][""] after its last data.
    s.set_rcvtimeo(5000).unwrap();
    let mut c2 = std::net::TcpStream::connect(&addr).unwrap();
    let id2 = s.recv_multipart(0).unwrap()[0].clone();
    c2.write_all(b"bye").unwrap();
    drop(c2);
    let m = s.recv_multipart(0).unwrap();
    assert_eq!((m[0].clone(), m[1].as_bytes()), (id2.clone(), &b"bye"[..]));
    let note = s.recv_multipart(0).unwrap();
    assert_eq!(note[0], id2);
    assert!(note[1].is_empty(), "disconnect notification");
}

#[test]
fn stream_notify_off_delivers_data_only() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Stream).unwrap();
    s.set_stream_notify(false).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    s.set_rcvtimeo(5000).unwrap();
    let addr = s.last_endpoint().unwrap().trim_start_matches("tcp://").to_string();
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    c.write_all(b"first").unwrap();
    // No [id][""] on connect: the first message is the data.
    let m = s.recv_multipart(0).unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[1].as_bytes(), b"first");
    drop(c);
    // Nor on disconnect.
    s.set_rcvtimeo(300).unwrap();
    assert!(s.recv_msg(0).is_err(), "no disconnect notification with STREAM_NOTIFY off");
}

#[test]
fn http_request_from_curl_is_answered() {
    if std::process::Command::new("curl").arg("--version").output().is_err() {
        panic!("curl is not installed: run scripts/setup.sh");
    }
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Stream).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    let url = format!("http://{}/hello", s.last_endpoint().unwrap().trim_start_matches("tcp://"));
    let child = std::process::Command::new("curl")
        .args(["-s", "--max-time", "10", &url])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    s.set_rcvtimeo(10_000).unwrap();
    let mut request = Vec::new();
    let id = loop {
        let m = s.recv_multipart(0).unwrap();
        if m[1].is_empty() {
            continue; // connect notification
        }
        request.extend_from_slice(&m[1]);
        if request.windows(4).any(|w| w == b"\r\n\r\n") {
            break m[0].clone();
        }
    };
    assert!(request.starts_with(b"GET /hello HTTP/1.1\r\n"), "{}", String::from_utf8_lossy(&request));
    let body = "Hello from a ferrozmq STREAM socket\n";
    let response = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.send(id.clone(), SNDMORE).unwrap();
    s.send(response, 0).unwrap();
    s.send(id, SNDMORE).unwrap();
    s.send("", 0).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "curl failed: {:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stdout), body);
}

#[test]
fn stream_connects_to_a_plain_tcp_server() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Stream).unwrap();
    s.set_option("connect_routing_id", "server").unwrap();
    s.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    s.set_rcvtimeo(5000).unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    let note = s.recv_multipart(0).unwrap();
    assert_eq!(&*note[0], b"server");
    s.send_multipart(["server", "ping"], 0).unwrap();
    let mut buf = [0u8; 4];
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    conn.write_all(b"pong").unwrap();
    let m = s.recv_multipart(0).unwrap();
    assert_eq!(&*m[0], b"server");
    assert_eq!(&*m[1], b"pong");
}
