//! PLAIN (RFC 24) and CURVE (RFC 25/26) handshakes between two `Handshake`s
//! in memory, with ZAP (RFC 27) answers, and attacks on the CURVE server:
//! forged, truncated and replayed commands, wrong keys, bad MESSAGEs.

use bytes::{Bytes, BytesMut};
use ferrozmq_proto::curve::KeyPair;
use ferrozmq_proto::*;

type Zap<'a> = &'a mut (dyn FnMut(ZapRequest) -> ZapReply + 'a);

struct Outcome {
    a: Option<Result<PeerInfo, ProtocolError>>,
    b: Option<Result<PeerInfo, ProtocolError>>,
    ha: Handshake,
    hb: Handshake,
    /// Bytes A sent that B did not consume (and vice versa).
    a_to_b: BytesMut,
}

/// Runs A against B moving at most `chunk` bytes per direction per step.
fn drive<'z>(
    a: HandshakeConfig,
    b: HandshakeConfig,
    chunk: usize,
    zap_a: Zap<'z>,
    zap_b: Zap<'z>,
) -> Outcome {
    let mut ha = Handshake::new(a);
    let mut hb = Handshake::new(b);
    let (mut wa, mut wb) = (BytesMut::new(), BytesMut::new());
    let (mut ia, mut ib) = (BytesMut::new(), BytesMut::new());
    let (mut ra, mut rb) = (None, None);
    for _ in 0..200_000 {
        ha.poll_transmit(&mut wa);
        hb.poll_transmit(&mut wb);
        let n = wa.len().min(chunk);
        ib.extend_from_slice(&wa.split_to(n));
        let n = wb.len().min(chunk);
        ia.extend_from_slice(&wb.split_to(n));
        for (h, input, res, zap) in [
            (&mut ha, &mut ia, &mut ra, &mut *zap_a),
            (&mut hb, &mut ib, &mut rb, &mut *zap_b),
        ] {
            if res.is_some() {
                continue;
            }
            match h.feed(input) {
                Ok(HandshakeStatus::Complete(p)) => *res = Some(Ok(p)),
                Ok(HandshakeStatus::ZapRequest(req)) => {
                    if let Err(e) = h.zap_reply(zap(req)) {
                        *res = Some(Err(e));
                    }
                }
                Ok(HandshakeStatus::InProgress) => {}
                Err(e) => *res = Some(Err(e)),
            }
        }
        let quiet =
            wa.is_empty() && wb.is_empty() && !ha.has_pending_output() && !hb.has_pending_output();
        if quiet && (ra.is_some() && rb.is_some()) {
            break;
        }
        if quiet
            && (ra.as_ref().is_some_and(|r| r.is_err()) || rb.as_ref().is_some_and(|r| r.is_err()))
        {
            break;
        }
    }
    ib.extend_from_slice(&wa);
    Outcome {
        a: ra,
        b: rb,
        ha,
        hb,
        a_to_b: ib,
    }
}

fn no_zap() -> impl FnMut(ZapRequest) -> ZapReply {
    |r| panic!("unexpected ZAP request {r:?}")
}

fn plain(t: SocketType, server: bool, user: &[u8], pass: &[u8]) -> HandshakeConfig {
    let mut c = HandshakeConfig::new(t);
    c.mechanism = MechanismConfig::Plain {
        server,
        username: user.to_vec(),
        password: pass.to_vec(),
    };
    if server {
        c.zap.handler = true;
    }
    c
}

fn curve(t: SocketType, kp: &KeyPair, server_key: Option<[u8; 32]>) -> HandshakeConfig {
    let mut c = HandshakeConfig::new(t);
    c.mechanism = MechanismConfig::Curve {
        server: server_key.is_none(),
        public_key: kp.public,
        secret_key: *kp.secret(),
        server_key,
    };
    c
}

