//! Protocol errors: why a peer's bytes made us drop the connection, and the
//! libzmq `ZMQ_PROTOCOL_ERROR_*` code the socket monitor reports for it
//! (reference §6, `ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL`).

use std::fmt;

use crate::socket_type::SocketType;

/// libzmq's `ZMQ_PROTOCOL_ERROR_*` values (zmq.h), the event value of a
/// `ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL` monitor event. Kept here so every
/// crate reports the same numbers libzmq does.
pub mod error_codes {
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED`: a ZMTP failure with no finer code.
    pub const ZMTP_UNSPECIFIED: u32 = 0x1000_0000;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND`: a command the mechanism did not expect now.
    pub const ZMTP_UNEXPECTED_COMMAND: u32 = 0x1000_0001;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE`: out-of-order message (CURVE nonces).
    pub const ZMTP_INVALID_SEQUENCE: u32 = 0x1000_0002;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE`: CURVE key exchange failed.
    pub const ZMTP_KEY_EXCHANGE: u32 = 0x1000_0003;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED`: a command whose structure is broken.
    pub const ZMTP_MALFORMED_COMMAND_UNSPECIFIED: u32 = 0x1000_0011;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE`: malformed CURVE MESSAGE.
    pub const ZMTP_MALFORMED_COMMAND_MESSAGE: u32 = 0x1000_0012;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO`: malformed HELLO.
    pub const ZMTP_MALFORMED_COMMAND_HELLO: u32 = 0x1000_0013;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE`: malformed INITIATE.
    pub const ZMTP_MALFORMED_COMMAND_INITIATE: u32 = 0x1000_0014;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR`: malformed ERROR.
    pub const ZMTP_MALFORMED_COMMAND_ERROR: u32 = 0x1000_0015;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY`: malformed READY.
    pub const ZMTP_MALFORMED_COMMAND_READY: u32 = 0x1000_0016;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME`: malformed WELCOME.
    pub const ZMTP_MALFORMED_COMMAND_WELCOME: u32 = 0x1000_0017;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA`: metadata that does not parse or is refused.
    pub const ZMTP_INVALID_METADATA: u32 = 0x1000_0018;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC`: a box failed to open.
    pub const ZMTP_CRYPTOGRAPHIC: u32 = 0x1100_0001;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH`: the greetings name different mechanisms.
    pub const ZMTP_MECHANISM_MISMATCH: u32 = 0x1100_0002;
    /// `ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED`: ZAP failure with no finer code.
    pub const ZAP_UNSPECIFIED: u32 = 0x2000_0000;
    /// `ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY`: ZAP reply with the wrong frame count.
    pub const ZAP_MALFORMED_REPLY: u32 = 0x2000_0001;
    /// `ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID`: ZAP reply for another request.
    pub const ZAP_BAD_REQUEST_ID: u32 = 0x2000_0002;
    /// `ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION`: ZAP reply version is not "1.0".
    pub const ZAP_BAD_VERSION: u32 = 0x2000_0003;
    /// `ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE`: ZAP status not 200/300/400/500.
    pub const ZAP_INVALID_STATUS_CODE: u32 = 0x2000_0004;
    /// `ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA`: ZAP reply metadata does not parse.
    pub const ZAP_INVALID_METADATA: u32 = 0x2000_0005;
    /// `ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED`: WebSocket transport failure.
    pub const WS_UNSPECIFIED: u32 = 0x3000_0000;
}

