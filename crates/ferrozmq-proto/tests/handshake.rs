//! Handshake state machine: two instances against each other in memory, and
//! every failure case.

use bytes::{BufMut, Bytes, BytesMut};
use ferrozmq_proto::*;

fn greeting(revision: u8, minor: u8, mechanism: &[u8]) -> Vec<u8> {
    let mut g = vec![0u8; 64];
    g[0] = 0xFF;
    g[8] = 0x01;
    g[9] = 0x7F;
    g[10] = revision;
    g[11] = minor;
    g[12..12 + mechanism.len()].copy_from_slice(mechanism);
    g
}

fn null_greeting() -> Vec<u8> {
    greeting(3, 1, b"NULL")
}

fn ready(props: &[(&str, &[u8])]) -> Vec<u8> {
    let mut m = Metadata::new();
    for (n, v) in props {
        m.insert(n, Bytes::copy_from_slice(v));
    }
    let mut out = BytesMut::new();
    Command::Ready(m).encode(&mut out);
    out.to_vec()
}

/// Feeds `stream` into a fresh handshake for `socket_type`, all at once.
fn feed_all(
    config: HandshakeConfig,
    stream: &[u8],
) -> (Handshake, Result<HandshakeStatus, ProtocolError>, BytesMut) {
    let mut hs = Handshake::new(config);
    let mut input = BytesMut::from(stream);
    let r = hs.feed(&mut input);
    (hs, r, input)
}

fn expect_err(socket_type: SocketType, stream: &[u8]) -> ProtocolError {
    let (mut hs, r, mut input) = feed_all(HandshakeConfig::new(socket_type), stream);
    let e = r.expect_err("handshake should fail");
    assert!(hs.is_failed());
    // Errors are sticky and nothing more is sent.
    assert_eq!(hs.feed(&mut input).unwrap_err(), e);
    let mut out = BytesMut::new();
    hs.poll_transmit(&mut out);
    assert!(out.is_empty());
    e
}

/// Drives two handshakes against each other, moving at most `chunk` bytes
/// per direction per step. `a_extra` is appended to A's output once A has
/// emitted its READY (application frames following the handshake).
fn drive(
    a_cfg: HandshakeConfig,
    b_cfg: HandshakeConfig,
    chunk: usize,
    a_extra: &[u8],
) -> (
    Result<PeerInfo, ProtocolError>,
    Result<PeerInfo, ProtocolError>,
    BytesMut,
) {
    let mut a = Handshake::new(a_cfg);
    let mut b = Handshake::new(b_cfg);
    let (mut a_wire, mut b_wire) = (BytesMut::new(), BytesMut::new());
    let (mut a_in, mut b_in) = (BytesMut::new(), BytesMut::new());
    let (mut a_res, mut b_res) = (None, None);
    let mut extra_sent = false;
    for _ in 0..100_000 {
        a.poll_transmit(&mut a_wire);
        b.poll_transmit(&mut b_wire);
        if a.peer_version().is_some() && !a.has_pending_output() && !extra_sent {
            a_wire.put_slice(a_extra);
            extra_sent = true;
        }
        let n = a_wire.len().min(chunk);
        b_in.put_slice(&a_wire.split_to(n));
        let n = b_wire.len().min(chunk);
        a_in.put_slice(&b_wire.split_to(n));
        if a_res.is_none() {
            match a.feed(&mut a_in) {
                Ok(HandshakeStatus::Complete(p)) => a_res = Some(Ok(p)),
                Ok(HandshakeStatus::InProgress) => {}
                Ok(HandshakeStatus::ZapRequest(r)) => panic!("no ZAP configured: {r:?}"),
                Err(e) => a_res = Some(Err(e)),
            }
        }
        if b_res.is_none() {
            match b.feed(&mut b_in) {
                Ok(HandshakeStatus::Complete(p)) => b_res = Some(Ok(p)),
                Ok(HandshakeStatus::InProgress) => {}
                Ok(HandshakeStatus::ZapRequest(r)) => panic!("no ZAP configured: {r:?}"),
                Err(e) => b_res = Some(Err(e)),
            }
        }
        if a_res.is_some() && b_res.is_some() && a_wire.is_empty() && b_wire.is_empty() {
            break;
        }
        if a_res.as_ref().is_some_and(|r| r.is_err()) || b_res.as_ref().is_some_and(|r| r.is_err())
        {
            if a_res.is_some() && b_res.is_some() {
                break;
            }
            // Let the other side see the close as "no more bytes".
            if a_wire.is_empty() && b_wire.is_empty() {
                break;
            }
        }
    }
    b_in.put_slice(&a_wire);
    (
        a_res.unwrap_or(Err(ProtocolError::UnexpectedCommand)),
        b_res.unwrap_or(Err(ProtocolError::UnexpectedCommand)),
        b_in,
    )
}