#[test]
fn plain_both_roles_byte_at_a_time() {
    for chunk in [1, 3, 64, 10_000] {
        // Client DEALER → server ROUTER, and client ROUTER → server DEALER.
        for (ct, st) in [
            (SocketType::Dealer, SocketType::Router),
            (SocketType::Router, SocketType::Dealer),
        ] {
            let mut c = plain(ct, false, b"admin", b"secret");
            c.routing_id = Some(Bytes::from_static(b"cid"));
            let s = plain(st, true, b"", b"");
            let mut seen = Vec::new();
            let mut zap = |r: ZapRequest| {
                seen.push(r);
                let mut reply = ZapReply::ok("admin-user");
                reply.metadata.insert("X-Role", "ops");
                reply.metadata.insert("Socket-Type", "FAKE");
                reply
            };
            let o = drive(c, s, chunk, &mut no_zap(), &mut zap);
            let pc = o.a.unwrap().unwrap();
            let ps = o.b.unwrap().unwrap();
            assert_eq!(seen.len(), 1);
            assert_eq!(seen[0].mechanism, "PLAIN");
            assert_eq!(
                seen[0].credentials,
                vec![Bytes::from_static(b"admin"), Bytes::from_static(b"secret")]
            );
            assert_eq!(pc.socket_type, Some(st));
            assert_eq!(ps.socket_type, Some(ct));
            assert_eq!(ps.routing_id.as_deref(), Some(&b"cid"[..]));
            assert_eq!(ps.user_id.as_deref(), Some(&b"admin-user"[..]));
            assert!(pc.user_id.is_none());
            // libzmq's merge: User-Id, ZAP metadata (winning), then the peer's.
            let names: Vec<&str> = ps.metadata.iter().map(|(n, _)| n).collect();
            assert_eq!(names, ["User-Id", "X-Role", "Socket-Type", "Identity"]);
            assert_eq!(
                ps.metadata.get("Socket-Type").map(|v| &v[..]),
                Some(&b"FAKE"[..])
            );
            assert!(o.a_to_b.is_empty());
        }
    }
}

#[test]
fn plain_wire_bytes() {
    let mut hs = Handshake::new(plain(SocketType::Push, false, b"u", b"pw"));
    let mut out = BytesMut::new();
    hs.poll_transmit(&mut out);
    let mut g = [0u8; 64];
    encode_greeting(MechanismName::Plain, false, 0, &mut g);
    let mut input = BytesMut::from(&g[..]);
    hs.feed(&mut input).unwrap();
    hs.poll_transmit(&mut out);
    // Greeting names PLAIN, as-server 0 (libzmq); then HELLO.
    assert_eq!(&out[..64], &g[..]);
    assert_eq!(&out[12..17], b"PLAIN");
    assert_eq!(out[32], 0);
    assert_eq!(&out[64..], b"\x04\x0b\x05HELLO\x01u\x02pw");
}

#[test]
fn plain_zap_denials() {
    for status in [300u16, 400, 500] {
        let o = drive(
            plain(SocketType::Push, false, b"u", b"p"),
            plain(SocketType::Pull, true, b"", b""),
            1,
            &mut no_zap(),
            &mut |_| ZapReply::with_status(status),
        );
        let es = o.b.unwrap().unwrap_err();
        assert_eq!(es, ProtocolError::AuthFailed { status });
        assert_eq!(es.auth_status(), Some(status));
        match status {
            // 300: silent; the client just waits (the server closes).
            300 => assert!(o.a.is_none()),
            _ => {
                let ec = o.a.unwrap().unwrap_err();
                assert_eq!(
                    ec,
                    ProtocolError::PeerError {
                        reason: status.to_string()
                    }
                );
                assert_eq!(ec.auth_status(), Some(status));
            }
        }
        let mut rest = BytesMut::new();
        let mut hb = o.hb;
        hb.poll_transmit(&mut rest);
        assert!(rest.is_empty(), "the ERROR went out once");
    }
}

