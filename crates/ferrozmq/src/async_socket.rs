//! The async API on tokio: [`AsyncSocket`] (cargo feature `tokio`, on by
//! default).
//!
//! An `AsyncSocket` is an ordinary [`Socket`] — the same core, patterns and
//! I/O threads as the blocking API — behind a mutex, woken through the
//! socket's notification fd (`ZMQ_FD`) registered with tokio's reactor.
//! Every operation is a non-blocking ([`DONTWAIT`]) attempt made under the
//! mutex; when it would block, the task sleeps until the fd says that the
//! socket may have changed, and tries again. Nothing here blocks a runtime
//! thread, and the mutex is never held across an `.await`.
//!
//! # Cancellation safety
//!
//! A message is taken from (or given to) the socket only inside a synchronous
//! section that returns it at once: the future completes in the same poll.
//! A future dropped at any `.await` has therefore neither received nor sent
//! anything, so `recv()` can sit in a `tokio::select!` loop without ever
//! losing a message, and a dropped `send()` has sent nothing.
//!
//! A multipart message is sent whole under one lock: the patterns refuse a
//! message (EAGAIN, the high-water mark) only at its first frame — once a
//! message is started, its remaining frames are always accepted (a pipe's
//! `check_write` admits every frame inside a started message; ROUTER, STREAM,
//! REQ, REP and XPUB decide at the first frame) — so the first frame is
//! offered (a cheap clone: inline bytes or a reference count) and, once it is
//! accepted, the rest follow in the same critical section. A message is
//! received whole the same way: frames are delivered whole, so after the
//! first frame the rest are already there.
//!
//! # How waking works, and why no wake-up is lost
//!
//! The fd is an eventfd. A socket's [`Signal`](crate::signal) writes it only
//! on the first notification after the socket last *reset* it; the reset
//! (done by [`Socket::get_events`], `ZMQ_EVENTS`) drains it, then applies
//! the pending commands, then computes POLLIN/POLLOUT. Tokio registers the
//! fd edge-triggered: `readable()` completes once an event arrived since our
//! last `clear_ready()` (a readiness event newer than the guard is never
//! cleared by it). Each operation runs:
//!
//! ```text
//! attempt ─EAGAIN─▶ ┌─▶ get_events (reset, process) ─▶ attempt ─EAGAIN─▶ readable().await ─▶ clear_ready ─┐
//!                   └──────────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Take a change that makes the operation possible (a message published to
//! a pipe whose reader found it empty, room in a full pipe, a new peer): it
//! is posted to the socket's mailbox and then notifies the signal. If that
//! happens before our reset, the processing right after the reset applies
//! it and the attempt after that sees it. If it happens after our reset, the
//! notification writes the fd (the reset cleared the "already signalled"
//! flag), tokio records a readiness event *after* our `clear_ready` (which
//! came before the reset), and `readable()` completes. A change that needs
//! no notification (a message added to a pipe the socket has not found
//! empty) is seen directly by the attempt. So between "would block" and
//! "sleep" there is no window in which a change can slip by unseen.
//!
//! Several tasks: each direction (receiving, sending) is taken in turns
//! (a FIFO async mutex), so at most one receiving and one sending task wait
//! on the fd at a time; the others queue on their turn and try the socket
//! first when they get it. The two waiters share one fd, so a reset or a
//! `clear_ready` by one can swallow an event that the other needed; hence
//! whoever resets looks at the events it computed after the reset and
//! *pokes* the other direction (a `tokio::sync::Notify`, which keeps a permit
//! when nobody waits yet) if that direction can proceed. [`AsyncSocket::with_socket`]
//! does the same for both directions after the closure, since the closure
//! may reset the fd too.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::msg::Msg;
use crate::socket::{Socket, DONTWAIT, POLLIN, POLLOUT, SNDMORE};
use ferrozmq_proto::SocketType;
use futures_core::stream::{FusedStream, Stream};
use futures_sink::Sink;
use std::fmt;
use std::future::Future;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context as TaskContext, Poll};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::Notify;

/// The socket's notification fd, as tokio sees it. The [`Socket`] owns and
/// closes the fd; this only lends its number to the reactor.
struct NotifyFd(RawFd);

impl AsRawFd for NotifyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Recv,
    Send,
}

