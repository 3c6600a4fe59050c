//! The ZMTP 3.x connection handshake as a sans-IO state machine: greeting
//! exchange with libzmq's staged sending (RFC 37 §"Version Negotiation",
//! §"Backwards Interoperability"; reference §5.3), then the security
//! mechanism (NULL for now, RFC 37 §"The NULL Security Mechanism").
//!
//! The caller owns the socket. Its loop is:
//!
//! ```text
//! hs.poll_transmit(&mut out); write(out)
//! loop {
//!     read into input
//!     match hs.feed(&mut input)? {
//!         InProgress => { hs.poll_transmit(&mut out); write(out) }
//!         Complete(peer) => { hs.poll_transmit(&mut out); write(out); break }
//!     }
//! }
//! // `input` now starts with the peer's first frame after READY.
//! ```
//!
//! Note the `poll_transmit` after `Complete`: when the peer's whole greeting
//! and READY arrive in one read, our own READY is still queued then.

use bytes::{Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::frame::FrameDecoder;
use crate::greeting::{
    encode_greeting, MechanismName, ZmtpVersion, GREETING_LEN, MECHANISM_POS, MINOR_POS,
    REVISION_POS, SIGNATURE_LEN,
};
use crate::mechanism::{
    basic_properties, check_peer_socket_type, Mechanism, NullMechanism, PROPERTY_IDENTITY,
};
use crate::metadata::Metadata;
use crate::socket_type::SocketType;

/// Largest handshake command body accepted from a peer, whatever
/// `max_msg_size` says: 64 KiB. libzmq has no such cap, but a READY is a
/// socket type, a routing id (at most 255 octets) and a few application
/// properties; 64 KiB leaves ample room for `X-*` metadata while keeping an
/// unauthenticated peer from making us buffer megabytes before the
/// handshake is done (RFC 37 §"Security Considerations": "a peer MAY
/// allocate memory to a connection only after the security handshake is
/// complete").
pub const MAX_HANDSHAKE_COMMAND_SIZE: u64 = 64 * 1024;

/// Whether `field` names one of the mechanisms libzmq knows (NULL, PLAIN,
/// CURVE, GSSAPI; RFC 37 §"Authentication and Confidentiality"): a peer
/// announcing one of those that is not ours is a mechanism *mismatch*,
/// anything else an *unknown* mechanism. Both close the connection.
fn is_standard_mechanism(field: &[u8; 20]) -> bool {
    [&b"NULL"[..], b"PLAIN", b"CURVE", b"GSSAPI"]
        .iter()
        .any(|name| field.starts_with(name) && field[name.len()..].iter().all(|&b| b == 0))
}

/// What the local side of a handshake is.
#[derive(Clone, Debug)]
pub struct HandshakeConfig {
    /// Our socket type, sent as `Socket-Type` and used to vet the peer's.
    pub socket_type: SocketType,
    /// Our `ZMQ_ROUTING_ID`. Its length goes into the greeting padding (as
    /// libzmq does); it is sent as `Identity` in READY only for REQ, DEALER
    /// and ROUTER (libzmq `add_basic_properties`).
    pub routing_id: Option<Bytes>,
    /// Extra application properties (`X-*`, from `ZMQ_METADATA`), sent after
    /// `Socket-Type`/`Identity`. Entries named `Socket-Type` or `Identity`
    /// are ignored.
    pub metadata: Metadata,
    /// The mechanism role (PLAIN/CURVE server). NULL ignores it, and the
    /// greeting's as-server octet is 0 regardless, as in libzmq.
    pub as_server: bool,
    /// `ZMQ_MAXMSGSIZE` (`None` = unlimited); also caps handshake commands.
    pub max_msg_size: Option<u64>,
}

impl HandshakeConfig {
    /// A NULL-mechanism config for `socket_type` with no routing id, no extra
    /// metadata, client role and no size limit; set the fields as needed.
    pub fn new(socket_type: SocketType) -> Self {
        HandshakeConfig {
            socket_type,
            routing_id: None,
            metadata: Metadata::new(),
            as_server: false,
            max_msg_size: None,
        }
    }
}

/// What the handshake learned about the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The protocol to speak from now on: [`ZmtpVersion::V3_0`] or
    /// [`ZmtpVersion::V3_1`] (higher announced versions are treated as 3.1,
    /// like libzmq). 3.0 peers take subscriptions as prefixed message frames.
    pub version: ZmtpVersion,
    /// The peer's validated `Socket-Type`.
    pub socket_type: SocketType,
    /// The peer's `Identity` property, if it sent one (possibly empty: an
    /// empty identity means "none chosen", and a ROUTER then makes one up).
    pub routing_id: Option<Bytes>,
    /// Every property the peer sent, in wire order, including `Socket-Type`
    /// and `Identity` (what `zmq_msg_gets` looks up).
    pub metadata: Metadata,
}

