//! Monitor events and heartbeats, ferrozmq <-> ferrozmq and against a raw
//! TCP peer that goes silent.

use bytes::BytesMut;
use ferrozmq::monitor::{EventKind, EVENT_ALL};
use ferrozmq::{Context, Monitor, SocketType};
use ferrozmq_proto::{Handshake, HandshakeConfig, HandshakeStatus};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Reads events until `kind` arrives (returning it) or 5 s pass.
fn wait_for(m: &Monitor, kind: EventKind, seen: &mut Vec<EventKind>) -> ferrozmq::Event {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now()).as_millis() as i32;
        let e = m.next_event(left.max(1)).unwrap_or_else(|e| panic!("no {kind:?} event ({e}); saw {seen:?}"));
        seen.push(e.kind);
        if e.kind == kind {
            return e;
        }
    }
}

#[test]
fn connection_life_cycle_events() {
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Pull).unwrap();
    let sm = server.monitor_events(EVENT_ALL).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let ep = server.last_endpoint().unwrap();
    let mut s_seen = Vec::new();
    let listening = wait_for(&sm, EventKind::Listening, &mut s_seen);
    assert_eq!(listening.endpoint, ep);

    let client = ctx.socket(SocketType::Push).unwrap();
    client.set_reconnect_ivl(50).unwrap();
    let cm = client.monitor_events(EVENT_ALL).unwrap();
    client.connect(&ep).unwrap();
    let mut c_seen = Vec::new();
    wait_for(&cm, EventKind::ConnectDelayed, &mut c_seen);
    let connected = wait_for(&cm, EventKind::Connected, &mut c_seen);
    assert_eq!(connected.endpoint, ep);
    assert!(connected.value > 2, "value is the fd");
    wait_for(&cm, EventKind::HandshakeSucceeded, &mut c_seen);
    wait_for(&sm, EventKind::Accepted, &mut s_seen);
    wait_for(&sm, EventKind::HandshakeSucceeded, &mut s_seen);

    // The server goes away: the client sees the disconnection and retries.
    drop(server);
    wait_for(&cm, EventKind::Disconnected, &mut c_seen);
    let retried = wait_for(&cm, EventKind::ConnectRetried, &mut c_seen);
    assert_eq!(retried.value, 50, "value is the reconnect interval");

    // Stopping a monitor says so.
    client.stop_monitor().unwrap();
    wait_for(&cm, EventKind::MonitorStopped, &mut c_seen);
}

#[test]
fn bind_failure_and_garbage_peer_events() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Pull).unwrap();
    let m = s.monitor_events(EVENT_ALL).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    let ep = s.last_endpoint().unwrap();
    let other = ctx.socket(SocketType::Pull).unwrap();
    let om = other.monitor_events(EVENT_ALL).unwrap();
    assert!(other.bind(&ep).is_err());
    let mut seen = Vec::new();
    let failed = wait_for(&om, EventKind::BindFailed, &mut seen);
    assert_eq!(failed.value as i32, libc_eaddrinuse());

    // A peer with an unknown security mechanism is refused: protocol
    // detail (ZMTP_MECHANISM_MISMATCH), then disconnection.
    let mut raw = std::net::TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    let mut greeting = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1];
    let mut mechanism = b"FOO".to_vec();
    mechanism.resize(20, 0);
    greeting.extend(mechanism);
    greeting.resize(64, 0);
    raw.write_all(&greeting).unwrap();
    let mut seen = Vec::new();
    wait_for(&m, EventKind::Accepted, &mut seen);
    let proto = wait_for(&m, EventKind::HandshakeFailedProtocol, &mut seen);
    assert_eq!(proto.value, 0x1100_0002, "ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH");
    wait_for(&m, EventKind::Disconnected, &mut seen);
}

fn libc_eaddrinuse() -> i32 {
    ferrozmq::Error::EADDRINUSE.to_raw()
}

/// Completes a NULL handshake as a PUSH over a raw stream, then returns it.
fn raw_zmtp_push(addr: &str) -> std::net::TcpStream {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut hs = Handshake::new(HandshakeConfig::new(ferrozmq::SocketType::Push));
    let mut out = BytesMut::new();
    let mut inbuf = BytesMut::new();
    loop {
        hs.poll_transmit(&mut out);
        if !out.is_empty() {
            s.write_all(&out).unwrap();
            out.clear();
        }
        match hs.feed(&mut inbuf).unwrap() {
            HandshakeStatus::Complete(_) => {
                hs.poll_transmit(&mut out);
                s.write_all(&out).unwrap();
                return s;
            }
            HandshakeStatus::ZapRequest(_) => unreachable!("a NULL client never asks ZAP"),
            HandshakeStatus::InProgress => {
                hs.poll_transmit(&mut out);
                if !out.is_empty() {
                    s.write_all(&out).unwrap();
                    out.clear();
                    continue;
                }
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "server closed during handshake");
                inbuf.extend_from_slice(&buf[..n]);
            }
        }
    }
}

#[test]
fn heartbeat_drops_a_silent_peer_within_the_timeout() {
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Pull).unwrap();
    server.set_option("heartbeat_ivl", "100").unwrap();
    server.set_option("heartbeat_timeout", "300").unwrap();
    let m = server.monitor_events(EVENT_ALL).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let ep = server.last_endpoint().unwrap();
    let mut raw = raw_zmtp_push(ep.trim_start_matches("tcp://"));
    let mut seen = Vec::new();
    wait_for(&m, EventKind::HandshakeSucceeded, &mut seen);
    let t0 = Instant::now();
    // The raw peer never answers PINGs (like a process stopped with SIGSTOP).
    wait_for(&m, EventKind::Disconnected, &mut seen);
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(250), "dropped too early: {took:?}");
    assert!(took < Duration::from_millis(2000), "dropped too late: {took:?}");
    // We saw PINGs on the wire before the drop (flags 0x04, "\x04PING").
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    raw.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    while let Ok(n) = raw.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.windows(5).any(|w| w == b"\x04PING"), "no PING seen");
}

#[test]
fn heartbeats_keep_a_live_connection_up() {
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Pull).unwrap();
    server.set_option("heartbeat_ivl", "50").unwrap();
    server.set_option("heartbeat_timeout", "200").unwrap();
    let m = server.monitor_events(EVENT_ALL).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let client = ctx.socket(SocketType::Push).unwrap();
    client.set_option("heartbeat_ivl", "50").unwrap();
    client.connect(&server.last_endpoint().unwrap()).unwrap();
    let mut seen = Vec::new();
    wait_for(&m, EventKind::HandshakeSucceeded, &mut seen);
    // Idle for many timeouts: PONGs keep it alive.
    assert_eq!(m.next_event(800).unwrap_err(), ferrozmq::Error::EAGAIN, "no event expected, saw one");
    client.send("still here", 0).unwrap();
    server.set_rcvtimeo(2000).unwrap();
    assert_eq!(&*server.recv_msg(0).unwrap(), b"still here");
}
