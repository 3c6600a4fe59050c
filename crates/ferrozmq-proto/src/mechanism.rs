//! Security mechanisms: the command exchange that follows the greeting
//! (RFC 37 §"Authentication and Confidentiality"). NULL lives here; PLAIN
//! (RFC 24) is in [`crate::plain`], CURVE (RFC 25/26) in [`crate::curve`].
//! All of them implement [`Mechanism`] and plug into [`crate::Handshake`].

use std::fmt::Debug;

use bytes::{Bytes, BytesMut};

use crate::command::Command;
use crate::error::ProtocolError;
use crate::frame::{Frame, FrameCipher};
use crate::greeting::MechanismName;
use crate::metadata::Metadata;
use crate::socket_type::SocketType;
use crate::zap::{ZapConfig, ZapReply, ZapRequest};

/// Metadata property naming the sender's socket type (RFC 37 §"Connection Metadata").
pub const PROPERTY_SOCKET_TYPE: &str = "Socket-Type";
/// Metadata property carrying the sender's routing id (RFC 37 §"The Identity Property").
pub const PROPERTY_IDENTITY: &str = "Identity";
/// Property libzmq adds for the ZAP user id (`ZMQ_MSG_PROPERTY_USER_ID`).
pub const PROPERTY_USER_ID: &str = "User-Id";

/// One side of a security mechanism's handshake, after the greetings.
///
/// The handshake driver hands it every command frame the peer sends until
/// [`Mechanism::is_complete`], except while its [`ZapGate`] waits for a ZAP
/// reply, and drains [`Mechanism::poll_transmit`] whenever it is asked for
/// output.
pub(crate) trait Mechanism: Debug + Send + Sync {
    /// Appends whole command frames that must be sent now.
    fn poll_transmit(&mut self, out: &mut BytesMut);
    /// Whether [`Mechanism::poll_transmit`] would append anything.
    fn has_pending_output(&self) -> bool;
    /// Handles one frame from the peer; an error is final.
    fn process_frame(&mut self, frame: Frame) -> Result<(), ProtocolError>;
    /// Both sides are done: our last command is queued and the peer's
    /// metadata is validated.
    fn is_complete(&self) -> bool;
    /// The peer's validated metadata, once known.
    fn peer_metadata(&self) -> Option<&Metadata>;
    /// The mechanism's ZAP state (clients: always idle).
    fn zap_gate(&self) -> &ZapGate;
    /// Mutable access to the ZAP state.
    fn zap_gate_mut(&mut self) -> &mut ZapGate;
    /// ZAP said 200: carry on (queue READY / WELCOME).
    fn zap_accepted(&mut self) -> Result<(), ProtocolError>;
    /// Appends the ERROR command a ZAP 400/500 denial sends (RFC 27).
    fn zap_error(&self, status: u16, out: &mut BytesMut) {
        zap_error_command(status, out);
    }
    /// The data-phase cipher, once complete (CURVE only).
    fn take_cipher(&mut self) -> Option<Box<dyn FrameCipher + Send>> {
        None
    }
}

/// Whether a server-side mechanism asks ZAP, skips it, or cannot run
/// (reference §5.1; see [`ZapConfig`] for the rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ZapDecision {
    /// Send a ZAP request and wait for the reply.
    Ask,
    /// No authentication (NULL without domain, CURVE "Stonehouse").
    Skip,
    /// No handler but one is required: `HANDSHAKE_FAILED_NO_DETAIL(EFAULT)`.
    Fail,
}

/// libzmq's per-mechanism ZAP policy: `null_mechanism.cpp` l.46-63,
/// `plain_server.cpp` `process_hello`, `curve_server.cpp` l.388-413.
pub(crate) fn zap_decision(mechanism: MechanismName, zap: &ZapConfig) -> ZapDecision {
    let has_domain = !zap.domain.is_empty();
    match mechanism {
        MechanismName::Null if !has_domain => ZapDecision::Skip,
        MechanismName::Null | MechanismName::Plain if zap.handler => ZapDecision::Ask,
        MechanismName::Null if !zap.enforce_domain => ZapDecision::Skip,
        MechanismName::Null | MechanismName::Plain => ZapDecision::Fail,
        MechanismName::Curve if !has_domain && zap.enforce_domain => ZapDecision::Skip,
        MechanismName::Curve if zap.handler => ZapDecision::Ask,
        MechanismName::Curve if !zap.enforce_domain => ZapDecision::Skip,
        MechanismName::Curve => ZapDecision::Fail,
    }
}