#[test]
fn plain_server_error_is_libzmqs_form() {
    // libzmq 4.3 sends PLAIN ERROR as "^RROR" (its "\x05ERROR" C literal).
    let mut hs = Handshake::new(plain(SocketType::Pull, true, b"", b""));
    let mut out = BytesMut::new();
    hs.poll_transmit(&mut out);
    let mut g = [0u8; 64];
    encode_greeting(MechanismName::Plain, false, 0, &mut g);
    let mut input = BytesMut::from(&g[..]);
    input.extend_from_slice(b"\x04\x08\x05HELLO\x00\x00");
    assert!(matches!(
        hs.feed(&mut input),
        Ok(HandshakeStatus::ZapRequest(_))
    ));
    out.clear();
    hs.poll_transmit(&mut out);
    assert_eq!(
        hs.zap_reply(ZapReply::with_status(400)),
        Err(ProtocolError::AuthFailed { status: 400 })
    );
    out.clear();
    hs.poll_transmit(&mut out);
    assert_eq!(&out[..], b"\x04\x09\x5eRROR\x03400");
    // Both ERROR spellings are understood by our client.
    for err in [&b"\x04\x09\x5eRROR\x03400"[..], b"\x04\x0a\x05ERROR\x03400"] {
        let mut hs = Handshake::new(plain(SocketType::Push, false, b"u", b"p"));
        let mut input = BytesMut::from(&g[..]);
        input.extend_from_slice(err);
        assert_eq!(
            hs.feed(&mut input),
            Err(ProtocolError::PeerError {
                reason: "400".into()
            })
        );
    }
}

#[test]
fn plain_malformed_and_no_handler() {
    let mut g = [0u8; 64];
    encode_greeting(MechanismName::Plain, false, 0, &mut g);
    let server = |handler: bool, cmd: &[u8]| {
        let mut c = plain(SocketType::Pull, true, b"", b"");
        c.zap.handler = handler;
        let mut hs = Handshake::new(c);
        let mut input = BytesMut::from(&g[..]);
        input.extend_from_slice(cmd);
        hs.feed(&mut input)
    };
    // No handler: libzmq's HANDSHAKE_FAILED_NO_DETAIL(EFAULT).
    let e = server(false, b"\x04\x08\x05HELLO\x00\x00").unwrap_err();
    assert_eq!(e, ProtocolError::ZapHandlerMissing);
    assert_eq!(e.no_detail_errno(), Some(14));
    // Lying lengths: user name past the end, password short or long.
    for bad in [
        &b"\x04\x08\x05HELLO\x05a"[..],
        b"\x04\x09\x05HELLO\x00\x02a",
        b"\x04\x09\x05HELLO\x00\x00a",
        b"\x04\x06\x05HELLO",
    ] {
        assert_eq!(
            server(true, bad),
            Err(ProtocolError::MalformedHello),
            "{bad:?}"
        );
    }
    assert_eq!(
        server(true, b"\x04\x07\x05READYx"),
        Err(ProtocolError::UnexpectedCommand)
    );
    assert!(matches!(
        server(true, b"\x04\x01\x05"),
        Err(ProtocolError::MalformedCommand(_))
    ));
    // INITIATE whose metadata lies.
    let mut hs = Handshake::new(plain(SocketType::Pull, true, b"", b""));
    let mut input = BytesMut::from(&g[..]);
    input.extend_from_slice(b"\x04\x08\x05HELLO\x00\x00");
    assert!(matches!(
        hs.feed(&mut input),
        Ok(HandshakeStatus::ZapRequest(_))
    ));
    assert!(hs.awaiting_zap_reply());
    input.extend_from_slice(b"\x04\x0c\x08INITIATE\x05ab");
    assert_eq!(hs.feed(&mut input), Ok(HandshakeStatus::InProgress));
    assert_eq!(input.len(), 14, "nothing consumed while awaiting ZAP");
    hs.zap_reply(ZapReply::ok("")).unwrap();
    assert!(!hs.awaiting_zap_reply());
    assert_eq!(hs.feed(&mut input), Err(ProtocolError::InvalidMetadata));
    // The client: WELCOME with extra bytes is malformed.
    let mut hs = Handshake::new(plain(SocketType::Push, false, b"u", b"p"));
    let mut input = BytesMut::from(&g[..]);
    input.extend_from_slice(b"\x04\x09\x07WELCOMEx");
    assert_eq!(hs.feed(&mut input), Err(ProtocolError::MalformedWelcome));
}

