//! `Signal`: how a socket's owner thread is woken.
//!
//! Pipes, I/O threads and the context notify a socket through its `Signal`.
//! The `pending` flag makes notification cheap: only the first notify after
//! the owner last looked writes the eventfd (one system call per batch, the
//! same economy as libzmq's mailbox). The eventfd is what `ZMQ_FD` returns,
//! so its meaning is libzmq's: "readable means something may have changed —
//! look at `ZMQ_EVENTS`".

use crate::sys::EventFd;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Something that can be woken when a pipe it reads or writes changes state.
pub(crate) trait Notify: Send + Sync {
    fn notify(&self);
}

/// How long a busy-polling waiter waits before its first look (see
/// `Signal::spin`).
const SPIN_FIRST_LOOK: Duration = Duration::from_micros(2);

/// Backs busy-polling off when it keeps failing: a thread whose windows
/// keep running out (it goes to sleep anyway) only steals CPU from the
/// threads doing the work, most of all when there are more busy threads than
/// cores. After two failures in a row the next 2, 4, ... 64 waits skip the
/// busy-poll; one success restores it. Request-reply exchanges, whose
/// replies come within the window, keep it.
#[derive(Debug, Default)]
pub(crate) struct SpinBackoff {
    fails: std::cell::Cell<u32>,
    skip: std::cell::Cell<u32>,
    /// Waits in a row that found their notification already there.
    hot: std::cell::Cell<u32>,
}

impl SpinBackoff {
    /// True if this wait should busy-poll.
    pub(crate) fn should_spin(&self) -> bool {
        let skip = self.skip.get();
        if skip > 0 {
            self.skip.set(skip - 1);
            return false;
        }
        true
    }

    /// Records a wait that found its notification already there, and says
    /// whether to pause before answering it: the second such wait in a row
    /// means the reader is chasing a streaming writer (see `Signal::wait`).
    pub(crate) fn note_hot(&self) -> bool {
        let hot = self.hot.get().saturating_add(1);
        self.hot.set(hot);
        hot >= 2
    }

    /// Records a wait that had to wait.
    pub(crate) fn note_cold(&self) {
        self.hot.set(0);
    }

    /// Records how a busy-poll ended.
    pub(crate) fn record(&self, found_work: bool) {
        if found_work {
            self.fails.set(0);
            return;
        }
        let fails = self.fails.get().saturating_add(1);
        self.fails.set(fails);
        if fails >= 2 {
            self.skip.set(1u32 << fails.min(6));
        }
    }
}

/// A socket's wake-up channel.
///
/// The eventfd is written only when someone can be waiting on it: the owner
/// blocked in [`Signal::wait`], or anyone holding the fd (`ZMQ_FD`, `poll`,
/// the async API: see [`Signal::raw_fd`]). A busy owner that finds work
/// each time it looks costs its notifiers no system call at all.
#[derive(Debug)]
pub(crate) struct Signal {
    /// Something changed since the owner last looked.
    pending: AtomicBool,
    /// The owner is (about to be) blocked in `wait`.
    sleeping: AtomicBool,
    /// The fd was handed out: every notification must reach it.
    exported: AtomicBool,
    /// The eventfd was written and has not been drained yet.
    written: AtomicBool,
    fd: EventFd,
    /// Busy-poll window before sleeping (zero: sleep at once).
    busy_poll: Duration,
    /// Only the socket's owner waits, one thread at a time (the socket is
    /// not `Sync`); the lock is never contended.
    backoff: std::sync::Mutex<SpinBackoff>,
}

impl Signal {
    pub(crate) fn new(busy_poll: Duration) -> std::io::Result<Signal> {
        Ok(Signal {
            pending: AtomicBool::new(false),
            sleeping: AtomicBool::new(false),
            exported: AtomicBool::new(false),
            written: AtomicBool::new(false),
            fd: EventFd::new()?,
            busy_poll,
            backoff: std::sync::Mutex::new(SpinBackoff::default()),
        })
    }

    /// Empties the eventfd if a notifier wrote it. A notifier sets
    /// `written` only after writing, so a write is never left behind
    /// unaccounted (a holder of the fd would spin on it); at worst the flag
    /// costs one needless read.
    fn drain_fd(&self) {
        if self.written.load(Ordering::Acquire) && self.written.swap(false, Ordering::AcqRel) {
            self.fd.drain();
        }
    }

