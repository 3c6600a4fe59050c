//! ZAP (RFC 27/ZAP) hooks for the sans-IO handshake.
//!
//! The handshake never talks to the ZAP handler itself: when a server-side
//! mechanism needs authentication, [`crate::Handshake::feed`] returns
//! [`crate::HandshakeStatus::ZapRequest`] and waits; the library sends the
//! request to `inproc://zeromq.zap.01` ([`ZapRequest::to_frames`]), parses the
//! reply ([`ZapReply::from_frames`]) and hands it to
//! [`crate::Handshake::zap_reply`]. Framing is exactly libzmq's
//! `zap_client_t` (reference §5.2).

use std::fmt;

use bytes::{Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::metadata::Metadata;

/// RFC 27 §"Request and Reply": the only version, "1.0".
pub const ZAP_VERSION: &[u8] = b"1.0";
/// The request id libzmq always uses ("1", `zap_client.cpp`).
pub const ZAP_REQUEST_ID: &[u8] = b"1";
/// Where the ZAP handler binds (RFC 27 §"Implementation").
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// The local socket's ZAP situation, as the library knows it. libzmq's rules
/// (reference §5.1/§5.2, `mechanism_base_t::zap_required`,
/// `null_mechanism.cpp`, `plain_server.cpp`, `curve_server.cpp`):
///
/// * NULL asks ZAP only when `domain` is non-empty and a handler is bound;
///   with a domain, no handler and `enforce_domain`, it fails
///   ([`ProtocolError::ZapHandlerMissing`]).
/// * A PLAIN server always asks ZAP; with no handler it fails
///   ([`ProtocolError::ZapHandlerMissing`], libzmq's
///   `HANDSHAKE_FAILED_NO_DETAIL(EFAULT)`).
/// * A CURVE server asks ZAP when a handler is bound (unless `domain` is
///   empty and `enforce_domain` is set); with no handler it accepts every
///   client ("Stonehouse"), unless `enforce_domain` with a domain.
/// * ZAP is "enabled" (ZMTP 1.0/2.0 peers are refused) when the mechanism is
///   not NULL or `domain` is non-empty (`session_base_t::zap_enabled`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZapConfig {
    /// A ZAP handler is bound at `inproc://zeromq.zap.01` in this context.
    pub handler: bool,
    /// `ZMQ_ZAP_DOMAIN` (empty = none).
    pub domain: Bytes,
    /// `ZMQ_ZAP_ENFORCE_DOMAIN` (draft option, default off).
    pub enforce_domain: bool,
}

/// What a server-side mechanism wants authenticated (RFC 27 §"Request and
/// Reply": mechanism and credentials; the library adds domain, address and
/// routing id with [`ZapRequest::to_frames`]).
#[derive(Clone, PartialEq, Eq)]
pub struct ZapRequest {
    /// "NULL", "PLAIN" or "CURVE".
    pub mechanism: &'static str,
    /// PLAIN: user name, password. CURVE: the client's long-term public key
    /// (32 octets). NULL: none.
    pub credentials: Vec<Bytes>,
}

impl fmt::Debug for ZapRequest {
    /// Credentials are not printed (a PLAIN password is among them).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZapRequest")
            .field("mechanism", &self.mechanism)
            .field(
                "credentials",
                &format_args!("[{} frames]", self.credentials.len()),
            )
            .finish()
    }
}

impl ZapRequest {
    /// The request message, one `Bytes` per frame, exactly as libzmq's
    /// `zap_client_t::send_zap_request` writes it (RFC 27 §"Request and
    /// Reply"): empty delimiter, "1.0", `request_id` (libzmq: "1"), domain,
    /// peer address (IP or path, no port for TCP in libzmq: the caller
    /// decides), the *server socket's* routing id, mechanism, then one frame
    /// per credential. Every frame but the last has MORE set.
    pub fn to_frames(
        &self,
        domain: &[u8],
        address: &[u8],
        routing_id: &[u8],
        request_id: &[u8],
    ) -> Vec<Bytes> {
        let mut frames = Vec::with_capacity(7 + self.credentials.len());
        frames.push(Bytes::new());
        frames.push(Bytes::from_static(ZAP_VERSION));
        frames.push(Bytes::copy_from_slice(request_id));
        frames.push(Bytes::copy_from_slice(domain));
        frames.push(Bytes::copy_from_slice(address));
        frames.push(Bytes::copy_from_slice(routing_id));
        frames.push(Bytes::from_static(self.mechanism.as_bytes()));
        frames.extend(self.credentials.iter().cloned());
        frames
    }
}

