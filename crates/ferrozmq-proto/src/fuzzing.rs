//! Fuzz bodies shared by the cargo-fuzz targets in `/fuzz` and the stable
//! smoke test (`tests/fuzz_smoke.rs`, run by `scripts/fuzz-smoke.sh`), so
//! both exercise exactly the same code. Each function must never panic for
//! any input; the assertions in them are the invariants being fuzzed.
//! Not part of the supported API.

use bytes::{Bytes, BytesMut};

use crate::command::Command;
use crate::curve::KeyPair;
use crate::error::ProtocolError;
use crate::frame::{FrameDecoder, WireFormat};
use crate::greeting::{encode_greeting, MechanismName, GREETING_LEN};
use crate::handshake::{Handshake, HandshakeConfig, HandshakeStatus, MechanismConfig};
use crate::metadata::Metadata;
use crate::socket_type::SocketType;
use crate::zap::{ZapConfig, ZapReply};

/// Feeds `data` through [`FrameDecoder::decode`] until it stops, parsing every
/// command frame. Invariants: a frame consumes exactly header + body; `None`
/// and errors consume nothing; every parsed command re-encodes to a frame
/// that decodes and parses back to the same command; metadata round-trips.
pub fn fuzz_frame_decoder(data: &[u8]) {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    // Bits 0x0c pick the wire format: 0b11 = ZMTP 1.0 framing, else 3.x
    // (2.0 decodes exactly like 3.x).
    let format = if ctl & 0x0c == 0x0c {
        WireFormat::V1
    } else {
        WireFormat::V3
    };
    let limit = match ctl & 0x03 {
        0 => None,
        1 => Some(u64::from(ctl >> 2)),
        2 => Some(u64::from(ctl) * 1024),
        _ => Some(u64::MAX),
    };
    let decoder = FrameDecoder::for_format(format, limit).with_command_limit(if ctl & 0x80 != 0 {
        Some(64)
    } else {
        None
    });
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
                if format == WireFormat::V1 {
                    assert!(!frame.command);
                    let mut out = BytesMut::new();
                    crate::frame::encode_frame_for(
                        format,
                        frame.more,
                        false,
                        &frame.body,
                        &mut out,
                    );
                    let again = decoder
                        .decode(&mut out)
                        .expect("re-encoded V1 frame decodes");
                    assert_eq!(again.as_ref(), Some(&frame));
                } else if frame.command {
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

/// Whether `e` carries one of libzmq's ZMTP (0x1xxxxxxx) or ZAP
/// (0x2000000x) protocol error codes.
fn is_libzmq_code(e: &ProtocolError) -> bool {
    let c = e.code();
    (0x1000_0000..0x1200_0000).contains(&c) || (0x2000_0000..=0x2000_0005).contains(&c)
}

/// Runs a [`Handshake`] over `data`. The first byte picks the socket type,
/// role, a size limit and whether a valid NULL greeting is prepended (so the
/// fuzzer reaches READY parsing quickly); the second picks how many bytes are
/// delivered per `feed` and, with bit 0x80 of the first, whether a ZAP
/// domain and handler are configured (bit 0x04) and the ZAP status given
/// (bits 0x18). Without a prepended greeting the bytes reach the ZMTP
/// 1.0/2.0 downgrade paths too. Invariants: no panic; errors are sticky and
/// carry libzmq codes; a ZAP denial sends ERROR only for 400/500; after
/// `Complete` nothing more is consumed and a ZMTP 3.x peer's type is
/// compatible.
pub fn fuzz_handshake(data: &[u8]) -> HandshakeOutcome {
    let (ctl, step_byte, body) = match data {
        [ctl, step, body @ ..] => (*ctl, *step, body),
        _ => return HandshakeOutcome::InProgress,
    };
    let step = usize::from(step_byte).max(1);
    let socket_type = SocketType::ALL[usize::from(ctl & 0x1f) % SocketType::ALL.len()];
    let mut config = HandshakeConfig::new(socket_type);
    config.as_server = ctl & 0x20 != 0;
    if ctl & 0x80 != 0 {
        config.max_msg_size = Some(step as u64 * 2);
        config.routing_id = Some(Bytes::from_static(b"fuzz"));
        if step_byte & 0x04 != 0 {
            config.zap = ZapConfig {
                handler: true,
                domain: Bytes::from_static(b"fuzz"),
                enforce_domain: false,
            };
        }
    }
    let zap_status = [200u16, 300, 400, 500][usize::from(step_byte >> 3) & 3];
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
    let mut zap_asked = false;
    for chunk in stream.chunks(step) {
        input.extend_from_slice(chunk);
        let mut status = hs.feed(&mut input);
        if let Ok(HandshakeStatus::ZapRequest(req)) = &status {
            assert!(!zap_asked, "ZAP request is returned once");
            zap_asked = true;
            assert_eq!(req.mechanism, "NULL");
            assert!(req.credentials.is_empty());
            assert!(hs.awaiting_zap_reply());
            let before = input.len();
            assert_eq!(hs.feed(&mut input), Ok(HandshakeStatus::InProgress));
            assert_eq!(input.len(), before, "nothing consumed while awaiting ZAP");
            let mut mark = BytesMut::new();
            hs.poll_transmit(&mut mark);
            match hs.zap_reply(ZapReply::with_status(zap_status)) {
                Ok(()) => {
                    assert_eq!(zap_status, 200);
                    status = hs.feed(&mut input);
                }
                Err(e) => {
                    assert_eq!(e.auth_status(), Some(zap_status));
                    let mut last = BytesMut::new();
                    hs.poll_transmit(&mut last);
                    if zap_status == 300 {
                        assert!(last.is_empty(), "300 closes silently");
                    } else {
                        assert!(last.ends_with(zap_status.to_string().as_bytes()));
                    }
                    assert!(hs.is_failed());
                    return HandshakeOutcome::Failed;
                }
            }
        }
        match status {
            Ok(HandshakeStatus::InProgress) => {
                assert!(!hs.is_complete() && !hs.is_failed());
                hs.poll_transmit(&mut out);
                assert!(out.len() <= 64 + 9 + 64 * 1024 + 300);
            }
            Ok(HandshakeStatus::ZapRequest(_)) => unreachable!("handled above"),
            Ok(HandshakeStatus::Complete(peer)) => {
                assert!(hs.is_complete());
                assert_eq!(peer.format, peer.version.wire_format());
                if peer.version.major >= 3 {
                    let t = peer.socket_type.expect("ZMTP 3 peers have a type");
                    assert!(socket_type.is_compatible_with(t));
                } else {
                    assert!(peer.metadata.is_empty());
                    assert!(peer.routing_id.as_ref().is_some_and(|r| r.len() <= 255));
                }
                assert!(hs.take_cipher().is_none());
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
                assert!(is_libzmq_code(&e), "{e:?}");
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

/// Fixed long-term keys for [`fuzz_curve_server`] (deterministic inputs).
fn fuzz_keys() -> (KeyPair, KeyPair) {
    (
        KeyPair::from_secret(&[0x42; 32]),
        KeyPair::from_secret(&[0x24; 32]),
    )
}

/// The CURVE server handshake under attack. A real CURVE client talks to a
/// CURVE server in memory; `data[0]` picks the mode, `data[1]` the bytes
/// moved per step, and the rest is either (raw mode, bit 0x80) bytes fed to
/// the server after a valid CURVE greeting, or a list of edits `(offset: u16
/// BE, xor: u8)` applied to the client's byte stream — corrupting HELLO,
/// INITIATE or the first MESSAGE at fuzzer-chosen places. Bit 0x01 binds a
/// ZAP handler (status from bits 0x0c), bit 0x02 gives the client a wrong
/// server key, bit 0x10 replays the first MESSAGE. Invariants: no panic;
/// errors are sticky and carry libzmq codes; with no edit the handshake
/// completes exactly when it should and the message round-trips; a wrong
/// server key never completes; replays are rejected.
pub fn fuzz_curve_server(data: &[u8]) -> HandshakeOutcome {
    let (ctl, step, rest) = match data {
        [ctl, step, rest @ ..] => (*ctl, usize::from(*step).max(1), rest),
        _ => return HandshakeOutcome::InProgress,
    };
    let (server_kp, client_kp) = fuzz_keys();
    let mut scfg = HandshakeConfig::new(SocketType::Pull);
    scfg.mechanism = MechanismConfig::Curve {
        server: true,
        public_key: server_kp.public,
        secret_key: *server_kp.secret(),
        server_key: None,
    };
    scfg.zap.handler = ctl & 0x01 != 0;
    let zap_status = [200u16, 300, 400, 500][usize::from(ctl >> 2) & 3];
    let wrong_key = ctl & 0x02 != 0;
    let mut server = Handshake::new(scfg);

    if ctl & 0x80 != 0 {
        // Raw mode: arbitrary bytes after a valid CURVE greeting.
        let mut g = [0u8; GREETING_LEN];
        encode_greeting(MechanismName::Curve, false, 0, &mut g);
        let mut stream = g.to_vec();
        stream.extend_from_slice(rest);
        let mut input = BytesMut::new();
        for chunk in stream.chunks(step) {
            input.extend_from_slice(chunk);
            match server.feed(&mut input) {
                Ok(HandshakeStatus::Complete(_)) => panic!("no client, no completion"),
                Ok(_) => {}
                Err(e) => {
                    assert!(is_libzmq_code(&e), "{e:?}");
                    assert_eq!(server.feed(&mut input).err(), Some(e));
                    return HandshakeOutcome::Failed;
                }
            }
        }
        return HandshakeOutcome::InProgress;
    }

    let edits: Vec<(usize, u8)> = rest
        .chunks_exact(3)
        .map(|e| (usize::from(u16::from_be_bytes([e[0], e[1]])), e[2]))
        .filter(|&(_, x)| x != 0)
        .collect();
    let mut ccfg = HandshakeConfig::new(SocketType::Push);
    let mut server_key = server_kp.public;
    if wrong_key {
        server_key[0] ^= 0x80;
    }
    ccfg.mechanism = MechanismConfig::Curve {
        server: false,
        public_key: client_kp.public,
        secret_key: *client_kp.secret(),
        server_key: Some(server_key),
    };
    let mut client = Handshake::new(ccfg);

    let (mut c_wire, mut s_wire) = (BytesMut::new(), BytesMut::new());
    let (mut c_in, mut s_in) = (BytesMut::new(), BytesMut::new());
    let mut c_offset = 0usize; // absolute offset of c_wire[0] in the client stream
    let mut applied = false;
    let (mut c_done, mut s_done) = (false, false);
    let mut s_err: Option<ProtocolError> = None;
    for _ in 0..10_000 {
        client.poll_transmit(&mut c_wire);
        server.poll_transmit(&mut s_wire);
        let n = c_wire.len().min(step);
        let mut moved = c_wire.split_to(n);
        for &(at, x) in &edits {
            if at >= c_offset && at < c_offset + n {
                moved[at - c_offset] ^= x;
                applied = true;
            }
        }
        c_offset += n;
        s_in.extend_from_slice(&moved);
        let n = s_wire.len().min(step);
        c_in.extend_from_slice(&s_wire.split_to(n));
        if !c_done && !client.is_failed() {
            match client.feed(&mut c_in) {
                Ok(HandshakeStatus::Complete(_)) => c_done = true,
                Ok(_) => {}
                Err(e) => assert!(is_libzmq_code(&e), "{e:?}"),
            }
        }
        if !s_done && s_err.is_none() {
            match server.feed(&mut s_in) {
                Ok(HandshakeStatus::Complete(peer)) => {
                    assert_eq!(peer.socket_type, Some(SocketType::Push));
                    s_done = true;
                }
                Ok(HandshakeStatus::ZapRequest(req)) => {
                    assert_eq!(req.mechanism, "CURVE");
                    assert_eq!(
                        req.credentials,
                        vec![Bytes::copy_from_slice(&client_kp.public)]
                    );
                    match server.zap_reply(ZapReply::with_status(zap_status)) {
                        Ok(()) => assert_eq!(zap_status, 200),
                        Err(e) => {
                            assert_eq!(e.auth_status(), Some(zap_status));
                            s_err = Some(e);
                        }
                    }
                }
                Ok(HandshakeStatus::InProgress) => {}
                Err(e) => {
                    assert!(is_libzmq_code(&e), "{e:?}");
                    assert_eq!(server.feed(&mut s_in).err(), Some(e.clone()));
                    s_err = Some(e);
                }
            }
        }
        let idle = c_wire.is_empty()
            && s_wire.is_empty()
            && !client.has_pending_output()
            && !server.has_pending_output();
        if (c_done && s_done) || (idle && (s_err.is_some() || client.is_failed())) {
            break;
        }
        if idle && c_in.is_empty() && s_in.is_empty() {
            break;
        }
    }
    let zap_denied = ctl & 0x01 != 0 && zap_status != 200;
    if wrong_key {
        assert!(!s_done && !c_done, "a wrong server key never completes");
    }
    if !applied && !wrong_key {
        assert_eq!(s_done, !zap_denied, "clean handshake: {s_err:?}");
        assert_eq!(c_done, !zap_denied);
    }
    if !s_done {
        return if s_err.is_some() {
            HandshakeOutcome::Failed
        } else {
            HandshakeOutcome::InProgress
        };
    }
    // Data phase: one message client → server through the ciphers, with the
    // edits that fall past the handshake applied to it.
    let (Some(mut cc), Some(mut sc)) = (client.take_cipher(), server.take_cipher()) else {
        return HandshakeOutcome::Complete;
    };
    assert!(client.take_cipher().is_none() && server.take_cipher().is_none());
    let mut wire = BytesMut::new();
    let more = ctl & 0x20 != 0;
    let command = ctl & 0x40 != 0;
    if cc
        .encrypt(more, command, b"fuzz message", &mut wire)
        .is_err()
    {
        return HandshakeOutcome::Complete;
    }
    let mut msg_applied = false;
    for &(at, x) in &edits {
        if at >= c_offset && at < c_offset + wire.len() {
            wire[at - c_offset] ^= x;
            msg_applied = true;
        }
    }
    let original = wire.clone();
    let decoder = FrameDecoder::new(None);
    match decoder.decode(&mut wire) {
        Ok(Some(frame)) => match sc.decrypt(frame.clone()) {
            Ok(inner) => {
                assert!(!msg_applied || inner.body.as_ref() == b"fuzz message");
                assert_eq!(&inner.body[..], b"fuzz message");
                assert_eq!((inner.more, inner.command), (more, command));
                if ctl & 0x10 != 0 {
                    assert_eq!(sc.decrypt(frame), Err(ProtocolError::InvalidSequence));
                }
            }
            Err(e) => {
                assert!(msg_applied, "clean MESSAGE must decrypt: {e:?}");
                assert!(is_libzmq_code(&e));
            }
        },
        Ok(None) => assert!(msg_applied),
        Err(e) => assert!(msg_applied && is_libzmq_code(&e), "{e:?} {original:?}"),
    }
    HandshakeOutcome::Complete
}
