//! Fuzz bodies shared by the cargo-fuzz targets in `/fuzz` and the stable
//! smoke test (`tests/fuzz_smoke.rs`, run by `scripts/fuzz-smoke.sh`), so
//! both exercise exactly the same code. Each function must never panic for
//! any input; the assertions in them are the invariants being fuzzed.
//! Not part of the supported API.

use bytes::BytesMut;

use crate::command::Command;
use crate::frame::FrameDecoder;
use crate::greeting::{encode_greeting, MechanismName, GREETING_LEN};
use crate::handshake::{Handshake, HandshakeConfig, HandshakeStatus};
use crate::metadata::Metadata;
use crate::socket_type::SocketType;

/// Feeds `data` through [`FrameDecoder::decode`] until it stops, parsing every
/// command frame. Invariants: a frame consumes exactly header + body; `None`
/// and errors consume nothing; every parsed command re-encodes to a frame
/// that decodes and parses back to the same command; metadata round-trips.
pub fn fuzz_frame_decoder(data: &[u8]) {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let limit = match ctl & 0x03 {
        0 => None,
        1 => Some(u64::from(ctl >> 2)),
        2 => Some(u64::from(ctl) * 1024),
        _ => Some(u64::MAX),
    };
    let decoder =
        FrameDecoder::new(limit).with_command_limit(if ctl & 0x80 != 0 { Some(64) } else { None });
    let mut buf = BytesMut::from(rest);
    loop {
        let before = buf.len();
        let header = decoder.decode_header(&buf);
        match decoder.decode(&mut buf) {
            Ok(Some(frame)) => {
                let h = header
                    .ok()
                    .flatten()
                    .expect("decode succeeded but header did not");
                assert_eq!(before - buf.len(), h.header_len + frame.body.len());
                assert_eq!(h.body_len, frame.body.len() as u64);
                if let Some(max) = limit {
                    assert!(h.body_len <= max);
                }
                if frame.command {
                    check_command_round_trip(&frame.body);
                } else {
                    // Message bodies are opaque; try them as metadata too.
                    if let Ok(m) = Metadata::parse(&frame.body) {
                        let mut out = BytesMut::new();
                        m.encode(&mut out);
                        assert_eq!(&out[..], &frame.body[..]);
                    }
                }
            }
            Ok(None) => {
                assert_eq!(buf.len(), before);
                assert!(matches!(header, Ok(None) | Ok(Some(_))));
                break;
            }
            Err(e) => {
                assert_eq!(buf.len(), before, "error must consume nothing");
                assert_eq!(header, Err(e));
                break;
            }
        }
    }
}

fn check_command_round_trip(body: &bytes::Bytes) {
    let Ok(cmd) = Command::parse(body) else {
        return;
    };
    let mut out = BytesMut::new();
    cmd.encode(&mut out);
    assert_eq!(
        out.len() - cmd.body_len(),
        if cmd.body_len() > 255 { 9 } else { 2 }
    );
    let frame = FrameDecoder::new(None)
        .decode(&mut out)
        .expect("re-encoded command must decode")
        .expect("re-encoded command must be complete");
    assert!(frame.command && !frame.more && out.is_empty());
    assert_eq!(Command::parse(&frame.body).as_ref(), Ok(&cmd));
}

/// How a [`fuzz_handshake`] run ended; lets a harness check it reaches deep states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeOutcome {
    /// The input was too short to start, or ran out mid-handshake.
    InProgress,
    /// The handshake completed.
    Complete,
    /// The handshake failed with a protocol error.
    Failed,
}

/// Runs a [`Handshake`] over `data`. The first byte picks the socket type,
/// role, a size limit and whether a valid greeting is prepended (so the fuzzer
/// reaches READY parsing quickly); the second picks how many bytes are
/// delivered per `feed`. Invariants: no panic; errors are sticky; after
/// `Complete` nothing more is consumed and the peer's type is compatible.
pub fn fuzz_handshake(data: &[u8]) -> HandshakeOutcome {
    let (ctl, step, body) = match data {
        [ctl, step, body @ ..] => (*ctl, usize::from(*step).max(1), body),
        _ => return HandshakeOutcome::InProgress,
    };
    let socket_type = SocketType::ALL[usize::from(ctl & 0x1f) % SocketType::ALL.len()];
    let mut config = HandshakeConfig::new(socket_type);
    config.as_server = ctl & 0x20 != 0;
    if ctl & 0x80 != 0 {
        config.max_msg_size = Some(step as u64 * 2);
        config.routing_id = Some(bytes::Bytes::from_static(b"fuzz"));
    }
    let mut stream = Vec::with_capacity(GREETING_LEN + body.len());
    if ctl & 0x40 != 0 {
        let mut g = [0u8; GREETING_LEN];
        encode_greeting(MechanismName::Null, false, 0, &mut g);
        stream.extend_from_slice(&g);
    }
    stream.extend_from_slice(body);

    let mut hs = Handshake::new(config);
    let mut out = BytesMut::new();
    hs.poll_transmit(&mut out);
    assert_eq!(out.len(), 10, "first output is the signature only");
    let mut input = BytesMut::new();
    for chunk in stream.chunks(step) {
        input.extend_from_slice(chunk);
        match hs.feed(&mut input) {
            Ok(HandshakeStatus::InProgress) => {
                assert!(!hs.is_complete() && !hs.is_failed());
                hs.poll_transmit(&mut out);
                assert!(out.len() <= 64 + 9 + 64 * 1024);
            }
            Ok(HandshakeStatus::Complete(peer)) => {
                assert!(hs.is_complete());
                assert!(socket_type.is_compatible_with(peer.socket_type));
                hs.poll_transmit(&mut out);
                assert!(!hs.has_pending_output());
                let before = input.len();
                input.extend_from_slice(b"\x00\x00");
                assert!(matches!(
                    hs.feed(&mut input),
                    Ok(HandshakeStatus::Complete(_))
                ));
                assert_eq!(input.len(), before + 2);
                return HandshakeOutcome::Complete;
            }
            Err(e) => {
                assert!(e.code() >= 0x1000_0000 && e.code() < 0x1200_0000);
                assert!(hs.is_failed());
                let before = input.len();
                assert_eq!(hs.feed(&mut input).err(), Some(e));
                assert_eq!(input.len(), before);
                let mut more = BytesMut::new();
                hs.poll_transmit(&mut more);
                assert!(more.is_empty());
                return HandshakeOutcome::Failed;
            }
        }
    }
    HandshakeOutcome::InProgress
}