#[test]
fn dealer_router_in_one_go_and_byte_at_a_time() {
    for chunk in [1, 2, 3, 7, 10, 11, 13, 64, 65, 1000] {
        let mut a = HandshakeConfig::new(SocketType::Dealer);
        a.routing_id = Some(Bytes::from_static(b"client-1"));
        a.metadata.insert("X-Hello", "world");
        let b = HandshakeConfig::new(SocketType::Router);
        let (ra, rb, _) = drive(a, b, chunk, b"");
        let pa = ra.unwrap();
        let pb = rb.unwrap();
        assert_eq!(pa.socket_type, Some(SocketType::Router));
        assert_eq!(pa.version, ZmtpVersion::V3_1);
        assert_eq!(
            pa.routing_id.as_deref(),
            Some(&b""[..]),
            "ROUTER sends an empty Identity"
        );
        assert_eq!(pb.socket_type, Some(SocketType::Dealer));
        assert_eq!(pb.routing_id.as_deref(), Some(&b"client-1"[..]));
        assert_eq!(
            pb.metadata.get("x-hello").map(|v| &v[..]),
            Some(&b"world"[..])
        );
        assert_eq!(
            pb.metadata.get("Socket-Type").map(|v| &v[..]),
            Some(&b"DEALER"[..])
        );
    }
}

#[test]
fn every_compatible_pair_completes() {
    for a in SocketType::ALL {
        for b in SocketType::ALL {
            let (ra, rb, _) = drive(HandshakeConfig::new(a), HandshakeConfig::new(b), 5, b"");
            if a.is_compatible_with(b) {
                assert_eq!(ra.unwrap().socket_type, Some(b));
                assert_eq!(rb.unwrap().socket_type, Some(a));
            } else {
                assert!(
                    matches!(ra, Err(ProtocolError::IncompatibleSocketType { .. })),
                    "{a} {b}"
                );
                assert!(
                    matches!(rb, Err(ProtocolError::IncompatibleSocketType { .. })),
                    "{a} {b}"
                );
            }
        }
    }
}

#[test]
fn leftover_frames_after_ready_are_preserved() {
    let mut frames = BytesMut::new();
    encode_frame(true, false, b"", &mut frames);
    encode_frame(false, false, b"hello", &mut frames);
    Command::Subscribe(Bytes::from_static(b"t")).encode(&mut frames);
    for chunk in [1, 4, 100] {
        let (ra, rb, leftover) = drive(
            HandshakeConfig::new(SocketType::Pub),
            HandshakeConfig::new(SocketType::Sub),
            chunk,
            &frames,
        );
        ra.unwrap();
        rb.unwrap();
        assert_eq!(&leftover[..], &frames[..], "chunk {chunk}");
    }
    // All in one buffer: greeting + READY + frames.
    let mut stream = null_greeting();
    stream.extend(ready(&[("Socket-Type", b"SUB")]));
    stream.extend_from_slice(&frames);
    let (mut hs, r, mut rest) = feed_all(HandshakeConfig::new(SocketType::Pub), &stream);
    assert!(matches!(r, Ok(HandshakeStatus::Complete(_))));
    assert_eq!(&rest[..], &frames[..]);
    // Our READY is still queued; poll_transmit hands it out once, then nothing.
    let mut out = BytesMut::new();
    hs.poll_transmit(&mut out);
    assert_eq!(out.len(), 64 + 27);
    assert!(!hs.has_pending_output());
    out.clear();
    hs.poll_transmit(&mut out);
    assert!(out.is_empty());
    // Further feeds consume nothing.
    assert!(matches!(
        hs.feed(&mut rest),
        Ok(HandshakeStatus::Complete(_))
    ));
    assert_eq!(&rest[..], &frames[..]);
    assert!(hs.is_complete());
}

