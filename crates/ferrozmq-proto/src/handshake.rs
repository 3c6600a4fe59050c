//! The ZMTP connection handshake as a sans-IO state machine: greeting
//! exchange with libzmq's staged sending (RFC 37 §"Version Negotiation",
//! §"Backwards Interoperability"; reference §5.3), the downgrade to ZMTP
//! 1.0/2.0 peers (RFC 13, RFC 15 §"Backwards Interoperability"), then the
//! security mechanism: NULL (RFC 37 §"The NULL Security Mechanism"), PLAIN
//! (RFC 24) or CURVE (RFC 25/26), with ZAP (RFC 27) hooks.
//!
//! The caller owns the socket. Its loop is:
//!
//! ```text
//! hs.poll_transmit(&mut out); write(out)
//! loop {
//!     read into input            (not while hs.awaiting_zap_reply())
//!     match hs.feed(&mut input)? {
//!         InProgress => { hs.poll_transmit(&mut out); write(out) }
//!         ZapRequest(req) => send req.to_frames(..) to the ZAP handler;
//!                            later: hs.zap_reply(reply)?; poll_transmit; feed again
//!         Complete(peer) => { hs.poll_transmit(&mut out); write(out); break }
//!     }
//! }
//! let cipher = hs.take_cipher();  // CURVE: every later frame goes through it
//! // `input` now starts with the peer's first frame after the handshake,
//! // framed as `peer.format`.
//! ```
//!
//! Note the `poll_transmit` after `Complete`: when the peer's whole greeting
//! and READY arrive in one read, our own READY is still queued then.

use std::fmt;

use bytes::{Bytes, BytesMut};
use zeroize::Zeroize;

use crate::error::ProtocolError;
use crate::frame::{encode_frame_for, FrameCipher, FrameDecoder, WireFormat};
use crate::greeting::{
    encode_greeting, MechanismName, ZmtpVersion, GREETING_LEN, MECHANISM_POS, MINOR_POS,
    REVISION_POS, SIGNATURE_LEN, V2_GREETING_LEN,
};
use crate::mechanism::{
    basic_properties, check_peer_socket_type, zap_decision, Mechanism, NullMechanism, ZapDecision,
    PROPERTY_IDENTITY, PROPERTY_USER_ID,
};
use crate::metadata::Metadata;
use crate::plain::{PlainClient, PlainServer};
use crate::socket_type::SocketType;
use crate::zap::{ZapConfig, ZapReply, ZapRequest};

/// Largest handshake command body accepted from a peer, whatever
/// `max_msg_size` says: 64 KiB. libzmq has no such cap, but a READY is a
/// socket type, a routing id (at most 255 octets) and a few application
/// properties; 64 KiB leaves ample room for `X-*` metadata while keeping an
/// unauthenticated peer from making us buffer megabytes before the
/// handshake is done (RFC 37 §"Security Considerations": "a peer MAY
/// allocate memory to a connection only after the security handshake is
/// complete").
pub const MAX_HANDSHAKE_COMMAND_SIZE: u64 = 64 * 1024;

/// Longest identity a ZMTP 1.0/2.0 peer may send: RFC 13 "An identity
/// greeting consists of a unique string of 1 to 255 octets"; RFC 15
/// `identity = final-short body` (a short frame).
pub const MAX_LEGACY_IDENTITY: u64 = 255;

/// Whether `field` names one of the mechanisms libzmq knows (NULL, PLAIN,
/// CURVE, GSSAPI; RFC 37 §"Authentication and Confidentiality"): a peer
/// announcing one of those that is not ours is a mechanism *mismatch*,
/// anything else an *unknown* mechanism. Both close the connection.
fn is_standard_mechanism(field: &[u8; 20]) -> bool {
    [&b"NULL"[..], b"PLAIN", b"CURVE", b"GSSAPI"]
        .iter()
        .any(|name| field.starts_with(name) && field[name.len()..].iter().all(|&b| b == 0))
}

