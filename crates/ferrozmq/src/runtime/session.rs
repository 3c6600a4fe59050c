//! `Session`: one peer connection as the I/O thread sees it.
//!
//! A connect session exists from `connect()` until the socket closes or
//! disconnects: with IMMEDIATE off (the default) its pipes are created at once,
//! so the application can queue messages before the peer is up, and the same
//! pipes survive reconnects (libzmq's behaviour). An accepted session, or a
//! connect session with IMMEDIATE on, creates its pipes when the handshake
//! completes and ends with its connection.
//!
//! The session also owns the connection's timers: reconnect backoff,
//! HANDSHAKE_IVL, heartbeats (HEARTBEAT_IVL/TIMEOUT/TTL, RFC 37 §PING) and
//! linger; and it reports the connection's life to the socket's monitor.

use super::engine::{Engine, EngineError, EnginePipes, Progress};
use super::io_thread::IoShared;
use crate::mailbox::{next_id, Peer, PipeEvent, SocketCommand, SocketMailbox};
use crate::msg::Msg;
use crate::monitor::{EventKind, MonitorSink};
use crate::pipe::pipe;
use crate::signal::Notify;
use crate::transport::Stream;
use bytes::Bytes;
use crate::pipe::Read;
use crate::transport::inproc::InprocRegistry;
use ferrozmq_proto::{HandshakeConfig, Metadata, PeerInfo, SocketType, ZapConfig, ZapReply};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The socket a session belongs to.
#[derive(Clone)]
pub(crate) struct SocketRef {
    pub socket_id: u64,
    pub mailbox: Arc<SocketMailbox>,
    pub monitor: Arc<MonitorSink>,
}

/// Options a session copies from its socket when it is created (libzmq
/// copies them at connect/bind time too).
#[derive(Clone)]
pub(crate) struct SessionConfig {
    pub socket_type: SocketType,
    pub routing_id: Option<Bytes>,
    pub sndhwm: u64,
    pub rcvhwm: u64,
    pub max_msg_size: Option<u64>,
    pub reconnect_ivl: i32,
    pub reconnect_ivl_max: i32,
    pub handshake_ivl: i32,
    /// ZMQ_RECONNECT_STOP bits (draft): 1 = not after a refused connect,
    /// 2 = not after a failed handshake, 4 = not after an established
    /// connection ends.
    pub reconnect_stop: i32,
    /// ZMQ_CONNECT_TIMEOUT in ms: how long a tcp connect may take before it
    /// is abandoned and retried (0 = only HANDSHAKE_IVL bounds it).
    pub connect_timeout: i32,
    pub immediate: bool,
    /// CONNECT_ROUTING_ID taken at `connect` (None for listeners).
    pub connect_routing_id: Option<Bytes>,
    pub heartbeat_ivl: i32,
    /// -1 = same as the interval (libzmq's default).
    pub heartbeat_timeout: i32,
    pub heartbeat_ttl: i32,
    /// The endpoint named in monitor events.
    pub endpoint: String,
    /// PLAIN/CURVE settings (NULL by default).
    pub mechanism: ferrozmq_proto::MechanismConfig,
    /// ZAP_DOMAIN.
    pub zap_domain: String,
    /// ZAP_ENFORCE_DOMAIN.
    pub zap_enforce_domain: bool,
    /// ZMQ_METADATA: the application's `X-*` properties for the handshake.
    pub app_metadata: Metadata,
    /// ZMQ_HELLO_MSG: sent first on every connection once its handshake
    /// completes (by the I/O thread, so the peer gets it even while the
    /// application is not calling into the socket, as in libzmq).
    pub hello_msg: Option<Bytes>,
    /// ZMQ_SOCKS_PROXY (`host:port`) and credentials (empty username = none).
    pub socks: Option<(String, String, String)>,
    /// The context's inproc registry: the ZAP handler lives there.
    pub inproc: Arc<Mutex<InprocRegistry>>,
}

/// ZMQ_RECONNECT_STOP bits (libzmq 4.3.5's values).
const RECONNECT_STOP_CONN_REFUSED: i32 = 0x1;
const RECONNECT_STOP_HANDSHAKE_FAILED: i32 = 0x2;
const RECONNECT_STOP_AFTER_DISCONNECT: i32 = 0x4;