/// What several `AsyncSocket` handles, streams and sinks share.
struct Shared {
    // Field order matters: fields drop in declaration order, so the fd is
    // deregistered from the reactor while `socket` still keeps it open (a
    // closed fd's number could already belong to something else).
    fd: AsyncFd<NotifyFd>,
    socket: Mutex<Socket>,
    recv_turn: tokio::sync::Mutex<()>,
    send_turn: tokio::sync::Mutex<()>,
    recv_poke: Notify,
    send_poke: Notify,
}

type Outcome<T> = Option<Result<T>>;

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Socket> {
        // A panic inside `with_socket` cannot leave the socket half-updated
        // (its own state is behind a RefCell that unwinding releases).
        self.socket.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn turn(&self, dir: Dir) -> &tokio::sync::Mutex<()> {
        match dir {
            Dir::Recv => &self.recv_turn,
            Dir::Send => &self.send_turn,
        }
    }

    fn poke(&self, dir: Dir) -> &Notify {
        match dir {
            Dir::Recv => &self.recv_poke,
            Dir::Send => &self.send_poke,
        }
    }

    /// Resets the fd and brings the socket up to date (`get_events`), then
    /// pokes the waiter of any other direction that can proceed: this reset
    /// may have swallowed the event it was waiting for.
    fn check(&self, sock: &Socket, me: Option<Dir>) -> Result<i16> {
        let ev = sock.get_events()?;
        if ev & POLLIN != 0 && me != Some(Dir::Recv) {
            self.recv_poke.notify_one();
        }
        if ev & POLLOUT != 0 && me != Some(Dir::Send) {
            self.send_poke.notify_one();
        }
        Ok(ev)
    }

    /// Sleeps until the socket may have changed for `dir`.
    async fn wait(&self, dir: Dir) -> Result<()> {
        tokio::select! {
            _ = self.poke(dir).notified() => Ok(()),
            ready = self.fd.readable() => {
                let mut guard = ready.map_err(Error::from)?;
                // Only events older than the guard are cleared; the caller
                // resets the fd and re-examines the socket before sleeping
                // again, and that re-examination pokes the other direction
                // if this clear swallowed its event.
                guard.clear_ready();
                Ok(())
            }
        }
    }

    /// Runs `attempt` until it does not report "would block" (`None`).
    /// Cancel-safe as long as `attempt` is: it runs only inside synchronous
    /// sections, and its result is returned in the same poll.
    async fn run<T>(&self, dir: Dir, mut attempt: impl FnMut(&Socket) -> Outcome<T>) -> Result<T> {
        let turn = self.turn(dir);
        let _turn = match turn.try_lock() {
            Ok(g) => g,
            Err(_) => turn.lock().await,
        };
        if let Some(r) = attempt(&self.lock()) {
            return r;
        }
        loop {
            {
                let sock = self.lock();
                // Reset, process, then attempt: a change before the reset is
                // applied here; a change after it writes the fd, which
                // `wait` then sees (see the module docs).
                self.check(&sock, Some(dir))?;
                if let Some(r) = attempt(&sock) {
                    return r;
                }
            }
            self.wait(dir).await?;
        }
    }

    async fn recv_multipart(&self) -> Result<Vec<Msg>> {
        self.run(Dir::Recv, try_recv_multipart).await
    }

    async fn send_frames(&self, mut frames: Vec<Msg>) -> Result<()> {
        self.run(Dir::Send, |s| try_send_frames(s, &mut frames)).await
    }
}