#[test]
fn curve_round_trip_both_roles_and_messages() {
    for chunk in [1, 7, 200, 100_000] {
        let skp = KeyPair::generate();
        let ckp = KeyPair::generate();
        let mut c = curve(SocketType::Dealer, &ckp, Some(skp.public));
        c.routing_id = Some(Bytes::from_static(b"me"));
        let s = curve(SocketType::Router, &skp, None);
        let o = drive(c, s, chunk, &mut no_zap(), &mut no_zap());
        let pc = o.a.unwrap().unwrap();
        let ps = o.b.unwrap().unwrap();
        assert_eq!(pc.socket_type, Some(SocketType::Router));
        assert_eq!(ps.socket_type, Some(SocketType::Dealer));
        assert_eq!(ps.routing_id.as_deref(), Some(&b"me"[..]));
        assert!(ps.user_id.is_none(), "Stonehouse: no ZAP handler");
        let (mut ha, mut hb) = (o.ha, o.hb);
        let mut cc = ha.take_cipher().expect("client cipher");
        let mut sc = hb.take_cipher().expect("server cipher");
        assert!(ha.take_cipher().is_none());
        // Client → server, then server → client, MORE and COMMAND inside.
        let d = FrameDecoder::new(None);
        let mut wire = BytesMut::new();
        cc.encrypt(true, false, b"", &mut wire).unwrap();
        cc.encrypt(false, true, &[9u8; 1000], &mut wire).unwrap();
        let f1 = d.decode(&mut wire).unwrap().unwrap();
        let f2 = d.decode(&mut wire).unwrap().unwrap();
        assert!(!f1.more && !f1.command, "libzmq's outer flags: none");
        assert_eq!(f1.body.len(), 8 + 8 + 16 + 1);
        let i1 = sc.decrypt(f1.clone()).unwrap();
        assert!(i1.more && !i1.command && i1.body.is_empty());
        let i2 = sc.decrypt(f2.clone()).unwrap();
        assert!(!i2.more && i2.command && i2.body.len() == 1000);
        // Replays and reordering.
        assert_eq!(sc.decrypt(f2), Err(ProtocolError::InvalidSequence));
        assert_eq!(sc.decrypt(f1), Err(ProtocolError::InvalidSequence));
        let mut wire = BytesMut::new();
        sc.encrypt(false, false, b"pong", &mut wire).unwrap();
        sc.encrypt(false, false, b"pong2", &mut wire).unwrap();
        let g1 = d.decode(&mut wire).unwrap().unwrap();
        let g2 = d.decode(&mut wire).unwrap().unwrap();
        assert_eq!(&cc.decrypt(g2).unwrap().body[..], b"pong2");
        assert_eq!(
            cc.decrypt(g1),
            Err(ProtocolError::InvalidSequence),
            "reordered"
        );
        // Direction matters: a client frame does not open as a server frame.
        let mut wire = BytesMut::new();
        cc.encrypt(false, false, b"x", &mut wire).unwrap();
        let own = d.decode(&mut wire).unwrap().unwrap();
        let mut cc_nonce_ahead = BytesMut::new();
        cc.encrypt(false, false, b"y", &mut cc_nonce_ahead).unwrap();
        assert_eq!(cc.decrypt(own), Err(ProtocolError::Cryptographic));
    }
}