/// The security mechanism and our role in it (libzmq: `ZMQ_PLAIN_*`,
/// `ZMQ_CURVE_*`). Secrets are wiped on drop and not printed by `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum MechanismConfig {
    /// NULL (RFC 37): no authentication (except ZAP with a domain).
    #[default]
    Null,
    /// PLAIN (RFC 24). The client sends `username`/`password` (at most 255
    /// octets each, longer ones are truncated); the server ignores them and
    /// asks ZAP.
    Plain {
        /// `ZMQ_PLAIN_SERVER`.
        server: bool,
        /// `ZMQ_PLAIN_USERNAME` (client).
        username: Vec<u8>,
        /// `ZMQ_PLAIN_PASSWORD` (client).
        password: Vec<u8>,
    },
    /// CURVE (RFC 25/26).
    Curve {
        /// `ZMQ_CURVE_SERVER`.
        server: bool,
        /// `ZMQ_CURVE_PUBLICKEY`: our long-term public key (the client sends
        /// it in INITIATE; the server derives its own from `secret_key`).
        public_key: [u8; 32],
        /// `ZMQ_CURVE_SECRETKEY`.
        secret_key: [u8; 32],
        /// `ZMQ_CURVE_SERVERKEY`: the server's public key (client only;
        /// required there).
        server_key: Option<[u8; 32]>,
    },
}

impl MechanismConfig {
    /// The greeting name of this mechanism.
    pub fn name(&self) -> MechanismName {
        match self {
            MechanismConfig::Null => MechanismName::Null,
            MechanismConfig::Plain { .. } => MechanismName::Plain,
            MechanismConfig::Curve { .. } => MechanismName::Curve,
        }
    }

    /// Whether this side is the mechanism's server.
    pub fn is_server(&self) -> bool {
        match self {
            MechanismConfig::Null => false,
            MechanismConfig::Plain { server, .. } | MechanismConfig::Curve { server, .. } => {
                *server
            }
        }
    }
}

impl Drop for MechanismConfig {
    fn drop(&mut self) {
        match self {
            MechanismConfig::Null => {}
            MechanismConfig::Plain { password, .. } => password.zeroize(),
            MechanismConfig::Curve { secret_key, .. } => secret_key.zeroize(),
        }
    }
}

impl fmt::Debug for MechanismConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MechanismConfig::Null => f.write_str("Null"),
            MechanismConfig::Plain {
                server, username, ..
            } => f
                .debug_struct("Plain")
                .field("server", server)
                .field("username", &String::from_utf8_lossy(username))
                .finish_non_exhaustive(),
            MechanismConfig::Curve {
                server,
                public_key,
                server_key,
                ..
            } => f
                .debug_struct("Curve")
                .field("server", server)
                .field("public_key", public_key)
                .field("server_key", server_key)
                .finish_non_exhaustive(),
        }
    }
}

/// What the local side of a handshake is.
#[derive(Clone, Debug)]
pub struct HandshakeConfig {
    /// Our socket type, sent as `Socket-Type` (ZMTP 3.x) or as the socket
    /// type octet (ZMTP 2.0), and used to vet the peer's.
    pub socket_type: SocketType,
    /// Our `ZMQ_ROUTING_ID`. Its length goes into the greeting padding (as
    /// libzmq does); it is sent as `Identity` in READY only for REQ, DEALER
    /// and ROUTER (libzmq `add_basic_properties`), and as the identity frame
    /// to ZMTP 1.0/2.0 peers.
    pub routing_id: Option<Bytes>,
    /// Extra application properties (`X-*`, from `ZMQ_METADATA`), sent after
    /// `Socket-Type`/`Identity`. Entries named `Socket-Type` or `Identity`
    /// are ignored.
    pub metadata: Metadata,
    /// Legacy role flag: the mechanism's server role is
    /// `mechanism.is_server() || as_server`. NULL ignores it, and the
    /// greeting's as-server octet is 0 regardless, as in libzmq.
    pub as_server: bool,
    /// `ZMQ_MAXMSGSIZE` (`None` = unlimited); also caps handshake commands.
    pub max_msg_size: Option<u64>,
    /// The security mechanism (default NULL).
    pub mechanism: MechanismConfig,
    /// ZAP handler, domain and enforcement (default: no handler, no domain).
    pub zap: ZapConfig,
}

impl HandshakeConfig {
    /// A NULL-mechanism config for `socket_type` with no routing id, no extra
    /// metadata, client role, no size limit and no ZAP; set the fields as
    /// needed (or use `HandshakeConfig { .., ..HandshakeConfig::new(t) }`).
    pub fn new(socket_type: SocketType) -> Self {
        HandshakeConfig {
            socket_type,
            routing_id: None,
            metadata: Metadata::new(),
            as_server: false,
            max_msg_size: None,
            mechanism: MechanismConfig::Null,
            zap: ZapConfig::default(),
        }
    }

    fn is_server(&self) -> bool {
        self.as_server || self.mechanism.is_server()
    }

