//! The I/O runtime: threads that move bytes between the OS and the pipes.
//!
//! * [`io_thread`]: one `mio` event loop per I/O thread, with a command queue
//!   that sockets post to (new listeners, connects, pipe activations).
//! * [`session`]: one per connection (or per connect endpoint, surviving
//!   reconnects): owns the socket-side pipes' far ends, reconnect backoff,
//!   handshake timeout and linger.
//! * [`engine`]: the ZMTP byte engine of one live stream — drives the sans-IO
//!   handshake from `ferrozmq-proto`, decodes frames into the inbound pipe and
//!   encodes the outbound pipe into batched writes.
//! * [`body_pool`]: recycled receive buffers for large frame bodies.

pub(crate) mod body_pool;
pub(crate) mod engine;
pub(crate) mod io_thread;
pub(crate) mod session;

pub(crate) use io_thread::{IoCommand, IoShared, IoThread};
pub(crate) use session::{SessionConfig, SocketRef};
