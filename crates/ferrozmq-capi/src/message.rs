//! Messages: `zmq_msg_*`. A `zmq_msg_t` holds a ferrozmq `Msg` by value.

use crate::ffi::{self, FreeFn, ZmqMsgT};
use crate::{api, fail, ret};
use ferrozmq::{Error, Msg};
use std::ffi::{c_char, c_int, c_void};

/// `zmq_msg_get`/`zmq_msg_set` properties.
const MORE: c_int = 1;
const SRCFD: c_int = 2;
const SHARED: c_int = 3;

/// `zmq_msg_init`: an empty message.
#[no_mangle]
pub extern "C" fn zmq_msg_init(msg: *mut ZmqMsgT) -> c_int {
    api!(-1, ret(ffi::msg_init(msg, Msg::new()).map(|_| 0)))
}

/// `zmq_msg_init_size`: a message of `size` bytes (zeroed here; libzmq
/// leaves them uninitialised).
#[no_mangle]
pub extern "C" fn zmq_msg_init_size(msg: *mut ZmqMsgT, size: usize) -> c_int {
    api!(-1, {
        if size > isize::MAX as usize {
            return fail(Error::ENOMEM);
        }
        ret(ffi::msg_init(msg, Msg::with_size(size)).map(|_| 0))
    })
}

/// `zmq_msg_init_data`: a message over the caller's buffer, without a copy;
/// `ffn(data, hint)` is called once when the last reference is released
/// (from whichever thread releases it), or never if `ffn` is NULL.
#[no_mangle]
pub extern "C" fn zmq_msg_init_data(
    msg: *mut ZmqMsgT,
    data: *mut c_void,
    size: usize,
    ffn: FreeFn,
    hint: *mut c_void,
) -> c_int {
    api!(-1, {
        if data.is_null() && size > 0 {
            return fail(Error::EFAULT);
        }
        if data.is_null() {
            // libzmq: NULL data of size 0 is an empty message, never freed.
            return ret(ffi::msg_init(msg, Msg::new()).map(|_| 0));
        }
        let payload = ffi::foreign_bytes(data, size, ffn, hint);
        ret(ffi::msg_init(msg, Msg::from_bytes_shared(payload)).map(|_| 0))
    })
}

/// `zmq_msg_close`: releases the message; using it afterwards is `EFAULT`.
#[no_mangle]
pub extern "C" fn zmq_msg_close(msg: *mut ZmqMsgT) -> c_int {
    api!(-1, ret(ffi::msg_close(msg).map(|_| 0)))
}

/// `zmq_msg_move`: `dest` gets `src`'s content (its own is released) and
/// `src` becomes empty.
#[no_mangle]
pub extern "C" fn zmq_msg_move(dest: *mut ZmqMsgT, src: *mut ZmqMsgT) -> c_int {
    api!(-1, {
        ret((|| {
            if dest == src {
                ffi::msg(src)?;
                return Ok(0);
            }
            let m = ffi::msg_take(src)?;
            let d = ffi::msg(dest)?;
            *d = m;
            Ok(0)
        })())
    })
}

/// `zmq_msg_copy`: `dest` shares `src`'s payload (its own is released).
#[no_mangle]
pub extern "C" fn zmq_msg_copy(dest: *mut ZmqMsgT, src: *mut ZmqMsgT) -> c_int {
    api!(-1, {
        ret((|| {
            if dest == src {
                ffi::msg(src)?;
                return Ok(0);
            }
            let copy = ffi::msg(src)?.share();
            *ffi::msg(dest)? = copy;
            Ok(0)
        })())
    })
}

/// `zmq_msg_data`: the payload, without a copy (NULL for an invalid
/// message).
#[no_mangle]
pub extern "C" fn zmq_msg_data(msg: *mut ZmqMsgT) -> *mut c_void {
    api!(std::ptr::null_mut(), match ffi::msg(msg) {
        Ok(m) => m.as_bytes().as_ptr() as *mut c_void,
        Err(e) => crate::fail_null(e),
    })
}

/// `zmq_msg_size`.
#[no_mangle]
pub extern "C" fn zmq_msg_size(msg: *const ZmqMsgT) -> usize {
    api!(0, ffi::msg(msg as *mut ZmqMsgT).map(|m| m.len()).unwrap_or(0))
}

/// `zmq_msg_more`: 1 if more frames follow this one.
#[no_mangle]
pub extern "C" fn zmq_msg_more(msg: *const ZmqMsgT) -> c_int {
    api!(0, ffi::msg(msg as *mut ZmqMsgT).map(|m| m.get_more() as c_int).unwrap_or(0))
}

/// `zmq_msg_get`: `ZMQ_MORE`, `ZMQ_SHARED`, or `ZMQ_SRCFD` (deprecated;
/// EINVAL: the source fd is not tracked).
#[no_mangle]
pub extern "C" fn zmq_msg_get(msg: *const ZmqMsgT, property: c_int) -> c_int {
    api!(-1, {
        ret((|| {
            let m = ffi::msg(msg as *mut ZmqMsgT)?;
            match property {
                MORE => Ok(m.get_more() as c_int),
                // libzmq reads the fd from a "__fd" property and fails with
                // EINVAL when there is none; no message carries one here.
                SRCFD => Err(Error::EINVAL),
                SHARED => Ok(m.payload_is_shared() as c_int),
                _ => Err(Error::EINVAL),
            }
        })())
    })
}

/// `zmq_msg_set`: no property can be set (EINVAL), as in libzmq.
#[no_mangle]
pub extern "C" fn zmq_msg_set(_msg: *mut ZmqMsgT, _property: c_int, _optval: c_int) -> c_int {
    api!(-1, fail(Error::EINVAL))
}

/// `zmq_msg_gets`: a property of the connection the message came from
/// (`Socket-Type`, `Routing-Id`/`Identity`, `User-Id`, `Peer-Address`, ZAP
/// and `X-*` metadata), valid while the message lives; NULL with EINVAL if
/// there is none.
#[no_mangle]
pub extern "C" fn zmq_msg_gets(msg: *const ZmqMsgT, property: *const c_char) -> *const c_char {
    api!(std::ptr::null(), {
        let r = (|| {
            let m = ffi::msg(msg as *mut ZmqMsgT)?;
            let name = ffi::str_arg(property).ok_or(Error::EINVAL)??;
            m.property_cstr(name).map(|c| c.as_ptr()).ok_or(Error::EINVAL)
        })();
        match r {
            Ok(p) => p,
            Err(e) => crate::fail_null::<c_char>(e) as *const c_char,
        }
    })
}