/// A mechanism's ZAP exchange: the request not yet handed out, whether a
/// reply is awaited, and the accepted reply (its user id and metadata go
/// into [`crate::PeerInfo`]).
#[derive(Debug, Default)]
pub(crate) struct ZapGate {
    request: Option<ZapRequest>,
    awaiting: bool,
    accepted: Option<ZapReply>,
}

impl ZapGate {
    /// Queues `request` and starts waiting for its reply.
    pub(crate) fn start(&mut self, request: ZapRequest) {
        self.request = Some(request);
        self.awaiting = true;
    }

    /// The request, once.
    pub(crate) fn take_request(&mut self) -> Option<ZapRequest> {
        self.request.take()
    }

    /// A reply is awaited (the request may or may not have been taken).
    pub(crate) fn awaiting(&self) -> bool {
        self.awaiting
    }

    /// The accepted (200) reply, if any.
    pub(crate) fn accepted(&self) -> Option<&ZapReply> {
        self.accepted.as_ref()
    }

    /// Records `reply` (reference §5.2 step 5): 200 → `Ok`; 300, 400, 500 →
    /// [`ProtocolError::AuthFailed`]; anything else →
    /// [`ProtocolError::ZapInvalidStatusCode`]; no reply awaited →
    /// [`ProtocolError::ZapUnspecified`].
    pub(crate) fn finish(&mut self, reply: ZapReply) -> Result<(), ProtocolError> {
        if !self.awaiting {
            return Err(ProtocolError::ZapUnspecified);
        }
        self.awaiting = false;
        self.request = None;
        match reply.status_code {
            200 => {
                self.accepted = Some(reply);
                Ok(())
            }
            status @ (300 | 400 | 500) => Err(ProtocolError::AuthFailed { status }),
            _ => Err(ProtocolError::ZapInvalidStatusCode),
        }
    }
}

/// The ERROR command a ZAP denial sends (libzmq `produce_error`:
/// `\x05ERROR`, reason length 3, the status code digits). RFC 27 §"Request
/// and Reply": 300 closes silently, so this is only for 400 and 500.
pub(crate) fn zap_error_command(status: u16, out: &mut BytesMut) {
    Command::Error {
        reason: Bytes::from(status.to_string()),
    }
    .encode(out);
}

/// libzmq's `check_basic_command_structure`: a command body is longer than
/// one octet and longer than its name-length octet (else
/// `ZMTP_MALFORMED_COMMAND_UNSPECIFIED`).
pub(crate) fn check_basic_structure(body: &[u8]) -> Result<(), ProtocolError> {
    match body.first() {
        Some(&n) if body.len() > 1 && body.len() > usize::from(n) => Ok(()),
        _ => Err(ProtocolError::MalformedCommand("command body too short")),
    }
}

/// Parses an ERROR command body into [`ProtocolError::PeerError`], or
/// [`ProtocolError::MalformedError`] when its reason length lies (RFC 37
/// `error = command-size %d5 "ERROR" error-reason`).
pub(crate) fn peer_error(body: &Bytes) -> ProtocolError {
    match Command::parse(body) {
        Ok(Command::Error { reason }) => ProtocolError::PeerError {
            reason: String::from_utf8_lossy(&reason).into_owned(),
        },
        _ => ProtocolError::MalformedError,
    }
}

/// Builds the READY/INITIATE property list as libzmq's
/// `mechanism_t::add_basic_properties` does (reference §5.1): `Socket-Type`,
/// then `Identity` only for REQ, DEALER and ROUTER (empty when there is no
/// routing id), then the application properties. Application properties
/// named `Socket-Type` or `Identity` are skipped so they cannot contradict
/// the basic ones.
pub(crate) fn basic_properties(
    socket_type: SocketType,
    routing_id: Option<&Bytes>,
    extra: &Metadata,
) -> Metadata {
    let mut m = Metadata::new();
    m.insert(PROPERTY_SOCKET_TYPE, socket_type.wire_name());
    if matches!(
        socket_type,
        SocketType::Req | SocketType::Dealer | SocketType::Router
    ) {
        m.insert(PROPERTY_IDENTITY, routing_id.cloned().unwrap_or_default());
    }
    for (name, value) in extra.iter() {
        if name.eq_ignore_ascii_case(PROPERTY_SOCKET_TYPE)
            || name.eq_ignore_ascii_case(PROPERTY_IDENTITY)
        {
            continue;
        }
        m.insert(name, value.clone());
    }
    m
}

