//! `poll`: wait on several sockets and raw file descriptors at once
//! (`zmq_poll`).
//!
//! Sockets are first checked without blocking; if none is ready the thread
//! sleeps in `poll(2)` on every socket's notification fd and every raw fd,
//! then re-checks (a socket fd being readable only means "look again").

use crate::error::{Error, Result};
use crate::socket::{Socket, POLLERR, POLLIN, POLLOUT};
use crate::sys::{poll_fds, PollFd};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

enum Target<'a> {
    Socket(&'a Socket),
    Fd(RawFd),
}

/// One thing to wait for, with the events wanted and, after [`poll`], the
/// events that happened.
///
/// ```
/// use ferrozmq::{poll, Context, PollItem, SocketType, POLLIN};
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// pull.bind("inproc://poll-item-doc")?;
/// let push = ctx.socket(SocketType::Push)?;
/// push.connect("inproc://poll-item-doc")?;
/// push.send("ready", 0)?;
/// let mut items = [PollItem::from_socket(&pull, POLLIN)];
/// assert_eq!(poll(&mut items, 1000)?, 1);
/// assert!(items[0].is_readable());
/// # Ok::<(), ferrozmq::Error>(())
/// ```
pub struct PollItem<'a> {
    target: Target<'a>,
    events: i16,
    revents: i16,
}

impl<'a> PollItem<'a> {
    /// Waits for [`POLLIN`]/[`POLLOUT`] on a socket.
    pub fn from_socket(socket: &'a Socket, events: i16) -> PollItem<'a> {
        PollItem { target: Target::Socket(socket), events, revents: 0 }
    }

    /// Waits for [`POLLIN`]/[`POLLOUT`]/[`POLLERR`] on a raw fd.
    pub fn from_fd(fd: RawFd, events: i16) -> PollItem<'a> {
        PollItem { target: Target::Fd(fd), events, revents: 0 }
    }

    /// What happened (after `poll`).
    pub fn get_revents(&self) -> i16 {
        self.revents
    }

    /// True if the item is readable.
    pub fn is_readable(&self) -> bool {
        self.revents & POLLIN != 0
    }

    /// True if the item is writable.
    pub fn is_writable(&self) -> bool {
        self.revents & POLLOUT != 0
    }

    /// True if a raw fd reported an error.
    pub fn is_error(&self) -> bool {
        self.revents & POLLERR != 0
    }
}

/// Waits until at least one item is ready or `timeout_ms` passes (-1 =
/// forever, 0 = just check). Returns how many items are ready.
pub fn poll(items: &mut [PollItem<'_>], timeout_ms: i64) -> Result<usize> {
    let deadline = if timeout_ms < 0 { None } else { Some(Instant::now() + Duration::from_millis(timeout_ms as u64)) };
    let mut fds: Vec<PollFd> = Vec::with_capacity(items.len());
    loop {
        let mut ready = 0;
        fds.clear();
        for item in items.iter_mut() {
            item.revents = 0;
            match &item.target {
                Target::Socket(s) => {
                    let ev = s.get_events()?;
                    item.revents = ev & item.events;
                    fds.push(PollFd { fd: s.poll_fd(), events: crate::sys::POLLIN, revents: 0 });
                }
                Target::Fd(fd) => {
                    let mut ev = 0;
                    if item.events & POLLIN != 0 {
                        ev |= crate::sys::POLLIN;
                    }
                    if item.events & POLLOUT != 0 {
                        ev |= crate::sys::POLLOUT;
                    }
                    fds.push(PollFd { fd: *fd, events: ev, revents: 0 });
                }
            }
            if item.revents != 0 {
                ready += 1;
            }
        }
        // Raw fds are checked with a zero-timeout poll when a socket is ready.
        let wait_ms = if ready > 0 {
            0
        } else {
            match deadline {
                None => -1,
                Some(d) => {
                    let now = Instant::now();
                    if d <= now {
                        0
                    } else {
                        d.duration_since(now).as_millis().clamp(1, i32::MAX as u128) as i32
                    }
                }
            }
        };
        poll_fds(&mut fds, wait_ms).map_err(Error::from)?;
        for (item, p) in items.iter_mut().zip(fds.iter()) {
            if let Target::Fd(_) = item.target {
                let mut r = 0;
                if p.revents & crate::sys::POLLIN != 0 {
                    r |= POLLIN;
                }
                if p.revents & crate::sys::POLLOUT != 0 {
                    r |= POLLOUT;
                }
                if p.revents & (crate::sys::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
                    r |= POLLERR;
                }
                item.revents = r & (item.events | POLLERR);
                if item.revents != 0 {
                    ready += 1;
                }
            }
        }
        if ready > 0 {
            return Ok(ready);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(0);
        }
        // A socket fd fired: loop to re-check the sockets' real state.
    }
}
