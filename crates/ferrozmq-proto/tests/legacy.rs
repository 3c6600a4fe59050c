//! ZMTP 1.0 (RFC 13) and 2.0 (RFC 15) peers: byte-exact transcripts of the
//! downgrade libzmq performs (reference §5.3, `zmtp_engine.cpp`), written
//! from the RFCs, in both directions, whole and byte by byte; plus V1/V2
//! codec round trips.

use bytes::{Bytes, BytesMut};
use ferrozmq_proto::*;
use proptest::prelude::*;

const SIG_EMPTY_ID: &[u8] = b"\xff\0\0\0\0\0\0\0\x01\x7f";

/// Feeds `peer` to a fresh handshake `step` bytes at a time, polling our
/// output after each step. Returns our whole output, the result and the
/// unconsumed input.
fn run(
    cfg: HandshakeConfig,
    peer: &[u8],
    step: usize,
) -> (Vec<u8>, Result<PeerInfo, ProtocolError>, BytesMut) {
    let mut hs = Handshake::new(cfg);
    let mut out = BytesMut::new();
    hs.poll_transmit(&mut out);
    let mut input = BytesMut::new();
    let mut result = None;
    for chunk in peer.chunks(step.max(1)) {
        input.extend_from_slice(chunk);
        match hs.feed(&mut input) {
            Ok(HandshakeStatus::InProgress) => {}
            Ok(HandshakeStatus::Complete(p)) => {
                result = Some(Ok(p));
                break;
            }
            Ok(HandshakeStatus::ZapRequest(r)) => panic!("{r:?}"),
            Err(e) => {
                result = Some(Err(e));
                break;
            }
        }
        hs.poll_transmit(&mut out);
    }
    hs.poll_transmit(&mut out);
    (
        out.to_vec(),
        result.unwrap_or(Err(ProtocolError::UnexpectedCommand)),
        input,
    )
}

fn cfg(t: SocketType, id: Option<&'static [u8]>) -> HandshakeConfig {
    let mut c = HandshakeConfig::new(t);
    c.routing_id = id.map(Bytes::from_static);
    c
}

/// Feeds the whole stream at once and byte by byte; both must agree.
fn both_ways(make: impl Fn() -> HandshakeConfig, peer: &[u8]) -> (Vec<u8>, PeerInfo, BytesMut) {
    let (out_all, res_all, rest_all) = run(make(), peer, peer.len());
    let (out_one, res_one, rest_one) = run(make(), peer, 1);
    let p = res_all.expect("handshake completes");
    assert_eq!(res_one.as_ref(), Ok(&p), "byte-at-a-time agrees");
    assert_eq!(out_all, out_one, "same bytes sent either way");
    // Byte by byte stops at completion, having consumed exactly the handshake.
    assert!(rest_one.is_empty());
    (out_all, p, rest_all)
}

#[test]
fn unversioned_1_0_peer_anonymous() {
    // RFC 13: `anonymous = %x01 idflags` then a message "hello":
    // length 6 (body + flags), flags 0, body.
    let peer = b"\x01\x00\x06\x00hello";
    let (out, p, mut rest) = both_ways(|| cfg(SocketType::Pull, None), peer);
    // We sent only the signature: RFC 15 §"Backwards Interoperability": the
    // 10 octets are the header of our identity frame (length 1 = empty
    // identity), whose body is empty.
    assert_eq!(out, SIG_EMPTY_ID);
    assert_eq!(p.version, ZmtpVersion::V1_0);
    assert_eq!(p.format, WireFormat::V1);
    assert_eq!(p.socket_type, None);
    assert_eq!(p.routing_id.as_deref(), Some(&b""[..]));
    assert!(p.metadata.is_empty() && p.user_id.is_none() && !p.subscribe_all);
    let f = FrameDecoder::for_format(p.format, None)
        .decode(&mut rest)
        .unwrap()
        .unwrap();
    assert_eq!((f.more, &f.body[..]), (false, &b"hello"[..]));
}

