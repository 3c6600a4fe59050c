//! The PLAIN mechanism (RFC 24/ZMTP-PLAIN), framed exactly as libzmq's
//! `plain_client_t` / `plain_server_t`:
//!
//! ```text
//! C: HELLO    = %d5 "HELLO" username password   (each: 1-octet size + octets)
//! S: WELCOME  = %d7 "WELCOME"                   (after ZAP said 200)
//! C: INITIATE = %d8 "INITIATE" metadata
//! S: READY    = %d5 "READY" metadata
//! S: ERROR    = %d5 "ERROR" reason              (ZAP 400/500)
//! ```

use bytes::{BufMut, Bytes, BytesMut};
use zeroize::{Zeroize, Zeroizing};

use crate::command::Command;
use crate::error::ProtocolError;
use crate::frame::{encode_header, Frame};
use crate::mechanism::{
    check_basic_structure, check_peer_socket_type, peer_error, Mechanism, ZapDecision, ZapGate,
};
use crate::metadata::Metadata;
use crate::socket_type::SocketType;
use crate::zap::ZapRequest;

const HELLO: &[u8] = b"\x05HELLO";
const WELCOME: &[u8] = b"\x07WELCOME";
const INITIATE: &[u8] = b"\x08INITIATE";
const READY: &[u8] = b"\x05READY";
const ERROR: &[u8] = b"\x05ERROR";
/// libzmq 4.3's PLAIN ERROR prefix. Its `plain_common.hpp` spells the
/// prefix `"\x05ERROR"`, which C reads as the hex escape `\x05E` (0x5E,
/// '^') followed by "RROR": libzmq's PLAIN server sends `^RROR` + reason,
/// and its PLAIN client recognises ERROR only in that form (a correct
/// `\x05ERROR` is an unexpected command to it). We send libzmq's form, so
/// libzmq clients report `HANDSHAKE_FAILED_AUTH(status)`, and accept both.
const LIBZMQ_ERROR: &[u8] = b"\x5eRROR";

/// Parses a PLAIN ERROR in either form into [`ProtocolError::PeerError`]
/// (RFC 24 `error`; libzmq `plain_client_t::process_error`: the reason
/// length must fit, else `MALFORMED_COMMAND_ERROR`).
fn plain_peer_error(body: &Bytes) -> ProtocolError {
    if !body.starts_with(LIBZMQ_ERROR) {
        return peer_error(body);
    }
    let rest = &body[LIBZMQ_ERROR.len()..];
    match rest.split_first() {
        Some((&len, reason)) if reason.len() >= usize::from(len) => ProtocolError::PeerError {
            reason: String::from_utf8_lossy(&reason[..usize::from(len)]).into_owned(),
        },
        _ => ProtocolError::MalformedError,
    }
}

/// Appends a command frame whose body is `prefix` (name-length + name)
/// followed by `metadata` (libzmq `make_command_with_basic_properties`).
fn command_with_metadata(prefix: &[u8], metadata: &Metadata, out: &mut BytesMut) {
    let len = prefix.len() + metadata.encoded_len();
    let mut header = [0u8; 9];
    let n = encode_header(false, true, len as u64, &mut header);
    out.reserve(n + len);
    out.put_slice(&header[..n]);
    out.put_slice(prefix);
    metadata.encode(out);
}

