//! Sockets: creation, options, endpoints, sending and receiving, monitor
//! and proxy.

use crate::context::ctx_handle;
use crate::ffi::{self, ZmqMsgT};
use crate::handles::{bury, lock, SlotGuard, SocketHandle, SocketSlot, Tagged};
use crate::{api, c_len, fail, fail_null, ret};
use ferrozmq::options::ids;
use ferrozmq::{Error, Msg, Result, Socket, SocketType};
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::AtomicU32;

/// The live socket handle behind a pointer (`ENOTSOCK` otherwise).
pub(crate) fn socket_handle<'a>(p: *mut c_void) -> Result<&'a SocketHandle> {
    ffi::handle::<SocketHandle>(p).ok_or(Error::ENOTSOCK)
}

/// A locked, open socket.
pub(crate) struct Locked<'a>(SlotGuard<'a>);

impl Locked<'_> {
    pub(crate) fn socket(&self) -> &Socket {
        self.0.as_ref().expect("checked open when locked")
    }
}

/// Locks an open socket for one call (`ENOTSOCK` if it is not one).
pub(crate) fn locked<'a>(p: *mut c_void) -> Result<Locked<'a>> {
    let h = socket_handle(p)?;
    let g = h.socket.lock();
    if g.is_none() {
        return Err(Error::ENOTSOCK);
    }
    Ok(Locked(g))
}

/// Runs `f` on the open socket behind `p`.
pub(crate) fn with_socket<R>(p: *mut c_void, f: impl FnOnce(&Socket) -> Result<R>) -> Result<R> {
    let l = locked(p)?;
    f(l.socket())
}

/// `zmq_socket`: a socket of the given type in the context (the context's
/// I/O threads start with its first socket).
#[no_mangle]
pub extern "C" fn zmq_socket(context: *mut c_void, type_: c_int) -> *mut c_void {
    api!(std::ptr::null_mut(), {
        let r = (|| {
            let h = ctx_handle(context)?;
            let (st_ctx, ipv6, blocky) = {
                let mut st = lock(&h.state);
                (st.started()?, st.ipv6, st.blocky)
            };
            let t = SocketType::from_raw(type_).ok_or(Error::EINVAL)?;
            let s = st_ctx.socket(t)?;
            if ipv6 {
                s.set_ipv6(true)?;
            }
            // libzmq reads ZMQ_BLOCKY when each socket is made: LINGER
            // starts at -1 if set, 0 if not.
            if !blocky {
                s.set_linger(0)?;
            }
            let h = SocketHandle { tag: AtomicU32::new(SocketHandle::TAG), socket: SocketSlot::new(s) };
            Ok(ffi::into_handle(Box::new(h)))
        })();
        r.unwrap_or_else(fail_null)
    })
}

/// `zmq_close`: closes the socket at once; queued messages are delivered in
/// the background for up to LINGER (by the context's I/O threads, which
/// `zmq_ctx_term` waits for).
#[no_mangle]
pub extern "C" fn zmq_close(s: *mut c_void) -> c_int {
    api!(-1, {
        let h = match socket_handle(s) {
            Ok(h) => h,
            Err(e) => return fail(e),
        };
        let taken = h.socket.lock().take();
        match taken {
            Some(sock) => {
                bury(h);
                drop(sock);
                0
            }
            None => fail(Error::ENOTSOCK),
        }
    })
}

/// The option numbers whose value is a string: `zmq_getsockopt` writes a
/// terminating NUL and counts it in the length, as libzmq does.
fn is_string_option(option: c_int) -> bool {
    matches!(
        option,
        ids::LAST_ENDPOINT
            | ids::ZAP_DOMAIN
            | ids::PLAIN_USERNAME
            | ids::PLAIN_PASSWORD
            | ids::BINDTODEVICE
            | ids::SOCKS_PROXY
            | ids::SOCKS_USERNAME
            | ids::SOCKS_PASSWORD
    )
}

fn is_curve_key(option: c_int) -> bool {
    matches!(option, ids::CURVE_PUBLICKEY | ids::CURVE_SECRETKEY | ids::CURVE_SERVERKEY)
}