#[test]
fn greeting_is_sent_in_libzmq_stages() {
    let mut hs = Handshake::new(HandshakeConfig::new(SocketType::Pair));
    let mut out = BytesMut::new();
    hs.poll_transmit(&mut out);
    assert_eq!(&out[..], b"\xff\0\0\0\0\0\0\0\x01\x7f");
    out.clear();
    hs.poll_transmit(&mut out);
    assert!(
        out.is_empty(),
        "signature only until the peer's signature arrives"
    );

    let peer = null_greeting();
    let mut input = BytesMut::from(&peer[..9]);
    assert!(matches!(
        hs.feed(&mut input),
        Ok(HandshakeStatus::InProgress)
    ));
    assert!(input.is_empty());
    hs.poll_transmit(&mut out);
    assert!(out.is_empty());

    input.put_slice(&peer[9..10]);
    hs.feed(&mut input).unwrap();
    hs.poll_transmit(&mut out);
    assert_eq!(
        &out[..],
        b"\x03",
        "major version after the peer's signature"
    );
    out.clear();

    input.put_slice(&peer[10..11]);
    hs.feed(&mut input).unwrap();
    hs.poll_transmit(&mut out);
    assert_eq!(
        out.len(),
        53,
        "rest of the greeting after the peer's revision byte"
    );
    assert_eq!(&out[..5], b"\x01NULL");
    out.clear();

    input.put_slice(&peer[11..63]);
    hs.feed(&mut input).unwrap();
    hs.poll_transmit(&mut out);
    assert!(
        out.is_empty(),
        "READY only once the peer's greeting is complete"
    );

    input.put_slice(&peer[63..]);
    hs.feed(&mut input).unwrap();
    assert_eq!(hs.peer_version(), Some(ZmtpVersion::V3_1));
    hs.poll_transmit(&mut out);
    assert_eq!(
        &out[..],
        b"\x04\x1a\x05READY\x0bSocket-Type\x00\x00\x00\x04PAIR"
    );
}

#[test]
fn zmtp_3_0_and_higher_versions() {
    // libzmq testutil's mock greeting: version 3.0, padding all zero.
    let mut s = greeting(3, 0, b"NULL");
    s[8] = 0;
    s.extend(ready(&[("Socket-Type", b"PAIR")]));
    let (_, r, _) = feed_all(HandshakeConfig::new(SocketType::Pair), &s);
    match r {
        Ok(HandshakeStatus::Complete(p)) => {
            assert_eq!(p.version, ZmtpVersion::V3_0);
            assert!(!p.version.uses_subscribe_commands());
            assert_eq!(p.routing_id, None);
        }
        other => panic!("{other:?}"),
    }
    for (rev, minor) in [(3, 1), (3, 9), (4, 0), (2, 0), (0xff, 0xff)] {
        let mut s = greeting(rev, minor, b"NULL");
        s.extend(ready(&[("Socket-Type", b"PAIR")]));
        let (_, r, _) = feed_all(HandshakeConfig::new(SocketType::Pair), &s);
        match r {
            Ok(HandshakeStatus::Complete(p)) => assert_eq!(p.version, ZmtpVersion::V3_1),
            other => panic!("{rev}.{minor}: {other:?}"),
        }
    }
}

