//! Socket monitoring: what happened to a socket's connections, as libzmq's
//! `zmq_socket_monitor` reports it.
//!
//! `Socket::monitor(endpoint, events)` binds a PAIR endpoint (inproc only)
//! on which every selected event arrives as libzmq's two-frame message: a
//! 6-byte frame (`u16` event + `u32` value, host byte order) and the
//! endpoint string. Any PAIR socket — ferrozmq's or, through the C ABI,
//! libzmq's users' — can read it. [`Monitor`] is the typed Rust view.
//!
//! Events are emitted from whichever thread sees them (the I/O thread for
//! connections, the application thread for bind), through a `MonitorSink`
//! shared by the socket and its sessions.

use crate::error::{Error, Result};
use crate::mailbox::{SocketCommand, SocketMailbox};
use crate::msg::Msg;
use crate::pipe::PipeWriter;
use crate::socket::Socket;
use std::sync::{Arc, Mutex};

/// A monitor event kind, with libzmq's numeric value.
///
/// ```
/// use ferrozmq::{monitor::EVENT_ALL, Context, EventKind, SocketType};
/// let ctx = Context::new();
/// let s = ctx.socket(SocketType::Rep)?;
/// let events = s.monitor_events(EVENT_ALL)?;
/// s.bind("tcp://127.0.0.1:*")?;
/// let e = events.next_event(1000)?;
/// assert_eq!(e.kind, EventKind::Listening);
/// assert_eq!(EventKind::from_raw(0x0008), Some(EventKind::Listening));
/// # Ok::<(), ferrozmq::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum EventKind {
    /// Connection established (value: fd).
    Connected = 0x0001,
    /// Asynchronous connect in progress (value: errno).
    ConnectDelayed = 0x0002,
    /// A reconnect is scheduled (value: interval in ms).
    ConnectRetried = 0x0004,
    /// Bound and listening (value: fd).
    Listening = 0x0008,
    /// Bind failed (value: errno).
    BindFailed = 0x0010,
    /// A connection was accepted (value: fd).
    Accepted = 0x0020,
    /// Accepting failed (value: errno).
    AcceptFailed = 0x0040,
    /// A listener or connection was closed (value: fd).
    Closed = 0x0080,
    /// Closing failed (value: errno).
    CloseFailed = 0x0100,
    /// A connection was lost (value: fd).
    Disconnected = 0x0200,
    /// Monitoring stopped (value: 0).
    MonitorStopped = 0x0400,
    /// Handshake failed without protocol detail (value: errno).
    HandshakeFailedNoDetail = 0x0800,
    /// Handshake succeeded (value: 0).
    HandshakeSucceeded = 0x1000,
    /// Handshake failed on a protocol error (value: ZMQ_PROTOCOL_ERROR_*).
    HandshakeFailedProtocol = 0x2000,
    /// Handshake failed authentication (value: ZAP status code).
    HandshakeFailedAuth = 0x4000,
}

/// All events (`ZMQ_EVENT_ALL`).
pub const EVENT_ALL: u32 = 0xFFFF;

impl EventKind {
    /// The event for a numeric value.
    pub fn from_raw(v: u16) -> Option<EventKind> {
        use EventKind::*;
        Some(match v {
            0x0001 => Connected,
            0x0002 => ConnectDelayed,
            0x0004 => ConnectRetried,
            0x0008 => Listening,
            0x0010 => BindFailed,
            0x0020 => Accepted,
            0x0040 => AcceptFailed,
            0x0080 => Closed,
            0x0100 => CloseFailed,
            0x0200 => Disconnected,
            0x0400 => MonitorStopped,
            0x0800 => HandshakeFailedNoDetail,
            0x1000 => HandshakeSucceeded,
            0x2000 => HandshakeFailedProtocol,
            0x4000 => HandshakeFailedAuth,
            _ => return None,
        })
    }
}

/// One event, decoded.
///
/// ```
/// use ferrozmq::{monitor::EVENT_ALL, Context, EventKind, SocketType};
/// let ctx = Context::new();
/// let s = ctx.socket(SocketType::Rep)?;
/// let events = s.monitor_events(EVENT_ALL)?;
/// s.bind("tcp://127.0.0.1:*")?;
/// let e = events.next_event(1000)?;
/// assert_eq!(e.kind, EventKind::Listening);
/// assert_eq!(EventKind::from_raw(0x0008), Some(EventKind::Listening));
/// # Ok::<(), ferrozmq::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The event's value (fd, errno, interval, protocol error code…).
    pub value: u32,
    /// The endpoint concerned.
    pub endpoint: String,
}

impl Event {
    /// Decodes libzmq's two-frame event message.
    pub fn from_frames(frames: &[Msg]) -> Option<Event> {
        let [head, ep] = frames else { return None };
        let h = head.as_bytes();
        if h.len() != 6 {
            return None;
        }
        let kind = EventKind::from_raw(u16::from_ne_bytes([h[0], h[1]]))?;
        let value = u32::from_ne_bytes([h[2], h[3], h[4], h[5]]);
        Some(Event { kind, value, endpoint: String::from_utf8_lossy(ep.as_bytes()).into_owned() })
    }
}

struct SinkState {
    events: u32,
    /// The pipe to the PAIR socket reading the events, once one connected.
    writer: Option<PipeWriter>,
    mailbox: Arc<SocketMailbox>,
    endpoint: String,
    /// The event format: 1 (libzmq's two frames) or 2 (the draft
    /// `zmq_socket_monitor_versioned` format).
    format: u8,
}

/// Where a socket's events go (shared with its sessions).
#[derive(Default)]
pub(crate) struct MonitorSink {
    state: Mutex<Option<SinkState>>,
}