/// A ZAP handler's answer (RFC 27 §"Request and Reply").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZapReply {
    /// 200 (accept), 300 (temporary failure: close silently), 400
    /// (authentication failure) or 500 (internal error); 400/500 send ERROR
    /// with the code as reason.
    pub status_code: u16,
    /// Free text for logs.
    pub status_text: Bytes,
    /// The authenticated user id (`zmq_msg_gets(msg, "User-Id")`).
    pub user_id: Bytes,
    /// Properties to attach to the peer's messages (ZMTP metadata encoding).
    pub metadata: Metadata,
}

impl ZapReply {
    /// A reply with status 200, no text, the given user id and no metadata.
    pub fn ok(user_id: impl Into<Bytes>) -> Self {
        ZapReply {
            status_code: 200,
            status_text: Bytes::from_static(b"OK"),
            user_id: user_id.into(),
            metadata: Metadata::new(),
        }
    }

    /// A reply with `status_code` and no user id or metadata.
    pub fn with_status(status_code: u16) -> Self {
        ZapReply {
            status_code,
            status_text: Bytes::new(),
            user_id: Bytes::new(),
            metadata: Metadata::new(),
        }
    }

    /// Parses a reply whose request id must be "1" (libzmq's fixed id); see
    /// [`ZapReply::from_frames_with_id`].
    pub fn from_frames(frames: &[Bytes]) -> Result<ZapReply, ProtocolError> {
        ZapReply::from_frames_with_id(frames, ZAP_REQUEST_ID)
    }

    /// Parses and validates a reply as libzmq's
    /// `zap_client_t::receive_and_process_zap_reply` does, in its order:
    /// exactly 7 frames ([`ProtocolError::ZapMalformedReply`]; the caller
    /// must also report a reply whose MORE flags are wrong as that), empty
    /// delimiter ([`ProtocolError::ZapUnspecified`]), version "1.0"
    /// ([`ProtocolError::ZapBadVersion`]), request id
    /// ([`ProtocolError::ZapBadRequestId`]), status exactly "200", "300",
    /// "400" or "500" ([`ProtocolError::ZapInvalidStatusCode`]), metadata
    /// that parses ([`ProtocolError::ZapInvalidMetadata`]).
    pub fn from_frames_with_id(
        frames: &[Bytes],
        request_id: &[u8],
    ) -> Result<ZapReply, ProtocolError> {
        let [delimiter, version, id, status, text, user_id, metadata] = frames else {
            return Err(ProtocolError::ZapMalformedReply);
        };
        if !delimiter.is_empty() {
            return Err(ProtocolError::ZapUnspecified);
        }
        if &version[..] != ZAP_VERSION {
            return Err(ProtocolError::ZapBadVersion);
        }
        if &id[..] != request_id {
            return Err(ProtocolError::ZapBadRequestId);
        }
        let status_code = parse_status(status)?;
        let metadata =
            Metadata::parse_bytes(metadata).map_err(|_| ProtocolError::ZapInvalidMetadata)?;
        Ok(ZapReply {
            status_code,
            status_text: text.clone(),
            user_id: user_id.clone(),
            metadata,
        })
    }

    /// The reply as 7 frames (what a ZAP handler sends), for tests and
    /// in-process handlers.
    pub fn to_frames(&self, request_id: &[u8]) -> Vec<Bytes> {
        let mut md = BytesMut::new();
        self.metadata.encode(&mut md);
        vec![
            Bytes::new(),
            Bytes::from_static(ZAP_VERSION),
            Bytes::copy_from_slice(request_id),
            Bytes::from(self.status_code.to_string()),
            self.status_text.clone(),
            self.user_id.clone(),
            md.freeze(),
        ]
    }
}