/// One non-blocking attempt to receive a whole message.
fn try_recv_multipart(sock: &Socket) -> Outcome<Vec<Msg>> {
    let first = match sock.recv_msg(DONTWAIT) {
        Ok(m) => m,
        Err(Error::EAGAIN) => return None,
        Err(e) => return Some(Err(e)),
    };
    let mut frames = vec![first];
    while frames.last().is_some_and(Msg::get_more) {
        // Messages are delivered whole: the rest is already here.
        match sock.recv_msg(DONTWAIT) {
            Ok(m) => frames.push(m),
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(frames))
}

/// One non-blocking attempt to receive one frame.
fn try_recv_frame(sock: &Socket) -> Outcome<Msg> {
    match sock.recv_msg(DONTWAIT) {
        Err(Error::EAGAIN) => None,
        r => Some(r),
    }
}

/// One non-blocking attempt to send a whole message. On "would block"
/// `frames` is left intact for the next attempt; otherwise it is consumed.
fn try_send_frames(sock: &Socket, frames: &mut Vec<Msg>) -> Outcome<()> {
    let n = frames.len();
    if n == 0 {
        return Some(Ok(()));
    }
    let more = if n > 1 { SNDMORE } else { 0 };
    // The socket drops a frame it refuses, so offer a copy (cheap: inline
    // bytes or a reference count).
    match sock.send(frames[0].clone(), DONTWAIT | more) {
        Ok(()) => {}
        Err(Error::EAGAIN) => return None,
        Err(e) => return Some(Err(e)),
    }
    // The message is started: the pattern takes the remaining frames
    // without blocking (see the module docs), so the whole message goes out
    // in this one critical section.
    let mut rest = std::mem::take(frames).into_iter().skip(1).peekable();
    while let Some(f) = rest.next() {
        let more = if rest.peek().is_some() { SNDMORE } else { 0 };
        if let Err(e) = sock.send(f, DONTWAIT | more) {
            return Some(Err(e));
        }
    }
    Some(Ok(()))
}

/// A ZeroMQ socket for async code (tokio): `send().await`, `recv().await`, a
/// [`Stream`] of messages ([`AsyncSocket::recv_stream`]) and a [`Sink`]
/// ([`AsyncSocket::send_sink`]).
///
/// It wraps a blocking [`Socket`] — same core, fully interoperable with
/// blocking sockets and with libzmq — and waits on the socket's notification
/// fd through tokio's reactor. Cloning gives another handle on the same
/// socket, so many tasks can send and receive on it at once. Every `send`
/// and `recv` future is cancel-safe: dropping it before it completes loses
/// no message and sends nothing.
///
/// Create it inside a tokio runtime with I/O enabled, and use it in that
/// runtime.
///
/// ```
/// use ferrozmq::{AsyncContextExt, Context, SocketType};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ferrozmq::Result<()> {
/// let ctx = Context::new();
/// let pull = ctx.async_socket(SocketType::Pull)?;
/// let push = ctx.async_socket(SocketType::Push)?;
/// pull.bind("inproc://async-doc")?;
/// push.connect("inproc://async-doc")?;
///
/// let sender = push.clone();
/// tokio::spawn(async move { sender.send("hello").await });
/// assert_eq!(&*pull.recv().await?, b"hello");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AsyncSocket {
    shared: Arc<Shared>,
}

impl fmt::Debug for AsyncSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shared.socket.try_lock() {
            Ok(s) => f.debug_tuple("AsyncSocket").field(&*s).finish(),
            Err(_) => f.write_str("AsyncSocket { .. }"),
        }
    }
}

