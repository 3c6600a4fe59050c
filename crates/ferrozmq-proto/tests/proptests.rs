//! Property tests: encode/decode round trips, and "never panics, consumes
//! nothing on error" for arbitrary input.

use bytes::{BufMut, Bytes, BytesMut};
use ferrozmq_proto::fuzzing::{fuzz_frame_decoder, fuzz_handshake};
use ferrozmq_proto::*;
use proptest::prelude::*;

fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![]),
        Just(vec![0x55; 255]),
        Just(vec![0x66; 256]),
        prop::collection::vec(any::<u8>(), 0..600),
    ]
}

fn name_strategy() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._+-]{1,40}"
}

fn metadata_strategy() -> impl Strategy<Value = Metadata> {
    prop::collection::vec(
        (name_strategy(), prop::collection::vec(any::<u8>(), 0..300)),
        0..6,
    )
    .prop_map(|props| {
        let mut m = Metadata::new();
        for (n, v) in props {
            m.insert(&n, v);
        }
        m
    })
}

fn command_strategy() -> impl Strategy<Value = Command> {
    let bytes = |max: usize| prop::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from);
    prop_oneof![
        metadata_strategy().prop_map(Command::Ready),
        bytes(256).prop_map(|reason| Command::Error { reason }),
        bytes(400).prop_map(Command::Subscribe),
        bytes(400).prop_map(Command::Cancel),
        (any::<u16>(), bytes(17)).prop_map(|(ttl_deciseconds, context)| Command::Ping {
            ttl_deciseconds,
            context
        }),
        bytes(40).prop_map(|context| Command::Pong { context }),
        ("[A-Z]{1,20}", bytes(300))
            .prop_filter("known names parse differently", |(n, _)| {
                !matches!(
                    n.as_str(),
                    "READY" | "ERROR" | "SUBSCRIBE" | "CANCEL" | "PING" | "PONG"
                )
            })
            .prop_map(|(n, data)| Command::Unknown {
                name: Bytes::from(n.into_bytes()),
                data
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn frame_round_trip(more: bool, command: bool, body in body_strategy()) {
        let mut buf = BytesMut::new();
        encode_frame(more, command, &body, &mut buf);
        let expected_header = if body.len() <= 255 { 2 } else { 9 };
        prop_assert_eq!(buf.len(), expected_header + body.len());
        let h = FrameDecoder::new(None).decode_header(&buf).unwrap().unwrap();
        prop_assert_eq!(h, FrameHeader { more, command, header_len: expected_header, body_len: body.len() as u64 });
        let f = FrameDecoder::new(None).decode(&mut buf).unwrap().unwrap();
        prop_assert_eq!(f, Frame { more, command, body: Bytes::from(body) });
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn frame_stream_split_anywhere(
        frames in prop::collection::vec((any::<bool>(), any::<bool>(), body_strategy()), 0..8),
        chunk in 1usize..700,
    ) {
        let mut wire = BytesMut::new();
        for (m, c, b) in &frames {
            encode_frame(*m, *c, b, &mut wire);
        }
        let dec = FrameDecoder::new(Some(600));
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            buf.put_slice(piece);
            while let Some(f) = dec.decode(&mut buf).unwrap() {
                got.push((f.more, f.command, f.body.to_vec()));
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, frames);
    }

    #[test]
    fn command_round_trip(cmd in command_strategy()) {
        let mut buf = BytesMut::new();
        cmd.encode(&mut buf);
        let f = FrameDecoder::new(None).decode(&mut buf).unwrap().unwrap();
        prop_assert!(f.command && !f.more && buf.is_empty());
        prop_assert_eq!(f.body.len(), cmd.body_len());
        let parsed = Command::parse(&f.body);
        match &cmd {
            // Over-long PING contexts are truncated on encode (RFC 37: max 16).
            Command::Ping { ttl_deciseconds, context } if context.len() > 16 => {
                prop_assert_eq!(parsed.unwrap(), Command::Ping {
                    ttl_deciseconds: *ttl_deciseconds,
                    context: context.slice(..16),
                });
            }
            Command::Error { reason } if reason.len() > 255 => {
                prop_assert_eq!(parsed.unwrap(), Command::Error { reason: reason.slice(..255) });
            }
            _ => prop_assert_eq!(parsed.unwrap(), cmd.clone()),
        }
    }

    #[test]
    fn metadata_round_trip(m in metadata_strategy()) {
        let mut buf = BytesMut::new();
        m.encode(&mut buf);
        prop_assert_eq!(buf.len(), m.encoded_len());
        prop_assert_eq!(Metadata::parse(&buf).unwrap(), m);
    }

    #[test]
    fn metadata_parse_never_panics(data in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(m) = Metadata::parse(&data) {
            let mut buf = BytesMut::new();
            m.encode(&mut buf);
            prop_assert_eq!(&buf[..], &data[..]);
        }
    }

    #[test]
    fn command_parse_never_panics(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Command::parse(&Bytes::from(data));
    }

    #[test]
    fn decoder_never_panics_and_consumes_nothing_on_error(
        data in prop::collection::vec(any::<u8>(), 0..1200),
    ) {
        // The fuzz body asserts the invariants itself.
        fuzz_frame_decoder(&data);
        let dec = FrameDecoder::new(Some(100));
        let mut buf = BytesMut::from(&data[..]);
        loop {
            let before = buf.len();
            match dec.decode(&mut buf) {
                Ok(Some(_)) => prop_assert!(buf.len() < before || before == 0),
                Ok(None) | Err(_) => { prop_assert_eq!(buf.len(), before); break; }
            }
        }
    }

    #[test]
    fn decoder_on_long_headers(flags: u8, len: u64, tail in prop::collection::vec(any::<u8>(), 0..16)) {
        let mut buf = BytesMut::new();
        buf.put_u8(flags | FLAG_LONG);
        buf.put_u64(len);
        buf.put_slice(&tail);
        let before = buf.len();
        match FrameDecoder::new(None).decode(&mut buf) {
            Err(ProtocolError::FrameTooLarge { size, .. }) => {
                prop_assert!(len > i64::MAX as u64);
                prop_assert_eq!(size, len);
                prop_assert_eq!(buf.len(), before);
            }
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
            Ok(Some(f)) => prop_assert_eq!(f.body.len() as u64, len),
            Ok(None) => prop_assert!(len > tail.len() as u64),
        }
    }

    #[test]
    fn handshake_feed_never_panics(data in prop::collection::vec(any::<u8>(), 0..400)) {
        fuzz_handshake(&data);
    }

    #[test]
    fn handshake_feed_after_valid_greeting_never_panics(
        socket in 0usize..21,
        step in 1usize..80,
        tail in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut data = vec![(socket as u8) | 0x40, step as u8];
        data.extend(tail);
        fuzz_handshake(&data);
    }

    #[test]
    fn handshake_pairs_complete(
        a in 0usize..21, b in 0usize..21,
        chunk_a in 1usize..100, chunk_b in 1usize..100,
        rid in prop::option::of(prop::collection::vec(1u8..=255, 1..255)),
        meta in metadata_strategy(),
    ) {
        let (ta, tb) = (SocketType::ALL[a], SocketType::ALL[b]);
        let mut ca = HandshakeConfig::new(ta);
        ca.routing_id = rid.clone().map(Bytes::from);
        ca.metadata = meta.clone();
        let cb = HandshakeConfig::new(tb);
        let mut ha = Handshake::new(ca);
        let mut hb = Handshake::new(cb);
        let (mut a2b, mut b2a) = (BytesMut::new(), BytesMut::new());
        let (mut ina, mut inb) = (BytesMut::new(), BytesMut::new());
        let (mut ra, mut rb) = (None, None);
        for _ in 0..10_000 {
            ha.poll_transmit(&mut a2b);
            hb.poll_transmit(&mut b2a);
            let n = a2b.len().min(chunk_a);
            inb.put_slice(&a2b.split_to(n));
            let n = b2a.len().min(chunk_b);
            ina.put_slice(&b2a.split_to(n));
            if ra.is_none() {
                match ha.feed(&mut ina) {
                    Ok(HandshakeStatus::InProgress) | Ok(HandshakeStatus::ZapRequest(_)) => {}
                    Ok(HandshakeStatus::Complete(p)) => ra = Some(Ok(p)),
                    Err(e) => ra = Some(Err(e)),
                }
            }
            if rb.is_none() {
                match hb.feed(&mut inb) {
                    Ok(HandshakeStatus::InProgress) | Ok(HandshakeStatus::ZapRequest(_)) => {}
                    Ok(HandshakeStatus::Complete(p)) => rb = Some(Ok(p)),
                    Err(e) => rb = Some(Err(e)),
                }
            }
            if ra.is_some() && rb.is_some() {
                break;
            }
            let failed = matches!(ra, Some(Err(_))) || matches!(rb, Some(Err(_)));
            if failed && a2b.is_empty() && b2a.is_empty() {
                // The failed side closes; the other may never see a READY.
                break;
            }
        }
        if ta.is_compatible_with(tb) {
            let pa = ra.expect("A finished").unwrap();
            let pb = rb.expect("B finished").unwrap();
            prop_assert_eq!(pa.socket_type, Some(tb));
            prop_assert_eq!(pb.socket_type, Some(ta));
            let sends_identity = matches!(ta, SocketType::Req | SocketType::Dealer | SocketType::Router);
            if sends_identity {
                prop_assert_eq!(pb.routing_id, Some(Bytes::from(rid.unwrap_or_default())));
            } else {
                prop_assert_eq!(pb.routing_id, None);
            }
            for (n, v) in meta.iter() {
                if n.eq_ignore_ascii_case("Socket-Type") || n.eq_ignore_ascii_case("Identity") {
                    continue;
                }
                prop_assert_eq!(pb.metadata.get(n), Some(v));
            }
        } else {
            // Each side either refused the other's READY, or never got one
            // because the other side failed first and closed; at least one refused.
            let refused = |r: &Option<Result<PeerInfo, ProtocolError>>| {
                matches!(r, Some(Err(ProtocolError::IncompatibleSocketType { .. })))
            };
            prop_assert!(refused(&ra) || refused(&rb));
            prop_assert!(refused(&ra) || ra.is_none());
            prop_assert!(refused(&rb) || rb.is_none());
        }
    }
}