/// RFC 27: status codes are "200", "300", "400", "500" (libzmq checks three
/// characters, the first '2'..'5', then "00").
fn parse_status(status: &[u8]) -> Result<u16, ProtocolError> {
    match status {
        [d @ b'2'..=b'5', b'0', b'0'] => Ok(u16::from(d - b'0') * 100),
        _ => Err(ProtocolError::ZapInvalidStatusCode),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(frames: &[&[u8]]) -> Result<ZapReply, ProtocolError> {
        let f: Vec<Bytes> = frames.iter().map(|b| Bytes::copy_from_slice(b)).collect();
        ZapReply::from_frames(&f)
    }

    #[test]
    fn request_frames_like_libzmq() {
        let req = ZapRequest {
            mechanism: "PLAIN",
            credentials: vec![Bytes::from_static(b"admin"), Bytes::from_static(b"secret")],
        };
        let frames = req.to_frames(b"global", b"127.0.0.1", b"IDENT", b"1");
        let expect: Vec<&[u8]> = vec![
            b"",
            b"1.0",
            b"1",
            b"global",
            b"127.0.0.1",
            b"IDENT",
            b"PLAIN",
            b"admin",
            b"secret",
        ];
        assert_eq!(frames.len(), expect.len());
        for (f, e) in frames.iter().zip(expect) {
            assert_eq!(&f[..], e);
        }
        assert!(!format!("{req:?}").contains("secret"));
        let null = ZapRequest {
            mechanism: "NULL",
            credentials: vec![],
        };
        assert_eq!(null.to_frames(b"", b"", b"", b"1").len(), 7);
    }

    #[test]
    fn reply_validation_order() {
        let ok = reply(&[b"", b"1.0", b"1", b"200", b"OK", b"anon", b""]).unwrap();
        assert_eq!(ok.status_code, 200);
        assert_eq!(&ok.user_id[..], b"anon");
        for (code, s) in [(300, b"300"), (400, b"400"), (500, b"500")] {
            assert_eq!(
                reply(&[b"", b"1.0", b"1", s, b"", b"", b""])
                    .unwrap()
                    .status_code,
                code
            );
        }
        assert_eq!(
            reply(&[b"", b"1.0", b"1", b"200", b"", b""]),
            Err(ProtocolError::ZapMalformedReply)
        );
        assert_eq!(
            reply(&[b"", b"1.0", b"1", b"200", b"", b"", b"", b""]),
            Err(ProtocolError::ZapMalformedReply)
        );
        assert_eq!(
            reply(&[b"x", b"1.1", b"1", b"200", b"", b"", b""]),
            Err(ProtocolError::ZapUnspecified)
        );
        assert_eq!(
            reply(&[b"", b"1.1", b"2", b"201", b"", b"", b""]),
            Err(ProtocolError::ZapBadVersion)
        );
        assert_eq!(
            reply(&[b"", b"1.0", b"2", b"201", b"", b"", b""]),
            Err(ProtocolError::ZapBadRequestId)
        );
        for bad in [&b"201"[..], b"600", b"100", b"20", b"2000", b"", b"abc"] {
            assert_eq!(
                reply(&[b"", b"1.0", b"1", bad, b"", b"", b""]),
                Err(ProtocolError::ZapInvalidStatusCode),
                "{bad:?}"
            );
        }
        assert_eq!(
            reply(&[b"", b"1.0", b"1", b"200", b"", b"", b"\x05ab"]),
            Err(ProtocolError::ZapInvalidMetadata)
        );
        let md = reply(&[
            b"",
            b"1.0",
            b"1",
            b"200",
            b"",
            b"u",
            b"\x05X-Foo\0\0\0\x03bar",
        ])
        .unwrap();
        assert_eq!(md.metadata.get("x-foo").map(|v| &v[..]), Some(&b"bar"[..]));
        assert_eq!(ZapReply::from_frames(&md.to_frames(b"1")).unwrap(), md);
    }
}