/// `zmq_setsockopt`.
#[no_mangle]
pub extern "C" fn zmq_setsockopt(s: *mut c_void, option: c_int, optval: *const c_void, optvallen: usize) -> c_int {
    api!(-1, {
        ret((|| {
            let l = locked(s)?;
            let value = ffi::bytes_arg(optval, optvallen).map_err(|_| Error::EINVAL)?;
            l.socket().set_option_raw(option, value)?;
            Ok(0)
        })())
    })
}

/// `zmq_getsockopt`: `*optvallen` is the buffer's size on entry and the
/// value's on return; a buffer too small is `EINVAL`. Strings come with a
/// NUL (counted); CURVE keys come as 32 raw bytes or, given 41 bytes, as Z85
/// text with a NUL.
#[no_mangle]
pub extern "C" fn zmq_getsockopt(s: *mut c_void, option: c_int, optval: *mut c_void, optvallen: *mut usize) -> c_int {
    api!(-1, {
        ret((|| {
            let l = locked(s)?;
            let cap = ffi::read(optvallen).map_err(|_| Error::EFAULT)?;
            let mut value = l.socket().get_option_raw(option)?;
            drop(l);
            if is_curve_key(option) {
                if value.is_empty() {
                    value = vec![0; 32];
                }
                // libzmq: exactly 32 bytes (raw) or 41 (Z85 and a NUL).
                if cap == 41 {
                    let text = ferrozmq::z85::encode(&value).map_err(|_| Error::EINVAL)?;
                    value = text.into_bytes();
                    value.push(0);
                } else if cap != 32 {
                    return Err(Error::EINVAL);
                }
            } else if is_string_option(option) {
                value.push(0);
            }
            if cap < value.len() {
                return Err(Error::EINVAL);
            }
            ffi::bytes_out(optval, value.len()).map_err(|_| Error::EFAULT)?.copy_from_slice(&value);
            ffi::write(optvallen, value.len());
            Ok(0)
        })())
    })
}

fn endpoint_call(s: *mut c_void, addr: *const c_char, f: impl FnOnce(&Socket, &str) -> Result<()>) -> c_int {
    ret((|| {
        let l = locked(s)?;
        let ep = ffi::str_arg(addr).ok_or(Error::EINVAL)??;
        f(l.socket(), ep)?;
        Ok(0)
    })())
}

/// `zmq_bind`.
#[no_mangle]
pub extern "C" fn zmq_bind(s: *mut c_void, addr: *const c_char) -> c_int {
    api!(-1, endpoint_call(s, addr, |s, ep| s.bind(ep)))
}

/// `zmq_connect`.
#[no_mangle]
pub extern "C" fn zmq_connect(s: *mut c_void, addr: *const c_char) -> c_int {
    api!(-1, endpoint_call(s, addr, |s, ep| s.connect(ep)))
}

/// `zmq_unbind`.
#[no_mangle]
pub extern "C" fn zmq_unbind(s: *mut c_void, addr: *const c_char) -> c_int {
    api!(-1, endpoint_call(s, addr, |s, ep| s.unbind(ep)))
}

/// `zmq_disconnect`.
#[no_mangle]
pub extern "C" fn zmq_disconnect(s: *mut c_void, addr: *const c_char) -> c_int {
    api!(-1, endpoint_call(s, addr, |s, ep| s.disconnect(ep)))
}

fn send_msg(s: *mut c_void, m: Msg, flags: c_int) -> Result<c_int> {
    let len = c_len(m.len());
    with_socket(s, |sock| sock.send(m, flags))?;
    Ok(len)
}

/// `zmq_send`: sends a copy of `len` bytes; returns `len`.
#[no_mangle]
pub extern "C" fn zmq_send(s: *mut c_void, buf: *const c_void, len: usize, flags: c_int) -> c_int {
    api!(-1, {
        ret((|| {
            let data = ffi::bytes_arg(buf, len)?;
            send_msg(s, Msg::copy_from_slice(data), flags)
        })())
    })
}

/// `zmq_send_const`: sends `len` bytes of constant data without copying.
#[no_mangle]
pub extern "C" fn zmq_send_const(s: *mut c_void, buf: *const c_void, len: usize, flags: c_int) -> c_int {
    api!(-1, ret((|| send_msg(s, Msg::from_bytes_shared(ffi::const_bytes(buf, len)?), flags))()))
}

