//! `Context`: owns the I/O threads and the inproc endpoint registry; every
//! socket belongs to one. Terminating a context makes blocking calls on its
//! sockets return `ETERM`, waits for the sockets to close, and then lets the
//! I/O threads finish lingering deliveries.

use crate::error::{Error, Result};
use crate::mailbox::SocketMailbox;
use crate::runtime::IoThread;
use crate::socket::Socket;
use crate::transport::inproc::InprocRegistry;
use ferrozmq_proto::SocketType;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

pub(crate) struct ContextInner {
    io_threads: Vec<IoThread>,
    next_io: AtomicUsize,
    /// Shared with the I/O threads' sessions, which connect to the ZAP
    /// handler through it.
    pub(crate) inproc: Arc<Mutex<InprocRegistry>>,
    sockets: Mutex<HashMap<u64, Arc<SocketMailbox>>>,
    sockets_closed: Condvar,
    pub(crate) terminated: AtomicBool,
    max_sockets: usize,
    blocky: bool,
    /// How long a thread about to sleep keeps looking for work first.
    pub(crate) busy_poll: std::time::Duration,
}

impl ContextInner {
    /// Picks an I/O thread for a new listener or session (round-robin);
    /// `EMTHREAD` in a context made with no I/O threads (inproc only, as
    /// libzmq's `zmq_ctx_new` + `ZMQ_IO_THREADS` 0).
    ///
    /// `affinity` is ZMQ_AFFINITY: a bit mask of the I/O threads allowed
    /// (bit i = thread i); 0, or a mask naming none of them, allows all.
    pub(crate) fn io_thread(&self, affinity: u64) -> Result<&IoThread> {
        let n = self.io_threads.len();
        if n == 0 {
            return Err(Error::EMTHREAD);
        }
        let allowed: Vec<usize> = (0..n.min(64)).filter(|i| affinity & (1u64 << i) != 0).collect();
        let turn = self.next_io.fetch_add(1, Ordering::Relaxed);
        let i = if allowed.is_empty() { turn % n } else { allowed[turn % allowed.len()] };
        Ok(&self.io_threads[i])
    }

    pub(crate) fn io_threads(&self) -> &[IoThread] {
        &self.io_threads
    }

    pub(crate) fn register_socket(&self, id: u64, mailbox: Arc<SocketMailbox>) -> Result<()> {
        if self.terminated.load(Ordering::Acquire) {
            return Err(Error::ETERM);
        }
        let mut s = self.sockets.lock().unwrap_or_else(|p| p.into_inner());
        if s.len() >= self.max_sockets {
            return Err(Error::EMFILE);
        }
        s.insert(id, mailbox);
        Ok(())
    }

    pub(crate) fn unregister_socket(&self, id: u64) {
        let mut s = self.sockets.lock().unwrap_or_else(|p| p.into_inner());
        s.remove(&id);
        if s.is_empty() {
            self.sockets_closed.notify_all();
        }
    }

    pub(crate) fn default_linger(&self) -> i32 {
        if self.blocky {
            -1
        } else {
            0
        }
    }

    fn shutdown(&self) {
        self.terminated.store(true, Ordering::Release);
        let s = self.sockets.lock().unwrap_or_else(|p| p.into_inner());
        for mb in s.values() {
            mb.signal_term();
        }
    }
}

impl Drop for ContextInner {
    fn drop(&mut self) {
        for t in &self.io_threads {
            t.stop();
        }
    }
}

/// A ZeroMQ context. Cheap to clone; all clones are the same context.
///
/// ```
/// let ctx = ferrozmq::Context::new();
/// let push = ctx.socket(ferrozmq::SocketType::Push).unwrap();
/// let pull = ctx.socket(ferrozmq::SocketType::Pull).unwrap();
/// pull.bind("inproc://doc-example").unwrap();
/// push.connect("inproc://doc-example").unwrap();
/// push.send("hello", 0).unwrap();
/// assert_eq!(&*pull.recv_msg(0).unwrap(), b"hello");
/// ```
#[derive(Clone)]
pub struct Context {
    pub(crate) inner: Arc<ContextInner>,
}

impl Context {
    /// A context with one I/O thread, as `zmq_ctx_new` makes.
    pub fn new() -> Context {
        Context::builder().build().expect("cannot start the I/O thread")
    }

    /// Configures a context before it starts.
    pub fn builder() -> ContextBuilder {
        ContextBuilder { io_threads: 1, max_sockets: 1023, blocky: true, busy_poll: default_busy_poll() }
    }