/// With ZAP enabled (a ZAP domain here) libzmq refuses ZMTP 1.0/2.0 peers
/// (`handshake_v1_0_unversioned` / `handshake_v2_0`: "reject ZMTP 1.0
/// connections if ZAP is enabled"). The downgrade itself is in tests/legacy.rs.
fn zap_config() -> HandshakeConfig {
    let mut c = HandshakeConfig::new(SocketType::Pair);
    c.zap.domain = Bytes::from_static(b"global");
    c
}

fn expect_err_cfg(cfg: HandshakeConfig, stream: &[u8]) -> ProtocolError {
    let (mut hs, r, mut input) = feed_all(cfg, stream);
    let e = r.expect_err("handshake should fail");
    assert_eq!(hs.feed(&mut input).unwrap_err(), e);
    let mut out = BytesMut::new();
    hs.poll_transmit(&mut out);
    assert!(out.is_empty());
    e
}

#[test]
fn old_peers_refused_when_zap_is_enabled() {
    let v10 = ProtocolError::UnsupportedVersion { major: 1, minor: 0 };
    assert_eq!(expect_err_cfg(zap_config(), b"\x00"), v10);
    assert_eq!(v10.code(), error_codes::ZMTP_UNSPECIFIED);
    // 1.0 identity frame with a long length: FF + 8-byte length + flags 0x00.
    assert_eq!(
        expect_err_cfg(zap_config(), b"\xff\0\0\0\0\0\0\0\x01\x00"),
        v10
    );
    assert_eq!(expect_err_cfg(zap_config(), b"\x01\x00"), v10);
    // Revision 0 (1.0 with a revision octet) and 1 (ZMTP 2.0).
    assert_eq!(
        expect_err_cfg(zap_config(), b"\xff\0\0\0\0\0\0\0\x01\x7f\x00"),
        v10
    );
    assert_eq!(
        expect_err_cfg(zap_config(), b"\xff\0\0\0\0\0\0\0\x01\x7f\x01\x00"),
        ProtocolError::UnsupportedVersion { major: 2, minor: 0 }
    );
    // PLAIN and CURVE enable ZAP by themselves.
    let mut plain = HandshakeConfig::new(SocketType::Pair);
    plain.mechanism = MechanismConfig::Plain {
        server: false,
        username: b"u".to_vec(),
        password: b"p".to_vec(),
    };
    assert_eq!(expect_err_cfg(plain, b"\x01\x00"), v10);
}

#[test]
fn truncated_greeting_waits() {
    let g = null_greeting();
    for n in 0..64 {
        let (mut hs, r, rest) = feed_all(HandshakeConfig::new(SocketType::Pair), &g[..n]);
        assert!(matches!(r, Ok(HandshakeStatus::InProgress)), "{n}");
        assert!(rest.is_empty());
        assert!(!hs.is_complete() && !hs.is_failed());
        let mut empty = BytesMut::new();
        assert!(matches!(
            hs.feed(&mut empty),
            Ok(HandshakeStatus::InProgress)
        ));
    }
    // Greeting done but READY truncated.
    let mut s = g.clone();
    let r = ready(&[("Socket-Type", b"PAIR")]);
    for n in 0..r.len() {
        s.truncate(64);
        s.extend_from_slice(&r[..n]);
        let (_, res, rest) = feed_all(HandshakeConfig::new(SocketType::Pair), &s);
        assert!(matches!(res, Ok(HandshakeStatus::InProgress)));
        assert_eq!(rest.len(), n, "incomplete READY is not consumed");
    }
}