/// Checks every `Socket-Type` property of a peer's metadata against ours
/// (RFC 37 §"The Socket-Type Property": "The peer SHOULD enforce that the
/// other peer is using a valid socket type") and returns the peer's type.
/// A missing `Socket-Type` is [`ProtocolError::InvalidMetadata`] (libzmq
/// would let it pass, but then the peer's type is unknown).
pub(crate) fn check_peer_socket_type(
    local: SocketType,
    peer: &Metadata,
) -> Result<SocketType, ProtocolError> {
    let mut found = None;
    for (name, value) in peer.iter() {
        if !name.eq_ignore_ascii_case(PROPERTY_SOCKET_TYPE) {
            continue;
        }
        match SocketType::from_wire_name(value) {
            Some(t) if local.is_compatible_with(t) => {
                found.get_or_insert(t);
            }
            _ => {
                return Err(ProtocolError::IncompatibleSocketType {
                    local,
                    peer_name: String::from_utf8_lossy(value).into_owned(),
                })
            }
        }
    }
    found.ok_or(ProtocolError::InvalidMetadata)
}

/// The NULL mechanism (RFC 37 §"The NULL Security Mechanism"): each side
/// sends READY with its metadata; the peer's first command must be READY
/// (or ERROR, which is fatal). Symmetric, so `as_server` plays no part.
/// With ZAP (a domain and a handler, reference §5.1) the READY waits for a
/// 200 reply; 400/500 send ERROR instead (libzmq `null_mechanism_t`).
#[derive(Debug)]
pub(crate) struct NullMechanism {
    local: SocketType,
    properties: Metadata,
    /// Our READY frame until it is handed out.
    ready: Option<BytesMut>,
    ready_queued: bool,
    peer: Option<Metadata>,
    zap: ZapGate,
}

impl NullMechanism {
    /// Prepares our READY at once: RFC 23 §"The NULL Security Mechanism":
    /// "each peer MUST send its READY command before attempting to receive a
    /// READY from the other peer". With `zap`, asks ZAP first (libzmq
    /// `null_mechanism_t::next_handshake_command`).
    pub(crate) fn new(local: SocketType, properties: &Metadata, zap: bool) -> Self {
        let mut m = NullMechanism {
            local,
            properties: properties.clone(),
            ready: None,
            ready_queued: false,
            peer: None,
            zap: ZapGate::default(),
        };
        if zap {
            m.zap.start(ZapRequest {
                mechanism: "NULL",
                credentials: Vec::new(),
            });
        } else {
            m.queue_ready();
        }
        m
    }

    fn queue_ready(&mut self) {
        let mut ready = BytesMut::new();
        Command::Ready(self.properties.clone()).encode(&mut ready);
        self.ready = Some(ready);
        self.ready_queued = true;
    }
}

impl Mechanism for NullMechanism {
    fn poll_transmit(&mut self, out: &mut BytesMut) {
        if let Some(ready) = self.ready.take() {
            out.extend_from_slice(&ready);
        }
    }

    fn has_pending_output(&self) -> bool {
        self.ready.is_some()
    }

    fn process_frame(&mut self, frame: Frame) -> Result<(), ProtocolError> {
        // libzmq null_mechanism_t::process_handshake_command: anything after
        // READY/ERROR, any message frame, and any command other than READY
        // or ERROR is an unexpected command.
        if self.peer.is_some() || !frame.command {
            return Err(ProtocolError::UnexpectedCommand);
        }
        let body = &frame.body;
        let is_ready_or_error = body.starts_with(b"\x05READY") || body.starts_with(b"\x05ERROR");
        match Command::parse(body) {
            Ok(Command::Ready(metadata)) => {
                check_peer_socket_type(self.local, &metadata)?;
                self.peer = Some(metadata);
                Ok(())
            }
            Ok(Command::Error { reason }) => Err(ProtocolError::PeerError {
                reason: String::from_utf8_lossy(&reason).into_owned(),
            }),
            Err(e) if is_ready_or_error => Err(e),
            _ => Err(ProtocolError::UnexpectedCommand),
        }
    }

