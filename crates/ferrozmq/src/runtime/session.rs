//! `Session`: one peer connection as the I/O thread sees it.
//!
//! A connect session exists from `connect()` until the socket closes or
//! disconnects: with IMMEDIATE off (the default) its pipes are created at once,
//! so the application can queue messages before the peer is up, and the same
//! pipes survive reconnects (libzmq's behaviour). An accepted session, or a
//! connect session with IMMEDIATE on, creates its pipes when the handshake
//! completes and ends with its connection.

use super::engine::{Engine, EnginePipes, Progress};
use super::io_thread::IoShared;
use crate::mailbox::{next_id, Peer, PipeEvent, SocketCommand, SocketMailbox};
use crate::pipe::pipe;
use crate::signal::Notify;
use crate::transport::Stream;
use bytes::Bytes;
use ferrozmq_proto::{HandshakeConfig, Metadata, SocketType};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The socket a session belongs to.
#[derive(Clone)]
pub(crate) struct SocketRef {
    pub socket_id: u64,
    pub mailbox: Arc<SocketMailbox>,
}

/// Options a session copies from its socket when it is created (libzmq
/// copies them at connect/bind time too).
#[derive(Clone, Debug)]
pub(crate) struct SessionConfig {
    pub socket_type: SocketType,
    pub routing_id: Option<Bytes>,
    pub sndhwm: u64,
    pub rcvhwm: u64,
    pub max_msg_size: Option<u64>,
    pub reconnect_ivl: i32,
    pub reconnect_ivl_max: i32,
    pub handshake_ivl: i32,
    pub immediate: bool,
    /// CONNECT_ROUTING_ID taken at `connect` (None for listeners).
    pub connect_routing_id: Option<Bytes>,
}

impl SessionConfig {
    pub(crate) fn handshake_config(&self) -> HandshakeConfig {
        HandshakeConfig {
            socket_type: self.socket_type,
            routing_id: self.routing_id.clone(),
            metadata: Metadata::new(),
            as_server: false,
            max_msg_size: self.max_msg_size,
        }
    }
}

/// Wakes the session's I/O thread when one of its pipes changes.
pub(crate) struct SessionNotify {
    pub flagged: AtomicBool,
    pub io: Arc<IoShared>,
    pub session_id: u64,
}

impl Notify for SessionNotify {
    fn notify(&self) {
        if !self.flagged.swap(true, Ordering::AcqRel) {
            self.io.activate(self.session_id);
        }
    }
}

/// How to (re)establish a connect session's stream.
#[derive(Clone, Debug)]
pub(crate) enum ConnectTarget {
    Tcp { host: String, port: Option<u16>, ipv6: bool },
    Ipc(String),
}

impl ConnectTarget {
    fn connect(&self) -> crate::error::Result<Stream> {
        match self {
            ConnectTarget::Tcp { host, port, ipv6 } => crate::transport::tcp::connect(host, *port, *ipv6),
            ConnectTarget::Ipc(name) => crate::transport::ipc::connect(name),
        }
    }
}

pub(crate) enum Role {
    Connect { target: ConnectTarget, backoff_ms: i32, retry_at: Option<Instant>, connecting: bool },
    Accepted,
}

/// What the I/O thread should do after a session turn.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Wait for readiness, activation or the session's deadline.
    Wait,
    /// Run again soon (input budget used up).
    Again,
    /// The session has ended; deregister and drop it.
    Done,
}

pub(crate) struct Session {
    pub id: u64,
    pub socket: SocketRef,
    pub role: Role,
    pub config: SessionConfig,
    pub notify: Arc<SessionNotify>,
    pub pipes: Option<EnginePipes>,
    pub engine: Option<Engine>,
    pub handshake_deadline: Option<Instant>,
    /// Set when the socket closed: None = linger forever.
    pub linger_deadline: Option<Option<Instant>>,
    /// The socket closed its end of our pipes.
    pub socket_gone: bool,
    pub registered: bool,
    /// A handshake completed over these pipes before (reconnects re-send
    /// per-connection state).
    pub connected_before: bool,
}