    /// libzmq `session_base_t::zap_enabled`: a mechanism other than NULL,
    /// or a ZAP domain. Such sockets refuse ZMTP 1.0/2.0 peers.
    fn zap_enabled(&self) -> bool {
        self.mechanism.name() != MechanismName::Null || !self.zap.domain.is_empty()
    }
}

/// What the handshake learned about the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The protocol spoken: [`ZmtpVersion::V1_0`], [`ZmtpVersion::V2_0`],
    /// [`ZmtpVersion::V3_0`] or [`ZmtpVersion::V3_1`] (higher announced
    /// versions are treated as 3.1, like libzmq). Only 3.1 takes SUBSCRIBE
    /// / CANCEL commands; older peers take `\x01`/`\x00`-prefixed message
    /// frames ([`ZmtpVersion::uses_subscribe_commands`]).
    pub version: ZmtpVersion,
    /// The framing of every later frame, both directions
    /// (= `version.wire_format()`).
    pub format: WireFormat,
    /// The peer's socket type: its validated `Socket-Type` (ZMTP 3.x), its
    /// greeting octet (ZMTP 2.0; `None` if not a known type — libzmq does
    /// not check it), `None` for ZMTP 1.0 (no socket type on the wire).
    pub socket_type: Option<SocketType>,
    /// The peer's routing id: its `Identity` property (ZMTP 3.x), or its
    /// identity frame (ZMTP 1.0/2.0). Possibly empty: an empty identity
    /// means "none chosen", and a ROUTER then makes one up.
    pub routing_id: Option<Bytes>,
    /// Every property the peer sent, in wire order, including `Socket-Type`
    /// and `Identity` (what `zmq_msg_gets` looks up). After a ZAP 200 the
    /// list is libzmq's merge: `User-Id`, then the ZAP metadata, then the
    /// peer's properties whose names are not already present (libzmq
    /// `stream_engine_base_t::mechanism_ready`: ZAP properties win). Empty
    /// for ZMTP 1.0/2.0 peers.
    pub metadata: Metadata,
    /// The ZAP user id, when a ZAP handler said 200 (possibly empty).
    pub user_id: Option<Bytes>,
    /// We are PUB/XPUB and the peer is an unversioned ZMTP 1.0 peer: libzmq
    /// injects a phantom "subscribe all" message (`\x01`) into the socket
    /// right after the peer's identity (`process_routing_id_msg`,
    /// reference §5.3), because such peers never send subscriptions. The
    /// engine must do the same.
    pub subscribe_all: bool,
}

/// Result of [`Handshake::feed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandshakeStatus {
    /// More input (or sending our output, or a ZAP reply) is needed.
    InProgress,
    /// The mechanism needs ZAP (RFC 27) authentication: send this request to
    /// the handler and pass its reply to [`Handshake::zap_reply`]. Returned
    /// once; until the reply, `feed` consumes nothing and returns
    /// `InProgress` ([`Handshake::awaiting_zap_reply`] is true).
    ZapRequest(ZapRequest),
    /// Both sides are done; frames after the handshake are left in the input.
    Complete(PeerInfo),
}

#[derive(Debug)]
enum State {
    Running,
    Complete(PeerInfo),
    Failed(ProtocolError),
}

/// A ZMTP 1.0/2.0 peer: the identity-frame exchange that replaces the
/// mechanism (reference §5.3 table).
#[derive(Debug)]
struct Legacy {
    version: ZmtpVersion,
    /// The peer's identity frame as far as it has arrived (for an
    /// unversioned peer this starts with the greeting octets already read).
    frame: BytesMut,
    decoder: FrameDecoder,
    socket_type: Option<SocketType>,
    /// Unversioned peer (not revision 0x00): phantom subscription.
    unversioned: bool,
}

/// What [`Handshake::advance`] reached.
enum Step {
    Pending,
    Zap(ZapRequest),
    Complete(PeerInfo),
}

