//! Socket patterns: one file per socket type (or family), each a small
//! policy over the shared routing parts in [`crate::routing`].
//!
//! A pattern sees peers come and go ([`Pattern::attach`], dead pipes reported
//! by the routing parts), is told which pipe became readable or writable, and
//! implements send/recv of single frames; the socket layer around it does
//! blocking, timeouts, options common to all types and the MORE flag.

mod dealer;
mod pair;
mod pipeline;
mod publisher;
mod rep;
mod req;
mod router;
mod stream;
mod subscriber;

use crate::error::{Error, Result};
use crate::mailbox::{Peer, PipeId};
use crate::msg::Msg;
use bytes::Bytes;
use ferrozmq_proto::SocketType;

/// What `send` does when it cannot proceed now.
pub(crate) type SendResult = std::result::Result<(), (Error, Msg)>;

/// The behaviour of one socket type.
pub(crate) trait Pattern: Send {
    /// A new peer is connected (or, for a connect endpoint, will be).
    fn attach(&mut self, peer: Peer);
    /// The pipe from this peer has messages again.
    fn pipe_readable(&mut self, id: PipeId);
    /// The pipe to this peer has room again, or its reader went away.
    fn pipe_writable(&mut self, id: PipeId);
    /// A connect session's handshake completed over pipes attached earlier
    /// (at `connect`): the peer's identity is known now; `reconnect` says the
    /// pipes were used by an earlier connection already.
    fn connected(&mut self, _id: PipeId, _routing_id: Option<Bytes>, _peer_type: SocketType, _reconnect: bool) {}
    /// Sends one frame. `Err((EAGAIN, msg))` hands the frame back so the
    /// socket can block and retry.
    fn send(&mut self, msg: Msg) -> SendResult;
    /// Receives one frame, `Err(EAGAIN)` if none is available.
    fn recv(&mut self) -> Result<Msg>;
    /// A message can be received now (ZMQ_POLLIN).
    fn has_in(&mut self) -> bool;
    /// A message can be sent now (ZMQ_POLLOUT).
    fn has_out(&mut self) -> bool;
    /// A type-specific option; `None` if this type does not know it.
    fn set_option(&mut self, _id: i32, _value: &[u8]) -> Option<Result<()>> {
        None
    }
    /// Reads a type-specific option; `None` if unknown here.
    fn get_option(&self, _id: i32) -> Option<Vec<u8>> {
        None
    }
    /// SNDHWM/RCVHWM changed: apply them to live pipes.
    fn set_hwms(&mut self, _sndhwm: u64, _rcvhwm: u64) {}
}

/// Builds the pattern for a socket type; ENOTSUP-free `EINVAL` for a type
/// this library does not implement yet.
pub(crate) fn create(socket_type: SocketType) -> Result<Box<dyn Pattern>> {
    Ok(match socket_type {
        SocketType::Pair => Box::new(pair::Pair::default()),
        SocketType::Push => Box::new(pipeline::Push::default()),
        SocketType::Pull => Box::new(pipeline::Pull::default()),
        SocketType::Pub => Box::new(publisher::Publisher::new(false)),
        SocketType::XPub => Box::new(publisher::Publisher::new(true)),
        SocketType::Sub => Box::new(subscriber::Subscriber::new(false)),
        SocketType::XSub => Box::new(subscriber::Subscriber::new(true)),
        SocketType::Req => Box::new(req::Req::new()),
        SocketType::Rep => Box::new(rep::Rep::new()),
        SocketType::Dealer => Box::new(dealer::Dealer::default()),
        SocketType::Router => Box::new(router::Router::new()),
        SocketType::Stream => Box::new(stream::Stream::new()),
        _ => return Err(Error::EINVAL),
    })
}

/// Socket types whose pattern exists.
pub(crate) fn is_supported(socket_type: SocketType) -> bool {
    create(socket_type).is_ok()
}