impl Session {
    /// A session for an accepted connection.
    pub(crate) fn accepted(io: &Arc<IoShared>, socket: SocketRef, config: SessionConfig, stream: Stream) -> Session {
        let id = next_id();
        let engine = Engine::new(stream, config.handshake_config());
        let handshake_deadline = deadline_ms(config.handshake_ivl);
        Session {
            id,
            socket,
            role: Role::Accepted,
            notify: Arc::new(SessionNotify { flagged: AtomicBool::new(false), io: io.clone(), session_id: id }),
            config,
            pipes: None,
            engine: Some(engine),
            handshake_deadline,
            linger_deadline: None,
            socket_gone: false,
            registered: false,
            connected_before: false,
        }
    }

    /// A session for a connect endpoint. With IMMEDIATE off, returns the
    /// socket's peer (pipes created now) to attach at once.
    pub(crate) fn connecting(
        io: &Arc<IoShared>,
        socket: SocketRef,
        config: SessionConfig,
        target: ConnectTarget,
    ) -> (Session, Option<Peer>) {
        let id = next_id();
        let mut s = Session {
            id,
            socket,
            role: Role::Connect { target, backoff_ms: config.reconnect_ivl, retry_at: None, connecting: false },
            notify: Arc::new(SessionNotify { flagged: AtomicBool::new(false), io: io.clone(), session_id: id }),
            config,
            pipes: None,
            engine: None,
            handshake_deadline: None,
            linger_deadline: None,
            socket_gone: false,
            registered: false,
            connected_before: false,
        };
        let peer = if s.config.immediate { None } else { Some(s.make_pipes(None, None)) };
        (s, peer)
    }

    /// Creates the pipe pair between this session and its socket and returns
    /// the socket's half.
    fn make_pipes(&mut self, routing_id: Option<Bytes>, peer_type: Option<SocketType>) -> Peer {
        let pipe_id = next_id();
        let mailbox = self.socket.mailbox.clone();
        let me: Arc<dyn Notify> = self.notify.clone();
        // socket -> session
        let (out_w, out_r) = pipe(
            self.config.sndhwm,
            me.clone(),
            Arc::new(PipeEvent { mailbox: mailbox.clone(), id: pipe_id, readable: false }),
        );
        // session -> socket
        let (in_w, in_r) =
            pipe(self.config.rcvhwm, Arc::new(PipeEvent { mailbox, id: pipe_id, readable: true }), me);
        self.pipes = Some(EnginePipes { id: pipe_id, to_socket: in_w, from_socket: out_r });
        Peer {
            id: pipe_id,
            writer: out_w,
            reader: in_r,
            routing_id,
            peer_type,
            local_routing_id: self.config.connect_routing_id.clone(),
        }
    }

    /// Starts a connection attempt if it is time. Returns the new stream to
    /// register, if any.
    pub(crate) fn try_connect(&mut self, now: Instant) -> Option<()> {
        let Role::Connect { target, retry_at, connecting, .. } = &mut self.role else { return None };
        if self.engine.is_some() || self.socket_gone {
            return None;
        }
        if let Some(at) = retry_at {
            if *at > now {
                return None;
            }
        }
        *retry_at = None;
        match target.connect() {
            Ok(stream) => {
                *connecting = true;
                self.engine = Some(Engine::new(stream, self.config.handshake_config()));
                self.handshake_deadline = deadline_ms(self.config.handshake_ivl);
                Some(())
            }
            Err(_) => {
                self.schedule_reconnect(now);
                None
            }
        }
    }

    fn schedule_reconnect(&mut self, now: Instant) {
        let ivl = self.config.reconnect_ivl;
        let max = self.config.reconnect_ivl_max;
        if let Role::Connect { retry_at, backoff_ms, connecting, .. } = &mut self.role {
            *connecting = false;
            if ivl < 0 {
                // RECONNECT_IVL -1: never reconnect.
                *retry_at = None;
                return;
            }
            let wait = (*backoff_ms).max(ivl).max(1);
            *retry_at = Some(now + Duration::from_millis(wait as u64));
            // Exponential backoff up to RECONNECT_IVL_MAX, if set above IVL.
            if max > ivl {
                *backoff_ms = (wait.saturating_mul(2)).min(max);
            }
        }
    }