/// One connection's handshake, fed bytes and polled for bytes.
///
/// Sends its greeting in libzmq's stages so the downgrade to ZMTP 1.0/2.0
/// works (reference §5.3): the 10-octet signature at once, the major version
/// once the peer's signature has arrived, then — once the peer's major
/// version (offset 10) has arrived — either the rest of the 64-octet
/// greeting (ZMTP 3.x peer) or our socket-type octet (revision 0/1 peer),
/// and then the mechanism's commands or the identity frame.
pub struct Handshake {
    config: HandshakeConfig,
    local_greeting: [u8; GREETING_LEN],
    /// Octets of `local_greeting` handed out by `poll_transmit` so far.
    greeting_sent: usize,
    /// Octets of `local_greeting` that may be handed out now (10, 11, 12 or 64).
    greeting_allowed: usize,
    peer_greeting: [u8; GREETING_LEN],
    peer_greeting_len: usize,
    /// 64, or 12 for a revision 0/1 peer.
    peer_greeting_target: usize,
    version: Option<ZmtpVersion>,
    decoder: FrameDecoder,
    mechanism: Option<Box<dyn Mechanism>>,
    legacy: Option<Legacy>,
    /// Output after the greeting that is not a mechanism's (the identity
    /// frame for ZMTP 1.0/2.0 peers, a ZAP-denial ERROR).
    out: BytesMut,
    /// After a ZAP 400/500 the ERROR command must still go out.
    flush_after_failure: bool,
    state: State,
}