#[test]
fn mechanism_mismatch_and_unknown() {
    let e = expect_err(SocketType::Pair, &greeting(3, 1, b"PLAIN"));
    assert_eq!(e, ProtocolError::MechanismMismatch);
    assert_eq!(e.code(), 0x1100_0002);
    let e = expect_err(SocketType::Pair, &greeting(3, 1, b"CURVE"));
    assert_eq!(e, ProtocolError::MechanismMismatch);
    let e = expect_err(SocketType::Pair, &greeting(3, 1, b"FOO"));
    assert_eq!(e, ProtocolError::UnknownMechanism);
    assert_eq!(e.code(), 0x1100_0002);
    let e = expect_err(SocketType::Pair, &greeting(3, 1, b"null"));
    assert_eq!(e, ProtocolError::UnknownMechanism);
    let e = expect_err(SocketType::Pair, &greeting(3, 1, b"NULL\0\0\0X"));
    assert_eq!(e, ProtocolError::UnknownMechanism);
}

#[test]
fn incompatible_socket_types() {
    let (ra, rb, _) = drive(
        HandshakeConfig::new(SocketType::Req),
        HandshakeConfig::new(SocketType::Pub),
        3,
        b"",
    );
    let ea = ra.unwrap_err();
    assert_eq!(
        ea,
        ProtocolError::IncompatibleSocketType {
            local: SocketType::Req,
            peer_name: "PUB".into()
        }
    );
    assert_eq!(ea.code(), error_codes::ZMTP_INVALID_METADATA);
    assert!(matches!(
        rb,
        Err(ProtocolError::IncompatibleSocketType {
            local: SocketType::Pub,
            ..
        })
    ));

    // Unknown or lower-case socket type names are not compatible either.
    for bad in [&b"rep"[..], b"BOGUS", b"", b"REP\0"] {
        let mut s = null_greeting();
        s.extend(ready(&[("Socket-Type", bad)]));
        let e = expect_err(SocketType::Req, &s);
        assert!(
            matches!(e, ProtocolError::IncompatibleSocketType { .. }),
            "{bad:?}"
        );
    }
}

#[test]
fn missing_socket_type_is_invalid_metadata() {
    let mut s = null_greeting();
    s.extend(ready(&[("Identity", b"x")]));
    assert_eq!(
        expect_err(SocketType::Dealer, &s),
        ProtocolError::InvalidMetadata
    );
}

#[test]
fn error_command_during_handshake() {
    let mut s = null_greeting();
    let mut out = BytesMut::new();
    Command::Error {
        reason: Bytes::from_static(b"go away"),
    }
    .encode(&mut out);
    s.extend_from_slice(&out);
    let e = expect_err(SocketType::Pair, &s);
    assert_eq!(
        e,
        ProtocolError::PeerError {
            reason: "go away".into()
        }
    );
    assert_eq!(e.code(), error_codes::ZMTP_UNSPECIFIED);

    let mut s = null_greeting();
    s.extend_from_slice(b"\x04\x08\x05ERROR\x05ab");
    assert_eq!(
        expect_err(SocketType::Pair, &s),
        ProtocolError::MalformedError
    );
}

#[test]
fn non_ready_first_frame() {
    for cmd in [
        Command::Ping {
            ttl_deciseconds: 1,
            context: Bytes::new(),
        },
        Command::Subscribe(Bytes::new()),
        Command::Unknown {
            name: Bytes::from_static(b"HELLO"),
            data: Bytes::new(),
        },
    ] {
        let mut s = null_greeting();
        let mut out = BytesMut::new();
        cmd.encode(&mut out);
        s.extend_from_slice(&out);
        let e = expect_err(SocketType::Pair, &s);
        assert_eq!(e, ProtocolError::UnexpectedCommand, "{cmd:?}");
        assert_eq!(e.code(), error_codes::ZMTP_UNEXPECTED_COMMAND);
    }
    // A message frame instead of a command: refused from its header alone.
    let mut s = null_greeting();
    s.extend_from_slice(b"\x00\x05");
    assert_eq!(
        expect_err(SocketType::Pair, &s),
        ProtocolError::UnexpectedCommand
    );
    // A broken command that is not READY/ERROR.
    let mut s = null_greeting();
    s.extend_from_slice(b"\x04\x02\x09X");
    assert_eq!(
        expect_err(SocketType::Pair, &s),
        ProtocolError::UnexpectedCommand
    );
}