    /// The earliest instant at which `on_timer` must run.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let mut d: Option<Instant> = None;
        let mut take = |x: Option<Instant>| {
            if let Some(x) = x {
                d = Some(d.map_or(x, |y: Instant| y.min(x)));
            }
        };
        if let Role::Connect { retry_at, .. } = &self.role {
            take(*retry_at);
        }
        if self.engine.as_ref().is_some_and(|e| e.is_handshaking()) {
            take(self.handshake_deadline);
        }
        if let Some(Some(l)) = self.linger_deadline {
            take(Some(l));
        }
        d
    }

    /// The socket closed; linger as configured.
    pub(crate) fn socket_closed(&mut self, linger_ms: i32) {
        self.linger_deadline = Some(if linger_ms < 0 {
            None
        } else {
            Some(Instant::now() + Duration::from_millis(linger_ms as u64))
        });
    }

    /// Drops the current connection after an error. Returns true if the
    /// session itself is over.
    pub(crate) fn connection_lost(&mut self, now: Instant) -> bool {
        self.engine = None;
        self.handshake_deadline = None;
        match self.role {
            Role::Accepted => {
                self.pipes = None;
                true
            }
            Role::Connect { .. } => {
                if self.socket_gone || self.linger_deadline.is_some() {
                    return true;
                }
                if self.config.immediate {
                    self.pipes = None;
                }
                self.schedule_reconnect(now);
                false
            }
        }
    }

    /// One turn of work. Errors are folded into `Next` (a lost connection is
    /// handled here).
    pub(crate) fn run(&mut self, now: Instant) -> Next {
        self.notify.flagged.store(false, Ordering::Release);
        if let Some(Some(deadline)) = self.linger_deadline {
            if now >= deadline {
                return Next::Done;
            }
        }
        if self.engine.is_none() {
            if self.linger_deadline.is_some() && self.queue_is_empty() {
                return Next::Done;
            }
            return Next::Wait;
        }
        loop {
            let engine = self.engine.as_mut().expect("checked above");
            if engine.is_handshaking() {
                if let Some(d) = self.handshake_deadline {
                    if now >= d {
                        return self.lost(now);
                    }
                }
            }
            match engine.run(self.pipes.as_mut()) {
                Ok(Progress::HandshakeDone(peer)) => {
                    self.handshake_deadline = None;
                    if let Role::Connect { backoff_ms, .. } = &mut self.role {
                        *backoff_ms = self.config.reconnect_ivl;
                    }
                    if self.pipes.is_none() {
                        if self.socket_gone || self.linger_deadline.is_some() {
                            return Next::Done;
                        }
                        let p = self.make_pipes(peer.routing_id.clone(), Some(peer.socket_type));
                        self.socket.mailbox.post(SocketCommand::Attach(p));
                    } else if let Some(p) = &self.pipes {
                        self.socket.mailbox.post(SocketCommand::Connected {
                            id: p.id,
                            routing_id: peer.routing_id.clone(),
                            peer_type: peer.socket_type,
                            reconnect: self.connected_before,
                        });
                    }
                    self.connected_before = true;
                    continue;
                }
                Ok(Progress::Idle) => return Next::Wait,
                Ok(Progress::Busy) => return Next::Again,
                Ok(Progress::Drained) => {
                    self.socket_gone = true;
                    return Next::Done;
                }
                Err(e) => {
                    let _ = &e;
                    return self.lost(now);
                }
            }
        }
    }

    fn lost(&mut self, now: Instant) -> Next {
        if self.connection_lost(now) {
            Next::Done
        } else {
            Next::Wait
        }
    }

    fn queue_is_empty(&mut self) -> bool {
        match &mut self.pipes {
            None => true,
            Some(p) => !p.from_socket.has_message(),
        }
    }
}

fn deadline_ms(ms: i32) -> Option<Instant> {
    if ms <= 0 {
        None
    } else {
        Some(Instant::now() + Duration::from_millis(ms as u64))
    }
}