#[test]
fn unversioned_1_0_peer_with_identity_and_our_identity() {
    // The peer's identity "peer" in RFC 13 long form (0xFF + 8-octet length
    // 5 + flags 0x00): detected at octet 10 (bit 0 of the flags clear).
    let peer = b"\xff\0\0\0\0\0\0\0\x05\x00peer\x03\x01ab\x01\x00";
    let (out, p, rest) = both_ways(|| cfg(SocketType::Dealer, Some(b"me!")), peer);
    // Signature with length 4 (3 + 1), then the identity body "me!".
    assert_eq!(out, b"\xff\0\0\0\0\0\0\0\x04\x7fme!");
    assert_eq!(p.routing_id.as_deref(), Some(&b"peer"[..]));
    assert_eq!(p.version, ZmtpVersion::V1_0);
    // A two-frame message follows: "ab" (MORE) and an empty frame.
    let d = FrameDecoder::for_format(WireFormat::V1, None);
    let mut rest = rest;
    let a = d.decode(&mut rest).unwrap().unwrap();
    let b = d.decode(&mut rest).unwrap().unwrap();
    assert!(a.more && &a.body[..] == b"ab");
    assert!(!b.more && b.body.is_empty());
    // Our frames to it, V1 framing (libzmq v1_encoder).
    let mut wire = BytesMut::new();
    encode_frame_for(WireFormat::V1, true, false, b"ab", &mut wire);
    encode_frame_for(WireFormat::V1, false, false, b"", &mut wire);
    assert_eq!(&wire[..], b"\x03\x01ab\x01\x00");
}

#[test]
fn unversioned_peer_gets_phantom_subscription_on_pub() {
    for (t, expect) in [
        (SocketType::Pub, true),
        (SocketType::XPub, true),
        (SocketType::Sub, false),
        (SocketType::Pair, false),
    ] {
        let (_, p, _) = both_ways(|| cfg(t, None), b"\x01\x00");
        assert_eq!(p.subscribe_all, expect, "{t}");
        assert!(!p.version.uses_subscribe_commands());
    }
}

#[test]
fn zmtp_2_0_peer() {
    // RFC 15: signature (FF, 8 x 00, 7F), revision 01, socket type DEALER
    // (05), identity "peer" as a final short frame, then "hello".
    let peer = b"\xff\0\0\0\0\0\0\0\0\x7f\x01\x05\x00\x04peer\x00\x05hello";
    let (out, p, mut rest) = both_ways(|| cfg(SocketType::Router, Some(b"rt")), peer);
    // Ours: signature (length 3 = "rt" + 1), major 3, our socket type
    // ROUTER (06) instead of the rest of a 3.x greeting, then our identity
    // as a V2 frame (libzmq routing_id_msg through v2_encoder).
    assert_eq!(out, b"\xff\0\0\0\0\0\0\0\x03\x7f\x03\x06\x00\x02rt");
    assert_eq!(p.version, ZmtpVersion::V2_0);
    assert_eq!(p.format, WireFormat::V2);
    assert_eq!(p.socket_type, Some(SocketType::Dealer));
    assert_eq!(p.routing_id.as_deref(), Some(&b"peer"[..]));
    assert!(!p.subscribe_all);
    let f = FrameDecoder::for_format(p.format, None)
        .decode(&mut rest)
        .unwrap()
        .unwrap();
    assert_eq!(&f.body[..], b"hello");
}