#[test]
fn ready_over_size_limits() {
    let mut cfg = HandshakeConfig::new(SocketType::Pair);
    cfg.max_msg_size = Some(10);
    let mut s = null_greeting();
    s.extend(ready(&[("Socket-Type", b"PAIR")]));
    let (_, r, _) = feed_all(cfg, &s);
    assert_eq!(
        r.unwrap_err(),
        ProtocolError::FrameTooLarge { size: 26, max: 10 }
    );

    // No limit configured: still capped at MAX_HANDSHAKE_COMMAND_SIZE, and
    // refused as soon as the header arrives.
    let mut s = null_greeting();
    s.extend_from_slice(b"\x06\x00\x00\x00\x00\x00\x01\x00\x01");
    let e = expect_err(SocketType::Pair, &s);
    assert_eq!(
        e,
        ProtocolError::FrameTooLarge {
            size: 65537,
            max: MAX_HANDSHAKE_COMMAND_SIZE
        }
    );

    // Exactly at the cap is fine (and incomplete here).
    let mut s = null_greeting();
    s.extend_from_slice(b"\x06\x00\x00\x00\x00\x00\x01\x00\x00");
    let (_, r, rest) = feed_all(HandshakeConfig::new(SocketType::Pair), &s);
    assert!(matches!(r, Ok(HandshakeStatus::InProgress)));
    assert_eq!(rest.len(), 9);
}

#[test]
fn huge_declared_lengths() {
    for len in [1u64 << 63, u64::MAX, (1u64 << 63) - 1] {
        for flags in [0x06u8, 0x02] {
            let mut s = null_greeting();
            s.push(flags);
            s.extend_from_slice(&len.to_be_bytes());
            let e = expect_err(SocketType::Pair, &s);
            if flags == 0x06 || len > i64::MAX as u64 {
                // Over the handshake cap, or over RFC 37's 2^63-1 for any frame.
                assert!(
                    matches!(e, ProtocolError::FrameTooLarge { size, .. } if size == len),
                    "{e:?}"
                );
            } else {
                // A message frame is refused from its header, before its body arrives.
                assert_eq!(e, ProtocolError::UnexpectedCommand);
            }
        }
    }
}

#[test]
fn ready_metadata_lies() {
    let bodies: &[&[u8]] = &[
        b"\x05READY\x0bSock",                                // name past end
        b"\x05READY\x0bSocket-Type\x00\x00\x00",             // value length truncated
        b"\x05READY\x0bSocket-Type\x00\x00\x00\x09PAIR",     // value past end
        b"\x05READY\x0bSocket-Type\xff\xff\xff\xffPAIR",     // 4 GiB value
        b"\x05READY\x00\x00\x00\x00\x00",                    // empty name
        b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PAIR\x01", // trailing byte
    ];
    for body in bodies {
        let mut s = null_greeting();
        let mut frame = BytesMut::new();
        encode_frame(false, true, body, &mut frame);
        s.extend_from_slice(&frame);
        let e = expect_err(SocketType::Pair, &s);
        assert_eq!(e, ProtocolError::InvalidMetadata, "{body:?}");
        assert_eq!(e.code(), 0x1000_0018);
    }
}

#[test]
fn ready_with_more_flag_and_long_header_is_accepted() {
    // libzmq ignores MORE on commands and any size form is legal.
    let r = ready(&[("Socket-Type", b"PAIR")]);
    let body = &r[2..];
    let mut s = null_greeting();
    s.push(0x06 | 0x01);
    s.extend_from_slice(&(body.len() as u64).to_be_bytes());
    s.extend_from_slice(body);
    let (_, res, rest) = feed_all(HandshakeConfig::new(SocketType::Pair), &s);
    assert!(matches!(res, Ok(HandshakeStatus::Complete(_))));
    assert!(rest.is_empty());
}
