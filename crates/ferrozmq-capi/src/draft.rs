//! libzmq's DRAFT functions (`ZMQ_BUILD_DRAFT_API` in zmq.h): exported when
//! the `draft` feature is on, as a draft build of libzmq exports them.
//!
//! Those with a meaning here work: the poller, routing ids on messages,
//! `zmq_msg_init_buffer`, the versioned monitor (format 1), the context's
//! string options. Those that belong to socket types not built yet (RADIO/
//! DISH groups, PEER, ROUTER peer state, pipe statistics) fail with
//! `ENOTSUP`, so a program linked against them loads and learns at run time.

use crate::context::{ctx_handle, opt};
use crate::ffi::{self, ZmqMsgT, ZmqPollItem};
use crate::handles::{bury, lock, PollerHandle, Tagged};
use crate::poll::{poll_targets, PollerEntry};
use crate::socket::{locked, socket_handle};
use crate::{api, fail, fail_null, ret};
use ferrozmq::{Error, Msg, Result};
use std::ffi::{c_char, c_int, c_long, c_void};
use std::sync::atomic::AtomicU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `zmq_poller_event_t`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ZmqPollerEvent {
    socket: *mut c_void,
    fd: c_int,
    user_data: *mut c_void,
    events: i16,
}

/// `zmq_ctx_set_ext`: options with non-int values (`ZMQ_THREAD_NAME_PREFIX`
/// as a string); int options as `zmq_ctx_set`.
#[no_mangle]
pub extern "C" fn zmq_ctx_set_ext(context: *mut c_void, option: c_int, optval: *const c_void, optvallen: usize) -> c_int {
    api!(-1, {
        ret((|| {
            let h = ctx_handle(context)?;
            let v = ffi::bytes_arg(optval, optvallen)?;
            if option == opt::THREAD_NAME_PREFIX {
                let s = std::str::from_utf8(v).map_err(|_| Error::EINVAL)?;
                lock(&h.state).thread_name_prefix = s.trim_end_matches('\0').to_string();
                return Ok(0);
            }
            let n: [u8; 4] = v.try_into().map_err(|_| Error::EINVAL)?;
            match crate::context::zmq_ctx_set(context, option, c_int::from_ne_bytes(n)) {
                0 => Ok(0),
                _ => Err(Error::from_raw(ffi::errno())),
            }
        })())
    })
}

/// `zmq_ctx_get_ext`.
#[no_mangle]
pub extern "C" fn zmq_ctx_get_ext(context: *mut c_void, option: c_int, optval: *mut c_void, optvallen: *mut usize) -> c_int {
    api!(-1, {
        ret((|| {
            let h = ctx_handle(context)?;
            let cap = ffi::read(optvallen)?;
            let value: Vec<u8> = if option == opt::THREAD_NAME_PREFIX {
                let mut v = lock(&h.state).thread_name_prefix.clone().into_bytes();
                v.push(0);
                v
            } else {
                match crate::context::zmq_ctx_get(context, option) {
                    -1 => return Err(Error::from_raw(ffi::errno())),
                    n => n.to_ne_bytes().to_vec(),
                }
            };
            if cap < value.len() {
                return Err(Error::EINVAL);
            }
            ffi::bytes_out(optval, value.len())?.copy_from_slice(&value);
            ffi::write(optvallen, value.len());
            Ok(0)
        })())
    })
}

/// `zmq_msg_init_buffer`: a message holding a copy of `size` bytes.
#[no_mangle]
pub extern "C" fn zmq_msg_init_buffer(msg: *mut ZmqMsgT, buf: *const c_void, size: usize) -> c_int {
    api!(-1, ret((|| ffi::msg_init(msg, Msg::copy_from_slice(ffi::bytes_arg(buf, size)?)).map(|_| 0))()))
}

/// `zmq_msg_set_routing_id`: the id a SERVER routes the message by (0 is
/// not a routing id: EINVAL).
#[no_mangle]
pub extern "C" fn zmq_msg_set_routing_id(msg: *mut ZmqMsgT, routing_id: u32) -> c_int {
    api!(-1, {
        ret((|| {
            if routing_id == 0 {
                return Err(Error::EINVAL);
            }
            ffi::msg(msg)?.set_routing_id(routing_id);
            Ok(0)
        })())
    })
}