#[test]
fn curve_message_validation() {
    let skp = KeyPair::generate();
    let ckp = KeyPair::generate();
    let o = drive(
        curve(SocketType::Push, &ckp, Some(skp.public)),
        curve(SocketType::Pull, &skp, None),
        1000,
        &mut no_zap(),
        &mut no_zap(),
    );
    let (mut ha, mut hb) = (o.ha, o.hb);
    let mut cc = ha.take_cipher().unwrap();
    let mut sc = hb.take_cipher().unwrap();
    let frame = |body: &[u8]| Frame {
        more: false,
        command: true,
        body: Bytes::copy_from_slice(body),
    };
    assert_eq!(
        sc.decrypt(frame(b"\x04PING\x00\x00")),
        Err(ProtocolError::UnexpectedCommand)
    );
    assert_eq!(
        sc.decrypt(frame(&[b"\x07MESSAGE".as_ref(), &[0u8; 24]].concat())),
        Err(ProtocolError::MalformedMessage)
    );
    let mut wire = BytesMut::new();
    cc.encrypt(false, false, b"secret", &mut wire).unwrap();
    let good = FrameDecoder::new(None).decode(&mut wire).unwrap().unwrap();
    for i in [8, 15, 16, 31, 32, good.body.len() - 1] {
        let mut b = good.body.to_vec();
        b[i] ^= 0x01;
        let r = sc.decrypt(frame(&b));
        assert!(
            matches!(
                r,
                Err(ProtocolError::Cryptographic) | Err(ProtocolError::InvalidSequence)
            ),
            "flip at {i}: {r:?}"
        );
    }
    // Truncated by one: the tag no longer matches.
    assert_eq!(
        sc.decrypt(frame(&good.body[..good.body.len() - 1])),
        Err(ProtocolError::Cryptographic)
    );
    // A failed frame does not burn the nonce: the genuine one still opens.
    assert_eq!(&sc.decrypt(good).unwrap().body[..], b"secret");
}

#[test]
fn curve_zap_paths() {
    for status in [200u16, 300, 400, 500] {
        let skp = KeyPair::generate();
        let ckp = KeyPair::generate();
        let mut s = curve(SocketType::Pull, &skp, None);
        s.zap.handler = true;
        let mut creds = Vec::new();
        let o = drive(
            curve(SocketType::Push, &ckp, Some(skp.public)),
            s,
            5,
            &mut no_zap(),
            &mut |r| {
                creds = r.credentials.clone();
                assert_eq!(r.mechanism, "CURVE");
                ZapReply::with_status(status)
            },
        );
        assert_eq!(creds, vec![Bytes::copy_from_slice(&ckp.public)]);
        if status == 200 {
            let ps = o.b.unwrap().unwrap();
            assert_eq!(ps.user_id.as_deref(), Some(&b""[..]));
            o.a.unwrap().unwrap();
        } else {
            assert_eq!(o.b.unwrap(), Err(ProtocolError::AuthFailed { status }));
            if status == 300 {
                assert!(o.a.is_none());
            } else {
                assert_eq!(o.a.unwrap().unwrap_err().auth_status(), Some(status));
            }
        }
    }
    // enforce_domain with a domain and no handler: EFAULT after INITIATE.
    let skp = KeyPair::generate();
    let mut s = curve(SocketType::Pull, &skp, None);
    s.zap.domain = Bytes::from_static(b"d");
    s.zap.enforce_domain = true;
    let o = drive(
        curve(SocketType::Push, &KeyPair::generate(), Some(skp.public)),
        s,
        50,
        &mut no_zap(),
        &mut no_zap(),
    );
    assert_eq!(o.b.unwrap(), Err(ProtocolError::ZapHandlerMissing));
}

#[test]
fn curve_wrong_server_key_never_completes() {
    let skp = KeyPair::generate();
    let o = drive(
        curve(
            SocketType::Push,
            &KeyPair::generate(),
            Some(KeyPair::generate().public),
        ),
        curve(SocketType::Pull, &skp, None),
        3,
        &mut no_zap(),
        &mut no_zap(),
    );
    assert_eq!(o.b.unwrap(), Err(ProtocolError::Cryptographic));
    assert!(
        o.a.is_none(),
        "the client waits for a WELCOME that never comes"
    );
    // A client without a server key cannot start.
    let mut c = curve(SocketType::Push, &KeyPair::generate(), Some([0; 32]));
    c.mechanism = MechanismConfig::Curve {
        server: false,
        public_key: [1; 32],
        secret_key: [2; 32],
        server_key: None,
    };
    let mut hs = Handshake::new(c);
    let mut g = [0u8; 64];
    encode_greeting(MechanismName::Curve, false, 0, &mut g);
    assert_eq!(
        hs.feed(&mut BytesMut::from(&g[..])),
        Err(ProtocolError::Cryptographic)
    );
}

