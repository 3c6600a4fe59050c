//! `IoThread`: a `mio` event loop that runs listeners and sessions.
//!
//! Sockets never touch it directly: they post [`IoCommand`]s to its queue.
//! The first command of a batch wakes the loop (one eventfd write per batch);
//! pipe activations arrive the same way, so a busy connection costs one
//! wake-up per batch of messages, not one per message.

use super::session::{Next, Session, SessionConfig, SocketRef};
use crate::monitor::EventKind;
use crate::transport::Listener;
use mio::{Events, Interest, Poll, Token, Waker};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const WAKER: Token = Token(usize::MAX);

/// Work posted to an I/O thread.
pub(crate) enum IoCommand {
    /// A session's pipe changed state.
    Activate(u64),
    /// Start accepting on a bound listener (`config.endpoint` names it).
    Listen { id: u64, listener: Listener, socket: SocketRef, config: SessionConfig },
    /// Stop accepting (unbind).
    Unlisten(u64),
    /// Run a new connect session.
    Connect(Box<Session>),
    /// End a connect session now (disconnect).
    Disconnect(u64),
    /// The socket closed: stop its listeners, linger its sessions.
    SocketClosed { socket_id: u64, linger_ms: i32 },
    /// Finish when every session is done, then exit.
    Stop,
}

/// The part of an I/O thread that other threads use.
pub(crate) struct IoShared {
    queue: Mutex<Vec<IoCommand>>,
    waker: Waker,
    /// The loop is (about to be) blocked in `poll`: only then does a post
    /// need the waker's system call. A busy loop drains the queue on its
    /// next turn anyway.
    sleeping: AtomicBool,
    /// Set after every post: the loop looks at this flag, not the lock, on
    /// each turn, so a busy-polling loop does not pull the queue's lock
    /// away from the threads posting to it.
    has_commands: AtomicBool,
}

impl IoShared {
    pub(crate) fn post(&self, cmd: IoCommand) {
        let was_empty = {
            let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            let e = q.is_empty();
            q.push(cmd);
            e
        };
        self.has_commands.store(true, Ordering::SeqCst);
        // Dekker with the loop (see `EventLoop::run`): the push above is
        // published before we look at `sleeping`.
        fence(Ordering::SeqCst);
        if was_empty && self.sleeping.load(Ordering::SeqCst) {
            let _ = self.waker.wake();
        }
    }

    pub(crate) fn activate(&self, session_id: u64) {
        self.post(IoCommand::Activate(session_id));
    }
}

/// A running I/O thread.
pub(crate) struct IoThread {
    pub shared: Arc<IoShared>,
    /// Taken by the first `stop`, which joins it: `Context::term` stops the
    /// threads itself (so the join never happens inside whichever `drop`
    /// releases the context last), and dropping the context after that
    /// finds nothing left to join.
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl IoThread {
    pub(crate) fn spawn(index: usize, busy_poll: Duration) -> std::io::Result<IoThread> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let shared = Arc::new(IoShared {
            queue: Mutex::new(Vec::new()),
            waker,
            sleeping: AtomicBool::new(false),
            has_commands: AtomicBool::new(false),
        });
        let s2 = shared.clone();
        let handle = std::thread::Builder::new()
            .name(format!("fzmq-io-{index}"))
            .spawn(move || EventLoop::new(poll, s2, busy_poll).run())?;
        Ok(IoThread { shared, handle: Mutex::new(Some(handle)) })
    }

    /// Asks the thread to finish (after lingering sessions) and waits for it.
    pub(crate) fn stop(&self) {
        let handle = self.handle.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            self.shared.post(IoCommand::Stop);
            // A thread never joins itself (a free callback run by this I/O
            // thread could drop the last context handle): it exits on its
            // own once the Stop command is seen.
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
    }
}

impl Drop for IoThread {
    fn drop(&mut self) {
        self.stop();
    }
}

struct ListenerEntry {
    listener: Listener,
    socket: SocketRef,
    config: SessionConfig,
}

struct EventLoop {
    poll: Poll,
    shared: Arc<IoShared>,
    listeners: HashMap<u64, ListenerEntry>,
    sessions: HashMap<u64, Session>,
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    runnable: VecDeque<u64>,
    stopping: bool,
    /// Busy-poll window: after doing work, keep polling without blocking
    /// for this long before sleeping (see `ContextBuilder::busy_poll`).
    busy_poll: Duration,
    last_work: Instant,
    /// The loop is in a busy-poll window (see `run`).
    spinning: bool,
    /// Every connection that ran in the last turn was held up by
    /// backpressure (see `Engine::backpressured`): then the loop sleeps
    /// until epoll or a pipe says the other side moved, instead of
    /// busy-polling. On two cores shared by a sender, its receiver and their
    /// I/O threads, a sender spinning on a full socket starves the very
    /// receiver it waits for.
    backpressured: bool,
    backoff: crate::signal::SpinBackoff,
}