impl fmt::Debug for Handshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handshake")
            .field("config", &self.config)
            .field("peer_greeting_len", &self.peer_greeting_len)
            .field("version", &self.version)
            .field("mechanism", &self.mechanism)
            .field("legacy", &self.legacy)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Handshake {
    /// Starts a handshake for `config`. Nothing is sent until `poll_transmit`.
    pub fn new(config: HandshakeConfig) -> Self {
        let mut local_greeting = [0u8; GREETING_LEN];
        let routing_id_len = config.routing_id.as_ref().map_or(0, |r| r.len());
        // as-server is always 0 on the wire, as libzmq sends it (reference
        // §5.1, `memset(.., 0, 32)`; libzmq testutil's CURVE greeting too).
        encode_greeting(
            config.mechanism.name(),
            false,
            routing_id_len,
            &mut local_greeting,
        );
        let cap = config.max_msg_size.map_or(MAX_HANDSHAKE_COMMAND_SIZE, |m| {
            m.min(MAX_HANDSHAKE_COMMAND_SIZE)
        });
        Handshake {
            decoder: FrameDecoder::new(config.max_msg_size).with_command_limit(Some(cap)),
            config,
            local_greeting,
            greeting_sent: 0,
            greeting_allowed: SIGNATURE_LEN,
            peer_greeting: [0u8; GREETING_LEN],
            peer_greeting_len: 0,
            peer_greeting_target: GREETING_LEN,
            version: None,
            mechanism: None,
            legacy: None,
            out: BytesMut::new(),
            flush_after_failure: false,
            state: State::Running,
        }
    }

    /// Appends whatever must be sent now. At creation that is the 10-byte
    /// signature only; the major version byte follows once the peer's
    /// signature arrived, the rest of the greeting (or, for a ZMTP 1.0/2.0
    /// peer, the socket-type octet / identity) once the peer's revision
    /// byte arrived, then the mechanism's commands. After the handshake
    /// failed, nothing — except the ERROR of a ZAP 400/500 denial. After
    /// `Complete`, at most our not-yet-polled last command, then nothing.
    pub fn poll_transmit(&mut self, out: &mut BytesMut) {
        if matches!(self.state, State::Failed(_)) && !self.flush_after_failure {
            return;
        }
        if self.greeting_sent < self.greeting_allowed {
            out.extend_from_slice(&self.local_greeting[self.greeting_sent..self.greeting_allowed]);
            self.greeting_sent = self.greeting_allowed;
        }
        if let Some(m) = self.mechanism.as_mut() {
            m.poll_transmit(out);
        }
        if !self.out.is_empty() {
            out.extend_from_slice(&self.out);
            self.out.clear();
        }
    }

    /// Whether `poll_transmit` would append anything now.
    pub fn has_pending_output(&self) -> bool {
        (!matches!(self.state, State::Failed(_)) || self.flush_after_failure)
            && (self.greeting_sent < self.greeting_allowed
                || !self.out.is_empty()
                || self
                    .mechanism
                    .as_ref()
                    .is_some_and(|m| m.has_pending_output()))
    }

    /// Consumes handshake bytes from the front of `input` (leaving any bytes
    /// that follow the handshake for the frame decoder) and advances.
    ///
    /// Errors are final: the caller drops the connection and reports it to
    /// the monitor — [`ProtocolError::auth_status`] as
    /// `HANDSHAKE_FAILED_AUTH`, [`ProtocolError::no_detail_errno`] as
    /// `HANDSHAKE_FAILED_NO_DETAIL`, anything else as
    /// `HANDSHAKE_FAILED_PROTOCOL(err.code())`; later calls return the same
    /// error. After `Complete`, later calls consume nothing and return
    /// `Complete` again. Rules:
    /// * peer byte 0 != 0xFF, or bit 0 of byte 9 clear: an unversioned ZMTP
    ///   1.0 peer (RFC 15 §"Backwards Interoperability"; libzmq
    ///   `receive_greeting`): we send the rest of our identity frame (the
    ///   signature already was its V1 header), and the peer's first V1
    ///   frame, starting with the octets read so far, is its identity;
    /// * revision (byte 10) 0x00 or 0x01: we send our socket-type octet
    ///   (12-octet greeting), read theirs, then exchange identity frames in
    ///   V1 (revision 0, libzmq `handshake_v1_0`) or V2 framing (revision 1,
    ///   `handshake_v2_0`); libzmq does not check the peer's socket type
    ///   there, nor do we. With ZAP enabled (mechanism not NULL, or a ZAP
    ///   domain) such peers are refused with `UnsupportedVersion`, as libzmq
    ///   does. Identity frames over 255 octets are `FrameTooLarge`;
    /// * anything else is ZMTP 3.x (libzmq's `select_handshake_fun` default
    ///   branch), 3.0 only for revision 3 minor 0;
    /// * the 20-octet mechanism must equal ours (RFC 37: "If the mechanism
    ///   that the peer received does not exactly match the mechanism it
    ///   sent, it MUST close the connection") → `MechanismMismatch` /
    ///   `UnknownMechanism`; the peer's as-server octet is not checked
    ///   (libzmq ignores it; roles come from the config);
    /// * then the mechanism's commands, each at most
    ///   [`MAX_HANDSHAKE_COMMAND_SIZE`] and `max_msg_size` (`FrameTooLarge`),
    ///   each a command frame (a message frame is `UnexpectedCommand`), with
    ///   a `Socket-Type` compatible with ours (`IncompatibleSocketType`, or
    ///   `InvalidMetadata` if absent).
    pub fn feed(&mut self, input: &mut BytesMut) -> Result<HandshakeStatus, ProtocolError> {
        match &self.state {
            State::Complete(peer) => return Ok(HandshakeStatus::Complete(peer.clone())),
            State::Failed(e) => return Err(e.clone()),
            State::Running => {}
        }
        match self.advance(input) {
            Ok(Step::Complete(peer)) => {
                self.state = State::Complete(peer.clone());
                Ok(HandshakeStatus::Complete(peer))
            }
            Ok(Step::Zap(request)) => Ok(HandshakeStatus::ZapRequest(request)),
            Ok(Step::Pending) => Ok(HandshakeStatus::InProgress),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Hands the ZAP handler's reply to the mechanism (RFC 27; reference
    /// §5.2 step 5). 200: `Ok(())`; then call `poll_transmit` (READY /
    /// WELCOME) and `feed` (possibly with empty input) to go on. 300: fails
    /// with [`ProtocolError::AuthFailed`] and sends nothing. 400/500: fails
    /// with `AuthFailed` and queues an ERROR whose reason is the status code;
    /// call `poll_transmit` once more to send it before closing. A status
    /// outside 200/300/400/500 is `ZapInvalidStatusCode`; a reply nobody
    /// waits for is `ZapUnspecified`. Every error is final.
    pub fn zap_reply(&mut self, reply: ZapReply) -> Result<(), ProtocolError> {
        match &self.state {
            State::Failed(e) => return Err(e.clone()),
            State::Complete(_) => return Err(ProtocolError::ZapUnspecified),
            State::Running => {}
        }
        let Some(m) = self.mechanism.as_mut() else {
            return Err(self.fail(ProtocolError::ZapUnspecified));
        };
        let result = m
            .zap_gate_mut()
            .finish(reply)
            .and_then(|()| m.zap_accepted());
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                // RFC 27 / libzmq zap_client_common_handshake_t: 300 closes
                // silently, 400 and 500 send ERROR with the status code.
                if let ProtocolError::AuthFailed {
                    status: status @ (400 | 500),
                } = e
                {
                    if let Some(m) = self.mechanism.as_ref() {
                        m.zap_error(status, &mut self.out);
                    }
                    self.flush_after_failure = true;
                }
                Err(self.fail(e))
            }
        }
    }

    /// True between [`HandshakeStatus::ZapRequest`] and
    /// [`Handshake::zap_reply`]: `feed` makes no progress then, so the caller
    /// may stop reading.
    pub fn awaiting_zap_reply(&self) -> bool {
        matches!(self.state, State::Running)
            && self
                .mechanism
                .as_ref()
                .is_some_and(|m| m.zap_gate().awaiting())
    }

    /// The data-phase frame cipher of a completed CURVE handshake (once;
    /// `None` for NULL and PLAIN, before completion, and after the first
    /// call). Every frame after the handshake, both directions, goes
    /// through it: [`FrameCipher::encrypt`] appends whole MESSAGE frames,
    /// [`FrameCipher::decrypt`] turns each decoded frame back into the
    /// inner frame.
    pub fn take_cipher(&mut self) -> Option<Box<dyn FrameCipher + Send>> {
        if !self.is_complete() {
            return None;
        }
        self.mechanism.as_mut().and_then(|m| m.take_cipher())
    }

    /// True once `feed` has returned `Complete`.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Complete(_))
    }

    /// True once `feed` has returned an error.
    pub fn is_failed(&self) -> bool {
        matches!(self.state, State::Failed(_))
    }

    /// The negotiated version, known once the peer's greeting arrived (for an
    /// unversioned ZMTP 1.0 peer: once detected).
    pub fn peer_version(&self) -> Option<ZmtpVersion> {
        self.version
    }

    /// Records a final error; drops the mechanism unless an ERROR must
    /// still be sent.
    fn fail(&mut self, e: ProtocolError) -> ProtocolError {
        self.state = State::Failed(e.clone());
        if !self.flush_after_failure {
            self.mechanism = None;
            self.out.clear();
        }
        e
    }

    fn advance(&mut self, input: &mut BytesMut) -> Result<Step, ProtocolError> {
        while self.legacy.is_none() && self.peer_greeting_len < self.peer_greeting_target {
            // Read up to the next point where something must be checked.
            let checkpoint = match self.peer_greeting_len {
                0 => 1,
                n if n < SIGNATURE_LEN => SIGNATURE_LEN,
                SIGNATURE_LEN => REVISION_POS + 1,
                _ => self.peer_greeting_target,
            };
            let n = (checkpoint - self.peer_greeting_len).min(input.len());
            if n == 0 {
                return Ok(Step::Pending);
            }
            let chunk = input.split_to(n);
            self.peer_greeting[self.peer_greeting_len..self.peer_greeting_len + n]
                .copy_from_slice(&chunk);
            self.peer_greeting_len += n;
            if self.peer_greeting_len == checkpoint {
                self.check_greeting_stage()?;
            }
        }
        if self.legacy.is_some() {
            return self.advance_legacy(input);
        }
        let Some(mechanism) = self.mechanism.as_mut() else {
            // Unreachable: the mechanism is created with the last greeting octet.
            return Err(ProtocolError::UnexpectedCommand);
        };
        while !mechanism.is_complete() {
            if let Some(request) = mechanism.zap_gate_mut().take_request() {
                return Ok(Step::Zap(request));
            }
            if mechanism.zap_gate().awaiting() {
                return Ok(Step::Pending);
            }
            // Fail fast on a message frame, before its body arrives.
            if let Some(h) = self.decoder.decode_header(input)? {
                if !h.command {
                    return Err(ProtocolError::UnexpectedCommand);
                }
            }
            match self.decoder.decode(input)? {
                Some(frame) => mechanism.process_frame(frame)?,
                None => return Ok(Step::Pending),
            }
        }
        let mut metadata = mechanism.peer_metadata().cloned().unwrap_or_default();
        let socket_type = check_peer_socket_type(self.config.socket_type, &metadata)?;
        let routing_id = metadata.get(PROPERTY_IDENTITY).cloned();
        let mut user_id = None;
        if let Some(reply) = mechanism.zap_gate().accepted() {
            user_id = Some(reply.user_id.clone());
            metadata = merge_zap_properties(reply, &metadata);
        }
        let version = self.version.unwrap_or(ZmtpVersion::V3_1);
        Ok(Step::Complete(PeerInfo {
            version,
            format: version.wire_format(),
            socket_type: Some(socket_type),
            routing_id,
            metadata,
            user_id,
            subscribe_all: false,
        }))
    }

    /// ZMTP 1.0/2.0: reads the peer's identity frame (RFC 13 `greeting =
    /// anonymous / identity`, RFC 15 `identity = final-short body`) without
    /// consuming anything after it.
    fn advance_legacy(&mut self, input: &mut BytesMut) -> Result<Step, ProtocolError> {
        let Some(legacy) = self.legacy.as_mut() else {
            return Ok(Step::Pending);
        };
        let total = loop {
            match legacy.decoder.decode_header(&legacy.frame)? {
                Some(h) => break h.header_len + h.body_len as usize,
                None => {
                    // Headers are at most 10 octets: move them one at a time.
                    if input.is_empty() {
                        return Ok(Step::Pending);
                    }
                    legacy.frame.extend_from_slice(&input.split_to(1));
                }
            }
        };
        if legacy.frame.len() < total {
            let n = (total - legacy.frame.len()).min(input.len());
            legacy.frame.extend_from_slice(&input.split_to(n));
            if legacy.frame.len() < total {
                return Ok(Step::Pending);
            }
        }
        let Some(frame) = legacy.decoder.decode(&mut legacy.frame)? else {
            return Ok(Step::Pending);
        };
        if !legacy.frame.is_empty() {
            // Only if the greeting octets held more than one frame, which a
            // V1 header that long cannot: give them back in order anyway.
            let mut rest = std::mem::take(&mut legacy.frame);
            rest.extend_from_slice(input);
            *input = rest;
        }
        let subscribe_all = legacy.unversioned
            && matches!(self.config.socket_type, SocketType::Pub | SocketType::XPub);
        Ok(Step::Complete(PeerInfo {
            version: legacy.version,
            format: legacy.version.wire_format(),
            socket_type: legacy.socket_type,
            routing_id: Some(frame.body),
            metadata: Metadata::new(),
            user_id: None,
            subscribe_all,
        }))
    }

    /// Our identity frame for a revision 0/1 peer (libzmq `routing_id_msg`
    /// through the v1/v2 encoder: one frame, no MORE).
    fn queue_identity(&mut self, format: WireFormat) {
        let id = self.config.routing_id.clone().unwrap_or_default();
        encode_frame_for(format, false, false, &id, &mut self.out);
    }

    fn start_legacy(
        &mut self,
        version: ZmtpVersion,
        prefix: &[u8],
        socket_type: Option<SocketType>,
        unversioned: bool,
    ) {
        let max = self
            .config
            .max_msg_size
            .map_or(MAX_LEGACY_IDENTITY, |m| m.min(MAX_LEGACY_IDENTITY));
        self.version = Some(version);
        self.legacy = Some(Legacy {
            version,
            frame: BytesMut::from(prefix),
            decoder: FrameDecoder::for_format(version.wire_format(), Some(max)),
            socket_type,
            unversioned,
        });
    }

    /// Runs the check due when the peer's greeting reached 1, 10, 11, 12 or
    /// 64 octets.
    fn check_greeting_stage(&mut self) -> Result<(), ProtocolError> {
        let len = self.peer_greeting_len;
        let g = self.peer_greeting;
        let unversioned = (len == 1 && g[0] != 0xFF)
            || (len == SIGNATURE_LEN && g[SIGNATURE_LEN - 1] & 0x01 == 0);
        if unversioned {
            // RFC 15 §"Backwards Interoperability": "When we have detected a
            // ZMTP/1.0 peer, we have already sent 10 octets, which the other
            // peer interprets as the start of an identity frame. We continue
            // by sending the body of the identity frame" (libzmq
            // `handshake_v1_0_unversioned`; refused when ZAP is enabled).
            if self.config.zap_enabled() {
                return Err(ProtocolError::UnsupportedVersion { major: 1, minor: 0 });
            }
            let id = self.config.routing_id.clone().unwrap_or_default();
            self.out.extend_from_slice(&id);
            self.start_legacy(ZmtpVersion::V1_0, &g[..len], None, true);
            return Ok(());
        }
        match len {
            SIGNATURE_LEN => {
                // Versioned peer: send our major version (libzmq receive_greeting_versioned).
                self.greeting_allowed = REVISION_POS + 1;
            }
            n if n == REVISION_POS + 1 => match g[REVISION_POS] {
                rev @ (0x00 | 0x01) => {
                    // "Use ZMTP/2.0 to talk to older peers": our socket type
                    // octet completes a 12-octet greeting (RFC 15 `greeting`).
                    if self.config.zap_enabled() {
                        return Err(ProtocolError::UnsupportedVersion {
                            major: rev + 1,
                            minor: 0,
                        });
                    }
                    self.local_greeting[MINOR_POS] = self.config.socket_type.as_raw() as u8;
                    self.greeting_allowed = V2_GREETING_LEN;
                    self.peer_greeting_target = V2_GREETING_LEN;
                }
                _ => {
                    // ZMTP 3.x: send the rest of our greeting. RFC 37: "A peer that
                    // reads a full greeting, including mechanism, MUST also send a
                    // full greeting including mechanism."
                    self.greeting_allowed = GREETING_LEN;
                }
            },
            V2_GREETING_LEN if self.peer_greeting_target == V2_GREETING_LEN => {
                // Revision 0 → libzmq handshake_v1_0 (V1 framing), 1 →
                // handshake_v2_0 (V2 framing); identity goes first.
                let version = if g[REVISION_POS] == 0 {
                    ZmtpVersion::V1_0
                } else {
                    ZmtpVersion::V2_0
                };
                let peer_type = SocketType::from_raw(i32::from(g[MINOR_POS]));
                self.queue_identity(version.wire_format());
                self.start_legacy(version, &[], peer_type, false);
            }
            GREETING_LEN => {
                let mut mech = [0u8; 20];
                mech.copy_from_slice(&g[MECHANISM_POS..MECHANISM_POS + 20]);
                let ours = self.config.mechanism.name();
                match MechanismName::parse(&mech) {
                    Some(m) if m == ours => {}
                    Some(_) => return Err(ProtocolError::MechanismMismatch),
                    None if is_standard_mechanism(&mech) => {
                        return Err(ProtocolError::MechanismMismatch)
                    }
                    None => return Err(ProtocolError::UnknownMechanism),
                }
                self.version = Some(ZmtpVersion::negotiate(g[REVISION_POS], g[MINOR_POS]));
                self.mechanism = Some(self.make_mechanism()?);
            }
            _ => {}
        }
        Ok(())
    }

    /// Creates our side of the mechanism (libzmq `handshake_v3_x`).
    fn make_mechanism(&self) -> Result<Box<dyn Mechanism>, ProtocolError> {
        let c = &self.config;
        let props = basic_properties(c.socket_type, c.routing_id.as_ref(), &c.metadata);
        let server = c.is_server();
        Ok(match &c.mechanism {
            MechanismConfig::Null => {
                let zap = match zap_decision(MechanismName::Null, &c.zap) {
                    ZapDecision::Ask => true,
                    ZapDecision::Skip => false,
                    ZapDecision::Fail => return Err(ProtocolError::ZapHandlerMissing),
                };
                Box::new(NullMechanism::new(c.socket_type, &props, zap))
            }
            MechanismConfig::Plain {
                username, password, ..
            } => {
                if server {
                    Box::new(PlainServer::new(
                        c.socket_type,
                        &props,
                        zap_decision(MechanismName::Plain, &c.zap),
                    ))
                } else {
                    Box::new(PlainClient::new(c.socket_type, &props, username, password))
                }
            }
            MechanismConfig::Curve {
                public_key,
                secret_key,
                server_key,
                ..
            } => {
                if server {
                    Box::new(crate::curve::CurveServer::new(
                        c.socket_type,
                        &props,
                        secret_key,
                        zap_decision(MechanismName::Curve, &c.zap),
                    ))
                } else {
                    // libzmq's client boxes to whatever server key it has;
                    // without one nothing can be boxed.
                    let server_key = server_key.ok_or(ProtocolError::Cryptographic)?;
                    Box::new(crate::curve::CurveClient::new(
                        c.socket_type,
                        &props,
                        public_key,
                        secret_key,
                        &server_key,
                    )?)
                }
            }
        })
    }
}

