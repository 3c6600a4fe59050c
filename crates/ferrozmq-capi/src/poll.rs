//! `zmq_poll`, and the state of a draft `zmq_poller_*` poller.

use crate::ffi::{self, ZmqPollItem};
use crate::socket::{locked, Locked};
use crate::{api, ret};
use ferrozmq::{Error, PollItem, Result};
use std::ffi::{c_int, c_long, c_void};

/// Polls sockets (by handle) and raw fds: `targets[i]` is a socket handle or
/// NULL with `fds[i]`; `events[i]` what is wanted. Returns the events that
/// happened, per item, and how many items had any. Each distinct socket is
/// locked once for the whole wait (the same socket may be listed twice).
pub(crate) fn poll_targets(targets: &[(*mut c_void, c_int, i16)], timeout_ms: i64) -> Result<(usize, Vec<i16>)> {
    let mut locks: Vec<Locked<'_>> = Vec::new();
    let mut seen: Vec<*mut c_void> = Vec::new();
    let mut which: Vec<Option<usize>> = Vec::with_capacity(targets.len());
    for &(s, _, _) in targets {
        if s.is_null() {
            which.push(None);
            continue;
        }
        match seen.iter().position(|&p| p == s) {
            Some(i) => which.push(Some(i)),
            None => {
                locks.push(locked(s)?);
                seen.push(s);
                which.push(Some(locks.len() - 1));
            }
        }
    }
    let mut items: Vec<PollItem<'_>> = targets
        .iter()
        .zip(&which)
        .map(|(&(_, fd, ev), w)| match w {
            Some(i) => PollItem::from_socket(locks[*i].socket(), ev),
            None => PollItem::from_fd(fd, ev),
        })
        .collect();
    let n = ferrozmq::poll(&mut items, timeout_ms)?;
    Ok((n, items.iter().map(|i| i.get_revents()).collect()))
}

/// `zmq_poll`: waits up to `timeout` ms (-1 = forever, 0 = just look) for
/// any item to be ready; returns how many are.
#[no_mangle]
pub extern "C" fn zmq_poll(items: *mut ZmqPollItem, nitems: c_int, timeout: c_long) -> c_int {
    api!(-1, {
        ret((|| {
            if nitems < 0 {
                return Err(Error::EINVAL);
            }
            let items = ffi::poll_items(items, nitems)?;
            if items.is_empty() {
                // libzmq sleeps for the timeout with nothing to poll.
                if timeout > 0 {
                    std::thread::sleep(std::time::Duration::from_millis(timeout as u64));
                } else if timeout < 0 {
                    return Err(Error::EINVAL);
                }
                return Ok(0);
            }
            let targets: Vec<_> = items.iter().map(|i| (i.socket, i.fd, i.events)).collect();
            // c_long is i64 here but i32 on some targets.
            #[allow(clippy::useless_conversion)]
            let (n, revents) = poll_targets(&targets, i64::from(timeout))?;
            for (item, r) in items.iter_mut().zip(revents) {
                item.revents = r;
            }
            Ok(n as c_int)
        })())
    })
}

/// One registration of a draft poller. The socket handle and the caller's
/// user data are kept as addresses: only compared and handed back.
#[derive(Clone, Copy)]
pub(crate) struct PollerEntry {
    pub socket: usize,
    pub fd: c_int,
    pub user_data: usize,
    pub events: i16,
}

/// A draft `zmq_poller_t`: what is registered.
#[derive(Default)]
pub(crate) struct Poller {
    pub entries: Vec<PollerEntry>,
}