    /// Clears a pending notification without blocking; returns whether there
    /// was one. The caller then re-examines its pipes and commands.
    pub(crate) fn take(&self) -> bool {
        let was = self.pending.load(Ordering::Acquire) && self.pending.swap(false, Ordering::AcqRel);
        self.drain_fd();
        was
    }

    /// Blocks until notified or until `deadline` (None = forever), first
    /// busy-polling for the configured window if `spin`.
    /// Returns false on timeout.
    pub(crate) fn wait(&self, deadline: Option<Instant>, spin: bool) -> bool {
        let spin = spin && !self.busy_poll.is_zero();
        if self.take() {
            // A reader that keeps finding its next notification already
            // there is taking a streaming writer's messages one at a time,
            // as each is published, and both threads then pay a cache-line
            // transfer per message. A short pause lets a batch build up.
            // Waits for a reply never find it already there, so a
            // request-reply exchange never pauses.
            if spin && self.backoff.lock().unwrap_or_else(|p| p.into_inner()).note_hot() {
                pause(SPIN_FIRST_LOOK);
            }
            return true;
        }
        // Only the owner waits, so holding the lock through this wait costs
        // nobody anything; it is taken once.
        let backoff = spin.then(|| self.backoff.lock().unwrap_or_else(|p| p.into_inner()));
        if let Some(b) = &backoff {
            b.note_cold();
        }
        let timeout_ms = match deadline {
            None => -1,
            Some(d) => {
                let now = Instant::now();
                if d <= now {
                    return false;
                }
                let ms = d.duration_since(now).as_micros().div_ceil(1000);
                ms.min(i32::MAX as u128) as i32
            }
        };
        if let Some(backoff) = backoff {
            if backoff.should_spin() {
                let found = self.spin(deadline);
                backoff.record(found);
                if found {
                    return true;
                }
            }
        }
        // Dekker with `notify`: we publish "sleeping" and then look at
        // `pending`; a notifier publishes `pending` and then looks at
        // "sleeping". With both sequentially consistent, at least one of us
        // sees the other: either we do not sleep, or it writes the fd.
        self.sleeping.store(true, Ordering::SeqCst);
        if !self.pending.load(Ordering::SeqCst) {
            crate::sys::wait_readable(self.fd.raw(), timeout_ms);
            self.written.store(false, Ordering::Release);
            self.fd.drain();
        }
        self.sleeping.store(false, Ordering::Relaxed);
        self.pending.store(false, Ordering::Release);
        self.drain_fd();
        true
    }

    /// Busy-polls `pending` for up to the window (or the deadline); true if
    /// a notification came. Notifiers see "not sleeping" meanwhile and skip
    /// the eventfd write, so a reply within the window costs no system call
    /// on either side.
    fn spin(&self, deadline: Option<Instant>) -> bool {
        let start = Instant::now();
        let mut until = start + self.busy_poll;
        if let Some(d) = deadline {
            until = until.min(d);
        }
        // Do not answer the very first notification at once: a writer that
        // streams messages would then hand them over one at a time (each
        // with a notification), where a short pause lets a batch build up.
        // A reply in a request-reply exchange pays this once.
        pause(SPIN_FIRST_LOOK);
        let mut i: u32 = 0;
        loop {
            if self.take() {
                return true;
            }
            i = i.wrapping_add(1);
            if i % 64 == 0 {
                if Instant::now() >= until {
                    return false;
                }
                // Let a thread with real work have this CPU (two cores are
                // often shared by an application, its peer and their I/O
                // threads).
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }

    /// The fd that becomes readable on notification (`ZMQ_FD`). From now on
    /// every notification writes it (its holder may be polling it).
    pub(crate) fn raw_fd(&self) -> RawFd {
        if !self.exported.load(Ordering::Relaxed) {
            self.exported.store(true, Ordering::SeqCst);
            // Whatever is pending already must show on the fd too.
            if self.pending.load(Ordering::SeqCst) {
                self.fd.signal();
                self.written.store(true, Ordering::Release);
            }
        }
        self.fd.raw()
    }
}

impl Notify for Signal {
    fn notify(&self) {
        if !self.pending.swap(true, Ordering::SeqCst)
            && (self.sleeping.load(Ordering::SeqCst) || self.exported.load(Ordering::SeqCst))
        {
            self.fd.signal();
            self.written.store(true, Ordering::Release);
        }
    }
}

/// Busy-waits for `d` without giving the CPU away (a pause too short for a
/// sleep to honour).
fn pause(d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}