impl EventLoop {
    fn new(poll: Poll, shared: Arc<IoShared>, busy_poll: Duration) -> EventLoop {
        EventLoop {
            poll,
            shared,
            listeners: HashMap::new(),
            sessions: HashMap::new(),
            timers: BinaryHeap::new(),
            runnable: VecDeque::new(),
            stopping: false,
            busy_poll,
            last_work: Instant::now(),
            spinning: false,
            backpressured: false,
            backoff: crate::signal::SpinBackoff::default(),
        }
    }

    fn run(mut self) {
        let mut events = Events::with_capacity(256);
        let mut commands = Vec::new();
        loop {
            if self.stopping && self.sessions.is_empty() {
                return;
            }
            let mut timeout = if !self.runnable.is_empty() {
                Some(Duration::ZERO)
            } else {
                self.timers.peek().map(|Reverse((t, _))| t.saturating_duration_since(Instant::now()))
            };
            if timeout.is_some_and(|t| !t.is_zero() && t < Duration::from_millis(1)) {
                // epoll counts in milliseconds: a sub-millisecond timer (an
                // engine pacing its outbound pipe) would sleep a whole
                // millisecond. Look again without blocking, leaving the CPU
                // to anyone else who wants it.
                std::thread::yield_now();
                timeout = Some(Duration::ZERO);
            }
            if timeout != Some(Duration::ZERO) && !self.busy_poll.is_zero() {
                if self.backpressured {
                    self.spinning = false;
                } else if self.last_work.elapsed() < self.busy_poll {
                    if self.spinning || self.backoff.should_spin() {
                        // Recently busy: look again without blocking (and
                        // without telling posters we sleep, so they skip the
                        // waker).
                        self.spinning = true;
                        std::thread::yield_now();
                        timeout = Some(Duration::ZERO);
                    }
                } else if self.spinning {
                    // The window ran out with nothing to do.
                    self.spinning = false;
                    self.backoff.record(false);
                }
            }
            if timeout != Some(Duration::ZERO) {
                // About to block: say so, then look at the queue once more
                // (a poster that missed "sleeping" pushed before this look).
                self.shared.sleeping.store(true, Ordering::SeqCst);
                fence(Ordering::SeqCst);
                if self.shared.has_commands.load(Ordering::SeqCst) {
                    timeout = Some(Duration::ZERO);
                }
            }
            let polled = self.poll.poll(&mut events, timeout);
            self.shared.sleeping.store(false, Ordering::Relaxed);
            if let Err(e) = polled {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    // Nothing sensible is left to do; sessions end with the thread.
                    return;
                }
            }
            for ev in events.iter() {
                match ev.token() {
                    WAKER => {}
                    Token(t) => {
                        let id = t as u64;
                        if self.listeners.contains_key(&id) {
                            self.accept(id);
                        } else if let Some(s) = self.sessions.get_mut(&id) {
                            if let Some(e) = &mut s.engine {
                                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                                    e.readable = true;
                                }
                                if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
                                    e.writable = true;
                                }
                            }
                            self.runnable.push_back(id);
                        }
                    }
                }
            }
            // Clear the flag before taking the queue: a post after this
            // sets it again and is seen on the next turn.
            if self.shared.has_commands.swap(false, Ordering::AcqRel) {
                let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
                std::mem::swap(&mut *q, &mut commands);
            }
            if !events.is_empty() || !commands.is_empty() || !self.runnable.is_empty() {
                self.last_work = Instant::now();
                if self.spinning {
                    self.spinning = false;
                    self.backoff.record(true);
                }
            }
            for cmd in commands.drain(..) {
                self.command(cmd);
            }
            self.fire_timers();
            let n = self.runnable.len();
            let (mut ran, mut held_up) = (0usize, 0usize);
            for _ in 0..n {
                let Some(id) = self.runnable.pop_front() else { break };
                if let Some(backpressured) = self.run_session(id) {
                    ran += 1;
                    held_up += backpressured as usize;
                }
            }
            if ran > 0 {
                self.backpressured = held_up == ran;
            }
        }
    }

    fn command(&mut self, cmd: IoCommand) {
        match cmd {
            IoCommand::Activate(id) => self.runnable.push_back(id),
            IoCommand::Listen { id, mut listener, socket, config } => {
                if self.poll.registry().register(listener.source(), Token(id as usize), Interest::READABLE).is_ok() {
                    self.listeners.insert(id, ListenerEntry { listener, socket, config });
                    self.accept(id);
                }
            }
            IoCommand::Unlisten(id) => {
                if let Some(mut l) = self.listeners.remove(&id) {
                    let _ = self.poll.registry().deregister(l.listener.source());
                    l.socket.monitor.emit(EventKind::Closed, l.listener.raw_fd() as u32, &l.config.endpoint);
                }
            }
            IoCommand::Connect(session) => {
                let id = session.id;
                self.sessions.insert(id, *session);
                self.start_connect(id);
            }
            IoCommand::Disconnect(id) => self.end_session(id),
            IoCommand::SocketClosed { socket_id, linger_ms } => {
                let ids: Vec<u64> =
                    self.listeners.iter().filter(|(_, l)| l.socket.socket_id == socket_id).map(|(id, _)| *id).collect();
                for id in ids {
                    self.command(IoCommand::Unlisten(id));
                }
                let sids: Vec<u64> =
                    self.sessions.iter().filter(|(_, s)| s.socket.socket_id == socket_id).map(|(id, _)| *id).collect();
                for id in sids {
                    if let Some(s) = self.sessions.get_mut(&id) {
                        s.socket_closed(linger_ms);
                        if let Some(d) = s.next_deadline() {
                            self.timers.push(Reverse((d, id)));
                        }
                    }
                    self.runnable.push_back(id);
                }
            }
            IoCommand::Stop => {
                self.stopping = true;
                let ids: Vec<u64> = self.listeners.keys().copied().collect();
                for id in ids {
                    self.command(IoCommand::Unlisten(id));
                }
            }
        }
    }

    fn accept(&mut self, id: u64) {
        loop {
            let Some(entry) = self.listeners.get(&id) else { return };
            match entry.listener.accept() {
                Ok(stream) => {
                    entry.socket.monitor.emit(EventKind::Accepted, stream.raw_fd() as u32, &entry.config.endpoint);
                    let session = Session::accepted(&self.shared, entry.socket.clone(), entry.config.clone(), stream);
                    let sid = session.id;
                    self.sessions.insert(sid, session);
                    self.register(sid);
                    self.runnable.push_back(sid);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // EMFILE and friends: drop this attempt, keep listening.
                Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(libc::EIO) as u32;
                    entry.socket.monitor.emit(EventKind::AcceptFailed, errno, &entry.config.endpoint);
                    return;
                }
            }
        }
    }

    fn register(&mut self, id: u64) {
        if let Some(s) = self.sessions.get_mut(&id) {
            if let Some(e) = &mut s.engine {
                // A registration failure (fd limit) shows up as a stream that
                // never becomes ready; the handshake timeout then drops it.
                let _ = self.poll.registry().register(
                    e.stream.source(),
                    Token(id as usize),
                    Interest::READABLE | Interest::WRITABLE,
                );
            }
            if let Some(d) = s.next_deadline() {
                self.timers.push(Reverse((d, id)));
            }
        }
    }

    fn start_connect(&mut self, id: u64) {
        let now = Instant::now();
        let Some(s) = self.sessions.get_mut(&id) else { return };
        if s.try_connect(now) {
            self.register(id);
            self.runnable.push_back(id);
        } else if let Some(d) = s.next_deadline() {
            self.timers.push(Reverse((d, id)));
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((t, id))) = self.timers.peek().copied() {
            if t > now {
                break;
            }
            self.timers.pop();
            let Some(s) = self.sessions.get_mut(&id) else { continue };
            if s.wants_connect() {
                self.start_connect(id);
            } else {
                self.runnable.push_back(id);
            }
        }
    }

    /// Runs one session's turn. Returns whether it ended held up by
    /// backpressure (`Engine::backpressured`), or None if there was no such
    /// session.
    fn run_session(&mut self, id: u64) -> Option<bool> {
        let now = Instant::now();
        let s = self.sessions.get_mut(&id)?;
        let next = s.run(now);
        let backpressured = s.engine.as_ref().is_some_and(|e| e.backpressured());
        match next {
            Next::Again => self.runnable.push_back(id),
            Next::Wait => {
                // A lost stream was closed by dropping it (which also
                // removes it from epoll); a reconnect, if any, is timed.
                if let Some(d) = s.next_deadline() {
                    self.timers.push(Reverse((d, id)));
                }
            }
            Next::Done => self.end_session(id),
        }
        Some(backpressured)
    }

    fn end_session(&mut self, id: u64) {
        if let Some(mut s) = self.sessions.remove(&id) {
            if let Some(e) = &mut s.engine {
                let _ = self.poll.registry().deregister(e.stream.source());
            }
            s.finish();
            // Dropping the session closes its pipes; the socket sees the peer go.
            drop(s);
        }
    }
}