#[test]
fn zmtp_2_0_socket_type_is_not_checked_like_libzmq() {
    // libzmq handshake_v2_0 does not vet the peer's type: PUB accepted by a
    // PULL; an unknown type octet gives no socket type.
    let (_, p, _) = both_ways(
        || cfg(SocketType::Pull, None),
        b"\xff\0\0\0\0\0\0\0\x01\x7f\x01\x01\x00\x00",
    );
    assert_eq!(p.socket_type, Some(SocketType::Pub));
    let (_, p, _) = both_ways(
        || cfg(SocketType::Pull, None),
        b"\xff\0\0\0\0\0\0\0\x01\x7f\x01\xee\x00\x00",
    );
    assert_eq!(p.socket_type, None);
}

#[test]
fn revision_0_peer_uses_v1_framing() {
    // Revision 0 (libzmq handshake_v1_0): 12-octet greeting, then V1 frames.
    let peer = b"\xff\0\0\0\0\0\0\0\x01\x7f\x00\x08\x05\x00peer\x03\x00hi";
    let (out, p, mut rest) = both_ways(|| cfg(SocketType::Pull, None), peer);
    // Our identity as a V1 frame: length 1, flags 0.
    assert_eq!(out, b"\xff\0\0\0\0\0\0\0\x01\x7f\x03\x07\x01\x00");
    assert_eq!(p.version, ZmtpVersion::V1_0);
    assert_eq!(p.format, WireFormat::V1);
    assert_eq!(p.socket_type, Some(SocketType::Push));
    assert_eq!(p.routing_id.as_deref(), Some(&b"peer"[..]));
    assert!(
        !p.subscribe_all,
        "libzmq injects only for unversioned peers"
    );
    let f = FrameDecoder::for_format(WireFormat::V1, None)
        .decode(&mut rest)
        .unwrap()
        .unwrap();
    assert_eq!(&f.body[..], b"hi");
}

#[test]
fn legacy_identity_limits() {
    // RFC 13: identities are 1-255 octets; 256 is refused from its header.
    let mut peer = b"\xff\0\0\0\0\0\0\x01\x01\x00".to_vec();
    peer.extend_from_slice(&[b'x'; 256]);
    let (_, r, _) = run(cfg(SocketType::Pair, None), &peer, peer.len());
    assert_eq!(
        r,
        Err(ProtocolError::FrameTooLarge {
            size: 256,
            max: MAX_LEGACY_IDENTITY
        })
    );
    // 255 is fine.
    let mut peer = b"\xff\0\0\0\0\0\0\x01\x00\x00".to_vec();
    peer.extend_from_slice(&[b'x'; 255]);
    let (_, r, _) = run(cfg(SocketType::Pair, None), &peer, 7);
    assert_eq!(r.unwrap().routing_id.unwrap().len(), 255);
    // Length 0 is invalid (RFC 13), detected from the first octet.
    let (_, r, _) = run(cfg(SocketType::Pair, None), b"\x00", 1);
    assert!(matches!(r, Err(ProtocolError::InvalidFrame(_))));
    // V2 identity over 255 (long frame).
    let mut peer = b"\xff\0\0\0\0\0\0\0\x01\x7f\x01\x00\x02\0\0\0\0\0\0\x01\x00".to_vec();
    peer.extend_from_slice(&[0; 256]);
    let (_, r, _) = run(cfg(SocketType::Pair, None), &peer, 3);
    assert!(matches!(
        r,
        Err(ProtocolError::FrameTooLarge { size: 256, .. })
    ));
    // ZMQ_MAXMSGSIZE applies too.
    let mut c = cfg(SocketType::Pair, None);
    c.max_msg_size = Some(2);
    let (_, r, _) = run(c, b"\x05\x00peer", 9);
    assert!(matches!(
        r,
        Err(ProtocolError::FrameTooLarge { size: 4, max: 2 })
    ));
}

#[test]
fn truncated_legacy_identity_waits() {
    let peer = b"\xff\0\0\0\0\0\0\0\x01\x7f\x01\x05\x00\x04peer";
    for n in 0..peer.len() {
        let (_, r, _) = run(cfg(SocketType::Router, None), &peer[..n], 1);
        // run() reports "no result" as UnexpectedCommand.
        assert_eq!(r, Err(ProtocolError::UnexpectedCommand), "{n}");
    }
}