/// libzmq `stream_engine_base_t::mechanism_ready`: properties are a map
/// filled with the ZAP properties (`User-Id` first, then the reply's
/// metadata) and then the peer's ZMTP properties, each insert keeping an
/// existing name.
fn merge_zap_properties(reply: &ZapReply, peer: &Metadata) -> Metadata {
    let mut merged = Metadata::new();
    merged.insert(PROPERTY_USER_ID, reply.user_id.clone());
    for (name, value) in reply.metadata.iter().chain(peer.iter()) {
        if merged.get(name).is_none() {
            merged.insert(name, value.clone());
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Handshake>();
        assert_send_sync::<HandshakeConfig>();
        assert_send_sync::<PeerInfo>();
    }

    #[test]
    fn standard_mechanism_names() {
        let field = |name: &[u8]| {
            let mut f = [0u8; 20];
            f[..name.len()].copy_from_slice(name);
            f
        };
        assert!(is_standard_mechanism(&field(b"PLAIN")));
        assert!(is_standard_mechanism(&field(b"GSSAPI")));
        assert!(!is_standard_mechanism(&field(b"PLAINX")));
        assert!(!is_standard_mechanism(&field(b"")));
        let mut trailing = field(b"CURVE");
        trailing[19] = 1;
        assert!(!is_standard_mechanism(&trailing));
    }
}