impl AsyncSocket {
    /// Makes a blocking socket async. Must be called inside a tokio runtime
    /// with I/O enabled (it registers the socket's notification fd with the
    /// runtime's reactor); it panics otherwise, like tokio's own I/O types.
    ///
    /// ```
    /// use ferrozmq::{AsyncSocket, Context, SocketType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let ctx = Context::new();
    /// let socket = ctx.socket(SocketType::Rep)?;
    /// socket.set_rcvhwm(100)?; // options can be set before, or through with_socket
    /// let rep = AsyncSocket::new(socket)?;
    /// assert_eq!(rep.socket_type(), SocketType::Rep);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(socket: Socket) -> Result<AsyncSocket> {
        // The registration's requirement — the fd stays open, and is the same
        // file, for as long as the `AsyncFd` lives — holds: the socket owning
        // the fd is dropped after the `AsyncFd` (see `Shared`). tokio 1.54
        // deprecated this safe constructor in favour of an `unsafe` one that
        // states the same requirement; the safe one keeps this module free of
        // `unsafe` (the crate confines it to two modules) and works with
        // every tokio 1.x.
        #[allow(deprecated)]
        let fd = AsyncFd::with_interest(NotifyFd(socket.get_fd()?), Interest::READABLE).map_err(Error::from)?;
        Ok(AsyncSocket {
            shared: Arc::new(Shared {
                fd,
                socket: Mutex::new(socket),
                recv_turn: tokio::sync::Mutex::new(()),
                send_turn: tokio::sync::Mutex::new(()),
                recv_poke: Notify::new(),
                send_poke: Notify::new(),
            }),
        })
    }

    /// Gives the blocking socket back, if this is the last handle on it (no
    /// clone, stream or sink left); otherwise returns the handle unchanged.
    ///
    /// ```
    /// use ferrozmq::{AsyncContextExt, Context, SocketType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let ctx = Context::new();
    /// let a = ctx.async_socket(SocketType::Pair)?;
    /// let b = a.clone();
    /// let a = a.into_socket().unwrap_err(); // `b` still shares it
    /// drop(b);
    /// let blocking = a.into_socket().unwrap();
    /// assert_eq!(blocking.socket_type(), SocketType::Pair);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_socket(self) -> std::result::Result<Socket, AsyncSocket> {
        match Arc::try_unwrap(self.shared) {
            Ok(shared) => {
                let Shared { fd, socket, .. } = shared;
                drop(fd); // deregister while the socket still owns the fd
                Ok(socket.into_inner().unwrap_or_else(|p| p.into_inner()))
            }
            Err(shared) => Err(AsyncSocket { shared }),
        }
    }

    /// Runs a closure on the blocking socket, for everything this type does
    /// not wrap: options, monitoring, `get_events`… The socket is locked for
    /// the closure's duration, so keep it short and do not make blocking
    /// calls in it (use `DONTWAIT`); sending or receiving through it bypasses
    /// the async turn-taking, so a multipart message started there must be
    /// finished there.
    ///
    /// ```
    /// use ferrozmq::{AsyncContextExt, Context, SocketType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let ctx = Context::new();
    /// let sub = ctx.async_socket(SocketType::Sub)?;
    /// sub.with_socket(|s| s.set_subscribe(b"weather."))?;
    /// let hwm = sub.with_socket(|s| s.get_rcvhwm())?;
    /// assert_eq!(hwm, 1000);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_socket<R>(&self, f: impl FnOnce(&Socket) -> R) -> R {
        let sock = self.shared.lock();
        let r = f(&sock);
        // The closure may have reset the notification fd (get_events, a
        // blocking call): look again for both directions' waiters.
        let _ = self.shared.check(&sock, None);
        r
    }

    /// The socket's type.
    ///
    /// ```
    /// use ferrozmq::{AsyncContextExt, Context, SocketType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let dealer = Context::new().async_socket(SocketType::Dealer)?;
    /// assert_eq!(dealer.socket_type(), SocketType::Dealer);
    /// # Ok(())
    /// # }
    /// ```
    pub fn socket_type(&self) -> SocketType {
        self.shared.lock().socket_type()
    }

    /// Accepts connections on an endpoint, as [`Socket::bind`].
    ///
    /// ```
    /// use ferrozmq::{AsyncContextExt, Context, SocketType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let pull = Context::new().async_socket(SocketType::Pull)?;
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// assert!(pull.last_endpoint()?.starts_with("tcp://127.0.0.1:"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        self.shared.lock().bind(endpoint)
    }

    /// Connects to an endpoint, as [`Socket::connect`] (in the background:
    /// messages queue until the connection is up).
    ///
    /// ```
    /// use ferrozmq::{AsyncContextExt, Context, SocketType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let push = Context::new().async_socket(SocketType::Push)?;
    /// push.connect("tcp://127.0.0.1:5999")?; // nobody there yet: fine
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        self.shared.lock().connect(endpoint)
    }

    /// Stops accepting on an endpoint given to `bind`, as [`Socket::unbind`].
    ///
    /// ```
    /// use ferrozmq::{AsyncContextExt, Context, SocketType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let pull = Context::new().async_socket(SocketType::Pull)?;
    /// pull.bind("inproc://unbind-doc")?;
    /// pull.unbind("inproc://unbind-doc")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        self.shared.lock().unbind(endpoint)
    }

    /// Drops a connection made by `connect`, as [`Socket::disconnect`].
    ///
    /// ```
    /// use ferrozmq::{AsyncContextExt, Context, SocketType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let push = Context::new().async_socket(SocketType::Push)?;
    /// push.connect("tcp://127.0.0.1:5998")?;
    /// push.disconnect("tcp://127.0.0.1:5998")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        self.shared.lock().disconnect(endpoint)
    }

    /// The endpoint last bound or connected, resolved, as
    /// [`Socket::last_endpoint`].
    ///
    /// ```
    /// use ferrozmq::{AsyncContextExt, Context, SocketType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let rep = Context::new().async_socket(SocketType::Rep)?;
    /// rep.bind("inproc://last-endpoint-doc")?;
    /// assert_eq!(rep.last_endpoint()?, "inproc://last-endpoint-doc");
    /// # Ok(())
    /// # }
    /// ```
    pub fn last_endpoint(&self) -> Result<String> {
        self.shared.lock().last_endpoint()
    }

    /// Sends a single-frame message, waiting while the socket cannot take it
    /// (high-water mark reached, no peer for PUSH/DEALER/REQ). The frame is
    /// converted when `send` is called, so the future holds only a [`Msg`].
    ///
    /// Cancel-safe: if the future is dropped before it completes, nothing was
    /// sent. Errors are the blocking API's (`EFSM` for REQ/REP out of turn,
    /// `ETERM` once the context is shut down…).
    ///
    /// ```
    /// use ferrozmq::{AsyncContextExt, Context, SocketType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let ctx = Context::new();
    /// let rep = ctx.async_socket(SocketType::Rep)?;
    /// let req = ctx.async_socket(SocketType::Req)?;
    /// rep.bind("inproc://send-doc")?;
    /// req.connect("inproc://send-doc")?;
    /// req.send("ping").await?;
    /// assert_eq!(&*rep.recv().await?, b"ping");
    /// rep.send(b"pong".to_vec()).await?;
    /// assert_eq!(&*req.recv().await?, b"pong");
    /// # Ok(())
    /// # }
    /// ```
    pub fn send(&self, msg: impl Into<Msg>) -> impl Future<Output = Result<()>> + Send + '_ {
        let frames = vec![msg.into()];
        self.shared.send_frames(frames)
    }

    /// Sends a multipart message, whole: either every frame is sent or, if
    /// the future is dropped first, none. The frames are converted when
    /// `send_multipart` is called. An empty list sends nothing.
    ///
    /// ```
    /// use ferrozmq::{AsyncContextExt, Context, SocketType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let ctx = Context::new();
    /// let a = ctx.async_socket(SocketType::Pair)?;
    /// let b = ctx.async_socket(SocketType::Pair)?;
    /// a.bind("inproc://multipart-doc")?;
    /// b.connect("inproc://multipart-doc")?;
    /// a.send_multipart(["key", "value"]).await?;
    /// let msg = b.recv_multipart().await?;
    /// assert_eq!(msg.len(), 2);
    /// assert_eq!(&*msg[1], b"value");
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_multipart<I, T>(&self, frames: I) -> impl Future<Output = Result<()>> + Send + '_
    where
        I: IntoIterator<Item = T>,
        T: Into<Msg>,
    {
        let frames: Vec<Msg> = frames.into_iter().map(Into::into).collect();
        self.shared.send_frames(frames)
    }

    /// Receives one frame, waiting until there is one. As with
    /// [`Socket::recv_msg`], `get_more()` on it says whether more frames of
    /// the same message follow (they are there already; the next `recv`
    /// returns them). When several tasks receive from one socket and
    /// messages may be multipart, use [`AsyncSocket::recv_multipart`], which
    /// takes a message's frames all at once.
    ///
    /// Cancel-safe: if the future is dropped before it completes, no frame
    /// was taken from the socket.
    ///
    /// ```
    /// use ferrozmq::{AsyncContextExt, Context, SocketType};
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let ctx = Context::new();
    /// let pull = ctx.async_socket(SocketType::Pull)?;
    /// let push = ctx.async_socket(SocketType::Push)?;
    /// pull.bind("inproc://recv-doc")?;
    /// push.connect("inproc://recv-doc")?;
    ///
    /// // Nothing yet: the timeout drops the recv future, which loses nothing.
    /// let idle = tokio::time::timeout(Duration::from_millis(10), pull.recv()).await;
    /// assert!(idle.is_err());
    /// push.send("late").await?;
    /// assert_eq!(&*pull.recv().await?, b"late");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recv(&self) -> Result<Msg> {
        self.shared.run(Dir::Recv, try_recv_frame).await
    }

    /// Receives one whole message (all its frames), waiting until there is
    /// one. Cancel-safe: if the future is dropped before it completes, the
    /// message stays in the socket for the next receive.
    ///
    /// ```
    /// use ferrozmq::{AsyncContextExt, Context, SocketType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let ctx = Context::new();
    /// let router = ctx.async_socket(SocketType::Router)?;
    /// let dealer = ctx.async_socket(SocketType::Dealer)?;
    /// router.bind("inproc://recv-multipart-doc")?;
    /// dealer.with_socket(|s| s.set_routing_id(b"d1"))?;
    /// dealer.connect("inproc://recv-multipart-doc")?;
    /// dealer.send("job").await?;
    /// let msg = router.recv_multipart().await?; // [routing id, body]
    /// assert_eq!(&*msg[0], b"d1");
    /// assert_eq!(&*msg[1], b"job");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recv_multipart(&self) -> Result<Vec<Msg>> {
        self.shared.recv_multipart().await
    }

    /// The messages this socket receives, as a [`Stream`] of whole messages
    /// (one `Vec<Msg>` each). Errors are yielded as `Err`; the stream ends
    /// when the context is shut down (`ETERM`). Dropping the stream, or a
    /// pending `next()`, loses no message. Several streams and `recv` calls
    /// on the same socket share its messages.
    ///
    /// ```
    /// use ferrozmq::{AsyncContextExt, Context, SocketType};
    /// use futures_core::Stream;
    /// use std::pin::Pin;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let ctx = Context::new();
    /// let pull = ctx.async_socket(SocketType::Pull)?;
    /// let push = ctx.async_socket(SocketType::Push)?;
    /// pull.bind("inproc://stream-doc")?;
    /// push.connect("inproc://stream-doc")?;
    /// for i in 0..3 {
    ///     push.send(i.to_string()).await?;
    /// }
    /// let mut stream = pull.recv_stream();
    /// for i in 0..3 {
    ///     // `StreamExt::next` from the futures crates does the same.
    ///     let msg = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await.unwrap()?;
    ///     assert_eq!(&*msg[0], i.to_string().as_bytes());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn recv_stream(&self) -> RecvStream {
        RecvStream { shared: self.shared.clone(), pending: None, done: false }
    }

    /// A [`Sink`] of whole messages (`Vec<Msg>`) into this socket. An item
    /// is sent at once when the socket can take it, otherwise by the next
    /// `poll_ready`/`poll_flush`; `poll_close` only flushes (the socket stays
    /// open for its other handles). As with any sink, an item accepted by
    /// `start_send` but never flushed is dropped with the sink.
    ///
    /// ```
    /// use ferrozmq::{AsyncContextExt, Context, Msg, SocketType};
    /// use futures_sink::Sink;
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let ctx = Context::new();
    /// let pull = ctx.async_socket(SocketType::Pull)?;
    /// let push = ctx.async_socket(SocketType::Push)?;
    /// pull.bind("inproc://sink-doc")?;
    /// push.connect("inproc://sink-doc")?;
    /// let mut sink = push.send_sink();
    /// // `SinkExt::send` from the futures crates does these three steps.
    /// poll_fn(|cx| Pin::new(&mut sink).poll_ready(cx)).await?;
    /// Pin::new(&mut sink).start_send(vec![Msg::from("a"), Msg::from("b")])?;
    /// poll_fn(|cx| Pin::new(&mut sink).poll_flush(cx)).await?;
    /// assert_eq!(pull.recv_multipart().await?.len(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_sink(&self) -> SendSink {
        SendSink { shared: self.shared.clone(), pending: None }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

