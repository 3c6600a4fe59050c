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
use std::time::Instant;

/// Something that can be woken when a pipe it reads or writes changes state.
pub(crate) trait Notify: Send + Sync {
    fn notify(&self);
}

/// A socket's wake-up channel.
#[derive(Debug)]
pub(crate) struct Signal {
    pending: AtomicBool,
    fd: EventFd,
}

impl Signal {
    pub(crate) fn new() -> std::io::Result<Signal> {
        Ok(Signal { pending: AtomicBool::new(false), fd: EventFd::new()? })
    }

    /// Clears a pending notification without blocking; returns whether there
    /// was one. The caller then re-examines its pipes and commands.
    pub(crate) fn take(&self) -> bool {
        if self.pending.load(Ordering::Acquire) && self.pending.swap(false, Ordering::AcqRel) {
            self.fd.drain();
            true
        } else {
            false
        }
    }

    /// Blocks until notified or until `deadline` (None = forever).
    /// Returns false on timeout.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> bool {
        if self.take() {
            return true;
        }
        // `pending` is false now, so any later notify writes the eventfd and
        // the poll below cannot miss it.
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
        crate::sys::wait_readable(self.fd.raw(), timeout_ms);
        self.pending.store(false, Ordering::Release);
        self.fd.drain();
        true
    }

    /// The fd that becomes readable on notification (`ZMQ_FD`).
    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl Notify for Signal {
    fn notify(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            self.fd.signal();
        }
    }
}
