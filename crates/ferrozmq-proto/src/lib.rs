//! `ferrozmq-proto`: the ZMTP 3.x wire protocol for ferrozmq, as a sans-IO
//! library. No threads, sockets or clocks: callers feed it bytes and get
//! bytes and events back, so the same code serves every transport and can
//! be fuzzed in isolation.
//!
//! * [`socket_type`]: socket types, wire names, compatibility matrix.
//! * [`greeting`]: the 64-byte greeting as libzmq sends it.
//! * [`frame`]: frame header encoding and a zero-copy frame decoder.
//! * [`command`]: READY, ERROR, SUBSCRIBE, CANCEL, PING, PONG.
//! * [`metadata`]: the property list carried by READY.
//! * [`handshake`]: greeting exchange + NULL mechanism state machine.
//! * [`error`]: [`ProtocolError`] and libzmq's protocol error codes.
//!
//! Normative sources: RFC 37 (ZMTP 3.1) and RFC 23 (ZMTP 3.0); where they
//! leave a choice, the bytes match libzmq 4.3.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod command;
pub mod error;
pub mod frame;
pub mod greeting;
pub mod handshake;
mod mechanism;
pub mod metadata;
pub mod socket_type;

#[doc(hidden)]
pub mod fuzzing;

pub use command::{Command, MAX_PING_CONTEXT};
pub use error::{error_codes, ProtocolError};
pub use frame::{
    encode_frame, encode_header, Frame, FrameDecoder, FrameHeader, FLAG_COMMAND, FLAG_LONG,
    FLAG_MORE,
};
pub use greeting::{encode_greeting, MechanismName, ZmtpVersion, GREETING_LEN, SIGNATURE_LEN};
pub use handshake::{
    Handshake, HandshakeConfig, HandshakeStatus, PeerInfo, MAX_HANDSHAKE_COMMAND_SIZE,
};
pub use mechanism::{PROPERTY_IDENTITY, PROPERTY_SOCKET_TYPE};
pub use metadata::Metadata;
pub use socket_type::{SocketType, UnknownSocketType};