/// The [`Stream`] of messages returned by [`AsyncSocket::recv_stream`].
///
/// ```
/// use ferrozmq::{AsyncContextExt, Context, RecvStream, SocketType};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ferrozmq::Result<()> {
/// let sub = Context::new().async_socket(SocketType::Sub)?;
/// let _updates: RecvStream = sub.recv_stream();
/// # Ok(())
/// # }
/// ```
pub struct RecvStream {
    shared: Arc<Shared>,
    pending: Option<BoxFuture<Vec<Msg>>>,
    done: bool,
}

impl fmt::Debug for RecvStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvStream").field("waiting", &self.pending.is_some()).field("done", &self.done).finish()
    }
}

impl RecvStream {
    fn finish(&mut self, r: Result<Vec<Msg>>) -> Poll<Option<Result<Vec<Msg>>>> {
        self.pending = None;
        match r {
            Err(Error::ETERM) => {
                self.done = true;
                Poll::Ready(None)
            }
            r => Poll::Ready(Some(r)),
        }
    }
}

impl Stream for RecvStream {
    type Item = Result<Vec<Msg>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.pending.is_none() {
            // A message already there is taken without allocating a future.
            let now = match self.shared.recv_turn.try_lock() {
                Ok(_turn) => try_recv_multipart(&self.shared.lock()),
                Err(_) => None,
            };
            if let Some(r) = now {
                return self.finish(r);
            }
            let shared = self.shared.clone();
            self.pending = Some(Box::pin(async move { shared.recv_multipart().await }));
        }
        match self.pending.as_mut().map(|f| f.as_mut().poll(cx)) {
            Some(Poll::Ready(r)) => self.finish(r),
            _ => Poll::Pending,
        }
    }
}

