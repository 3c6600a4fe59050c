//! The few OS calls std and mio do not offer: an eventfd for socket
//! readiness (what `ZMQ_FD` hands out) and `poll(2)` over arbitrary fds.
//!
//! This is one of the two modules allowed `unsafe`; every block says why it
//! is sound.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A non-blocking Linux eventfd: a kernel counter that is readable while
/// non-zero. Writers add, the reader drains.
#[derive(Debug)]
pub(crate) struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    pub(crate) fn new() -> io::Result<EventFd> {
        // SAFETY: eventfd takes no pointers; a negative return is an error.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        Ok(EventFd { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// Makes the fd readable (adds 1 to the counter).
    pub(crate) fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 on the stack to our own fd.
        // EAGAIN (counter saturated) still leaves it readable, so it is ignored.
        unsafe {
            libc::write(self.fd.as_raw_fd(), &one as *const u64 as *const libc::c_void, 8);
        }
    }

    /// Resets the counter so the fd is no longer readable.
    pub(crate) fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads at most 8 bytes into a valid u64 on the stack; the fd
        // is non-blocking, so EAGAIN (already drained) returns at once.
        unsafe {
            libc::read(self.fd.as_raw_fd(), &mut v as *mut u64 as *mut libc::c_void, 8);
        }
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// One entry for [`poll_fds`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct PollFd {
    pub fd: RawFd,
    pub events: i16,
    pub revents: i16,
}

pub(crate) const POLLIN: i16 = libc::POLLIN;
pub(crate) const POLLOUT: i16 = libc::POLLOUT;
pub(crate) const POLLERR: i16 = libc::POLLERR;

/// `poll(2)`: waits up to `timeout_ms` (-1 = forever) for any fd to be ready.
/// Returns how many are ready; EINTR is reported as `Ok(0)`.
pub(crate) fn poll_fds(fds: &mut [PollFd], timeout_ms: i32) -> io::Result<usize> {
    let mut raw: Vec<libc::pollfd> =
        fds.iter().map(|p| libc::pollfd { fd: p.fd, events: p.events, revents: 0 }).collect();
    // SAFETY: `raw` is a valid, initialised array of `raw.len()` pollfd
    // structs that lives across the call.
    let n = unsafe { libc::poll(raw.as_mut_ptr(), raw.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(e);
    }
    for (p, r) in fds.iter_mut().zip(raw.iter()) {
        p.revents = r.revents;
    }
    Ok(n as usize)
}

/// Waits until one fd is readable or the timeout (ms, -1 forever) passes.
pub(crate) fn wait_readable(fd: RawFd, timeout_ms: i32) -> bool {
    let mut p = [PollFd { fd, events: POLLIN, revents: 0 }];
    matches!(poll_fds(&mut p, timeout_ms), Ok(n) if n > 0)
}

/// `read(2)` straight into the spare capacity of `buf` (at most `max`
/// bytes), which then grows by what was read: received bytes land where the
/// frame decoder slices them, or in a large frame's own body, with no
/// intermediate copy. The caller reserves the room first. Returns the
/// count, 0 at end of stream.
pub(crate) fn read_into<B: bytes::BufMut>(fd: RawFd, buf: &mut B, max: usize) -> io::Result<usize> {
    let spare = buf.chunk_mut();
    let want = spare.len().min(max);
    // SAFETY: `spare` is `want` (or more) writable bytes owned by `buf`,
    // valid for the duration of the call; read(2) writes at most `want`
    // bytes there and nothing else.
    let n = unsafe { libc::read(fd, spare.as_mut_ptr() as *mut libc::c_void, want) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel initialised exactly `n` (≤ `want`) bytes at the
    // start of the spare capacity.
    unsafe { buf.advance_mut(n as usize) };
    Ok(n as usize)
}

/// The CPU the calling thread runs on now (`sched_getcpu`, a vDSO call that
/// costs a few nanoseconds), or `u32::MAX` if unknown. Only a hint: the
/// thread may move at any time.
pub(crate) fn current_cpu() -> u32 {
    // SAFETY: sched_getcpu takes no arguments and only returns a number.
    let cpu = unsafe { libc::sched_getcpu() };
    if cpu < 0 {
        u32::MAX
    } else {
        cpu as u32
    }
}
