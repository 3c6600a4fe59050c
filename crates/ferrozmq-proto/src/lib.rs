//! `ferrozmq-proto`: the ZMTP wire protocol (1.0 to 3.1) for ferrozmq, as a sans-IO
//! library. No threads, sockets or clocks: callers feed it bytes and get
//! bytes and events back, so the same code serves every transport and can
//! be fuzzed in isolation.
//!
//! * [`socket_type`]: socket types, wire names, compatibility matrix.
//! * [`greeting`]: the 64-byte greeting as libzmq sends it.
//! * [`frame`]: frame header encoding and a zero-copy frame decoder for the
//!   ZMTP 1.0, 2.0 and 3.x wire formats; [`FrameCipher`] for CURVE data.
//! * [`command`]: READY, ERROR, SUBSCRIBE, CANCEL, PING, PONG.
//! * [`metadata`]: the property list carried by READY.
//! * [`handshake`]: greeting exchange, ZMTP 1.0/2.0 downgrade, and the NULL,
//!   PLAIN (RFC 24) and CURVE (RFC 25/26) mechanisms.
//! * [`curve`]: CURVE keys and the MESSAGE cipher; [`z85`]: RFC 32.
//! * [`zap`]: ZAP (RFC 27) request/reply framing and the handshake hook.
//! * [`error`]: [`ProtocolError`] and libzmq's protocol error codes.
//!
//! Normative sources: RFC 37 (ZMTP 3.1) and RFC 23 (ZMTP 3.0); where they
//! leave a choice, the bytes match libzmq 4.3.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod command;
pub mod curve;
pub mod error;
pub mod frame;
pub mod greeting;
pub mod handshake;
mod mechanism;
pub mod metadata;
mod plain;
pub mod socket_type;
pub mod socks;
pub mod z85;
pub mod zap;

#[doc(hidden)]
pub mod fuzzing;

pub use command::{Command, MAX_PING_CONTEXT};
pub use curve::{CurveCipher, KeyPair};
pub use error::{error_codes, ProtocolError};
pub use frame::{
    encode_frame, encode_frame_for, encode_header, encode_header_for, Frame, FrameCipher,
    FrameDecoder, FrameHeader, WireFormat, FLAG_COMMAND, FLAG_LONG, FLAG_MORE,
};
pub use greeting::{encode_greeting, MechanismName, ZmtpVersion, GREETING_LEN, SIGNATURE_LEN};
pub use handshake::{
    Handshake, HandshakeConfig, HandshakeStatus, MechanismConfig, PeerInfo,
    MAX_HANDSHAKE_COMMAND_SIZE, MAX_LEGACY_IDENTITY,
};
pub use mechanism::{PROPERTY_IDENTITY, PROPERTY_SOCKET_TYPE, PROPERTY_USER_ID};
pub use metadata::Metadata;
pub use socket_type::{SocketType, UnknownSocketType};
pub use zap::{ZapConfig, ZapReply, ZapRequest};