/// A live client/server exchange in which the client's command number
/// `target` (0 = HELLO, 1 = INITIATE) is passed through `f` on its way.
/// Returns the client's commands as sent (before `f`) and the server's result.
fn live(
    skp: &KeyPair,
    ckp: &KeyPair,
    target: usize,
    f: &dyn Fn(&mut Vec<u8>),
) -> (Vec<Vec<u8>>, Option<Result<PeerInfo, ProtocolError>>) {
    let mut ha = Handshake::new(curve(SocketType::Push, ckp, Some(skp.public)));
    let mut hb = Handshake::new(curve(SocketType::Pull, skp, None));
    let (mut wa, mut wb, mut ia, mut ib) = (
        BytesMut::new(),
        BytesMut::new(),
        BytesMut::new(),
        BytesMut::new(),
    );
    let mut greeting_left = 64usize;
    let d = FrameDecoder::new(None);
    let mut sent = Vec::new();
    let mut result = None;
    for _ in 0..100 {
        ha.poll_transmit(&mut wa);
        hb.poll_transmit(&mut wb);
        let n = greeting_left.min(wa.len());
        ib.extend_from_slice(&wa.split_to(n));
        greeting_left -= n;
        if greeting_left == 0 {
            while let Some(frame) = d.decode(&mut wa).unwrap() {
                let mut body = frame.body.to_vec();
                sent.push(body.clone());
                if sent.len() - 1 == target {
                    f(&mut body);
                }
                encode_frame(false, true, &body, &mut ib);
            }
        }
        ia.extend_from_slice(&wb.split());
        if !ha.is_complete() && !ha.is_failed() {
            let _ = ha.feed(&mut ia);
        }
        match hb.feed(&mut ib) {
            Ok(HandshakeStatus::Complete(p)) => {
                result = Some(Ok(p));
                break;
            }
            Err(e) => {
                result = Some(Err(e));
                break;
            }
            Ok(_) => {}
        }
    }
    (sent, result)
}

fn feed_server(skp: &KeyPair, cmds: &[Vec<u8>]) -> Result<HandshakeStatus, ProtocolError> {
    let mut g = [0u8; 64];
    encode_greeting(MechanismName::Curve, false, 0, &mut g);
    let mut hs = Handshake::new(curve(SocketType::Pull, skp, None));
    let mut input = BytesMut::from(&g[..]);
    for c in cmds {
        encode_frame(false, true, c, &mut input);
    }
    hs.feed(&mut input)
}

