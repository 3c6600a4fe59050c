//! Security mechanisms: the command exchange that follows the greeting
//! (RFC 37 §"Authentication and Confidentiality"). Only NULL exists now;
//! PLAIN (RFC 24) and CURVE (RFC 25/26) will implement [`Mechanism`] too and
//! plug into [`crate::Handshake`] unchanged.

use std::fmt::Debug;

use bytes::{Bytes, BytesMut};

use crate::command::Command;
use crate::error::ProtocolError;
use crate::frame::Frame;
use crate::metadata::Metadata;
use crate::socket_type::SocketType;

/// Metadata property naming the sender's socket type (RFC 37 §"Connection Metadata").
pub const PROPERTY_SOCKET_TYPE: &str = "Socket-Type";
/// Metadata property carrying the sender's routing id (RFC 37 §"The Identity Property").
pub const PROPERTY_IDENTITY: &str = "Identity";

/// One side of a security mechanism's handshake, after the greetings.
///
/// The handshake driver hands it every frame the peer sends until
/// [`Mechanism::peer_metadata`] returns `Some`, and drains
/// [`Mechanism::poll_transmit`] whenever it is asked for output.
pub(crate) trait Mechanism: Debug + Send + Sync {
    /// Appends whole command frames that must be sent now.
    fn poll_transmit(&mut self, out: &mut BytesMut);
    /// Whether [`Mechanism::poll_transmit`] would append anything.
    fn has_pending_output(&self) -> bool;
    /// Handles one frame from the peer; an error is final.
    fn process_frame(&mut self, frame: Frame) -> Result<(), ProtocolError>;
    /// The peer's validated metadata, once the peer's side is done.
    fn peer_metadata(&self) -> Option<&Metadata>;
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
#[derive(Debug)]
pub(crate) struct NullMechanism {
    local: SocketType,
    /// Our READY frame until it is handed out.
    ready: Option<BytesMut>,
    peer: Option<Metadata>,
}

impl NullMechanism {
    /// Prepares our READY at once: RFC 23 §"The NULL Security Mechanism":
    /// "each peer MUST send its READY command before attempting to receive a
    /// READY from the other peer".
    pub(crate) fn new(local: SocketType, properties: &Metadata) -> Self {
        let mut ready = BytesMut::new();
        Command::Ready(properties.clone()).encode(&mut ready);
        NullMechanism {
            local,
            ready: Some(ready),
            peer: None,
        }
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

    fn peer_metadata(&self) -> Option<&Metadata> {
        self.peer.as_ref()
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
