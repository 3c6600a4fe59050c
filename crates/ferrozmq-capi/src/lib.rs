//! # ferrozmq-capi — libzmq's C API on ferrozmq
//!
//! This crate builds `libzmq.so.5` (and `libzmq.a`) with libzmq 4.3's C API
//! and ABI, so that existing C and C++ programs and every language binding
//! that reaches ZeroMQ through libzmq (pyzmq, czmq, cppzmq, jzmq, ZMQ::FFI,
//! ffi-rzmq, php-zmq, the `zmq` crate...) run on ferrozmq unchanged. Its
//! header is `include/zmq.h`.
//!
//! It is a thin translation: each function checks its arguments the way
//! libzmq does, calls the `ferrozmq` crate, and reports failure as libzmq
//! does (return -1 or NULL, with the C `errno` set to libzmq's value).
//! Nothing panics across the boundary: every function body runs under
//! `catch_unwind`, and a caught panic (a bug of ours) becomes an error.
//!
//! Layout: `ffi` holds every raw-pointer access; `handles` the objects
//! behind `void *` handles, their tags and the socket lock (these two are
//! the only modules with `unsafe` code); one module
//! per area of the API (`context`, `socket`, `message`, `poll`, `timers`,
//! `util`, and `draft` for the DRAFT functions).

#![warn(missing_docs)]
// The exported functions take raw pointers by the nature of a C API; they
// never dereference them themselves but hand them to `ffi`, which checks
// what can be checked (see its docs).
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod context;
#[cfg(feature = "draft")]
mod draft;
mod ffi;
mod handles;
mod message;
mod poll;
mod socket;
mod timers;
mod util;

use ferrozmq::Error;
use std::ffi::c_int;

/// Runs an API function's body, turning a panic (a bug of ours) into the
/// function's failure value with `errno` EFAULT, so that no unwinding ever
/// crosses into C.
macro_rules! api {
    ($fail:expr, $body:expr) => {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(_) => {
                $crate::ffi::set_errno(libc::EFAULT);
                $fail
            }
        }
    };
}
pub(crate) use api;

/// The C convention for an `int`-returning call: the value, or -1 with
/// `errno` set.
pub(crate) fn ret(r: ferrozmq::Result<c_int>) -> c_int {
    match r {
        Ok(v) => v,
        Err(e) => fail(e),
    }
}

/// Sets `errno` to `e` and returns -1.
pub(crate) fn fail(e: Error) -> c_int {
    ffi::set_errno(e.to_raw());
    -1
}

/// Sets `errno` to `e` and returns NULL.
pub(crate) fn fail_null<T>(e: Error) -> *mut T {
    ffi::set_errno(e.to_raw());
    std::ptr::null_mut()
}

/// Clamps a size to the `int` a C call returns.
pub(crate) fn c_len(n: usize) -> c_int {
    n.min(c_int::MAX as usize) as c_int
}