#[test]
fn curve_server_rejects_forged_truncated_replayed_commands() {
    let skp = KeyPair::generate();
    let ckp = KeyPair::generate();
    let (cmds, r) = live(&skp, &ckp, 9, &|_| {});
    assert!(matches!(r, Some(Ok(_))), "{r:?}");
    assert_eq!(cmds.len(), 2, "HELLO and INITIATE");
    let (hello, initiate) = (cmds[0].clone(), cmds[1].clone());
    assert_eq!(hello.len(), 200);
    assert_eq!(&hello[..8], b"\x05HELLO\x01\x00");
    assert!(hello[8..80].iter().all(|&b| b == 0), "72 octets of padding");
    assert_eq!(
        &hello[112..120],
        &1u64.to_be_bytes(),
        "first short nonce is 1"
    );
    assert_eq!(&initiate[..9], b"\x08INITIATE");
    assert_eq!(&initiate[105..113], &2u64.to_be_bytes());
    assert!(initiate.len() >= 257);

    let with =
        |i: usize, f: &dyn Fn(&mut Vec<u8>)| live(&skp, &ckp, i, f).1.expect("server decided");
    // HELLO: wrong size, version, forged box/key/nonce.
    assert_eq!(
        with(0, &|h| h.truncate(199)).unwrap_err(),
        ProtocolError::MalformedHello
    );
    assert_eq!(
        with(0, &|h| h.push(0)).unwrap_err(),
        ProtocolError::MalformedHello
    );
    assert_eq!(
        with(0, &|h| h[7] = 1).unwrap_err(),
        ProtocolError::MalformedHello
    );
    for at in [80, 111, 112, 119, 120, 150, 199] {
        assert_eq!(
            with(0, &|h| h[at] ^= 0x20).unwrap_err(),
            ProtocolError::Cryptographic,
            "HELLO byte {at}"
        );
    }
    // Padding is not authenticated (libzmq ignores it too).
    assert!(with(0, &|h| h[20] = 1).is_ok());
    // INITIATE: too short, forged cookie / nonce / box.
    assert_eq!(
        with(1, &|i| i.truncate(256)).unwrap_err(),
        ProtocolError::MalformedInitiate
    );
    for at in [9, 24, 25, 104, 105, 112, 113, 200] {
        let e = with(1, &|i| i[at] ^= 0x01).unwrap_err();
        assert!(
            matches!(
                e,
                ProtocolError::Cryptographic | ProtocolError::InvalidSequence
            ),
            "INITIATE byte {at}: {e:?}"
        );
    }
    // A nonce not above HELLO's: reused short nonce (RFC 26).
    assert_eq!(
        with(1, &|i| i[105..113].copy_from_slice(&1u64.to_be_bytes())).unwrap_err(),
        ProtocolError::InvalidSequence
    );
    assert_eq!(
        with(1, &|i| {
            i.pop();
        })
        .unwrap_err(),
        ProtocolError::Cryptographic
    );
    // HELLO twice: the second is not an INITIATE.
    let h2 = hello.clone();
    assert_eq!(
        with(1, &move |i| *i = h2.clone()).unwrap_err(),
        ProtocolError::UnexpectedCommand
    );
    // Replayed INITIATE on a new connection: the cookie key rotated.
    let old = initiate.clone();
    assert_eq!(
        with(1, &move |i| *i = old.clone()).unwrap_err(),
        ProtocolError::Cryptographic
    );
    // A different server key pair cannot open HELLO.
    let other = KeyPair::generate();
    assert_eq!(
        feed_server(&other, std::slice::from_ref(&hello)),
        Err(ProtocolError::Cryptographic)
    );
    assert_eq!(
        feed_server(&skp, std::slice::from_ref(&hello)),
        Ok(HandshakeStatus::InProgress)
    );
    // Commands the server does not expect first.
    assert_eq!(
        feed_server(&skp, std::slice::from_ref(&initiate)),
        Err(ProtocolError::UnexpectedCommand)
    );
    assert!(matches!(
        feed_server(&skp, &[b"\x05".to_vec()]),
        Err(ProtocolError::MalformedCommand(_))
    ));
    // A message frame during the handshake.
    let mut g = [0u8; 64];
    encode_greeting(MechanismName::Curve, false, 0, &mut g);
    let mut hs = Handshake::new(curve(SocketType::Pull, &skp, None));
    let mut input = BytesMut::from(&g[..]);
    input.extend_from_slice(b"\x00\x01x");
    assert_eq!(hs.feed(&mut input), Err(ProtocolError::UnexpectedCommand));
}