/// `zmq_msg_routing_id`: 0 if the message has none.
#[no_mangle]
pub extern "C" fn zmq_msg_routing_id(msg: *mut ZmqMsgT) -> u32 {
    api!(0, ffi::msg(msg).map(|m| m.routing_id()).unwrap_or(0))
}

/// `zmq_msg_set_group`: RADIO/DISH groups are not implemented yet (ENOTSUP;
/// EINVAL for a group longer than libzmq's 255).
#[no_mangle]
pub extern "C" fn zmq_msg_set_group(msg: *mut ZmqMsgT, group: *const c_char) -> c_int {
    api!(-1, {
        ret((|| {
            ffi::msg(msg)?;
            let g = ffi::cstr_bytes(group).ok_or(Error::EINVAL)?;
            if g.len() > 255 {
                return Err(Error::EINVAL);
            }
            Err(Error::ENOTSUP)
        })())
    })
}

/// `zmq_msg_group`: the empty group (no message has one yet).
#[no_mangle]
pub extern "C" fn zmq_msg_group(msg: *mut ZmqMsgT) -> *const c_char {
    api!(std::ptr::null(), match ffi::msg(msg) {
        Ok(_) => c"".as_ptr(),
        Err(e) => fail_null::<c_char>(e) as *const c_char,
    })
}

/// `zmq_join` (DISH): ENOTSUP, no DISH sockets yet.
#[no_mangle]
pub extern "C" fn zmq_join(s: *mut c_void, _group: *const c_char) -> c_int {
    api!(-1, ret(locked(s).and(Err(Error::ENOTSUP))))
}

/// `zmq_leave` (DISH): ENOTSUP, no DISH sockets yet.
#[no_mangle]
pub extern "C" fn zmq_leave(s: *mut c_void, _group: *const c_char) -> c_int {
    api!(-1, ret(locked(s).and(Err(Error::ENOTSUP))))
}

/// `zmq_connect_peer` (PEER): 0 with ENOTSUP, no PEER sockets yet.
#[no_mangle]
pub extern "C" fn zmq_connect_peer(s: *mut c_void, _addr: *const c_char) -> u32 {
    api!(0, {
        let e = locked(s).err().unwrap_or(Error::ENOTSUP);
        ffi::set_errno(e.to_raw());
        0
    })
}

/// `zmq_disconnect_peer` (PEER): ENOTSUP, no PEER sockets yet.
#[no_mangle]
pub extern "C" fn zmq_disconnect_peer(s: *mut c_void, _routing_id: u32) -> c_int {
    api!(-1, ret(locked(s).and(Err(Error::ENOTSUP))))
}

/// `zmq_socket_get_peer_state` (ROUTER): ENOTSUP for now.
#[no_mangle]
pub extern "C" fn zmq_socket_get_peer_state(s: *mut c_void, _routing_id: *const c_void, _size: usize) -> c_int {
    api!(-1, ret(locked(s).and(Err(Error::ENOTSUP))))
}

/// `zmq_socket_monitor_pipes_stats`: ENOTSUP for now.
#[no_mangle]
pub extern "C" fn zmq_socket_monitor_pipes_stats(s: *mut c_void) -> c_int {
    api!(-1, ret(locked(s).and(Err(Error::ENOTSUP))))
}

/// `zmq_socket_monitor_versioned`: format 1 (two frames) or 2 (event,
/// value count, values as `u64`, local and remote endpoint) on a PAIR; the
/// PUB and PUSH monitor types of libzmq are not implemented (EINVAL).
#[no_mangle]
pub extern "C" fn zmq_socket_monitor_versioned(
    s: *mut c_void,
    addr: *const c_char,
    events: u64,
    event_version: c_int,
    type_: c_int,
) -> c_int {
    api!(-1, {
        ret((|| {
            let l = locked(s)?;
            if !(1..=2).contains(&event_version) || (type_ != 0 && !addr.is_null()) || events > 0xFFFF {
                return Err(Error::EINVAL);
            }
            match ffi::str_arg(addr) {
                None => l.socket().stop_monitor()?,
                Some(ep) => l.socket().monitor_versioned(ep?, events as u32, event_version as u8)?,
            }
            Ok(0)
        })())
    })
}