/// Our 3.x handshake against our own legacy-speaking transcript: a ZMTP 3
/// peer never downgrades by mistake.
#[test]
fn versioned_3_peer_is_not_downgraded() {
    let mut g = [0u8; 64];
    encode_greeting(MechanismName::Null, false, 0, &mut g);
    let mut peer = g.to_vec();
    let mut m = Metadata::new();
    m.insert("Socket-Type", "PUSH");
    let mut ready = BytesMut::new();
    Command::Ready(m).encode(&mut ready);
    peer.extend_from_slice(&ready);
    let (_, p, _) = both_ways(|| cfg(SocketType::Pull, None), &peer);
    assert_eq!(p.version, ZmtpVersion::V3_1);
    assert_eq!(p.format, WireFormat::V3);
}

proptest! {
    #[test]
    fn v1_v2_codec_round_trip(
        frames in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..600)), 1..8),
        v1 in any::<bool>(),
        split in 1usize..40,
    ) {
        let format = if v1 { WireFormat::V1 } else { WireFormat::V2 };
        let mut wire = BytesMut::new();
        for (more, body) in &frames {
            let mut h = [0u8; 10];
            let n = encode_header_for(format, *more, false, body.len() as u64, &mut h);
            // V1 short form exactly when body + 1 < 255; V2 when body <= 255.
            let short = if v1 { body.len() + 1 < 255 } else { body.len() <= 255 };
            prop_assert_eq!(n, if short { 2 } else if v1 { 10 } else { 9 });
            encode_frame_for(format, *more, false, body, &mut wire);
        }
        let d = FrameDecoder::for_format(format, None);
        // Deliver in pieces: decode never consumes a partial frame.
        let mut input = BytesMut::new();
        let mut got = Vec::new();
        for chunk in wire.chunks(split) {
            input.extend_from_slice(chunk);
            while let Some(f) = d.decode(&mut input).unwrap() {
                got.push((f.more, f.body.to_vec()));
            }
        }
        prop_assert!(input.is_empty());
        prop_assert_eq!(got, frames);
    }

    #[test]
    fn legacy_handshake_any_identity(
        id in proptest::collection::vec(any::<u8>(), 0..=255),
        ours in proptest::collection::vec(any::<u8>(), 0..=255),
        v2 in any::<bool>(),
        step in 1usize..20,
    ) {
        let mut peer = if v2 {
            b"\xff\0\0\0\0\0\0\0\x01\x7f\x01\x02".to_vec()
        } else {
            Vec::new()
        };
        let format = if v2 { WireFormat::V2 } else { WireFormat::V1 };
        let mut f = BytesMut::new();
        encode_frame_for(format, false, false, &id, &mut f);
        peer.extend_from_slice(&f);
        let mut c = HandshakeConfig::new(SocketType::Pub);
        c.routing_id = Some(Bytes::from(ours.clone()));
        let (out, r, rest) = run(c, &peer, step);
        let p = r.unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(p.routing_id.as_deref(), Some(&id[..]));
        prop_assert_eq!(p.format, format);
        prop_assert_eq!(p.subscribe_all, !v2);
        // Our side: signature with len(ours)+1, then (1.0) the identity body
        // or (2.0) major, type, identity frame.
        let mut expect = vec![0xffu8];
        expect.extend_from_slice(&((ours.len() as u64) + 1).to_be_bytes());
        expect.push(0x7f);
        if v2 {
            expect.extend_from_slice(&[3, SocketType::Pub.as_raw() as u8]);
            let mut f = BytesMut::new();
            encode_frame_for(WireFormat::V2, false, false, &ours, &mut f);
            expect.extend_from_slice(&f);
        } else {
            expect.extend_from_slice(&ours);
        }
        prop_assert_eq!(out, expect);
    }
}