    /// Creates a socket of the given type.
    pub fn socket(&self, socket_type: SocketType) -> Result<Socket> {
        Socket::new(self.inner.clone(), socket_type)
    }

    /// Number of I/O threads.
    pub fn io_threads(&self) -> usize {
        self.inner.io_threads.len()
    }

    /// Starts termination: blocking calls on this context's sockets return
    /// `ETERM` from now on, and new sockets cannot be created.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }

    /// Terminates, as `zmq_ctx_term` does: like `shutdown`, then waits
    /// until every socket of the context has been closed (dropped), then
    /// until every lingering message has been delivered or its socket's
    /// LINGER has expired, and joins the I/O threads. When it returns,
    /// nothing of the context runs any more.
    pub fn term(&self) -> Result<()> {
        self.inner.shutdown();
        {
            let mut s = self.inner.sockets.lock().unwrap_or_else(|p| p.into_inner());
            while !s.is_empty() {
                s = self.inner.sockets_closed.wait(s).unwrap_or_else(|p| p.into_inner());
            }
        }
        // Each I/O thread exits once its sessions have finished lingering.
        for t in &self.inner.io_threads {
            t.stop();
        }
        Ok(())
    }
}

impl Default for Context {
    fn default() -> Context {
        Context::new()
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("io_threads", &self.inner.io_threads.len()).finish()
    }
}

/// Builds a [`Context`] with non-default settings.
///
/// ```
/// use ferrozmq::{Context, SocketType};
/// use std::time::Duration;
/// let ctx = Context::builder()
///     .io_threads(2)
///     .busy_poll(Duration::ZERO) // sleep at once, as libzmq does
///     .build()?;
/// assert_eq!(ctx.io_threads(), 2);
/// let _s = ctx.socket(SocketType::Pub)?;
/// # Ok::<(), ferrozmq::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ContextBuilder {
    io_threads: usize,
    max_sockets: usize,
    blocky: bool,
    busy_poll: std::time::Duration,
}

/// The default busy-poll window (see [`ContextBuilder::busy_poll`]);
/// `FERROZMQ_BUSY_POLL_US` in the environment overrides it (0 turns it off).
pub const DEFAULT_BUSY_POLL: std::time::Duration = std::time::Duration::from_micros(50);

fn default_busy_poll() -> std::time::Duration {
    std::env::var("FERROZMQ_BUSY_POLL_US")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_micros)
        .unwrap_or(DEFAULT_BUSY_POLL)
}

impl ContextBuilder {
    /// Number of I/O threads (`ZMQ_IO_THREADS`, default 1). 0 makes a
    /// context for inproc only: tcp and ipc then fail with `EMTHREAD`, as
    /// in libzmq.
    pub fn io_threads(mut self, n: usize) -> Self {
        self.io_threads = n;
        self
    }

    /// Maximum number of sockets (`ZMQ_MAX_SOCKETS`, default 1023).
    pub fn max_sockets(mut self, n: usize) -> Self {
        self.max_sockets = n;
        self
    }

    /// `ZMQ_BLOCKY`: when false, new sockets default to LINGER 0.
    pub fn blocky(mut self, b: bool) -> Self {
        self.blocky = b;
        self
    }

    /// Busy-polling: before a socket's thread or an I/O thread goes to
    /// sleep waiting for work, it keeps looking for up to this long
    /// (yielding the CPU between looks). A reply that arrives within the
    /// window costs no wake-up: one-way latency drops by the kernel's
    /// wake-up time, at the price of that much CPU after each burst of
    /// activity. `Duration::ZERO` turns it off (libzmq's behaviour).
    /// Default [`DEFAULT_BUSY_POLL`], or `FERROZMQ_BUSY_POLL_US`.
    pub fn busy_poll(mut self, window: std::time::Duration) -> Self {
        self.busy_poll = window;
        self
    }

    /// Starts the I/O threads.
    pub fn build(self) -> Result<Context> {
        let mut io = Vec::with_capacity(self.io_threads);
        for i in 0..self.io_threads {
            io.push(IoThread::spawn(i, self.busy_poll).map_err(Error::from)?);
        }
        Ok(Context {
            inner: Arc::new(ContextInner {
                io_threads: io,
                next_io: AtomicUsize::new(0),
                inproc: Arc::new(Mutex::new(InprocRegistry::default())),
                sockets: Mutex::new(HashMap::new()),
                sockets_closed: Condvar::new(),
                terminated: AtomicBool::new(false),
                max_sockets: self.max_sockets,
                blocky: self.blocky,
                busy_poll: self.busy_poll,
            }),
        })
    }
}