/// `zmq_ppoll`: `zmq_poll` with `sigmask` in force while it waits.
#[no_mangle]
pub extern "C" fn zmq_ppoll(items: *mut ZmqPollItem, nitems: c_int, timeout: c_long, sigmask: *const libc::sigset_t) -> c_int {
    api!(-1, ffi::with_sigmask(sigmask, || crate::poll::zmq_poll(items, nitems, timeout)))
}

fn poller<'a>(p: *mut c_void) -> Result<&'a PollerHandle> {
    ffi::handle::<PollerHandle>(p).ok_or(Error::EFAULT)
}

/// `zmq_poller_new`.
#[no_mangle]
pub extern "C" fn zmq_poller_new() -> *mut c_void {
    api!(std::ptr::null_mut(), {
        let h = PollerHandle { tag: AtomicU32::new(PollerHandle::TAG), poller: Mutex::new(Default::default()) };
        ffi::into_handle(Box::new(h))
    })
}

/// `zmq_poller_destroy`: frees the poller and sets `*poller_p` to NULL.
#[no_mangle]
pub extern "C" fn zmq_poller_destroy(poller_p: *mut *mut c_void) -> c_int {
    api!(-1, {
        ret((|| {
            let h = poller(ffi::read(poller_p)?)?;
            bury(h);
            ffi::write(poller_p, std::ptr::null_mut());
            Ok(0)
        })())
    })
}

/// `zmq_poller_size`: how many sockets and fds are registered.
#[no_mangle]
pub extern "C" fn zmq_poller_size(p: *mut c_void) -> c_int {
    api!(-1, ret(poller(p).map(|h| lock(&h.poller).entries.len() as c_int)))
}

fn add(p: *mut c_void, socket: *mut c_void, fd: c_int, user_data: *mut c_void, events: i16) -> Result<c_int> {
    let h = poller(p)?;
    if !socket.is_null() {
        socket_handle(socket)?;
    }
    let mut g = lock(&h.poller);
    let exists = g.entries.iter().any(|e| if socket.is_null() { e.socket == 0 && e.fd == fd } else { e.socket == socket as usize });
    if exists {
        return Err(Error::EINVAL);
    }
    g.entries.push(PollerEntry { socket: socket as usize, fd, user_data: user_data as usize, events });
    Ok(0)
}

fn modify(p: *mut c_void, socket: *mut c_void, fd: c_int, events: i16) -> Result<c_int> {
    let h = poller(p)?;
    let mut g = lock(&h.poller);
    let e = g
        .entries
        .iter_mut()
        .find(|e| if socket.is_null() { e.socket == 0 && e.fd == fd } else { e.socket == socket as usize })
        .ok_or(Error::EINVAL)?;
    e.events = events;
    Ok(0)
}

fn remove(p: *mut c_void, socket: *mut c_void, fd: c_int) -> Result<c_int> {
    let h = poller(p)?;
    let mut g = lock(&h.poller);
    let before = g.entries.len();
    g.entries.retain(|e| if socket.is_null() { !(e.socket == 0 && e.fd == fd) } else { e.socket != socket as usize });
    if g.entries.len() == before {
        return Err(Error::EINVAL);
    }
    Ok(0)
}

/// `zmq_poller_add`.
#[no_mangle]
pub extern "C" fn zmq_poller_add(p: *mut c_void, socket: *mut c_void, user_data: *mut c_void, events: i16) -> c_int {
    api!(-1, ret(if socket.is_null() { Err(Error::ENOTSOCK) } else { add(p, socket, -1, user_data, events) }))
}

/// `zmq_poller_modify`.
#[no_mangle]
pub extern "C" fn zmq_poller_modify(p: *mut c_void, socket: *mut c_void, events: i16) -> c_int {
    api!(-1, ret(if socket.is_null() { Err(Error::ENOTSOCK) } else { modify(p, socket, -1, events) }))
}

/// `zmq_poller_remove`.
#[no_mangle]
pub extern "C" fn zmq_poller_remove(p: *mut c_void, socket: *mut c_void) -> c_int {
    api!(-1, ret(if socket.is_null() { Err(Error::ENOTSOCK) } else { remove(p, socket, -1) }))
}