impl FusedStream for RecvStream {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

/// The [`Sink`] of messages returned by [`AsyncSocket::send_sink`].
///
/// ```
/// use ferrozmq::{AsyncContextExt, Context, SendSink, SocketType};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ferrozmq::Result<()> {
/// let publisher = Context::new().async_socket(SocketType::Pub)?;
/// let _updates: SendSink = publisher.send_sink();
/// # Ok(())
/// # }
/// ```
pub struct SendSink {
    shared: Arc<Shared>,
    pending: Option<BoxFuture<()>>,
}

impl fmt::Debug for SendSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendSink").field("sending", &self.pending.is_some()).finish()
    }
}

impl SendSink {
    fn poll_pending(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<()>> {
        let Some(f) = self.pending.as_mut() else { return Poll::Ready(Ok(())) };
        let r = std::task::ready!(f.as_mut().poll(cx));
        self.pending = None;
        Poll::Ready(r)
    }
}

impl Sink<Vec<Msg>> for SendSink {
    type Error = Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Result<()>> {
        self.poll_pending(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, mut item: Vec<Msg>) -> Result<()> {
        debug_assert!(self.pending.is_none(), "start_send without poll_ready");
        let now = match self.shared.send_turn.try_lock() {
            Ok(_turn) => try_send_frames(&self.shared.lock(), &mut item),
            Err(_) => None,
        };
        match now {
            Some(r) => r,
            None => {
                let shared = self.shared.clone();
                self.pending = Some(Box::pin(async move { shared.send_frames(item).await }));
                Ok(())
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Result<()>> {
        self.poll_pending(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Result<()>> {
        self.poll_pending(cx)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Context {}
}

/// Creates [`AsyncSocket`]s from a [`Context`]: `ctx.async_socket(type)`.
///
/// ```
/// use ferrozmq::{AsyncContextExt, Context, SocketType};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ferrozmq::Result<()> {
/// let ctx = Context::new();
/// let push = ctx.async_socket(SocketType::Push)?;
/// assert_eq!(push.socket_type(), SocketType::Push);
/// # Ok(())
/// # }
/// ```
pub trait AsyncContextExt: sealed::Sealed {
    /// Creates a socket of the given type and makes it async (see
    /// [`AsyncSocket::new`]; call it inside a tokio runtime).
    ///
    /// ```
    /// use ferrozmq::{AsyncContextExt, Context, SocketType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> ferrozmq::Result<()> {
    /// let rep = Context::new().async_socket(SocketType::Rep)?;
    /// rep.bind("inproc://ext-doc")?;
    /// # Ok(())
    /// # }
    /// ```
    fn async_socket(&self, socket_type: SocketType) -> Result<AsyncSocket>;
}

impl AsyncContextExt for Context {
    fn async_socket(&self, socket_type: SocketType) -> Result<AsyncSocket> {
        AsyncSocket::new(self.socket(socket_type)?)
    }
}