#[test]
fn curve_client_rejects_bad_welcome_and_ready() {
    let skp = KeyPair::generate();
    let ckp = KeyPair::generate();
    let mut g = [0u8; 64];
    encode_greeting(MechanismName::Curve, false, 0, &mut g);
    let client = |cmd: &[u8]| {
        let mut hs = Handshake::new(curve(SocketType::Push, &ckp, Some(skp.public)));
        let mut input = BytesMut::from(&g[..]);
        encode_frame(false, true, cmd, &mut input);
        hs.feed(&mut input)
    };
    let mut welcome = b"\x07WELCOME".to_vec();
    welcome.extend_from_slice(&[0u8; 160]);
    assert_eq!(client(&welcome), Err(ProtocolError::Cryptographic));
    assert_eq!(
        client(&welcome[..167]),
        Err(ProtocolError::MalformedWelcome)
    );
    assert_eq!(
        client(b"\x05READY"),
        Err(ProtocolError::UnexpectedCommand),
        "READY before WELCOME"
    );
    assert_eq!(
        client(b"\x05ERROR\x03400").unwrap_err().auth_status(),
        Some(400)
    );
    assert_eq!(
        client(b"\x05ERROR\x09x"),
        Err(ProtocolError::MalformedError)
    );
    assert_eq!(client(b"\x05HELLO"), Err(ProtocolError::UnexpectedCommand));
}

#[test]
fn mechanism_mismatch_between_plain_and_curve() {
    let o = drive(
        plain(SocketType::Push, false, b"u", b"p"),
        curve(SocketType::Pull, &KeyPair::generate(), None),
        10,
        &mut no_zap(),
        &mut no_zap(),
    );
    assert_eq!(o.a.unwrap(), Err(ProtocolError::MechanismMismatch));
    assert_eq!(o.b.unwrap(), Err(ProtocolError::MechanismMismatch));
}

#[test]
fn null_with_zap_domain() {
    let mut s = HandshakeConfig::new(SocketType::Pull);
    s.zap = ZapConfig {
        handler: true,
        domain: Bytes::from_static(b"global"),
        enforce_domain: false,
    };
    for status in [200u16, 400] {
        let mut asked = 0;
        let o = drive(
            HandshakeConfig::new(SocketType::Push),
            s.clone(),
            2,
            &mut no_zap(),
            &mut |r| {
                asked += 1;
                assert_eq!(r.mechanism, "NULL");
                assert!(r.credentials.is_empty());
                let mut z = ZapReply::with_status(status);
                z.user_id = Bytes::from_static(b"anon");
                z
            },
        );
        assert_eq!(asked, 1);
        if status == 200 {
            let p = o.b.unwrap().unwrap();
            assert_eq!(p.user_id.as_deref(), Some(&b"anon"[..]));
            assert_eq!(
                p.metadata.get("user-id").map(|v| &v[..]),
                Some(&b"anon"[..])
            );
            o.a.unwrap().unwrap();
        } else {
            assert_eq!(o.b.unwrap(), Err(ProtocolError::AuthFailed { status: 400 }));
            assert_eq!(
                o.a.unwrap(),
                Err(ProtocolError::PeerError {
                    reason: "400".into()
                })
            );
        }
    }
    // A domain, no handler: proceeds (libzmq), or EFAULT with enforce_domain.
    let mut s2 = s.clone();
    s2.zap.handler = false;
    let o = drive(
        HandshakeConfig::new(SocketType::Push),
        s2.clone(),
        64,
        &mut no_zap(),
        &mut no_zap(),
    );
    assert!(o.b.unwrap().unwrap().user_id.is_none());
    s2.zap.enforce_domain = true;
    let o = drive(
        HandshakeConfig::new(SocketType::Push),
        s2,
        64,
        &mut no_zap(),
        &mut no_zap(),
    );
    assert_eq!(o.b.unwrap(), Err(ProtocolError::ZapHandlerMissing));
    // zap_reply without a request.
    let mut hs = Handshake::new(HandshakeConfig::new(SocketType::Pull));
    assert!(hs.zap_reply(ZapReply::ok("")).is_err());
}

#[test]
fn secrets_are_not_printed() {
    let c = plain(SocketType::Push, false, b"user", b"hunter2");
    assert!(!format!("{c:?}").contains("hunter2"));
    let kp = KeyPair::generate();
    let c = curve(SocketType::Push, &kp, Some([3; 32]));
    let dbg = format!("{c:?}");
    assert!(!dbg.contains(&format!("{:?}", kp.secret())));
    assert!(!format!("{kp:?}").contains(&z85::encode(kp.secret()).unwrap()));
}