/// Parses `metadata` of an INITIATE/READY body after `prefix` and checks its
/// `Socket-Type` against ours.
fn parse_peer_metadata(
    local: SocketType,
    body: &Bytes,
    prefix: &[u8],
) -> Result<Metadata, ProtocolError> {
    let metadata = Metadata::parse_bytes(&body.slice(prefix.len()..))?;
    check_peer_socket_type(local, &metadata)?;
    Ok(metadata)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientState {
    WaitWelcome,
    WaitReady,
    Done,
}

/// PLAIN client: sends HELLO at once, INITIATE after WELCOME, done on READY.
pub(crate) struct PlainClient {
    local: SocketType,
    properties: Metadata,
    state: ClientState,
    /// Pending output; holds the password in HELLO, so it is wiped once
    /// handed out and on drop.
    out: Zeroizing<Vec<u8>>,
    peer: Option<Metadata>,
    zap: ZapGate,
}

impl std::fmt::Debug for PlainClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainClient")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl PlainClient {
    /// RFC 24 `hello = command-size %d5 "HELLO" username password`,
    /// `username = OCTET *VCHAR`: user name and password are at most 255
    /// octets each (libzmq refuses longer ones at `zmq_setsockopt`); longer
    /// values are truncated here.
    pub(crate) fn new(
        local: SocketType,
        properties: &Metadata,
        username: &[u8],
        password: &[u8],
    ) -> Self {
        let user = &username[..username.len().min(255)];
        let pass = &password[..password.len().min(255)];
        let body_len = HELLO.len() + 1 + user.len() + 1 + pass.len();
        let mut header = [0u8; 9];
        let n = encode_header(false, true, body_len as u64, &mut header);
        let mut out = Zeroizing::new(Vec::with_capacity(n + body_len));
        out.extend_from_slice(&header[..n]);
        out.extend_from_slice(HELLO);
        out.push(user.len() as u8);
        out.extend_from_slice(user);
        out.push(pass.len() as u8);
        out.extend_from_slice(pass);
        PlainClient {
            local,
            properties: properties.clone(),
            state: ClientState::WaitWelcome,
            out,
            peer: None,
            zap: ZapGate::default(),
        }
    }
}

impl Mechanism for PlainClient {
    fn poll_transmit(&mut self, out: &mut BytesMut) {
        out.extend_from_slice(&self.out);
        self.out.zeroize();
    }

    fn has_pending_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// libzmq `plain_client_t::process_handshake_command`: dispatch on the
    /// command prefix; WELCOME only in WaitWelcome and exactly 8 octets
    /// (else `MALFORMED_COMMAND_WELCOME`), READY only in WaitReady, ERROR in
    /// either; anything else is an unexpected command.
    fn process_frame(&mut self, frame: Frame) -> Result<(), ProtocolError> {
        let body = &frame.body;
        if body.starts_with(WELCOME) {
            if self.state != ClientState::WaitWelcome {
                return Err(ProtocolError::UnexpectedCommand);
            }
            if body.len() != WELCOME.len() {
                return Err(ProtocolError::MalformedWelcome);
            }
            let mut initiate = BytesMut::new();
            command_with_metadata(INITIATE, &self.properties, &mut initiate);
            self.out.extend_from_slice(&initiate);
            self.state = ClientState::WaitReady;
            Ok(())
        } else if body.starts_with(READY) {
            if self.state != ClientState::WaitReady {
                return Err(ProtocolError::UnexpectedCommand);
            }
            self.peer = Some(parse_peer_metadata(self.local, body, READY)?);
            self.state = ClientState::Done;
            Ok(())
        } else if (body.starts_with(ERROR) || body.starts_with(LIBZMQ_ERROR))
            && self.state != ClientState::Done
        {
            Err(plain_peer_error(body))
        } else {
            Err(ProtocolError::UnexpectedCommand)
        }
    }

    fn is_complete(&self) -> bool {
        self.state == ClientState::Done
    }

    fn peer_metadata(&self) -> Option<&Metadata> {
        self.peer.as_ref()
    }

    fn zap_gate(&self) -> &ZapGate {
        &self.zap
    }

    fn zap_gate_mut(&mut self) -> &mut ZapGate {
        &mut self.zap
    }