/// `zmq_recv`: receives one frame into `buf`, truncated to `len`; returns
/// the frame's full size.
#[no_mangle]
pub extern "C" fn zmq_recv(s: *mut c_void, buf: *mut c_void, len: usize, flags: c_int) -> c_int {
    api!(-1, {
        ret((|| {
            let m = with_socket(s, |sock| sock.recv_msg(flags))?;
            let n = m.len().min(len);
            if n > 0 {
                ffi::bytes_out(buf, n)?.copy_from_slice(&m[..n]);
            }
            Ok(c_len(m.len()))
        })())
    })
}

/// `zmq_msg_send`: sends the message; on success `msg` is left empty and the
/// size is returned, on failure `msg` is untouched.
#[no_mangle]
pub extern "C" fn zmq_msg_send(msg: *mut ZmqMsgT, s: *mut c_void, flags: c_int) -> c_int {
    api!(-1, {
        ret((|| {
            let l = locked(s)?;
            let m = ffi::msg_take(msg)?;
            let len = c_len(m.len());
            match l.socket().send_or_return(m, flags) {
                Ok(()) => Ok(len),
                Err((e, back)) => {
                    // Put the caller's message back as it was.
                    *ffi::msg(msg)? = back;
                    Err(e)
                }
            }
        })())
    })
}

/// `zmq_msg_recv`: receives one frame into `msg` (whose old content is
/// released); returns its size.
#[no_mangle]
pub extern "C" fn zmq_msg_recv(msg: *mut ZmqMsgT, s: *mut c_void, flags: c_int) -> c_int {
    api!(-1, {
        ret((|| {
            let slot = ffi::msg(msg)?;
            let m = with_socket(s, |sock| sock.recv_msg(flags))?;
            let len = c_len(m.len());
            *slot = m;
            Ok(len)
        })())
    })
}

/// `zmq_sendmsg` (deprecated): `zmq_msg_send` with the arguments swapped.
#[no_mangle]
pub extern "C" fn zmq_sendmsg(s: *mut c_void, msg: *mut ZmqMsgT, flags: c_int) -> c_int {
    zmq_msg_send(msg, s, flags)
}

/// `zmq_recvmsg` (deprecated): `zmq_msg_recv` with the arguments swapped.
#[no_mangle]
pub extern "C" fn zmq_recvmsg(s: *mut c_void, msg: *mut ZmqMsgT, flags: c_int) -> c_int {
    zmq_msg_recv(msg, s, flags)
}

/// `zmq_sendiov`: sends `count` buffers as frames, each with the caller's
/// flags but the last, which goes without ZMQ_SNDMORE (libzmq's rule: pass
/// ZMQ_SNDMORE to make them one multipart message); returns the size of the
/// last frame.
#[no_mangle]
pub extern "C" fn zmq_sendiov(s: *mut c_void, iov: *mut libc::iovec, count: usize, flags: c_int) -> c_int {
    api!(-1, {
        ret((|| {
            let l = locked(s)?;
            if iov.is_null() || count == 0 {
                return Err(Error::EINVAL);
            }
            let parts = ffi::iovecs(iov, count)?;
            let mut last = 0;
            for (i, v) in parts.iter().enumerate() {
                let data = ffi::bytes_arg(v.iov_base, v.iov_len)?;
                let f = if i + 1 < parts.len() { flags } else { flags & !ferrozmq::SNDMORE };
                l.socket().send(Msg::copy_from_slice(data), f)?;
                last = data.len();
            }
            Ok(c_len(last))
        })())
    })
}