impl MonitorSink {
    /// Starts sending `events` to the PAIR peers of an inproc endpoint whose
    /// binding mailbox is `mailbox`.
    ///
    /// `format` 2 is the draft `zmq_socket_monitor_versioned` format: frames
    /// `u64` event, `u64` value count, the values (`u64` each), the local
    /// endpoint, the remote endpoint.
    pub(crate) fn start(
        &self,
        endpoint: String,
        events: u32,
        format: u8,
        mailbox: Arc<SocketMailbox>,
        peers: Vec<crate::mailbox::Peer>,
    ) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let writer = peers.into_iter().next().map(|p| p.writer);
        *st = Some(SinkState { events, writer, mailbox, endpoint, format });
    }

    /// Stops monitoring (sends MONITOR_STOPPED first if selected); returns
    /// the endpoint that was bound so the caller can unregister it.
    pub(crate) fn stop(&self) -> Option<String> {
        self.emit(EventKind::MonitorStopped, 0, "");
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.take().map(|s| {
            // Commands still queued for the monitor's end (a PAIR that
            // attached after the last event) hold pipes whose wake-ups point
            // back at this mailbox: clear them, or the cycle leaks.
            s.mailbox.clear();
            s.endpoint
        })
    }

    /// Emits an event if it is selected and someone listens.
    pub(crate) fn emit(&self, kind: EventKind, value: u32, endpoint: &str) {
        trace_event(kind, value, endpoint);
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(st) = guard.as_mut() else { return };
        if st.events & kind as u32 == 0 {
            return;
        }
        if st.writer.is_none() || st.writer.as_ref().is_some_and(|w| w.is_reader_closed()) {
            // Pick up a PAIR that connected since (libzmq's monitor is a
            // bound PAIR: the first peer wins).
            let mut drained = crate::mailbox::Drained::default();
            st.mailbox.drain(&mut drained);
            for cmd in drained.commands {
                if let SocketCommand::Attach(p) = cmd {
                    if st.writer.as_ref().is_none_or(|w| w.is_reader_closed()) {
                        st.writer = Some(p.writer);
                    }
                }
            }
        }
        let Some(w) = st.writer.as_mut() else { return };
        // Events are never allowed to block the emitter: drop when full,
        // as libzmq's non-blocking monitor send does.
        if !w.check_write() {
            return;
        }
        if st.format == 2 {
            // Bind-side events name the local endpoint, connection events
            // the remote one (our events carry one endpoint each).
            let local = matches!(
                kind,
                EventKind::Listening | EventKind::BindFailed | EventKind::Accepted | EventKind::AcceptFailed
            );
            let frames = [
                (kind as u64).to_ne_bytes().to_vec(),
                1u64.to_ne_bytes().to_vec(),
                (value as u64).to_ne_bytes().to_vec(),
                if local { endpoint.as_bytes().to_vec() } else { Vec::new() },
                if local { Vec::new() } else { endpoint.as_bytes().to_vec() },
            ];
            let last = frames.len() - 1;
            for (i, f) in frames.into_iter().enumerate() {
                let mut m = Msg::from(f);
                m.set_more(i < last);
                w.write(m);
            }
            w.flush();
            return;
        }
        let mut head = Vec::with_capacity(6);
        head.extend_from_slice(&(kind as u16).to_ne_bytes());
        head.extend_from_slice(&value.to_ne_bytes());
        let mut h = Msg::from(head);
        h.set_more(true);
        w.write(h);
        w.write(Msg::from(endpoint));
        w.flush();
    }

}

/// A typed reader of a socket's events (see [`Socket::monitor_events`]).
///
/// ```
/// use ferrozmq::{monitor::EVENT_ALL, Context, EventKind, SocketType};
/// let ctx = Context::new();
/// let s = ctx.socket(SocketType::Rep)?;
/// let events = s.monitor_events(EVENT_ALL)?;
/// s.bind("tcp://127.0.0.1:*")?;
/// let e = events.next_event(1000)?;
/// assert_eq!(e.kind, EventKind::Listening);
/// assert_eq!(EventKind::from_raw(0x0008), Some(EventKind::Listening));
/// # Ok::<(), ferrozmq::Error>(())
/// ```
pub struct Monitor {
    pair: Socket,
}

impl Monitor {
    pub(crate) fn new(pair: Socket) -> Monitor {
        Monitor { pair }
    }

    /// Waits up to `timeout_ms` (-1 = forever) for the next event.
    /// `Err(EAGAIN)` on timeout.
    pub fn next_event(&self, timeout_ms: i32) -> Result<Event> {
        self.pair.set_rcvtimeo(timeout_ms)?;
        let frames = self.pair.recv_multipart(0)?;
        Event::from_frames(&frames).ok_or(Error::EPROTO)
    }

    /// The underlying PAIR socket (e.g. to poll it).
    pub fn socket(&self) -> &Socket {
        &self.pair
    }
}

/// Every monitor event is also a `tracing` event (target `ferrozmq`), inside
/// the connection's span when it comes from a connection: failures at WARN,
/// connections made and lost at INFO, the rest at DEBUG.
fn trace_event(kind: EventKind, value: u32, endpoint: &str) {
    use EventKind::*;
    match kind {
        BindFailed | AcceptFailed | CloseFailed | HandshakeFailedNoDetail | HandshakeFailedProtocol
        | HandshakeFailedAuth => {
            tracing::warn!(target: "ferrozmq", event = ?kind, value, endpoint, "zmq event")
        }
        Connected | Accepted | Disconnected | HandshakeSucceeded | Listening => {
            tracing::info!(target: "ferrozmq", event = ?kind, value, endpoint, "zmq event")
        }
        _ => tracing::debug!(target: "ferrozmq", event = ?kind, value, endpoint, "zmq event"),
    }
}
