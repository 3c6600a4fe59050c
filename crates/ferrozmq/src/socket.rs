//! `Socket`: the application's handle on one ZeroMQ socket.
//!
//! The socket owns its pattern (the per-type routing policy) and its end of
//! every peer's pipes. I/O threads and inproc peers never call into it: they
//! post to its [`SocketMailbox`], which the owner applies at its next call,
//! so the hot path of `send`/`recv` is one atomic load plus pipe work.
//!
//! A socket is `Send` (it may move between threads) but not `Sync`, like a
//! libzmq socket.

use crate::context::ContextInner;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::mailbox::{next_id, Drained, SocketCommand, SocketMailbox};
use crate::monitor::{EventKind, Monitor, MonitorSink};
use crate::msg::Msg;
use crate::options::{self, ids, OptionKind, Options};
use crate::patterns::{self, Pattern};
use crate::runtime::session::{ConnectTarget, Session};
use crate::runtime::{IoCommand, IoShared, SessionConfig, SocketRef};
use crate::transport::inproc::InprocSide;
use ferrozmq_proto::SocketType;
use std::cell::RefCell;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Streaming frames at least this large do not busy-poll (see `recv`).
const STREAMING_NO_SPIN_SIZE: usize = 16 * 1024;

/// Typed setters and getters, generated in the style of the `zmq` crate:
/// `set_x(bool)` (write-only flags), `set_x(bool)` / `is_x()`, `set_x(i32)` / `get_x()`, `set_x(&str)` /
/// `get_x()`, `set_x(&[u8])`. Each goes through the same validation as the
/// by-name and by-number forms.
macro_rules! typed_options {
    (
        flag { $( $(#[$fm:meta])* $fset:ident, $fid:ident; )* }
        bool { $( $(#[$bm:meta])* $bset:ident, $bget:ident, $bid:ident; )* }
        int { $( $(#[$im:meta])* $iset:ident, $iget:ident, $iid:ident; )* }
        text { $( $(#[$tm:meta])* $tset:ident, $tget:ident, $tid:ident; )* }
        bytes { $( $(#[$ym:meta])* $yset:ident, $yid:ident; )* }
    ) => {
        $(
            $(#[$fm])*
            #[doc = ""]
            #[doc = "Write-only, as in libzmq."]
            pub fn $fset(&self, v: bool) -> Result<()> {
                self.set_int(ids::$fid, v as i32)
            }
        )*
        $(
            $(#[$bm])*
            pub fn $bset(&self, v: bool) -> Result<()> {
                self.set_int(ids::$bid, v as i32)
            }
            #[doc = concat!("See [`Socket::", stringify!($bset), "`].")]
            pub fn $bget(&self) -> Result<bool> {
                Ok(self.get_int(ids::$bid)? != 0)
            }
        )*
        $(
            $(#[$im])*
            pub fn $iset(&self, v: i32) -> Result<()> {
                self.set_int(ids::$iid, v)
            }
            #[doc = concat!("See [`Socket::", stringify!($iset), "`].")]
            pub fn $iget(&self) -> Result<i32> {
                self.get_int(ids::$iid)
            }
        )*
        $(
            $(#[$tm])*
            pub fn $tset(&self, v: &str) -> Result<()> {
                self.set_option_raw(ids::$tid, v.as_bytes())
            }
            #[doc = concat!("See [`Socket::", stringify!($tset), "`].")]
            pub fn $tget(&self) -> Result<String> {
                let raw = self.get_option_raw(ids::$tid)?;
                let raw = raw.strip_suffix(&[0u8]).unwrap_or(&raw);
                Ok(String::from_utf8_lossy(raw).into_owned())
            }
        )*
        $(
            $(#[$ym])*
            pub fn $yset(&self, v: &[u8]) -> Result<()> {
                self.set_option_raw(ids::$yid, v)
            }
        )*
    };
}

/// `send`/`recv` flag: do not block (`ZMQ_DONTWAIT`).
pub const DONTWAIT: i32 = 1;
/// `send` flag: more frames of this message follow (`ZMQ_SNDMORE`).
pub const SNDMORE: i32 = 2;

/// `get_events` bit: a message can be received (`ZMQ_POLLIN`).
pub const POLLIN: i16 = 1;
/// `get_events` bit: a message can be sent (`ZMQ_POLLOUT`).
pub const POLLOUT: i16 = 2;
/// poll bit: error on a raw fd (`ZMQ_POLLERR`).
pub const POLLERR: i16 = 4;

enum EndpointHandle {
    /// `fd` is kept to report CLOSED when the socket closes.
    Listener { io: Arc<IoShared>, id: u64, fd: i32 },
    /// `pipes`: the connection's two pipes when the socket holds them from
    /// the start (not IMMEDIATE), severed at once by `disconnect`.
    Session { io: Arc<IoShared>, id: u64, pipes: Vec<Arc<crate::pipe::PipeShared>> },
    InprocBound(String),
    /// The two pipes of the connection, severed by `disconnect`.
    InprocConnected(Vec<Arc<crate::pipe::PipeShared>>),
}

struct EndpointRecord {
    /// As given by the application.
    given: String,
    /// Resolved (LAST_ENDPOINT form).
    resolved: String,
    handle: EndpointHandle,
}

pub(crate) struct SocketCore {
    ctx: Arc<ContextInner>,
    id: u64,
    socket_type: SocketType,
    mailbox: Arc<SocketMailbox>,
    pattern: Box<dyn Pattern>,
    options: Options,
    monitor: Arc<MonitorSink>,
    endpoints: Vec<EndpointRecord>,
    rcvmore: bool,
    /// Messages received without waiting since the last wait, and the size
    /// of the last frame: together they tell streaming from ping-pong (see
    /// `recv`).
    recv_streak: u32,
    last_recv_len: usize,
    sending_more: bool,
    drained: Drained,
    stats: crate::stats::StatsRegistry,
}

/// A ZeroMQ socket. See the crate docs for the patterns.
///
/// ```
/// use ferrozmq::{Context, SocketType};
/// let ctx = Context::new();
/// let rep = ctx.socket(SocketType::Rep)?;
/// rep.bind("inproc://socket-doc")?;
/// let req = ctx.socket(SocketType::Req)?;
/// req.connect("inproc://socket-doc")?;
/// req.send("ping", 0)?;
/// assert_eq!(rep.recv_string(0)?.unwrap(), "ping");
/// rep.send("pong", 0)?;
/// assert_eq!(&*req.recv_msg(0)?, b"pong");
/// // Sockets are Send: hand one to another thread.
/// std::thread::spawn(move || drop(rep)).join().unwrap();
/// # Ok::<(), ferrozmq::Error>(())
/// ```
pub struct Socket {
    core: RefCell<SocketCore>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.core.try_borrow() {
            Ok(c) => f.debug_struct("Socket").field("type", &c.socket_type).field("id", &c.id).finish(),
            Err(_) => f.write_str("Socket { .. }"),
        }
    }
}

fn deadline(timeout_ms: i32) -> Option<Instant> {
    if timeout_ms < 0 {
        None
    } else {
        Some(Instant::now() + Duration::from_millis(timeout_ms as u64))
    }
}

impl SocketCore {
    fn process(&mut self) {
        if !self.mailbox.has_work() {
            return;
        }
        self.mailbox.drain(&mut self.drained);
        let mut commands = std::mem::take(&mut self.drained.commands);
        for cmd in commands.drain(..) {
            match cmd {
                SocketCommand::Attach(peer) => self.attach_peer(peer),
                SocketCommand::Connected { id, routing_id, peer_type, reconnect } => {
                    self.stats.connected(id, routing_id.as_ref());
                    self.pattern.connected(id, routing_id, peer_type, reconnect)
                }
            }
        }
        // Keep the vector's capacity for the next drain.
        self.drained.commands = commands;
        for id in self.drained.readable.drain(..) {
            self.pattern.pipe_readable(id);
        }
        for id in self.drained.writable.drain(..) {
            self.pattern.pipe_writable(id);
        }
    }

    /// Hands a new peer's pipes to the pattern (and to the statistics).
    fn attach_peer(&mut self, peer: crate::mailbox::Peer) {
        if self.options.conflate {
            peer.reader.set_conflate(true);
            peer.writer.set_conflate(true);
        }
        self.stats.attach(&peer);
        self.pattern.attach(peer);
    }

    fn check_term(&self) -> Result<()> {
        if self.ctx.terminated.load(Ordering::Acquire) {
            Err(Error::ETERM)
        } else {
            Ok(())
        }
    }

    fn send(&mut self, msg: Msg, flags: i32) -> Result<()> {
        self.send_or_return(msg, flags).map_err(|(e, _)| e)
    }

    /// `send` that hands the message back when it was not sent (the C ABI's
    /// `zmq_msg_send` leaves the caller's message untouched on failure).
    fn send_or_return(&mut self, mut msg: Msg, flags: i32) -> std::result::Result<(), (Error, Msg)> {
        if let Err(e) = self.check_term() {
            return Err((e, msg));
        }
        msg.set_more(flags & SNDMORE != 0);
        self.process();
        let mut msg = match self.pattern.send(msg) {
            Ok(()) => {
                self.sending_more = flags & SNDMORE != 0;
                return Ok(());
            }
            Err((Error::EAGAIN, m)) => m,
            Err(e) => return Err(e),
        };
        if flags & DONTWAIT != 0 || self.options.sndtimeo == 0 {
            return Err((Error::EAGAIN, msg));
        }
        let until = deadline(self.options.sndtimeo);
        // A sender blocked at the HWM busy-polls for room only with small
        // messages: with large ones the CPU is better left to the threads
        // moving the bytes.
        let spin = msg.len() < STREAMING_NO_SPIN_SIZE;
        loop {
            self.mailbox.signal.wait(until, spin);
            if let Err(e) = self.check_term() {
                return Err((e, msg));
            }
            self.process();
            msg = match self.pattern.send(msg) {
                Ok(()) => {
                    self.sending_more = flags & SNDMORE != 0;
                    return Ok(());
                }
                Err((Error::EAGAIN, m)) => m,
                Err(e) => return Err(e),
            };
            if until.is_some_and(|d| Instant::now() >= d) {
                return Err((Error::EAGAIN, msg));
            }
        }
    }

    fn recv(&mut self, flags: i32) -> Result<Msg> {
        self.check_term()?;
        self.process();
        match self.pattern.recv() {
            Ok(m) => {
                if !self.rcvmore {
                    self.recv_streak = self.recv_streak.saturating_add(1);
                }
                self.last_recv_len = m.len();
                self.rcvmore = m.get_more();
                return Ok(m);
            }
            Err(Error::EAGAIN) => {}
            Err(e) => return Err(e),
        }
        if flags & DONTWAIT != 0 || self.options.rcvtimeo == 0 {
            return Err(Error::EAGAIN);
        }
        let until = deadline(self.options.rcvtimeo);
        // Busy-poll while waiting, except when large messages are streaming
        // in (messages were there without waiting since the last wait): then
        // the CPU is better left to the threads moving the bytes, and a
        // wake-up per batch costs little next to the copies.
        let spin = self.recv_streak == 0 || self.last_recv_len < STREAMING_NO_SPIN_SIZE;
        loop {
            self.mailbox.signal.wait(until, spin);
            self.check_term()?;
            self.process();
            match self.pattern.recv() {
                Ok(m) => {
                    self.recv_streak = 0;
                    self.last_recv_len = m.len();
                    self.rcvmore = m.get_more();
                    return Ok(m);
                }
                Err(Error::EAGAIN) => {}
                Err(e) => return Err(e),
            }
            if until.is_some_and(|d| Instant::now() >= d) {
                return Err(Error::EAGAIN);
            }
        }
    }

    fn session_config(&self) -> SessionConfig {
        SessionConfig {
            socket_type: self.socket_type,
            routing_id: self.options.routing_id.clone(),
            sndhwm: self.options.sndhwm as u64,
            rcvhwm: self.options.rcvhwm as u64,
            max_msg_size: self.options.max_msg_size(),
            reconnect_ivl: self.options.reconnect_ivl,
            reconnect_ivl_max: self.options.reconnect_ivl_max,
            handshake_ivl: self.options.handshake_ivl,
            connect_timeout: self.options.connect_timeout,
            reconnect_stop: self.options.reconnect_stop,
            immediate: self.options.immediate,
            connect_routing_id: None,
            heartbeat_ivl: self.options.heartbeat_ivl,
            heartbeat_timeout: self.options.heartbeat_timeout,
            heartbeat_ttl: self.options.heartbeat_ttl,
            endpoint: String::new(),
            mechanism: self.options.security.mechanism_config(),
            zap_domain: self.options.zap_domain.clone(),
            zap_enforce_domain: self.options.zap_enforce_domain,
            app_metadata: self.options.app_metadata.clone(),
            hello_msg: self.options.hello_msg.clone(),
            socks: (!self.options.socks_proxy.is_empty()).then(|| {
                let o = &self.options;
                (o.socks_proxy.clone(), o.socks_username.clone(), o.socks_password.clone())
            }),
            inproc: self.ctx.inproc.clone(),
        }
    }

    fn tcp_options(&self) -> crate::transport::tcp::TcpOptions {
        let o = &self.options;
        crate::transport::tcp::TcpOptions {
            sndbuf: o.sndbuf,
            rcvbuf: o.rcvbuf,
            keepalive: o.tcp_keepalive,
            keepalive_cnt: o.tcp_keepalive_cnt,
            keepalive_idle: o.tcp_keepalive_idle,
            keepalive_intvl: o.tcp_keepalive_intvl,
            tos: o.tos,
            maxrt: o.tcp_maxrt,
            bindtodevice: o.bindtodevice.clone(),
            backlog: o.backlog,
            source: None,
        }
    }

    fn socket_ref(&self) -> SocketRef {
        SocketRef { socket_id: self.id, mailbox: self.mailbox.clone(), monitor: self.monitor.clone() }
    }

    fn inproc_side(&self) -> InprocSide {
        InprocSide {
            socket_id: self.id,
            mailbox: self.mailbox.clone(),
            socket_type: self.socket_type,
            sndhwm: self.options.sndhwm as u64,
            rcvhwm: self.options.rcvhwm as u64,
            routing_id: self.options.routing_id.clone(),
            connect_routing_id: None,
        }
    }

    fn bind(&mut self, endpoint: &str) -> Result<()> {
        self.check_term()?;
        crate::endpoint::check_protocol(self.socket_type, endpoint)?;
        let ep = Endpoint::parse(endpoint)?;
        let (resolved, handle) = match ep {
            Endpoint::Inproc(name) => {
                let peers = {
                    let mut reg = self.ctx.inproc.lock().unwrap_or_else(|p| p.into_inner());
                    reg.bind(&name, self.inproc_side())?
                };
                for p in peers {
                    self.attach_peer(p);
                }
                (endpoint.to_string(), EndpointHandle::InprocBound(name))
            }
            Endpoint::Tcp { host, port } => {
                let bound = crate::transport::tcp::bind(&host, port, self.options.ipv6, &self.tcp_options());
                self.listen(endpoint, bound)?
            }
            Endpoint::Ipc(name) => {
                let bound = crate::transport::ipc::bind(&name, self.options.backlog);
                self.listen(endpoint, bound)?
            }
        };
        self.options.last_endpoint = resolved.clone();
        self.endpoints.push(EndpointRecord { given: endpoint.to_string(), resolved, handle });
        Ok(())
    }

    fn listen(
        &mut self,
        given: &str,
        bound: Result<(crate::transport::Listener, String)>,
    ) -> Result<(String, EndpointHandle)> {
        let (listener, resolved) = match bound {
            Ok(b) => b,
            Err(e) => {
                self.monitor.emit(EventKind::BindFailed, e.to_raw() as u32, given);
                return Err(e);
            }
        };
        let io = self.ctx.io_thread(self.options.affinity)?.shared.clone();
        let fd = listener.raw_fd();
        self.monitor.emit(EventKind::Listening, fd as u32, &resolved);
        let id = next_id();
        let mut config = self.session_config();
        config.endpoint = resolved.clone();
        io.post(IoCommand::Listen { id, listener, socket: self.socket_ref(), config });
        Ok((resolved, EndpointHandle::Listener { io, id, fd }))
    }

    fn connect(&mut self, endpoint: &str) -> Result<()> {
        self.check_term()?;
        crate::endpoint::check_protocol(self.socket_type, endpoint)?;
        let ep = Endpoint::parse(endpoint)?;
        let target = match ep {
            Endpoint::Inproc(name) => {
                let mut side = self.inproc_side();
                side.connect_routing_id = self.options.connect_routing_id.take();
                let peer = {
                    let mut reg = self.ctx.inproc.lock().unwrap_or_else(|p| p.into_inner());
                    reg.connect(&name, side)?
                };
                let pipes = vec![peer.writer.shared().clone(), peer.reader.shared().clone()];
                self.attach_peer(peer);
                self.endpoints.push(EndpointRecord {
                    given: endpoint.to_string(),
                    resolved: endpoint.to_string(),
                    handle: EndpointHandle::InprocConnected(pipes),
                });
                self.options.last_endpoint = endpoint.to_string();
                return Ok(());
            }
            Endpoint::Tcp { host, port } => {
                // Validate now so a malformed address fails at connect time.
                crate::endpoint::tcp_connect_addrs(&host, port, self.options.ipv6)?;
                let mut opts = self.tcp_options();
                opts.source = crate::endpoint::tcp_source(endpoint, self.options.ipv6)?;
                ConnectTarget::Tcp { host, port, ipv6: self.options.ipv6, opts }
            }
            Endpoint::Ipc(name) => {
                if name == "*" {
                    return Err(Error::EINVAL);
                }
                // An over-long path fails now, as in libzmq (ENAMETOOLONG).
                crate::endpoint::ipc_path(&name)?;
                ConnectTarget::Ipc(name)
            }
        };
        let io = self.ctx.io_thread(self.options.affinity)?.shared.clone();
        let mut config = self.session_config();
        // libzmq applies CONNECT_ROUTING_ID to the next connect only.
        config.connect_routing_id = self.options.connect_routing_id.take();
        config.endpoint = endpoint.to_string();
        let (session, peer) = Session::connecting(&io, self.socket_ref(), config, target);
        let id = session.id;
        let mut pipes = Vec::new();
        if let Some(peer) = peer {
            pipes = vec![peer.writer.shared().clone(), peer.reader.shared().clone()];
            self.attach_peer(peer);
        }
        io.post(IoCommand::Connect(Box::new(session)));
        self.options.last_endpoint = endpoint.to_string();
        self.endpoints.push(EndpointRecord {
            given: endpoint.to_string(),
            resolved: endpoint.to_string(),
            handle: EndpointHandle::Session { io, id, pipes },
        });
        Ok(())
    }

    fn remove_endpoint(&mut self, endpoint: &str, bound: bool) -> Result<()> {
        self.check_term()?;
        Endpoint::parse(endpoint)?;
        // A wildcard (`tcp://host:*`, `ipc://*`) names no endpoint: only
        // the resolved form (LAST_ENDPOINT) unbinds, as in libzmq.
        let wildcard = endpoint.ends_with(":*") || endpoint.ends_with(":0") || endpoint == "ipc://*";
        let pos = self.endpoints.iter().position(|e| {
            ((e.given == endpoint && !wildcard) || e.resolved == endpoint)
                && matches!(
                    (&e.handle, bound),
                    (EndpointHandle::Listener { .. } | EndpointHandle::InprocBound(_), true)
                        | (EndpointHandle::Session { .. } | EndpointHandle::InprocConnected(_), false)
                )
        });
        let Some(pos) = pos else { return Err(Error::ENOENT) };
        let rec = self.endpoints.remove(pos);
        match rec.handle {
            EndpointHandle::Listener { io, id, .. } => io.post(IoCommand::Unlisten(id)),
            EndpointHandle::Session { io, id, pipes } => {
                io.post(IoCommand::Disconnect(id));
                // libzmq terminates the pipes at once: the next send must
                // not find this peer (rust-zmq's test_disconnect).
                for p in pipes {
                    p.sever();
                }
                self.process();
            }
            EndpointHandle::InprocBound(name) => {
                let mut reg = self.ctx.inproc.lock().unwrap_or_else(|p| p.into_inner());
                reg.unbind(&name, self.id)?;
            }
            EndpointHandle::InprocConnected(pipes) => {
                for p in pipes {
                    p.sever();
                }
                // Our own ends see the closure at once, not at the next call.
                self.process();
            }
        }
        Ok(())
    }

    fn set_option(&mut self, id: i32, value: &[u8]) -> Result<()> {
        if let Some(r) = self.pattern.set_option(id, value) {
            return r;
        }
        match id {
            ids::TYPE | ids::RCVMORE | ids::FD | ids::EVENTS | ids::LAST_ENDPOINT | ids::MECHANISM
            | ids::THREAD_SAFE => return Err(Error::EINVAL),
            _ => {}
        }
        if self.options.set(id, value)? {
            if id == ids::SNDHWM || id == ids::RCVHWM {
                self.pattern.set_hwms(self.options.sndhwm as u64, self.options.rcvhwm as u64);
            }
            Ok(())
        } else {
            Err(Error::EINVAL)
        }
    }

    fn get_option(&mut self, id: i32) -> Result<Vec<u8>> {
        let int = |x: i32| Ok(x.to_ne_bytes().to_vec());
        match id {
            ids::TYPE => return int(self.socket_type.as_raw()),
            ids::RCVMORE => return int(self.rcvmore as i32),
            ids::FD => return int(self.mailbox.signal.raw_fd()),
            ids::EVENTS => return int(self.events() as i32),
            ids::THREAD_SAFE => return int(0),
            _ => {}
        }
        if let Some(v) = self.pattern.get_option(id) {
            return Ok(v);
        }
        self.options.get(id).ok_or(Error::EINVAL)
    }

    fn monitor(&mut self, endpoint: Option<&str>, events: u32) -> Result<()> {
        self.monitor_versioned(endpoint, events, 1)
    }

    fn monitor_versioned(&mut self, endpoint: Option<&str>, events: u32, format: u8) -> Result<()> {
        if events > 0xFFFF {
            return Err(Error::EINVAL);
        }
        if let Some(old) = self.monitor.stop() {
            let mut reg = self.ctx.inproc.lock().unwrap_or_else(|p| p.into_inner());
            let name = old.trim_start_matches("inproc://").to_string();
            reg.socket_closed_name(&name);
        }
        let Some(endpoint) = endpoint else { return Ok(()) };
        let name = match Endpoint::parse(endpoint)? {
            Endpoint::Inproc(n) => n,
            _ => return Err(Error::EPROTONOSUPPORT),
        };
        let mailbox = SocketMailbox::new(std::time::Duration::ZERO).map_err(Error::from)?;
        let side = InprocSide {
            socket_id: next_id(),
            mailbox: mailbox.clone(),
            socket_type: SocketType::Pair,
            sndhwm: self.options.sndhwm.max(0) as u64,
            rcvhwm: self.options.rcvhwm.max(0) as u64,
            routing_id: None,
            connect_routing_id: None,
        };
        let peers = {
            let mut reg = self.ctx.inproc.lock().unwrap_or_else(|p| p.into_inner());
            reg.bind(&name, side)?
        };
        self.monitor.start(endpoint.to_string(), events, format, mailbox, peers);
        Ok(())
    }

    fn events(&mut self) -> i16 {
        // Reading the state consumes the notification first (as libzmq's
        // ZMQ_EVENTS processes its mailbox): the fd is readable again only
        // if something changes after this look.
        self.mailbox.signal.take();
        self.process();
        let mut ev = 0;
        if self.pattern.has_in() {
            ev |= POLLIN;
        }
        if self.pattern.has_out() {
            ev |= POLLOUT;
        }
        ev
    }
}

impl Socket {
    pub(crate) fn new(ctx: Arc<ContextInner>, socket_type: SocketType) -> Result<Socket> {
        if ctx.terminated.load(Ordering::Acquire) {
            return Err(Error::ETERM);
        }
        let pattern = patterns::create(socket_type)?;
        let mailbox = SocketMailbox::new(ctx.busy_poll).map_err(Error::from)?;
        let id = next_id();
        ctx.register_socket(id, mailbox.clone())?;
        let mut options = Options { linger: ctx.default_linger(), ..Options::default() };
        if socket_type == SocketType::XSub {
            // libzmq forces XSUB's linger to 0.
            options.linger = 0;
        }
        Ok(Socket {
            core: RefCell::new(SocketCore {
                ctx,
                id,
                socket_type,
                mailbox,
                pattern,
                options,
                monitor: Arc::new(MonitorSink::default()),
                endpoints: Vec::new(),
                rcvmore: false,
                recv_streak: 0,
                last_recv_len: 0,
                sending_more: false,
                drained: Drained::default(),
                stats: Default::default(),
            }),
        })
    }

    fn core(&self) -> std::cell::RefMut<'_, SocketCore> {
        self.core.borrow_mut()
    }

    /// The socket's type.
    pub fn socket_type(&self) -> SocketType {
        self.core().socket_type
    }

    /// Accepts connections on an endpoint (`tcp://*:5555`, `ipc:///tmp/x`,
    /// `ipc://@abstract`, `inproc://name`). A wildcard port is resolved and
    /// readable through [`Socket::last_endpoint`].
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        self.core().bind(endpoint)
    }

    /// Connects to an endpoint. Returns at once: the connection is made (and
    /// remade after failures, with RECONNECT_IVL backoff) in the background,
    /// and messages queue up meanwhile (unless IMMEDIATE is set).
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        self.core().connect(endpoint)
    }

    /// Stops accepting on an endpoint given to `bind` (the given or the
    /// resolved form). `ENOENT` if it was not bound.
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        self.core().remove_endpoint(endpoint, true)
    }

    /// Drops a connection made by `connect`. `ENOENT` if not connected.
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        self.core().remove_endpoint(endpoint, false)
    }

    /// Sends one frame; `flags` is a combination of [`DONTWAIT`] and
    /// [`SNDMORE`]. Blocks (up to SNDTIMEO) when the pattern's mute state
    /// says so; `EAGAIN` with DONTWAIT or on timeout.
    pub fn send(&self, msg: impl Into<Msg>, flags: i32) -> Result<()> {
        self.core().send(msg.into(), flags)
    }

    /// Like [`Socket::send`], but a message that was not sent comes back
    /// with the error, untouched but for its MORE flag, so the caller can
    /// retry or keep it (the C ABI's `zmq_msg_send` contract).
    pub fn send_or_return(&self, msg: Msg, flags: i32) -> std::result::Result<(), (Error, Msg)> {
        self.core().send_or_return(msg, flags)
    }

    /// Sends a whole multipart message.
    pub fn send_multipart<I, T>(&self, frames: I, flags: i32) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: Into<Msg>,
    {
        let mut core = self.core();
        let mut iter = frames.into_iter().peekable();
        while let Some(f) = iter.next() {
            let more = if iter.peek().is_some() { SNDMORE } else { 0 };
            core.send(f.into(), (flags & DONTWAIT) | more)?;
        }
        Ok(())
    }

    /// Receives one frame (blocks up to RCVTIMEO unless [`DONTWAIT`]).
    /// `get_more()` on it (or [`Socket::get_rcvmore`]) says if more follow.
    pub fn recv_msg(&self, flags: i32) -> Result<Msg> {
        self.core().recv(flags)
    }

    /// Receives one frame's bytes.
    pub fn recv_bytes(&self, flags: i32) -> Result<Vec<u8>> {
        Ok(self.recv_msg(flags)?.to_vec())
    }

    /// Receives one frame as text; `Err(bytes)` inside if it is not UTF-8.
    pub fn recv_string(&self, flags: i32) -> Result<std::result::Result<String, Vec<u8>>> {
        let b = self.recv_bytes(flags)?;
        Ok(String::from_utf8(b).map_err(|e| e.into_bytes()))
    }

    /// Receives all frames of one message.
    pub fn recv_multipart(&self, flags: i32) -> Result<Vec<Msg>> {
        let mut core = self.core();
        let mut out = vec![core.recv(flags)?];
        while out.last().is_some_and(|m| m.get_more()) {
            // The rest of a message is already here: frames are delivered
            // whole, so this never blocks for long.
            out.push(core.recv(0)?);
        }
        Ok(out)
    }

    /// True if the last frame received had more frames after it.
    pub fn get_rcvmore(&self) -> Result<bool> {
        Ok(self.core().rcvmore)
    }

    /// Sets an option by libzmq number with its raw C value (an `int` is 4
    /// bytes in host order). `EINVAL` for an unknown option or a bad value.
    pub fn set_option_raw(&self, option: i32, value: &[u8]) -> Result<()> {
        self.core().set_option(option, value)
    }

    /// Reads an option by libzmq number as its raw C value.
    pub fn get_option_raw(&self, option: i32) -> Result<Vec<u8>> {
        self.core().get_option(option)
    }

    /// Sets an option by name and textual value, as `fzmq -o name=value`
    /// (`sndhwm=10`, `linger=0`, `routing_id=abc`, `subscribe=topic`).
    pub fn set_option(&self, name: &str, value: &str) -> Result<()> {
        let (id, kind) = options::option_by_name(name).ok_or(Error::EINVAL)?;
        let raw = options::encode_option_value(kind, value)?;
        self.set_option_raw(id, &raw)
    }

    /// Reads an option by name, formatted as text.
    pub fn get_option(&self, name: &str) -> Result<String> {
        let (id, kind) = options::option_by_name(name).ok_or(Error::EINVAL)?;
        let raw = self.get_option_raw(id)?;
        Ok(match kind {
            OptionKind::Int | OptionKind::Bool => options::int_value(&raw).map(|v| v.to_string())?,
            OptionKind::Int64 => i64::from_ne_bytes(raw.try_into().map_err(|_| Error::EINVAL)?).to_string(),
            OptionKind::Uint64 => u64::from_ne_bytes(raw.try_into().map_err(|_| Error::EINVAL)?).to_string(),
            OptionKind::Bytes | OptionKind::String => String::from_utf8_lossy(&raw).into_owned(),
        })
    }

    fn set_int(&self, id: i32, v: i32) -> Result<()> {
        self.set_option_raw(id, &v.to_ne_bytes())
    }

    fn get_int(&self, id: i32) -> Result<i32> {
        options::int_value(&self.get_option_raw(id)?)
    }

    /// Subscribes a SUB socket to a prefix (`ZMQ_SUBSCRIBE`; empty = all).
    pub fn set_subscribe(&self, prefix: &[u8]) -> Result<()> {
        self.set_option_raw(ids::SUBSCRIBE, prefix)
    }

    /// Removes one subscription to a prefix (`ZMQ_UNSUBSCRIBE`).
    pub fn set_unsubscribe(&self, prefix: &[u8]) -> Result<()> {
        self.set_option_raw(ids::UNSUBSCRIBE, prefix)
    }

    /// `ZMQ_MAXMSGSIZE` in bytes (-1 = unlimited): larger inbound frames
    /// drop the connection.
    pub fn set_maxmsgsize(&self, v: i64) -> Result<()> {
        self.set_option_raw(ids::MAXMSGSIZE, &v.to_ne_bytes())
    }
    typed_options! {
        flag {
            /// `ZMQ_ROUTER_MANDATORY`: an unroutable message fails with `EHOSTUNREACH` instead of being dropped.
            set_router_mandatory, ROUTER_MANDATORY;
            /// `ZMQ_ROUTER_HANDOVER`: a new connection with a known routing id takes it over.
            set_router_handover, ROUTER_HANDOVER;
            /// `ZMQ_PROBE_ROUTER`: send an empty message to a ROUTER when connecting.
            set_probe_router, PROBE_ROUTER;
            /// `ZMQ_REQ_CORRELATE`: REQ matches replies to requests by id.
            set_req_correlate, REQ_CORRELATE;
            /// `ZMQ_REQ_RELAXED`: REQ may send again before a reply arrived.
            set_req_relaxed, REQ_RELAXED;
            /// `ZMQ_XPUB_NODROP`: an XPUB/PUB at the HWM fails with `EAGAIN` instead of dropping.
            set_xpub_nodrop, XPUB_NODROP;
            /// `ZMQ_XPUB_VERBOSER`: pass on every subscribe and unsubscribe.
            set_xpub_verboser, XPUB_VERBOSER;
            /// `ZMQ_XPUB_VERBOSE`: pass every subscription to the application.
            set_xpub_verbose, XPUB_VERBOSE;
            /// `ZMQ_STREAM_NOTIFY`: a STREAM socket delivers an empty frame when a
            /// peer connects or disconnects (on by default).
            set_stream_notify, STREAM_NOTIFY;
        }
        bool {
            /// `ZMQ_IMMEDIATE`: queue only to completed connections.
            set_immediate, is_immediate, IMMEDIATE;
            /// `ZMQ_IPV6`: allow IPv6 addresses.
            set_ipv6, is_ipv6, IPV6;
            /// `ZMQ_CONFLATE`: keep only the newest message per peer.
            set_conflate, is_conflate, CONFLATE;
            /// `ZMQ_PLAIN_SERVER`: this socket is a PLAIN server.
            set_plain_server, is_plain_server, PLAIN_SERVER;
            /// `ZMQ_CURVE_SERVER`: this socket is a CURVE server.
            set_curve_server, is_curve_server, CURVE_SERVER;
        }
        int {
            /// `ZMQ_SNDHWM`: outbound queue limit per peer, in messages (0 = none).
            set_sndhwm, get_sndhwm, SNDHWM;
            /// `ZMQ_RCVHWM`: inbound queue limit per peer, in messages (0 = none).
            set_rcvhwm, get_rcvhwm, RCVHWM;
            /// `ZMQ_LINGER` in ms: how long close waits to deliver queued messages
            /// (-1 = until delivered, the default; 0 = drop them).
            set_linger, get_linger, LINGER;
            /// `ZMQ_RCVTIMEO` in ms (-1 = block forever).
            set_rcvtimeo, get_rcvtimeo, RCVTIMEO;
            /// `ZMQ_SNDTIMEO` in ms (-1 = block forever).
            set_sndtimeo, get_sndtimeo, SNDTIMEO;
            /// `ZMQ_RECONNECT_IVL` in ms (-1 = never reconnect).
            set_reconnect_ivl, get_reconnect_ivl, RECONNECT_IVL;
            /// `ZMQ_RECONNECT_IVL_MAX` in ms (0 = no exponential backoff).
            set_reconnect_ivl_max, get_reconnect_ivl_max, RECONNECT_IVL_MAX;
            /// `ZMQ_BACKLOG`: the listen queue of tcp and ipc listeners.
            set_backlog, get_backlog, BACKLOG;
            /// `ZMQ_SNDBUF`: the kernel send buffer size (0 = the OS default).
            set_sndbuf, get_sndbuf, SNDBUF;
            /// `ZMQ_RCVBUF`: the kernel receive buffer size (0 = the OS default).
            set_rcvbuf, get_rcvbuf, RCVBUF;
            /// `ZMQ_TCP_KEEPALIVE`: -1 OS default, 0 off, 1 on.
            set_tcp_keepalive, get_tcp_keepalive, TCP_KEEPALIVE;
            /// `ZMQ_TCP_KEEPALIVE_CNT`.
            set_tcp_keepalive_cnt, get_tcp_keepalive_cnt, TCP_KEEPALIVE_CNT;
            /// `ZMQ_TCP_KEEPALIVE_IDLE` in seconds.
            set_tcp_keepalive_idle, get_tcp_keepalive_idle, TCP_KEEPALIVE_IDLE;
            /// `ZMQ_TCP_KEEPALIVE_INTVL` in seconds.
            set_tcp_keepalive_intvl, get_tcp_keepalive_intvl, TCP_KEEPALIVE_INTVL;
            /// `ZMQ_TOS`: the IP type-of-service byte.
            set_tos, get_tos, TOS;
            /// `ZMQ_HANDSHAKE_IVL` in ms (0 = no limit).
            set_handshake_ivl, get_handshake_ivl, HANDSHAKE_IVL;
            /// `ZMQ_HEARTBEAT_IVL` in ms (0 = no heartbeats).
            set_heartbeat_ivl, get_heartbeat_ivl, HEARTBEAT_IVL;
            /// `ZMQ_HEARTBEAT_TTL` in ms, announced to the peer.
            set_heartbeat_ttl, get_heartbeat_ttl, HEARTBEAT_TTL;
            /// `ZMQ_HEARTBEAT_TIMEOUT` in ms (-1 = the interval).
            set_heartbeat_timeout, get_heartbeat_timeout, HEARTBEAT_TIMEOUT;
        }
        text {
            /// `ZMQ_PLAIN_USERNAME`.
            set_plain_username, get_plain_username, PLAIN_USERNAME;
            /// `ZMQ_PLAIN_PASSWORD`.
            set_plain_password, get_plain_password, PLAIN_PASSWORD;
            /// `ZMQ_ZAP_DOMAIN`: the domain sent to the ZAP handler (a non-empty one enables ZAP for NULL).
            set_zap_domain, get_zap_domain, ZAP_DOMAIN;
        }
        bytes {
            /// `ZMQ_ROUTING_ID` (1..=255 bytes, not starting with 0).
            set_routing_id, ROUTING_ID;
            /// `ZMQ_CURVE_PUBLICKEY`: 32 raw bytes or 40 Z85 characters.
            set_curve_publickey, CURVE_PUBLICKEY;
            /// `ZMQ_CURVE_SECRETKEY`: 32 raw bytes or 40 Z85 characters.
            set_curve_secretkey, CURVE_SECRETKEY;
            /// `ZMQ_CURVE_SERVERKEY`: the server's public key, 32 raw bytes or 40 Z85 characters.
            set_curve_serverkey, CURVE_SERVERKEY;
            /// `ZMQ_CONNECT_ROUTING_ID`: the routing id a ROUTER gives the peer of the next `connect`.
            set_connect_routing_id, CONNECT_ROUTING_ID;
            /// `ZMQ_XPUB_WELCOME_MSG`: sent by an XPUB to every new subscriber.
            set_xpub_welcome_msg, XPUB_WELCOME_MSG;
        }
    }

    /// This socket's statistics now: messages and bytes in and out per peer
    /// and in total, what is queued, what was dropped at the high-water
    /// mark, and reconnections (see [`SocketStats`](crate::SocketStats)).
    /// Beyond libzmq, which has no such call.
    pub fn stats(&self) -> crate::SocketStats {
        let mut core = self.core();
        core.process();
        core.stats.snapshot()
    }

    /// The endpoint last bound or connected, resolved (`ZMQ_LAST_ENDPOINT`),
    /// e.g. `tcp://0.0.0.0:41234` after binding `tcp://*:*`.
    pub fn last_endpoint(&self) -> Result<String> {
        Ok(self.core().options.last_endpoint.clone())
    }

    /// `ZMQ_EVENTS`: [`POLLIN`] / [`POLLOUT`] bits for what can be done now.
    pub fn get_events(&self) -> Result<i16> {
        let mut c = self.core();
        c.check_term()?;
        Ok(c.events())
    }

    /// `ZMQ_FD`: a file descriptor that becomes readable when the socket's
    /// state may have changed (edge-like: re-check [`Socket::get_events`]).
    pub fn get_fd(&self) -> Result<RawFd> {
        Ok(self.core().mailbox.signal.raw_fd())
    }

    /// Starts publishing this socket's events (`events` is a mask of
    /// [`EventKind`] values, [`crate::monitor::EVENT_ALL`] for all) on an
    /// `inproc://` endpoint, where a PAIR socket can connect and read them in
    /// libzmq's two-frame format (`zmq_socket_monitor`). Calling it again
    /// replaces the previous monitor; see [`Socket::stop_monitor`].
    pub fn monitor(&self, endpoint: &str, events: u32) -> Result<()> {
        self.core().monitor(Some(endpoint), events)
    }

    /// Like [`Socket::monitor`] in the format of libzmq's draft
    /// `zmq_socket_monitor_versioned`: `format` 1 is the two-frame format,
    /// 2 sends five frames per event (`u64` event, `u64` value count, the
    /// `u64` value, the local endpoint, the remote endpoint). The monitor
    /// socket is a PAIR in both.
    pub fn monitor_versioned(&self, endpoint: &str, events: u32, format: u8) -> Result<()> {
        if !(1..=2).contains(&format) {
            return Err(Error::EINVAL);
        }
        self.core().monitor_versioned(Some(endpoint), events, format)
    }

    /// Stops monitoring (the monitor receives MONITOR_STOPPED).
    pub fn stop_monitor(&self) -> Result<()> {
        self.core().monitor(None, 0)
    }

    /// Monitors this socket and returns a typed reader of its events.
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType, monitor::{EventKind, EVENT_ALL}};
    /// let ctx = Context::new();
    /// let s = ctx.socket(SocketType::Pull).unwrap();
    /// let events = s.monitor_events(EVENT_ALL).unwrap();
    /// s.bind("tcp://127.0.0.1:*").unwrap();
    /// assert_eq!(events.next_event(1000).unwrap().kind, EventKind::Listening);
    /// ```
    pub fn monitor_events(&self, events: u32) -> Result<Monitor> {
        let (ctx, endpoint) = {
            let c = self.core();
            (c.ctx.clone(), format!("inproc://ferrozmq-monitor-{}-{}", c.id, next_id()))
        };
        self.monitor(&endpoint, events)?;
        let pair = Socket::new(ctx, SocketType::Pair)?;
        pair.connect(&endpoint)?;
        Ok(Monitor::new(pair))
    }

    pub(crate) fn poll_fd(&self) -> RawFd {
        self.core().mailbox.signal.raw_fd()
    }
}

impl Drop for SocketCore {
    fn drop(&mut self) {
        let linger = self.options.linger;
        // The listeners close with the socket; say so while the monitor is
        // still there (libzmq: CLOSED, then MONITOR_STOPPED).
        for rec in &self.endpoints {
            if let EndpointHandle::Listener { fd, .. } = rec.handle {
                self.monitor.emit(EventKind::Closed, fd as u32, &rec.resolved);
            }
        }
        if let Some(ep) = self.monitor.stop() {
            let mut reg = self.ctx.inproc.lock().unwrap_or_else(|p| p.into_inner());
            reg.socket_closed_name(ep.trim_start_matches("inproc://"));
        }
        // Tell the I/O threads first, so sessions know how long to linger
        // before they see our pipe ends close.
        for t in self.ctx.io_threads() {
            t.shared.post(IoCommand::SocketClosed { socket_id: self.id, linger_ms: linger });
        }
        {
            let mut reg = self.ctx.inproc.lock().unwrap_or_else(|p| p.into_inner());
            reg.socket_closed(self.id);
        }
        // Dropping the pattern closes our pipe ends: writers publish what is
        // complete, then the far side sees the end.
        let pattern = std::mem::replace(&mut self.pattern, patterns::create(SocketType::Pair).expect("PAIR exists"));
        drop(pattern);
        self.mailbox.clear();
        self.ctx.unregister_socket(self.id);
    }
}