/// `zmq_recviov`: receives up to `*count` frames of one message, each into
/// a buffer allocated with `malloc` (the caller frees them); `*count` is set
/// to how many were received, which is also returned.
#[no_mangle]
pub extern "C" fn zmq_recviov(s: *mut c_void, iov: *mut libc::iovec, count: *mut usize, flags: c_int) -> c_int {
    api!(-1, {
        ret((|| {
            let l = locked(s)?;
            if iov.is_null() || count.is_null() {
                return Err(Error::EINVAL);
            }
            let cap = ffi::read(count)?;
            if cap == 0 {
                return Err(Error::EINVAL);
            }
            // libzmq counts from zero, so a failed first receive leaves 0.
            ffi::write(count, 0);
            let out = ffi::iovecs(iov, cap)?;
            let mut n = 0;
            loop {
                let m = l.socket().recv_msg(if n == 0 { flags } else { 0 })?;
                out[n].iov_base = ffi::malloc_copy(&m);
                out[n].iov_len = m.len();
                n += 1;
                if !m.get_more() || n == out.len() {
                    break;
                }
            }
            ffi::write(count, n);
            Ok(c_len(n))
        })())
    })
}

/// `zmq_socket_monitor`: publishes the socket's events (a mask of
/// `ZMQ_EVENT_*`) on an `inproc://` PAIR endpoint in libzmq's two-frame
/// format; a NULL address stops monitoring.
#[no_mangle]
pub extern "C" fn zmq_socket_monitor(s: *mut c_void, addr: *const c_char, events: c_int) -> c_int {
    api!(-1, {
        ret((|| {
            let l = locked(s)?;
            match ffi::str_arg(addr) {
                None => l.socket().stop_monitor()?,
                Some(ep) => l.socket().monitor(ep?, events as u32)?,
            }
            Ok(0)
        })())
    })
}

/// Locks the distinct sockets among `handles` (one may be given twice, as
/// `zmq_proxy(s, s, NULL)` may), returning for each position the index of
/// its lock.
fn lock_distinct<'a>(handles: &[*mut c_void]) -> Result<(Vec<Locked<'a>>, Vec<usize>)> {
    let mut locks: Vec<Locked<'a>> = Vec::new();
    let mut seen: Vec<*mut c_void> = Vec::new();
    let mut index = Vec::with_capacity(handles.len());
    for &h in handles {
        match seen.iter().position(|&p| p == h) {
            Some(i) => index.push(i),
            None => {
                locks.push(locked(h)?);
                seen.push(h);
                index.push(locks.len() - 1);
            }
        }
    }
    Ok((locks, index))
}

fn run_proxy(frontend: *mut c_void, backend: *mut c_void, capture: *mut c_void, control: *mut c_void) -> Result<c_int> {
    if frontend.is_null() || backend.is_null() {
        return Err(Error::EFAULT);
    }
    let mut handles = vec![frontend, backend];
    if !capture.is_null() {
        handles.push(capture);
    }
    if !control.is_null() {
        handles.push(control);
    }
    let (locks, index) = lock_distinct(&handles)?;
    let sock = |i: usize| locks[index[i]].socket();
    let capture_s = (!capture.is_null()).then(|| sock(2));
    let control_s = (!control.is_null()).then(|| sock(if capture.is_null() { 2 } else { 3 }));
    ferrozmq::proxy_steerable(sock(0), sock(1), capture_s, control_s)?;
    Ok(0)
}

/// `zmq_proxy`: forwards between frontend and backend (and copies to
/// capture) until the context terminates; returns -1 with ETERM then.
#[no_mangle]
pub extern "C" fn zmq_proxy(frontend: *mut c_void, backend: *mut c_void, capture: *mut c_void) -> c_int {
    api!(-1, ret(run_proxy(frontend, backend, capture, std::ptr::null_mut())))
}

/// `zmq_proxy_steerable`: `zmq_proxy` under a control socket (PAUSE,
/// RESUME, TERMINATE, STATISTICS); returns 0 on TERMINATE.
#[no_mangle]
pub extern "C" fn zmq_proxy_steerable(
    frontend: *mut c_void,
    backend: *mut c_void,
    capture: *mut c_void,
    control: *mut c_void,
) -> c_int {
    api!(-1, ret(run_proxy(frontend, backend, capture, control)))
}

/// `zmq_device` (deprecated): `zmq_proxy(frontend, backend, NULL)`; the
/// device type is ignored, as in libzmq.
#[no_mangle]
pub extern "C" fn zmq_device(_type: c_int, frontend: *mut c_void, backend: *mut c_void) -> c_int {
    api!(-1, ret(run_proxy(frontend, backend, std::ptr::null_mut(), std::ptr::null_mut())))
}