    fn is_complete(&self) -> bool {
        self.ready_queued && self.peer.is_some()
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
        self.queue_ready();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_properties_order_and_identity_rule() {
        let mut extra = Metadata::new();
        extra.insert("X-Foo", "bar");
        extra.insert("identity", "spoof");
        let m = basic_properties(SocketType::Dealer, None, &extra);
        let names: Vec<_> = m.iter().map(|(n, _)| n.to_owned()).collect();
        assert_eq!(names, ["Socket-Type", "Identity", "X-Foo"]);
        assert_eq!(m.get("Identity").unwrap().len(), 0);
        let m = basic_properties(SocketType::Pub, Some(&Bytes::from_static(b"id")), &extra);
        assert_eq!(m.get("Identity"), None);
    }

    #[test]
    fn zap_policy_matches_libzmq() {
        use MechanismName::*;
        let cfg = |handler, domain: &'static [u8], enforce_domain| ZapConfig {
            handler,
            domain: Bytes::from_static(domain),
            enforce_domain,
        };
        // NULL: only with a domain.
        assert_eq!(
            zap_decision(Null, &cfg(true, b"", false)),
            ZapDecision::Skip
        );
        assert_eq!(
            zap_decision(Null, &cfg(true, b"d", false)),
            ZapDecision::Ask
        );
        assert_eq!(
            zap_decision(Null, &cfg(false, b"d", false)),
            ZapDecision::Skip
        );
        assert_eq!(
            zap_decision(Null, &cfg(false, b"d", true)),
            ZapDecision::Fail
        );
        // PLAIN: always, EFAULT without handler.
        assert_eq!(
            zap_decision(Plain, &cfg(true, b"", false)),
            ZapDecision::Ask
        );
        assert_eq!(
            zap_decision(Plain, &cfg(false, b"d", false)),
            ZapDecision::Fail
        );
        // CURVE: with a handler; Stonehouse without.
        assert_eq!(
            zap_decision(Curve, &cfg(true, b"", false)),
            ZapDecision::Ask
        );
        assert_eq!(
            zap_decision(Curve, &cfg(false, b"", false)),
            ZapDecision::Skip
        );
        assert_eq!(
            zap_decision(Curve, &cfg(true, b"", true)),
            ZapDecision::Skip
        );
        assert_eq!(
            zap_decision(Curve, &cfg(false, b"d", true)),
            ZapDecision::Fail
        );
        assert_eq!(
            zap_decision(Curve, &cfg(true, b"d", true)),
            ZapDecision::Ask
        );
    }

    #[test]
    fn zap_gate_statuses() {
        let req = || ZapRequest {
            mechanism: "NULL",
            credentials: vec![],
        };
        let mut g = ZapGate::default();
        assert_eq!(
            g.finish(ZapReply::ok("u")),
            Err(ProtocolError::ZapUnspecified)
        );
        g.start(req());
        assert!(g.awaiting() && g.take_request().is_some() && g.take_request().is_none());
        assert_eq!(g.finish(ZapReply::ok("u")), Ok(()));
        assert_eq!(&g.accepted().unwrap().user_id[..], b"u");
        for (code, res) in [
            (300, Err(ProtocolError::AuthFailed { status: 300 })),
            (400, Err(ProtocolError::AuthFailed { status: 400 })),
            (500, Err(ProtocolError::AuthFailed { status: 500 })),
            (201, Err(ProtocolError::ZapInvalidStatusCode)),
        ] {
            let mut g = ZapGate::default();
            g.start(req());
            assert_eq!(g.finish(ZapReply::with_status(code)), res);
            assert!(!g.awaiting());
        }
        let mut out = BytesMut::new();
        zap_error_command(400, &mut out);
        assert_eq!(&out[..], b"\x04\x0a\x05ERROR\x03400");
    }

    #[test]
    fn socket_type_check() {
        let mut m = Metadata::new();
        assert_eq!(
            check_peer_socket_type(SocketType::Req, &m),
            Err(ProtocolError::InvalidMetadata)
        );
        m.insert("Socket-Type", "REP");
        assert_eq!(
            check_peer_socket_type(SocketType::Req, &m),
            Ok(SocketType::Rep)
        );
        let dup =
            Metadata::parse(b"\x0bSocket-Type\0\0\0\x03REP\x0bsocket-type\0\0\0\x03PUB").unwrap();
        assert!(matches!(
            check_peer_socket_type(SocketType::Req, &dup),
            Err(ProtocolError::IncompatibleSocketType { .. })
        ));
    }
}