/// Where libzmq's ZAP handler binds (RFC 27).
const ZAP_ENDPOINT: &str = "zeromq.zap.01";

impl SessionConfig {
    pub(crate) fn handshake_config(&self) -> HandshakeConfig {
        let handler = self.inproc.lock().unwrap_or_else(|p| p.into_inner()).is_bound(ZAP_ENDPOINT);
        HandshakeConfig {
            routing_id: self.routing_id.clone(),
            metadata: self.app_metadata.clone(),
            max_msg_size: self.max_msg_size,
            mechanism: self.mechanism.clone(),
            zap: ZapConfig {
                handler,
                domain: Bytes::copy_from_slice(self.zap_domain.as_bytes()),
                enforce_domain: self.zap_enforce_domain,
            },
            ..HandshakeConfig::new(self.socket_type)
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
    Tcp { host: String, port: Option<u16>, ipv6: bool, opts: crate::transport::tcp::TcpOptions },
    Ipc(String),
}

impl ConnectTarget {
    fn connect(&self) -> crate::error::Result<Stream> {
        match self {
            ConnectTarget::Tcp { host, port, ipv6, opts } => crate::transport::tcp::connect(host, *port, *ipv6, opts),
            ConnectTarget::Ipc(name) => crate::transport::ipc::connect(name),
        }
    }
}

pub(crate) enum Role {
    Connect { target: ConnectTarget, backoff_ms: i32, retry_at: Option<Instant> },
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

/// Heartbeat state of the live connection.
struct Heartbeat {
    next_ping: Instant,
    /// A PING went out at this instant and nothing has arrived since.
    awaiting_since: Option<Instant>,
}

pub(crate) struct Session {
    pub id: u64,
    /// The `tracing` span of this connection's life (see `run`).
    span: tracing::Span,
    pub socket: SocketRef,
    pub role: Role,
    pub config: SessionConfig,
    pub notify: Arc<SessionNotify>,
    pub pipes: Option<EnginePipes>,
    pub engine: Option<Engine>,
    handshake_deadline: Option<Instant>,
    /// When a tcp connect still in progress is given up (CONNECT_TIMEOUT).
    connect_deadline: Option<Instant>,
    /// No more connection attempts (RECONNECT_IVL -1 after the first, or a
    /// RECONNECT_STOP condition met).
    reconnect_stopped: bool,
    /// Set when the socket closed: None = linger forever.
    pub linger_deadline: Option<Option<Instant>>,
    /// A handshake completed over these pipes before (reconnects re-send
    /// per-connection state).
    connected_before: bool,
    /// The current stream is known to be connected (CONNECTED was reported).
    established: bool,
    heartbeat: Option<Heartbeat>,
    /// The pipe to the ZAP handler while a request is outstanding, and the
    /// reply frames received so far.
    zap: Option<(Peer, Vec<Bytes>)>,
}

impl Session {
    fn new(io: &Arc<IoShared>, socket: SocketRef, config: SessionConfig, role: Role, engine: Option<Engine>) -> Session {
        let id = next_id();
        let span = tracing::info_span!(
            target: "ferrozmq",
            "zmq_connection",
            session = id,
            endpoint = %config.endpoint,
            socket_type = ?config.socket_type,
            role = if matches!(role, Role::Accepted) { "accepted" } else { "connect" },
        );
        Session {
            id,
            span,
            socket,
            role,
            notify: Arc::new(SessionNotify { flagged: AtomicBool::new(false), io: io.clone(), session_id: id }),
            handshake_deadline: if engine.is_some() { deadline_ms(config.handshake_ivl) } else { None },
            connect_deadline: None,
            reconnect_stopped: false,
            config,
            pipes: None,
            engine,
            linger_deadline: None,
            connected_before: false,
            established: false,
            heartbeat: None,
            zap: None,
        }
    }

    /// A session for an accepted connection.
    pub(crate) fn accepted(io: &Arc<IoShared>, socket: SocketRef, config: SessionConfig, stream: Stream) -> Session {
        let engine = Engine::new(stream, config.handshake_config());
        let mut s = Session::new(io, socket, config, Role::Accepted, Some(engine));
        s.established = true;
        s
    }

    /// A session for a connect endpoint. With IMMEDIATE off, returns the
    /// socket's peer (pipes created now) to attach at once.
    pub(crate) fn connecting(
        io: &Arc<IoShared>,
        socket: SocketRef,
        config: SessionConfig,
        target: ConnectTarget,
    ) -> (Session, Option<Peer>) {
        let role = Role::Connect { target, backoff_ms: config.reconnect_ivl, retry_at: None };
        let mut s = Session::new(io, socket, config, role, None);
        let peer = if s.config.immediate { None } else { Some(s.make_pipes(None, None)) };
        (s, peer)
    }

    fn emit(&self, kind: EventKind, value: u32) {
        self.socket.monitor.emit(kind, value, &self.config.endpoint);
    }

    /// The properties every received frame carries (`Msg::gets`): the
    /// peer's (after ZAP: `User-Id` and the handler's metadata first) and
    /// `Peer-Address`, as libzmq's engine assembles them.
    fn message_properties(&self, peer: &PeerInfo) -> Option<Arc<Metadata>> {
        let mut meta = peer.metadata.clone();
        let address = self.engine.as_ref().map(|e| e.stream.peer_address()).unwrap_or_default();
        if !address.is_empty() && meta.get("Peer-Address").is_none() {
            let _ = meta.try_insert("Peer-Address", address.into_bytes());
        }
        if meta.is_empty() {
            None
        } else {
            Some(Arc::new(meta))
        }
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
            endpoint: self.peer_endpoint(),
        }
    }

    /// The connect endpoint, or for an accepted connection the remote
    /// address (`tcp://10.0.0.7:51234`; ipc peers have none, so the
    /// listener's endpoint).
    fn peer_endpoint(&self) -> String {
        match (&self.role, &self.engine) {
            (Role::Accepted, Some(e)) => e.stream.peer_endpoint().unwrap_or_else(|| self.config.endpoint.clone()),
            _ => self.config.endpoint.clone(),
        }
    }

    /// Starts a connection attempt if it is time; true if a stream was
    /// created (the caller registers it).
    pub(crate) fn try_connect(&mut self, now: Instant) -> bool {
        if !self.wants_connect() {
            return false;
        }
        let Role::Connect { target, retry_at, .. } = &mut self.role else { return false };
        if retry_at.is_some_and(|at| at > now) {
            return false;
        }
        *retry_at = None;
        let is_tcp = matches!(target, ConnectTarget::Tcp { .. });
        // Through a SOCKS5 proxy: connect to the proxy, and have the engine
        // ask it for the real endpoint before the greeting.
        let (connected, socks) = match (&*target, &self.config.socks) {
            (ConnectTarget::Tcp { host, port, ipv6, opts }, Some((proxy, user, pass))) => {
                let (ph, pp) = proxy.rsplit_once(':').unwrap_or((proxy.as_str(), "1080"));
                let creds = (!user.is_empty()).then(|| (user.as_bytes().to_vec(), pass.as_bytes().to_vec()));
                let client = ferrozmq_proto::socks::Socks5Client::new(host, port.unwrap_or(0), creds).ok();
                (crate::transport::tcp::connect(ph, pp.parse().ok(), *ipv6, opts), client)
            }
            _ => (target.connect(), None),
        };
        match connected {
            Ok(stream) => {
                let fd = stream.raw_fd();
                self.engine = Some(Engine::through_socks(stream, self.config.handshake_config(), socks));
                self.handshake_deadline = deadline_ms(self.config.handshake_ivl);
                if is_tcp {
                    // A non-blocking TCP connect completes later (libzmq
                    // reports CONNECT_DELAYED, then CONNECTED).
                    self.established = false;
                    self.connect_deadline =
                        if self.config.connect_timeout > 0 { deadline_ms(self.config.connect_timeout) } else { None };
                    self.emit(EventKind::ConnectDelayed, libc::EINPROGRESS as u32);
                } else {
                    self.established = true;
                    self.emit(EventKind::Connected, fd as u32);
                }
                true
            }
            Err(e) => {
                // libzmq's connecter closes its socket, then retries. (The
                // failed socket's fd is not known here; 0 stands for it.)
                self.emit(EventKind::Closed, 0);
                if e == crate::error::Error::ECONNREFUSED && self.config.reconnect_stop & RECONNECT_STOP_CONN_REFUSED != 0 {
                    self.reconnect_stopped = true;
                } else {
                    self.schedule_reconnect(now);
                }
                false
            }
        }
    }

    fn schedule_reconnect(&mut self, now: Instant) {
        let ivl = self.config.reconnect_ivl;
        let max = self.config.reconnect_ivl_max;
        let Role::Connect { retry_at, backoff_ms, .. } = &mut self.role else { return };
        if ivl < 0 {
            // RECONNECT_IVL -1: never reconnect.
            *retry_at = None;
            self.reconnect_stopped = true;
            return;
        }
        let wait = (*backoff_ms).max(ivl).max(1);
        *retry_at = Some(now + Duration::from_millis(wait as u64));
        // Exponential backoff up to RECONNECT_IVL_MAX, if set above IVL.
        if max > ivl {
            *backoff_ms = wait.saturating_mul(2).min(max);
        }
        self.emit(EventKind::ConnectRetried, wait as u32);
    }

    /// The earliest instant at which the session must run again.
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
        if let Some(e) = &self.engine {
            if e.is_handshaking() {
                take(self.handshake_deadline);
            }
            if !self.established {
                take(self.connect_deadline);
            }
            if let Some(ttl) = e.peer_ttl {
                take(Some(e.last_rx + ttl));
            }
            take(e.paced_until);
        }
        if let Some(hb) = &self.heartbeat {
            take(Some(hb.next_ping));
            if let Some(t) = hb.awaiting_since {
                take(Some(t + self.heartbeat_timeout()));
            }
        }
        if let Some(Some(l)) = self.linger_deadline {
            take(Some(l));
        }
        d
    }

    fn heartbeat_timeout(&self) -> Duration {
        let t = if self.config.heartbeat_timeout < 0 { self.config.heartbeat_ivl } else { self.config.heartbeat_timeout };
        Duration::from_millis(t.max(0) as u64)
    }

    /// True while a (re)connect is pending (the I/O thread starts it when
    /// due). A closed socket's session keeps trying while it still has
    /// messages to deliver (LINGER), as libzmq does.
    pub(crate) fn wants_connect(&mut self) -> bool {
        // A closed socket's session connects again only to deliver what is
        // queued, and only until its LINGER runs out: past that, `run`
        // ends it (a reconnect timer must not keep it retrying forever,
        // which kept `zmq_ctx_term` waiting).
        let linger_over = matches!(self.linger_deadline, Some(Some(d)) if Instant::now() >= d);
        matches!(self.role, Role::Connect { .. })
            && !self.reconnect_stopped
            && self.engine.is_none()
            && !linger_over
            && (self.linger_deadline.is_none() || !self.queue_is_empty())
    }

    /// The socket closed; linger as configured.
    pub(crate) fn socket_closed(&mut self, linger_ms: i32) {
        self.linger_deadline = Some(if linger_ms < 0 {
            None
        } else {
            Some(Instant::now() + Duration::from_millis(linger_ms as u64))
        });
    }

    /// Drops the current connection after `why`, reporting it. Returns true
    /// if the session itself is over.
    fn connection_lost(&mut self, now: Instant, why: Lost) -> bool {
        let Some(engine) = self.engine.take() else { return self.session_over() };
        let fd = engine.raw_fd() as u32;
        let handshaking = engine.is_handshaking();
        let was_established = self.established;
        drop(engine);
        self.zap = None;
        self.handshake_deadline = None;
        self.connect_deadline = None;
        self.heartbeat = None;
        if self.established {
            // libzmq: a failed handshake is reported (with protocol detail
            // where there is one), then the disconnection.
            if handshaking {
                match &why {
                    Lost::Engine(EngineError::Protocol(p)) => {
                        if let Some(status) = p.auth_status() {
                            self.emit(EventKind::HandshakeFailedAuth, status as u32);
                        } else if let Some(errno) = p.no_detail_errno() {
                            self.emit(EventKind::HandshakeFailedNoDetail, errno as u32);
                        } else {
                            self.emit(EventKind::HandshakeFailedProtocol, p.code());
                        }
                    }
                    Lost::Engine(EngineError::Io(e)) => {
                        self.emit(EventKind::HandshakeFailedNoDetail, e.raw_os_error().unwrap_or(libc::EIO) as u32)
                    }
                    Lost::Engine(EngineError::Closed) => {
                        self.emit(EventKind::HandshakeFailedNoDetail, libc::ECONNRESET as u32)
                    }
                    Lost::Timeout => self.emit(EventKind::HandshakeFailedNoDetail, libc::ETIMEDOUT as u32),
                }
            }
            self.emit(EventKind::Disconnected, fd);
        } else {
            // A connect that never completed: libzmq reports the socket
            // closed before the retry.
            self.emit(EventKind::Closed, fd);
        }
        self.established = false;
        match &why {
            Lost::Engine(EngineError::Protocol(p)) => {
                tracing::warn!(target: "ferrozmq", error = %p, "connection dropped: protocol error")
            }
            Lost::Engine(EngineError::Io(e)) => tracing::info!(target: "ferrozmq", error = %e, "connection lost"),
            Lost::Engine(EngineError::Closed) => tracing::info!(target: "ferrozmq", "connection closed by the peer"),
            Lost::Timeout => tracing::warn!(target: "ferrozmq", "connection dropped: timed out (handshake or heartbeat)"),
        }
        if matches!(why, Lost::Engine(EngineError::Protocol(_))) {
            // libzmq (session_base_t::engine_error): a protocol error ends
            // the session for good, connecting side included — a peer that
            // speaks the wrong protocol is not retried.
            self.pipes = None;
            return true;
        }
        if self.session_over() {
            return true;
        }
        if self.config.immediate {
            // IMMEDIATE: no queue without a connection; the socket sees the
            // peer go and gets fresh pipes on the next handshake.
            self.pipes = None;
        }
        let stop = self.config.reconnect_stop;
        // A tcp connect that never completed was refused (or timed out).
        if (!was_established && stop & RECONNECT_STOP_CONN_REFUSED != 0)
            || (was_established && handshaking && stop & RECONNECT_STOP_HANDSHAKE_FAILED != 0)
            || (was_established && !handshaking && stop & RECONNECT_STOP_AFTER_DISCONNECT != 0)
        {
            // RECONNECT_STOP: this session makes no more attempts; its
            // queue stays for what the socket does with it (libzmq keeps the
            // pipe until the socket is closed or disconnected).
            self.reconnect_stopped = true;
            return false;
        }
        self.schedule_reconnect(now);
        false
    }

    fn session_over(&mut self) -> bool {
        match self.role {
            Role::Accepted => {
                self.pipes = None;
                true
            }
            // Lingering: over once nothing is left to deliver.
            Role::Connect { .. } => self.linger_deadline.is_some() && self.queue_is_empty(),
        }
    }

    /// Sends due heartbeats and enforces heartbeat and TTL timeouts.
    fn heartbeats(&mut self, now: Instant) -> Result<(), Lost> {
        let timeout = self.heartbeat_timeout();
        let ttl_ds = (self.config.heartbeat_ttl / 100).clamp(0, u16::MAX as i32) as u16;
        let Some(engine) = self.engine.as_mut() else { return Ok(()) };
        if engine.is_handshaking() {
            return Ok(());
        }
        if let Some(ttl) = engine.peer_ttl {
            if now >= engine.last_rx + ttl {
                return Err(Lost::Timeout);
            }
        }
        let Some(hb) = self.heartbeat.as_mut() else { return Ok(()) };
        if let Some(t) = hb.awaiting_since {
            if engine.last_rx >= t {
                hb.awaiting_since = None;
            } else if now >= t + timeout {
                return Err(Lost::Timeout);
            }
        }
        if now >= hb.next_ping {
            engine.send_ping(ttl_ds).map_err(Lost::Engine)?;
            hb.next_ping = now + Duration::from_millis(self.config.heartbeat_ivl as u64);
            if hb.awaiting_since.is_none() {
                hb.awaiting_since = Some(now);
            }
        }
        Ok(())
    }

    /// One turn of work.
    pub(crate) fn run(&mut self, now: Instant) -> Next {
        // Everything this turn reports (monitor events, errors) is traced
        // inside the connection's span. A disabled span costs one check.
        let span = self.span.clone();
        let _entered = span.enter();
        self.notify.flagged.store(false, Ordering::Release);
        if let Some(Some(deadline)) = self.linger_deadline {
            if now >= deadline {
                return Next::Done;
            }
        }
        if self.linger_deadline.is_some()
            && self.engine.as_ref().is_none_or(|e| e.is_handshaking())
            && self.queue_is_empty()
        {
            // The socket closed and nothing is queued for this peer: a
            // connection still in its handshake has nothing to linger for
            // (waiting would hold context termination up to HANDSHAKE_IVL).
            return Next::Done;
        }
        if self.engine.is_none() {
            return Next::Wait;
        }
        if let Err(why) = self.heartbeats(now) {
            return self.lost(now, why);
        }
        if let Err(e) = self.zap_progress() {
            return self.lost(now, Lost::Engine(e));
        }
        loop {
            let engine = self.engine.as_mut().expect("checked above");
            if engine.is_handshaking() && self.handshake_deadline.is_some_and(|d| now >= d) {
                return self.lost(now, Lost::Timeout);
            }
            if !self.established && self.connect_deadline.is_some_and(|d| now >= d) && !engine.stream.is_connected() {
                // libzmq's connecter gives up at CONNECT_TIMEOUT and retries.
                return self.lost(now, Lost::Timeout);
            }
            if !self.established && engine.stream.is_connected() {
                self.established = true;
                self.connect_deadline = None;
                let fd = engine.raw_fd() as u32;
                self.emit(EventKind::Connected, fd);
            }
            let engine = self.engine.as_mut().expect("checked above");
            match engine.run(self.pipes.as_mut()) {
                Ok(Progress::HandshakeDone(peer)) => {
                    self.established = true;
                    self.handshake_deadline = None;
                    if let Some(h) = &self.config.hello_msg {
                        let hello = Msg::from_bytes(h.clone());
                        if let Err(e) = self.engine.as_mut().expect("running").send_first(hello) {
                            return self.lost(now, Lost::Engine(e));
                        }
                    }
                    if self.config.heartbeat_ivl > 0 {
                        self.heartbeat = Some(Heartbeat {
                            next_ping: now + Duration::from_millis(self.config.heartbeat_ivl as u64),
                            awaiting_since: None,
                        });
                    }
                    if let Role::Connect { backoff_ms, .. } = &mut self.role {
                        *backoff_ms = self.config.reconnect_ivl;
                    }
                    tracing::debug!(
                        target: "ferrozmq",
                        zmtp = %format_args!("{}.{}", peer.version.major, peer.version.minor),
                        peer_socket_type = ?peer.socket_type,
                        user_id = ?peer.user_id.as_ref().map(|u| String::from_utf8_lossy(u).into_owned()),
                        reconnect = self.connected_before,
                        "handshake done"
                    );
                    self.emit(EventKind::HandshakeSucceeded, 0);
                    let metadata = self.message_properties(&peer);
                    if self.pipes.is_none() {
                        if self.linger_deadline.is_some() {
                            return Next::Done;
                        }
                        let p = self.make_pipes(peer.routing_id.clone(), peer.socket_type);
                        if let Some(pipes) = &self.pipes {
                            pipes.to_socket.set_metadata(metadata);
                        }
                        self.socket.mailbox.post(SocketCommand::Attach(p));
                    } else if let Some(p) = &self.pipes {
                        p.to_socket.set_metadata(metadata);
                        if self.connected_before {
                            p.to_socket.note_reconnect();
                        }
                        self.socket.mailbox.post(SocketCommand::Connected {
                            id: p.id,
                            routing_id: peer.routing_id.clone(),
                            peer_type: peer.socket_type.unwrap_or(self.config.socket_type),
                            reconnect: self.connected_before,
                        });
                    }
                    self.connected_before = true;
                    continue;
                }
                Ok(Progress::RawReady) => {
                    self.established = true;
                    self.handshake_deadline = None;
                    if self.pipes.is_none() {
                        let p = self.make_pipes(None, Some(SocketType::Stream));
                        self.socket.mailbox.post(SocketCommand::Attach(p));
                    } else if let Some(p) = &self.pipes {
                        if self.connected_before {
                            p.to_socket.note_reconnect();
                        }
                        self.socket.mailbox.post(SocketCommand::Connected {
                            id: p.id,
                            routing_id: None,
                            peer_type: SocketType::Stream,
                            reconnect: self.connected_before,
                        });
                    }
                    self.connected_before = true;
                    continue;
                }
                Ok(Progress::ZapRequest(req)) => {
                    if let Err(e) = self.send_zap_request(req) {
                        return self.lost(now, Lost::Engine(e));
                    }
                    // The reply arrives through the ZAP pipe (an activation).
                    return Next::Wait;
                }
                Ok(Progress::Idle) => return Next::Wait,
                Ok(Progress::Busy) => return Next::Again,
                Ok(Progress::Drained) => return Next::Done,
                Err(e) => return self.lost(now, Lost::Engine(e)),
            }
        }
    }

    /// Sends a ZAP request (RFC 27) to the handler bound in this context.
    fn send_zap_request(&mut self, req: ferrozmq_proto::ZapRequest) -> Result<(), EngineError> {
        let zap_failed = || EngineError::Protocol(ferrozmq_proto::ProtocolError::ZapUnspecified);
        let mut peer = {
            let mut reg = self.config.inproc.lock().unwrap_or_else(|p| p.into_inner());
            reg.connect_internal(ZAP_ENDPOINT, SocketType::Dealer, self.notify.clone())
                .map_err(|_| EngineError::Protocol(ferrozmq_proto::ProtocolError::ZapHandlerMissing))?
        };
        let address = self.engine.as_ref().map(|e| e.stream.peer_address()).unwrap_or_default();
        let routing_id = self.config.routing_id.clone().unwrap_or_default();
        let frames = req.to_frames(self.config.zap_domain.as_bytes(), address.as_bytes(), &routing_id, b"1");
        let n = frames.len();
        for (i, f) in frames.into_iter().enumerate() {
            let mut m = Msg::from_bytes(f);
            m.set_more(i + 1 < n);
            peer.writer.write(m);
        }
        if !peer.writer.flush() {
            return Err(zap_failed());
        }
        self.zap = Some((peer, Vec::new()));
        // Look for the reply once now: an empty pipe registers us for the
        // wake-up that the handler's reply will bring.
        self.zap_progress()
    }

    /// Reads the ZAP reply if it has arrived and hands it to the handshake.
    fn zap_progress(&mut self) -> Result<(), EngineError> {
        let Some((peer, frames)) = self.zap.as_mut() else { return Ok(()) };
        loop {
            match peer.reader.read() {
                Read::Frame(m) => {
                    let more = m.get_more();
                    frames.push(m.into_bytes());
                    if !more {
                        break;
                    }
                }
                Read::Empty => return Ok(()),
                Read::Closed => {
                    self.zap = None;
                    return Err(EngineError::Protocol(ferrozmq_proto::ProtocolError::ZapUnspecified));
                }
            }
        }
        let (_, frames) = self.zap.take().expect("checked above");
        let reply = ZapReply::from_frames(&frames).map_err(EngineError::Protocol)?;
        match self.engine.as_mut() {
            Some(e) => e.zap_reply(reply),
            None => Ok(()),
        }
    }

    fn lost(&mut self, now: Instant, why: Lost) -> Next {
        if self.connection_lost(now, why) {
            Next::Done
        } else {
            Next::Wait
        }
    }

    /// True if the socket has nothing queued for this peer.
    fn queue_is_empty(&mut self) -> bool {
        match &mut self.pipes {
            None => true,
            Some(p) => !p.from_socket.has_message(),
        }
    }

    /// Called as the session is removed (disconnect, close).
    pub(crate) fn finish(&mut self) {
        if let Some(e) = self.engine.take() {
            if self.established {
                self.emit(EventKind::Disconnected, e.raw_fd() as u32);
            }
        }
    }
}

/// Why a connection was dropped.
enum Lost {
    Engine(EngineError),
    Timeout,
}

fn deadline_ms(ms: i32) -> Option<Instant> {
    if ms <= 0 {
        None
    } else {
        Some(Instant::now() + Duration::from_millis(ms as u64))
    }
}