/// Result of [`Handshake::feed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandshakeStatus {
    /// More input (or sending our output) is needed.
    InProgress,
    /// Both sides are done; frames after the peer's READY are left in the input.
    Complete(PeerInfo),
}

#[derive(Debug)]
enum State {
    Running,
    Complete(PeerInfo),
    Failed(ProtocolError),
}

/// One connection's ZMTP 3.x handshake, fed bytes and polled for bytes.
///
/// Sends its greeting in libzmq's three stages so a later downgrade to ZMTP
/// 1.0/2.0 stays possible (reference §5.3): the 10-octet signature at once,
/// the major version once the peer's signature has arrived, the rest of the
/// greeting once the peer's major version (offset 10) has arrived, and then
/// the mechanism's commands (NULL: READY) as soon as both greetings are known.
#[derive(Debug)]
pub struct Handshake {
    config: HandshakeConfig,
    local_greeting: [u8; GREETING_LEN],
    /// Octets of `local_greeting` handed out by `poll_transmit` so far.
    greeting_sent: usize,
    /// Octets of `local_greeting` that may be handed out now (10, 11 or 64).
    greeting_allowed: usize,
    peer_greeting: [u8; GREETING_LEN],
    peer_greeting_len: usize,
    version: Option<ZmtpVersion>,
    decoder: FrameDecoder,
    mechanism: Option<Box<dyn Mechanism>>,
    state: State,
}

impl Handshake {
    /// Starts a handshake for `config`. Nothing is sent until `poll_transmit`.
    pub fn new(config: HandshakeConfig) -> Self {
        let mut local_greeting = [0u8; GREETING_LEN];
        let routing_id_len = config.routing_id.as_ref().map_or(0, |r| r.len());
        // as-server is always 0 on the wire, as libzmq sends it (reference §5.1).
        encode_greeting(
            MechanismName::Null,
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
            version: None,
            mechanism: None,
            state: State::Running,
        }
    }

    /// Appends whatever must be sent now. At creation that is the 10-byte
    /// signature only; the major version byte follows once the peer's
    /// signature arrived, the rest of the greeting once the peer's revision
    /// byte (offset 10) arrived, then the READY command once both greetings
    /// are known. After the handshake failed, nothing. After `Complete`, at
    /// most our not-yet-polled READY, then nothing.
    pub fn poll_transmit(&mut self, out: &mut BytesMut) {
        if matches!(self.state, State::Failed(_)) {
            return;
        }
        if self.greeting_sent < self.greeting_allowed {
            out.extend_from_slice(&self.local_greeting[self.greeting_sent..self.greeting_allowed]);
            self.greeting_sent = self.greeting_allowed;
        }
        if let Some(m) = self.mechanism.as_mut() {
            m.poll_transmit(out);
        }
    }

    /// Whether `poll_transmit` would append anything now.
    pub fn has_pending_output(&self) -> bool {
        !matches!(self.state, State::Failed(_))
            && (self.greeting_sent < self.greeting_allowed
                || self
                    .mechanism
                    .as_ref()
                    .is_some_and(|m| m.has_pending_output()))
    }

    /// Consumes handshake bytes from the front of `input` (leaving any bytes
    /// that follow the peer's READY for the frame decoder) and advances.
    ///
    /// Errors are final: the caller drops the connection and reports
    /// `err.code()` to the monitor; later calls return the same error.
    /// After `Complete`, later calls consume nothing and return `Complete`
    /// again. Rules:
    /// * peer byte 0 != 0xFF, or bit 0 of byte 9 clear: a ZMTP 1.0 peer
    ///   (RFC 37 §"Detecting ZMTP 1.0 and 2.0 Peers"; libzmq
    ///   `receive_greeting`) → `UnsupportedVersion { 1, 0 }`;
    /// * revision (byte 10) 0x00 → `UnsupportedVersion { 1, 0 }`, 0x01 →
    ///   `UnsupportedVersion { 2, 0 }`; anything else is ZMTP 3.x (libzmq's
    ///   `select_handshake_fun` default branch), 3.0 only for revision 3
    ///   minor 0;
    /// * the 20-octet mechanism must equal ours (RFC 37: "If the mechanism
    ///   that the peer received does not exactly match the mechanism it
    ///   sent, it MUST close the connection") → `MechanismMismatch` /
    ///   `UnknownMechanism`; the peer's as-server octet is not checked
    ///   (libzmq ignores it);
    /// * NULL: the peer's first frame must be a READY command (ERROR →
    ///   `PeerError`, a message frame or other command →
    ///   `UnexpectedCommand`), at most [`MAX_HANDSHAKE_COMMAND_SIZE`] and
    ///   `max_msg_size` (`FrameTooLarge`), with a `Socket-Type` compatible
    ///   with ours (`IncompatibleSocketType`, or `InvalidMetadata` if absent).
    pub fn feed(&mut self, input: &mut BytesMut) -> Result<HandshakeStatus, ProtocolError> {
        match &self.state {
            State::Complete(peer) => return Ok(HandshakeStatus::Complete(peer.clone())),
            State::Failed(e) => return Err(e.clone()),
            State::Running => {}
        }
        match self.advance(input) {
            Ok(Some(peer)) => {
                self.state = State::Complete(peer.clone());
                Ok(HandshakeStatus::Complete(peer))
            }
            Ok(None) => Ok(HandshakeStatus::InProgress),
            Err(e) => {
                self.state = State::Failed(e.clone());
                self.mechanism = None;
                Err(e)
            }
        }
    }