/// Why a peer was dropped. Every variant is final: the caller closes the
/// connection. `code()` gives libzmq's `ZMQ_PROTOCOL_ERROR_*` value for the
/// monitor's `HANDSHAKE_FAILED_PROTOCOL` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// The greeting signature is not a ZMTP signature. Not produced by
    /// [`crate::Handshake`]: like libzmq (reference §5.3), it reads every
    /// non-versioned signature as a ZMTP 1.0 peer. Kept for strict callers.
    BadSignature,
    /// The peer speaks ZMTP 1.0 (no versioned signature; RFC 37 §"Detecting
    /// ZMTP 1.0 and 2.0 Peers") or 2.0 (revision byte 0x01; revision 0x00 is
    /// libzmq's "1.0 with revision byte") while ZAP is enabled (a PLAIN or
    /// CURVE mechanism, or a ZAP domain): libzmq's `handshake_v1_0*` /
    /// `handshake_v2_0` refuse such peers (reference §5.2 step 6).
    UnsupportedVersion {
        /// Major version the peer announced (1 or 2).
        major: u8,
        /// Minor version the peer announced (always 0 for these).
        minor: u8,
    },
    /// The peer's greeting names a different, known mechanism than ours
    /// (RFC 37 §"Authentication and Confidentiality": "MUST close").
    MechanismMismatch,
    /// The peer's greeting names a mechanism we do not implement (not NULL, PLAIN, CURVE or GSSAPI).
    UnknownMechanism,
    /// A frame declared a body larger than allowed: `ZMQ_MAXMSGSIZE`, the
    /// handshake-command cap, or 2^63-1 (RFC 37 §"Framing").
    FrameTooLarge {
        /// The declared body length.
        size: u64,
        /// The limit it exceeded.
        max: u64,
    },
    /// A command frame whose structure is broken (name length past the end,
    /// PING without TTL, …); the text says which rule.
    MalformedCommand(&'static str),
    /// A READY command that cannot be parsed at all. Reserved for PLAIN/CURVE;
    /// the NULL handshake reports broken READY metadata as
    /// [`ProtocolError::InvalidMetadata`], as libzmq does.
    MalformedReady,
    /// An ERROR command whose reason length lies.
    MalformedError,
    /// Metadata whose lengths lie, or with an invalid property name, or a
    /// READY without a `Socket-Type`.
    InvalidMetadata,
    /// A command (or a message frame) the handshake did not expect now.
    UnexpectedCommand,
    /// Messages out of sequence (reserved for CURVE).
    InvalidSequence,
    /// The peer's `Socket-Type` is not one we may talk to (or not a socket
    /// type at all). libzmq reports this as invalid metadata.
    IncompatibleSocketType {
        /// Our socket type.
        local: SocketType,
        /// The peer's `Socket-Type` value, lossily decoded for display.
        peer_name: String,
    },
    /// The peer sent an ERROR command during the handshake (RFC 37 §"Error
    /// Handling": fatal, do not reconnect with the same credentials).
    /// A reason of "300", "400" or "500" is a ZAP status: see
    /// [`ProtocolError::auth_status`].
    PeerError {
        /// The peer's error reason, lossily decoded.
        reason: String,
    },
    /// A frame that breaks the framing rules beyond its size, e.g. a ZMTP 1.0
    /// length of 0 (RFC 13 §"The Framing Layer": "a length of 0 is invalid";
    /// libzmq `v1_decoder` fails with EPROTO).
    InvalidFrame(&'static str),
    /// A malformed PLAIN/CURVE HELLO (RFC 24 `hello`; RFC 26 "SHALL be 200
    /// octets", version 1.0).
    MalformedHello,
    /// A malformed PLAIN/CURVE WELCOME (RFC 24: exactly `\x07WELCOME`;
    /// RFC 26: 168 octets).
    MalformedWelcome,
    /// A malformed CURVE INITIATE (RFC 26: "at least 257 octets").
    MalformedInitiate,
    /// A malformed CURVE MESSAGE (RFC 26: "at least 33 octets").
    MalformedMessage,
    /// A CURVE box that does not open (forged, corrupted, or the client uses
    /// the wrong server key): libzmq's `ZMTP_CRYPTOGRAPHIC`.
    Cryptographic,
    /// The CURVE vouch does not name the client's transient key or this
    /// server (RFC 26 §"The INITIATE Command").
    KeyExchange,
    /// ZAP (RFC 27) answered 300, 400 or 500. libzmq reports
    /// `ZMQ_EVENT_HANDSHAKE_FAILED_AUTH` with this status, not a protocol
    /// error (reference §5.2 step 5); see [`ProtocolError::auth_status`].
    AuthFailed {
        /// The ZAP status code: 300, 400 or 500.
        status: u16,
    },
    /// The mechanism needs a ZAP handler and none is bound (PLAIN server, or
    /// `ZMQ_ZAP_ENFORCE_DOMAIN`): libzmq reports
    /// `ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL` with `EFAULT`; see
    /// [`ProtocolError::no_detail_errno`].
    ZapHandlerMissing,
    /// ZAP reply with the wrong frame count (RFC 27: 7 frames).
    ZapMalformedReply,
    /// ZAP reply whose version frame is not "1.0".
    ZapBadVersion,
    /// ZAP reply for another request id.
    ZapBadRequestId,
    /// ZAP reply status not exactly "200", "300", "400" or "500".
    ZapInvalidStatusCode,
    /// ZAP reply metadata that does not parse.
    ZapInvalidMetadata,
    /// Any other ZAP failure (non-empty delimiter frame, a reply nobody
    /// asked for).
    ZapUnspecified,
}

impl ProtocolError {
    /// The libzmq `ZMQ_PROTOCOL_ERROR_*` code a monitor reports for this error.
    pub fn code(&self) -> u32 {
        use error_codes::*;
        match self {
            ProtocolError::BadSignature
            | ProtocolError::UnsupportedVersion { .. }
            | ProtocolError::FrameTooLarge { .. }
            | ProtocolError::PeerError { .. } => ZMTP_UNSPECIFIED,
            ProtocolError::MechanismMismatch | ProtocolError::UnknownMechanism => {
                ZMTP_MECHANISM_MISMATCH
            }
            ProtocolError::MalformedCommand(_) => ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
            ProtocolError::MalformedReady => ZMTP_MALFORMED_COMMAND_READY,
            ProtocolError::MalformedError => ZMTP_MALFORMED_COMMAND_ERROR,
            ProtocolError::InvalidMetadata | ProtocolError::IncompatibleSocketType { .. } => {
                ZMTP_INVALID_METADATA
            }
            ProtocolError::UnexpectedCommand => ZMTP_UNEXPECTED_COMMAND,
            ProtocolError::InvalidSequence => ZMTP_INVALID_SEQUENCE,
            ProtocolError::InvalidFrame(_) => ZMTP_UNSPECIFIED,
            ProtocolError::MalformedHello => ZMTP_MALFORMED_COMMAND_HELLO,
            ProtocolError::MalformedWelcome => ZMTP_MALFORMED_COMMAND_WELCOME,
            ProtocolError::MalformedInitiate => ZMTP_MALFORMED_COMMAND_INITIATE,
            ProtocolError::MalformedMessage => ZMTP_MALFORMED_COMMAND_MESSAGE,
            ProtocolError::Cryptographic => ZMTP_CRYPTOGRAPHIC,
            ProtocolError::KeyExchange => ZMTP_KEY_EXCHANGE,
            // Not protocol errors for libzmq's monitor (see auth_status /
            // no_detail_errno); the nearest code for callers that only log.
            ProtocolError::AuthFailed { .. } => ZAP_UNSPECIFIED,
            ProtocolError::ZapHandlerMissing => ZAP_UNSPECIFIED,
            ProtocolError::ZapMalformedReply => ZAP_MALFORMED_REPLY,
            ProtocolError::ZapBadVersion => ZAP_BAD_VERSION,
            ProtocolError::ZapBadRequestId => ZAP_BAD_REQUEST_ID,
            ProtocolError::ZapInvalidStatusCode => ZAP_INVALID_STATUS_CODE,
            ProtocolError::ZapInvalidMetadata => ZAP_INVALID_METADATA,
            ProtocolError::ZapUnspecified => ZAP_UNSPECIFIED,
        }
    }

    /// The ZAP status to report as `ZMQ_EVENT_HANDSHAKE_FAILED_AUTH`
    /// instead of a protocol error: [`ProtocolError::AuthFailed`] (server
    /// side), or a peer's ERROR whose reason is exactly "300", "400" or
    /// "500" (client side; libzmq `mechanism_base_t::handle_error_reason`).
    pub fn auth_status(&self) -> Option<u16> {
        match self {
            ProtocolError::AuthFailed { status } => Some(*status),
            ProtocolError::PeerError { reason } => match reason.as_bytes() {
                [d @ b'3'..=b'5', b'0', b'0'] => Some(u16::from(d - b'0') * 100),
                _ => None,
            },
            _ => None,
        }
    }

    /// The errno to report as `ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL` instead
    /// of a protocol error: `EFAULT` (14) for [`ProtocolError::ZapHandlerMissing`].
    pub fn no_detail_errno(&self) -> Option<i32> {
        match self {
            ProtocolError::ZapHandlerMissing => Some(14),
            _ => None,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::BadSignature => f.write_str("invalid ZMTP greeting signature"),
            ProtocolError::UnsupportedVersion { major, minor } => {
                write!(f, "peer speaks unsupported ZMTP {major}.{minor}")
            }
            ProtocolError::MechanismMismatch => f.write_str("security mechanism mismatch"),
            ProtocolError::UnknownMechanism => f.write_str("unknown security mechanism"),
            ProtocolError::FrameTooLarge { size, max } => {
                write!(f, "frame of {size} bytes exceeds the limit of {max} bytes")
            }
            ProtocolError::MalformedCommand(why) => write!(f, "malformed command: {why}"),
            ProtocolError::MalformedReady => f.write_str("malformed READY command"),
            ProtocolError::MalformedError => f.write_str("malformed ERROR command"),
            ProtocolError::InvalidMetadata => f.write_str("invalid metadata"),
            ProtocolError::UnexpectedCommand => f.write_str("unexpected command"),
            ProtocolError::InvalidSequence => f.write_str("invalid message sequence"),
            ProtocolError::IncompatibleSocketType { local, peer_name } => {
                write!(
                    f,
                    "socket type {local} cannot talk to peer socket type '{peer_name}'"
                )
            }
            ProtocolError::PeerError { reason } => write!(f, "peer sent ERROR: {reason}"),
            ProtocolError::InvalidFrame(why) => write!(f, "invalid frame: {why}"),
            ProtocolError::MalformedHello => f.write_str("malformed HELLO command"),
            ProtocolError::MalformedWelcome => f.write_str("malformed WELCOME command"),
            ProtocolError::MalformedInitiate => f.write_str("malformed INITIATE command"),
            ProtocolError::MalformedMessage => f.write_str("malformed MESSAGE command"),
            ProtocolError::Cryptographic => f.write_str("CURVE box failed to open"),
            ProtocolError::KeyExchange => f.write_str("CURVE key exchange failed"),
            ProtocolError::AuthFailed { status } => {
                write!(f, "authentication failed (ZAP status {status})")
            }
            ProtocolError::ZapHandlerMissing => f.write_str("no ZAP handler for this mechanism"),
            ProtocolError::ZapMalformedReply => f.write_str("malformed ZAP reply"),
            ProtocolError::ZapBadVersion => f.write_str("bad ZAP reply version"),
            ProtocolError::ZapBadRequestId => f.write_str("bad ZAP reply request id"),
            ProtocolError::ZapInvalidStatusCode => f.write_str("invalid ZAP status code"),
            ProtocolError::ZapInvalidMetadata => f.write_str("invalid ZAP reply metadata"),
            ProtocolError::ZapUnspecified => f.write_str("ZAP failure"),
        }
    }
}

impl std::error::Error for ProtocolError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_libzmq() {
        assert_eq!(ProtocolError::MechanismMismatch.code(), 0x1100_0002);
        assert_eq!(ProtocolError::UnknownMechanism.code(), 0x1100_0002);
        assert_eq!(ProtocolError::MalformedCommand("x").code(), 0x1000_0011);
        assert_eq!(ProtocolError::MalformedReady.code(), 0x1000_0016);
        assert_eq!(ProtocolError::MalformedError.code(), 0x1000_0015);
        assert_eq!(ProtocolError::InvalidMetadata.code(), 0x1000_0018);
        assert_eq!(ProtocolError::UnexpectedCommand.code(), 0x1000_0001);
        assert_eq!(ProtocolError::InvalidSequence.code(), 0x1000_0002);
        let e = ProtocolError::IncompatibleSocketType {
            local: SocketType::Req,
            peer_name: "PUB".into(),
        };
        assert_eq!(e.code(), 0x1000_0018);
        assert_eq!(
            e.to_string(),
            "socket type REQ cannot talk to peer socket type 'PUB'"
        );
        assert_eq!(
            ProtocolError::PeerError { reason: "x".into() }.code(),
            0x1000_0000
        );
        assert_eq!(
            ProtocolError::UnsupportedVersion { major: 2, minor: 0 }.to_string(),
            "peer speaks unsupported ZMTP 2.0"
        );
    }

    #[test]
    fn all_21_codes() {
        use error_codes::*;
        let all = [
            ZMTP_UNSPECIFIED,
            ZMTP_UNEXPECTED_COMMAND,
            ZMTP_INVALID_SEQUENCE,
            ZMTP_KEY_EXCHANGE,
            ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
            ZMTP_MALFORMED_COMMAND_MESSAGE,
            ZMTP_MALFORMED_COMMAND_HELLO,
            ZMTP_MALFORMED_COMMAND_INITIATE,
            ZMTP_MALFORMED_COMMAND_ERROR,
            ZMTP_MALFORMED_COMMAND_READY,
            ZMTP_MALFORMED_COMMAND_WELCOME,
            ZMTP_INVALID_METADATA,
            ZMTP_CRYPTOGRAPHIC,
            ZMTP_MECHANISM_MISMATCH,
            ZAP_UNSPECIFIED,
            ZAP_MALFORMED_REPLY,
            ZAP_BAD_REQUEST_ID,
            ZAP_BAD_VERSION,
            ZAP_INVALID_STATUS_CODE,
            ZAP_INVALID_METADATA,
            WS_UNSPECIFIED,
        ];
        let mut dedup = all.to_vec();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), 21);
    }
}
