//! # ferrozmq — ZeroMQ in pure Rust
//!
//! A ZeroMQ implementation that speaks ZMTP 3.1 byte-for-byte with libzmq
//! and everything built on it (pyzmq, czmq, cppzmq, JeroMQ…), with an API
//! shaped like the `zmq` crate's.
//!
//! ```
//! use ferrozmq::{Context, SocketType};
//!
//! let ctx = Context::new();
//! let publisher = ctx.socket(SocketType::Pub)?;
//! let subscriber = ctx.socket(SocketType::Sub)?;
//! publisher.bind("inproc://weather")?;
//! subscriber.connect("inproc://weather")?;
//! subscriber.set_subscribe(b"10001 ")?;
//! // Subscriptions travel to the publisher asynchronously; wait until one
//! // message gets through before relying on the filter.
//! subscriber.set_rcvtimeo(10)?;
//! let got = loop {
//!     publisher.send("10001 21C", 0)?;
//!     publisher.send("99999 -5C", 0)?;
//!     if let Ok(m) = subscriber.recv_msg(0) { break m; }
//! };
//! assert_eq!(&*got, b"10001 21C");
//! # Ok::<(), ferrozmq::Error>(())
//! ```
//!
//! Layout: [`ferrozmq_proto`] is the sans-IO wire protocol; this crate adds
//! the sockets (`patterns`), routing parts (`routing`), transports
//! (`transport`: tcp, ipc, inproc) and the I/O runtime (`runtime`).

#![warn(missing_docs)]

#[cfg(feature = "tokio")]
mod async_socket;
pub mod auth;
mod context;
mod endpoint;
mod error;
pub mod guide;
mod mailbox;
pub mod monitor;
mod msg;
mod payload_pool;
pub mod options;
mod patterns;
mod pipe;
mod poll;
mod proxy;
pub mod routing;
mod runtime;
mod signal;
mod socket;
mod spsc;
mod stats;
mod sys;
mod transport;

#[cfg(feature = "tokio")]
pub use async_socket::{AsyncContextExt, AsyncSocket, RecvStream, SendSink};
pub use context::{Context, ContextBuilder, DEFAULT_BUSY_POLL};
pub use error::{Error, Result, HAUSNUMERO};
pub use ferrozmq_proto::SocketType;
/// CURVE keys (`KeyPair::generate`, `public_from_secret`) and Z85 text
/// encoding (RFC 32), as `zmq_curve_keypair` / `zmq_z85_encode` offer.
pub use ferrozmq_proto::{curve, z85};
pub use monitor::{Event, EventKind, Monitor};
pub use msg::{Msg, INLINE_CAPACITY};
pub use poll::{poll, PollItem};
pub use proxy::{proxy, proxy_steerable};
pub use stats::{PeerStats, SocketStats};
pub use socket::{Socket, DONTWAIT, POLLERR, POLLIN, POLLOUT, SNDMORE};

/// The libzmq version this library is compatible with, as `(major, minor, patch)`.
pub fn version() -> (i32, i32, i32) {
    (4, 3, 5)
}

/// True if a socket type is implemented by this build.
pub fn has_socket_type(t: SocketType) -> bool {
    patterns::is_supported(t)
}