    /// True once `feed` has returned `Complete`.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Complete(_))
    }

    /// True once `feed` has returned an error.
    pub fn is_failed(&self) -> bool {
        matches!(self.state, State::Failed(_))
    }

    /// The negotiated version, known once the peer's whole greeting arrived.
    pub fn peer_version(&self) -> Option<ZmtpVersion> {
        self.version
    }

    fn advance(&mut self, input: &mut BytesMut) -> Result<Option<PeerInfo>, ProtocolError> {
        while self.peer_greeting_len < GREETING_LEN {
            // Read up to the next point where something must be checked.
            let checkpoint = match self.peer_greeting_len {
                0 => 1,
                n if n < SIGNATURE_LEN => SIGNATURE_LEN,
                SIGNATURE_LEN => REVISION_POS + 1,
                _ => GREETING_LEN,
            };
            let n = (checkpoint - self.peer_greeting_len).min(input.len());
            if n == 0 {
                return Ok(None);
            }
            let chunk = input.split_to(n);
            self.peer_greeting[self.peer_greeting_len..self.peer_greeting_len + n]
                .copy_from_slice(&chunk);
            self.peer_greeting_len += n;
            if self.peer_greeting_len == checkpoint {
                self.check_greeting_stage()?;
            }
        }
        let Some(mechanism) = self.mechanism.as_mut() else {
            // Unreachable: the mechanism is created with the last greeting octet.
            return Err(ProtocolError::UnexpectedCommand);
        };
        while mechanism.peer_metadata().is_none() {
            // Fail fast on a message frame, before its body arrives.
            if let Some(h) = self.decoder.decode_header(input)? {
                if !h.command {
                    return Err(ProtocolError::UnexpectedCommand);
                }
            }
            match self.decoder.decode(input)? {
                Some(frame) => mechanism.process_frame(frame)?,
                None => return Ok(None),
            }
        }
        let metadata = mechanism.peer_metadata().cloned().unwrap_or_default();
        let socket_type = check_peer_socket_type(self.config.socket_type, &metadata)?;
        Ok(Some(PeerInfo {
            version: self.version.unwrap_or(ZmtpVersion::V3_1),
            socket_type,
            routing_id: metadata.get(PROPERTY_IDENTITY).cloned(),
            metadata,
        }))
    }

    /// Runs the check due when the peer's greeting reached 1, 10, 11 or 64 octets.
    fn check_greeting_stage(&mut self) -> Result<(), ProtocolError> {
        let g = &self.peer_greeting;
        match self.peer_greeting_len {
            1 if g[0] != 0xFF => Err(ProtocolError::UnsupportedVersion { major: 1, minor: 0 }),
            SIGNATURE_LEN => {
                if g[SIGNATURE_LEN - 1] & 0x01 == 0 {
                    return Err(ProtocolError::UnsupportedVersion { major: 1, minor: 0 });
                }
                // Versioned peer: send our major version (libzmq receive_greeting_versioned).
                self.greeting_allowed = REVISION_POS + 1;
                Ok(())
            }
            n if n == REVISION_POS + 1 => match g[REVISION_POS] {
                0x00 => Err(ProtocolError::UnsupportedVersion { major: 1, minor: 0 }),
                0x01 => Err(ProtocolError::UnsupportedVersion { major: 2, minor: 0 }),
                _ => {
                    // ZMTP 3.x: send the rest of our greeting. RFC 37: "A peer that
                    // reads a full greeting, including mechanism, MUST also send a
                    // full greeting including mechanism."
                    self.greeting_allowed = GREETING_LEN;
                    Ok(())
                }
            },
            GREETING_LEN => {
                let mut mech = [0u8; 20];
                mech.copy_from_slice(&g[MECHANISM_POS..MECHANISM_POS + 20]);
                match MechanismName::parse(&mech) {
                    Some(MechanismName::Null) => {}
                    None if is_standard_mechanism(&mech) => {
                        return Err(ProtocolError::MechanismMismatch)
                    }
                    None => return Err(ProtocolError::UnknownMechanism),
                }
                self.version = Some(ZmtpVersion::negotiate(g[REVISION_POS], g[MINOR_POS]));
                let props = basic_properties(
                    self.config.socket_type,
                    self.config.routing_id.as_ref(),
                    &self.config.metadata,
                );
                self.mechanism = Some(Box::new(NullMechanism::new(
                    self.config.socket_type,
                    &props,
                )));
                Ok(())
            }
            _ => Ok(()),
        }
    }
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
