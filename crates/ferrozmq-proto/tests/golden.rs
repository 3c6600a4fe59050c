//! Byte-exact golden vectors, written out by hand from RFC 37 and libzmq
//! (`tests/testutil.hpp` fixtures, `zmtp_engine.cpp` greeting code).

use bytes::{Bytes, BytesMut};
use ferrozmq_proto::*;

/// libzmq testutil.hpp `zmtp_ready_dealer` (43 bytes).
const READY_DEALER: &[u8] =
    b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00";
/// libzmq testutil.hpp `zmtp_ready_xpub` (28 bytes).
const READY_XPUB: &[u8] = b"\x04\x1a\x05READY\x0bSocket-Type\x00\x00\x00\x04XPUB";
/// libzmq testutil.hpp `zmtp_ready_sub` (27 bytes).
const READY_SUB: &[u8] = b"\x04\x19\x05READY\x0bSocket-Type\x00\x00\x00\x03SUB";
/// RFC 37 §"Worked Example": the ROUTER server's READY (size 28).
const READY_ROUTER_NO_IDENTITY: &[u8] = b"\x04\x1c\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER";

/// The greeting libzmq sends with NULL and no routing id
/// (`plug_internal` + `receive_greeting_versioned`).
fn libzmq_null_greeting() -> Vec<u8> {
    let mut g = Vec::new();
    g.extend_from_slice(b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f"); // signature, routing_id_size + 1
    g.extend_from_slice(b"\x03\x01"); // version 3.1
    g.extend_from_slice(b"NULL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00");
    g.push(0x00); // as-server
    g.extend_from_slice(&[0u8; 31]); // filler
    g
}

fn ready_for(socket_type: SocketType) -> Vec<u8> {
    // Drive a real handshake against a peer greeting and capture its READY.
    let mut hs = Handshake::new(HandshakeConfig::new(socket_type));
    let mut out = BytesMut::new();
    let mut input = BytesMut::from(&libzmq_null_greeting()[..]);
    assert!(matches!(
        hs.feed(&mut input),
        Ok(HandshakeStatus::InProgress)
    ));
    hs.poll_transmit(&mut out);
    assert_eq!(&out[..64], &libzmq_null_greeting()[..]);
    out[64..].to_vec()
}

#[test]
fn greeting_is_libzmqs() {
    let g = libzmq_null_greeting();
    assert_eq!(g.len(), GREETING_LEN);
    let mut out = [0u8; 64];
    encode_greeting(MechanismName::Null, false, 0, &mut out);
    assert_eq!(&out[..], &g[..]);
}

#[test]
fn ready_commands_match_libzmq_testutil() {
    assert_eq!(READY_DEALER.len(), 43);
    assert_eq!(READY_XPUB.len(), 28);
    assert_eq!(READY_SUB.len(), 27);
    assert_eq!(ready_for(SocketType::Dealer), READY_DEALER);
    assert_eq!(ready_for(SocketType::XPub), READY_XPUB);
    assert_eq!(ready_for(SocketType::Sub), READY_SUB);
}

#[test]
fn ready_command_encoding() {
    let mut m = Metadata::new();
    m.insert("Socket-Type", "ROUTER");
    let mut out = BytesMut::new();
    Command::Ready(m.clone()).encode(&mut out);
    assert_eq!(&out[..], READY_ROUTER_NO_IDENTITY);
    assert_eq!(
        Command::parse(&Bytes::copy_from_slice(&out[2..])).unwrap(),
        Command::Ready(m)
    );

    let mut m = Metadata::new();
    m.insert("Socket-Type", "DEALER");
    m.insert("Identity", "");
    let mut out = BytesMut::new();
    Command::Ready(m).encode(&mut out);
    assert_eq!(&out[..], READY_DEALER);
}

#[test]
fn ready_with_identity_and_app_metadata() {
    let mut cfg = HandshakeConfig::new(SocketType::Router);
    cfg.routing_id = Some(Bytes::from_static(b"ID"));
    cfg.metadata.insert("X-App", "v");
    let mut hs = Handshake::new(cfg);
    let mut out = BytesMut::new();
    hs.poll_transmit(&mut out);
    // Signature carries routing_id_size + 1 = 3.
    assert_eq!(&out[..], b"\xff\x00\x00\x00\x00\x00\x00\x00\x03\x7f");
    let mut input = BytesMut::from(&libzmq_null_greeting()[..]);
    hs.feed(&mut input).unwrap();
    out.clear();
    hs.poll_transmit(&mut out);
    let mut expected = libzmq_null_greeting()[10..].to_vec();
    expected.extend_from_slice(
        b"\x04\x36\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER\x08Identity\x00\x00\x00\x02ID\x05X-App\x00\x00\x00\x01v",
    );
    assert_eq!(&out[..], &expected[..]);
}

#[test]
fn frame_headers() {
    let mut out = BytesMut::new();
    encode_frame(false, false, b"", &mut out);
    encode_frame(true, false, b"hi", &mut out);
    encode_frame(false, false, &[0xAA; 255], &mut out);
    encode_frame(false, false, &[0xBB; 256], &mut out);
    assert_eq!(&out[..2], b"\x00\x00");
    assert_eq!(&out[2..6], b"\x01\x02hi");
    assert_eq!(&out[6..8], b"\x00\xff");
    assert_eq!(
        &out[8 + 255..8 + 255 + 9],
        b"\x02\x00\x00\x00\x00\x00\x00\x01\x00"
    );
    assert_eq!(out.len(), 2 + 4 + 2 + 255 + 9 + 256);

    let mut h = [0u8; 9];
    assert_eq!(encode_header(true, false, 1 << 40, &mut h), 9);
    assert_eq!(h, *b"\x03\x00\x00\x01\x00\x00\x00\x00\x00");
}

#[test]
fn commands() {
    let cases: Vec<(Command, &[u8])> = vec![
        (
            Command::Subscribe(Bytes::from_static(b"topic")),
            b"\x04\x0f\x09SUBSCRIBEtopic",
        ),
        (
            Command::Cancel(Bytes::from_static(b"topic")),
            b"\x04\x0c\x06CANCELtopic",
        ),
        (
            Command::Ping {
                ttl_deciseconds: 300,
                context: Bytes::new(),
            },
            b"\x04\x07\x04PING\x01\x2c",
        ),
        (
            Command::Ping {
                ttl_deciseconds: 0,
                context: Bytes::from_static(b"0123456789abcdef"),
            },
            b"\x04\x17\x04PING\x00\x000123456789abcdef",
        ),
        (
            Command::Pong {
                context: Bytes::new(),
            },
            b"\x04\x05\x04PONG",
        ),
        (
            Command::Pong {
                context: Bytes::from_static(b"ctx"),
            },
            b"\x04\x08\x04PONGctx",
        ),
        (
            Command::Error {
                reason: Bytes::from_static(b"Invalid socket type"),
            },
            b"\x04\x1a\x05ERROR\x13Invalid socket type",
        ),
        (
            Command::Unknown {
                name: Bytes::from_static(b"JOIN"),
                data: Bytes::from_static(b"g"),
            },
            b"\x04\x06\x04JOINg",
        ),
    ];
    for (cmd, wire) in cases {
        let mut out = BytesMut::new();
        cmd.encode(&mut out);
        assert_eq!(&out[..], wire, "{cmd:?}");
        assert_eq!(
            usize::from(wire[1]),
            wire.len() - 2,
            "length byte of {cmd:?}"
        );
        let frame = FrameDecoder::new(None).decode(&mut out).unwrap().unwrap();
        assert!(frame.command && !frame.more);
        assert_eq!(Command::parse(&frame.body).unwrap(), cmd);
    }
}

#[test]
fn metadata_wire_format() {
    let mut m = Metadata::new();
    m.insert("Socket-Type", "DEALER");
    m.insert("Identity", Bytes::from_static(b"\x01\x02"));
    let mut out = BytesMut::new();
    m.encode(&mut out);
    assert_eq!(
        &out[..],
        b"\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x02\x01\x02"
    );
    assert_eq!(m.encoded_len(), out.len());
}