    fn zap_accepted(&mut self) -> Result<(), ProtocolError> {
        Err(ProtocolError::ZapUnspecified)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerState {
    WaitHello,
    WaitZap,
    WaitInitiate,
    Done,
}

/// PLAIN server: HELLO → ZAP → WELCOME, INITIATE → READY.
#[derive(Debug)]
pub(crate) struct PlainServer {
    local: SocketType,
    properties: Metadata,
    zap_decision: ZapDecision,
    state: ServerState,
    out: BytesMut,
    peer: Option<Metadata>,
    zap: ZapGate,
}

impl PlainServer {
    pub(crate) fn new(local: SocketType, properties: &Metadata, zap: ZapDecision) -> Self {
        PlainServer {
            local,
            properties: properties.clone(),
            zap_decision: zap,
            state: ServerState::WaitHello,
            out: BytesMut::new(),
            peer: None,
            zap: ZapGate::default(),
        }
    }

    /// libzmq `plain_server_t::process_hello`: basic structure, `\x05HELLO`
    /// prefix (else unexpected command), then user name and password whose
    /// lengths must account for every octet (`MALFORMED_COMMAND_HELLO`).
    fn process_hello(&mut self, body: &Bytes) -> Result<(), ProtocolError> {
        check_basic_structure(body)?;
        if !body.starts_with(HELLO) {
            return Err(ProtocolError::UnexpectedCommand);
        }
        let rest = &body[HELLO.len()..];
        let (&user_len, rest) = rest.split_first().ok_or(ProtocolError::MalformedHello)?;
        let user_len = usize::from(user_len);
        if rest.len() < user_len {
            return Err(ProtocolError::MalformedHello);
        }
        let user_start = HELLO.len() + 1;
        let rest = &rest[user_len..];
        let (&pass_len, rest) = rest.split_first().ok_or(ProtocolError::MalformedHello)?;
        if rest.len() != usize::from(pass_len) {
            return Err(ProtocolError::MalformedHello);
        }
        let pass_start = user_start + user_len + 1;
        match self.zap_decision {
            // PLAIN without ZAP is meaningless: libzmq fails with
            // HANDSHAKE_FAILED_NO_DETAIL(EFAULT) (plain_server.cpp).
            ZapDecision::Fail | ZapDecision::Skip => Err(ProtocolError::ZapHandlerMissing),
            ZapDecision::Ask => {
                self.zap.start(ZapRequest {
                    mechanism: "PLAIN",
                    credentials: vec![
                        body.slice(user_start..user_start + user_len),
                        body.slice(pass_start..),
                    ],
                });
                self.state = ServerState::WaitZap;
                Ok(())
            }
        }
    }
}

impl Mechanism for PlainServer {
    fn poll_transmit(&mut self, out: &mut BytesMut) {
        out.extend_from_slice(&self.out);
        self.out.clear();
    }

    fn has_pending_output(&self) -> bool {
        !self.out.is_empty()
    }

    fn process_frame(&mut self, frame: Frame) -> Result<(), ProtocolError> {
        let body = &frame.body;
        match self.state {
            ServerState::WaitHello => self.process_hello(body),
            ServerState::WaitInitiate => {
                // libzmq `process_initiate`: the prefix, then metadata.
                if !body.starts_with(INITIATE) {
                    return Err(ProtocolError::UnexpectedCommand);
                }
                self.peer = Some(parse_peer_metadata(self.local, body, INITIATE)?);
                command_with_metadata(READY, &self.properties, &mut self.out);
                self.state = ServerState::Done;
                Ok(())
            }
            // libzmq: a command in any other state is ZMTP_UNSPECIFIED; the
            // handshake never feeds frames then.
            ServerState::WaitZap | ServerState::Done => Err(ProtocolError::UnexpectedCommand),
        }
    }

    fn is_complete(&self) -> bool {
        self.state == ServerState::Done
    }

    fn peer_metadata(&self) -> Option<&Metadata> {
        self.peer.as_ref()
    }

    fn zap_gate(&self) -> &ZapGate {
        &self.zap
    }

    fn zap_gate_mut(&mut self) -> &mut ZapGate {
        &mut self.zap
    }

    /// libzmq `plain_server_t::produce_error`, with its `^RROR` prefix
    /// (see [`LIBZMQ_ERROR`]): `^RROR`, 3, the status digits.
    fn zap_error(&self, status: u16, out: &mut BytesMut) {
        let code = status.to_string();
        let len = LIBZMQ_ERROR.len() + 1 + code.len();
        let mut header = [0u8; 9];
        let n = encode_header(false, true, len as u64, &mut header);
        out.put_slice(&header[..n]);
        out.put_slice(LIBZMQ_ERROR);
        out.put_u8(code.len() as u8);
        out.put_slice(code.as_bytes());
    }

    fn zap_accepted(&mut self) -> Result<(), ProtocolError> {
        if self.state != ServerState::WaitZap {
            return Err(ProtocolError::ZapUnspecified);
        }
        Command::Unknown {
            name: Bytes::from_static(b"WELCOME"),
            data: Bytes::new(),
        }
        .encode(&mut self.out);
        self.state = ServerState::WaitInitiate;
        Ok(())
    }
}