/// `zmq_poller_add_fd`.
#[no_mangle]
pub extern "C" fn zmq_poller_add_fd(p: *mut c_void, fd: c_int, user_data: *mut c_void, events: i16) -> c_int {
    api!(-1, ret(if fd < 0 { Err(Error::EBADF) } else { add(p, std::ptr::null_mut(), fd, user_data, events) }))
}

/// `zmq_poller_modify_fd`.
#[no_mangle]
pub extern "C" fn zmq_poller_modify_fd(p: *mut c_void, fd: c_int, events: i16) -> c_int {
    api!(-1, ret(if fd < 0 { Err(Error::EBADF) } else { modify(p, std::ptr::null_mut(), fd, events) }))
}

/// `zmq_poller_remove_fd`.
#[no_mangle]
pub extern "C" fn zmq_poller_remove_fd(p: *mut c_void, fd: c_int) -> c_int {
    api!(-1, ret(if fd < 0 { Err(Error::EBADF) } else { remove(p, std::ptr::null_mut(), fd) }))
}

/// `zmq_poller_fd`: only thread-safe sockets have a poller fd (EINVAL here,
/// as libzmq answers for a poller without one).
#[no_mangle]
pub extern "C" fn zmq_poller_fd(p: *mut c_void, _fd: *mut c_int) -> c_int {
    api!(-1, ret(poller(p).and(Err(Error::EINVAL))))
}

/// Waits for up to `out.len()` ready entries; -1 EAGAIN on timeout, as libzmq.
fn wait(p: *mut c_void, out: &mut [ZmqPollerEvent], timeout: c_long) -> Result<c_int> {
    let h = poller(p)?;
    let entries = lock(&h.poller).entries.clone();
    if entries.is_empty() {
        // libzmq: nothing to wait for; sleep for a finite timeout.
        if timeout < 0 {
            return Err(Error::EFAULT);
        }
        if timeout > 0 {
            std::thread::sleep(Duration::from_millis(timeout as u64));
        }
        return Err(Error::EAGAIN);
    }
    let targets: Vec<_> = entries.iter().map(|e| (e.socket as *mut c_void, e.fd, e.events)).collect();
    let deadline = (timeout >= 0).then(|| Instant::now() + Duration::from_millis(timeout as u64));
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()).as_millis() as i64).unwrap_or(-1);
        let (n, revents) = poll_targets(&targets, left)?;
        if n > 0 {
            let mut k = 0;
            for (e, r) in entries.iter().zip(revents) {
                if r != 0 && k < out.len() {
                    out[k] = ZmqPollerEvent {
                        socket: e.socket as *mut c_void,
                        fd: e.fd,
                        user_data: e.user_data as *mut c_void,
                        events: r,
                    };
                    k += 1;
                }
            }
            return Ok(k as c_int);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Error::EAGAIN);
        }
    }
}

/// `zmq_poller_wait`: one ready entry into `*event`; 0 on success.
#[no_mangle]
pub extern "C" fn zmq_poller_wait(p: *mut c_void, event: *mut ZmqPollerEvent, timeout: c_long) -> c_int {
    api!(-1, {
        if event.is_null() {
            return fail(Error::EFAULT);
        }
        let mut one = [ZmqPollerEvent { socket: std::ptr::null_mut(), fd: 0, user_data: std::ptr::null_mut(), events: 0 }];
        match wait(p, &mut one, timeout) {
            Ok(_) => {
                let [e] = one;
                ffi::write(event, e);
                0
            }
            Err(e) => {
                let [empty] = one;
                ffi::write(event, empty);
                fail(e)
            }
        }
    })
}

/// `zmq_poller_wait_all`: up to `n_events` ready entries; returns how many.
#[no_mangle]
pub extern "C" fn zmq_poller_wait_all(p: *mut c_void, events: *mut ZmqPollerEvent, n_events: c_int, timeout: c_long) -> c_int {
    api!(-1, {
        ret((|| {
            if n_events < 1 {
                return Err(Error::EINVAL);
            }
            let out = ffi::array(events, n_events as usize)?;
            wait(p, out, timeout)
        })())
    })
}
