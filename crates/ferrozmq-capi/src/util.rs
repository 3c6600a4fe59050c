//! Errors, version, capabilities, Z85 and CURVE keys, atomic counters and
//! libzmq's undocumented helpers (stopwatch, sleep, threads) that its perf
//! tools and tests call.

use crate::{api, fail_null, ffi, ret};
use ferrozmq::Error;
use std::ffi::{c_char, c_int, c_ulong, c_void};
use std::sync::atomic::{AtomicI32, Ordering};

/// `zmq_errno`: the calling thread's `errno`.
#[no_mangle]
pub extern "C" fn zmq_errno() -> c_int {
    ffi::errno()
}

/// `zmq_strerror`: libzmq's text for ZeroMQ's own errors, the C library's
/// for the rest.
#[no_mangle]
pub extern "C" fn zmq_strerror(errnum: c_int) -> *const c_char {
    api!(c"Unknown error".as_ptr(), {
        let own: Option<&'static std::ffi::CStr> = match Error::from_raw(errnum) {
            Error::EFSM if errnum == Error::EFSM.to_raw() => {
                Some(c"Operation cannot be accomplished in current state")
            }
            Error::ENOCOMPATPROTO if errnum == Error::ENOCOMPATPROTO.to_raw() => {
                Some(c"The protocol is not compatible with the socket type")
            }
            Error::ETERM if errnum == Error::ETERM.to_raw() => Some(c"Context was terminated"),
            Error::EMTHREAD if errnum == Error::EMTHREAD.to_raw() => Some(c"No thread available"),
            // libzmq's own text for this one, on every platform.
            Error::EHOSTUNREACH if errnum == libc::EHOSTUNREACH => Some(c"Host unreachable"),
            _ => None,
        };
        match own {
            Some(s) => s.as_ptr(),
            None => ffi::os_strerror(errnum),
        }
    })
}

/// `zmq_version`: the libzmq version whose API and behaviour this library
/// provides.
#[no_mangle]
pub extern "C" fn zmq_version(major: *mut c_int, minor: *mut c_int, patch: *mut c_int) {
    api!((), {
        let (a, b, c) = ferrozmq::version();
        ffi::write(major, a);
        ffi::write(minor, b);
        ffi::write(patch, c);
    })
}

/// `zmq_has`: 1 for what this build has (ipc, curve, and "draft" when the
/// DRAFT functions are exported), 0 otherwise (pgm, tipc, norm, gssapi,
/// vmci, WS, WSS are not implemented yet).
///
/// With "draft" a program may also expect the draft socket types; until
/// they exist (CLIENT/SERVER, RADIO/DISH, ...) `zmq_socket` refuses them
/// with EINVAL (docs/capi.md).
#[no_mangle]
pub extern "C" fn zmq_has(capability: *const c_char) -> c_int {
    api!(0, {
        let Some(cap) = ffi::cstr_bytes(capability) else { return 0 };
        match cap {
            b"ipc" | b"curve" => 1,
            b"draft" => cfg!(feature = "draft") as c_int,
            _ => 0,
        }
    })
}

/// `zmq_z85_encode`: `dest` gets `size * 5 / 4 + 1` characters; `size` must
/// be a multiple of 4 (else NULL, EINVAL).
#[no_mangle]
pub extern "C" fn zmq_z85_encode(dest: *mut c_char, data: *const u8, size: usize) -> *mut c_char {
    api!(std::ptr::null_mut(), {
        let r = (|| {
            let input = ffi::bytes_arg(data as *const c_void, size)?;
            let text = ferrozmq::z85::encode(input).map_err(|_| Error::EINVAL)?;
            ffi::write_cstr(dest, text.len() + 1, text.as_bytes())?;
            Ok(dest)
        })();
        r.unwrap_or_else(fail_null)
    })
}

/// `zmq_z85_decode`: `dest` gets `strlen(string) * 4 / 5` bytes; the length
/// must be a multiple of 5 (else NULL, EINVAL).
#[no_mangle]
pub extern "C" fn zmq_z85_decode(dest: *mut u8, string: *const c_char) -> *mut u8 {
    api!(std::ptr::null_mut(), {
        let r = (|| {
            let text = ffi::str_arg(string).ok_or(Error::EINVAL)??;
            // libzmq: at least one 5-character group.
            if text.len() < 5 {
                return Err(Error::EINVAL);
            }
            let bytes = ferrozmq::z85::decode(text).map_err(|_| Error::EINVAL)?;
            ffi::bytes_out(dest as *mut c_void, bytes.len())?.copy_from_slice(&bytes);
            Ok(dest)
        })();
        r.unwrap_or_else(fail_null)
    })
}

/// `zmq_curve_keypair`: a new key pair as two 41-byte Z85 strings.
#[no_mangle]
pub extern "C" fn zmq_curve_keypair(z85_public_key: *mut c_char, z85_secret_key: *mut c_char) -> c_int {
    api!(-1, {
        let pair = ferrozmq::curve::KeyPair::generate();
        let (public, secret) = pair.to_z85();
        ret((|| {
            ffi::write_cstr(z85_public_key, 41, public.as_bytes())?;
            ffi::write_cstr(z85_secret_key, 41, secret.as_bytes())?;
            Ok(0)
        })())
    })
}

/// `zmq_curve_public`: the Z85 public key of a Z85 secret key.
#[no_mangle]
pub extern "C" fn zmq_curve_public(z85_public_key: *mut c_char, z85_secret_key: *const c_char) -> c_int {
    api!(-1, {
        ret((|| {
            let secret = ffi::cstr_bytes(z85_secret_key).ok_or(Error::EINVAL)?;
            if secret.len() != 40 {
                return Err(Error::EINVAL);
            }
            let key = ferrozmq::curve::parse_key(secret).map_err(|_| Error::EINVAL)?;
            let public = ferrozmq::curve::public_from_secret(&key);
            let text = ferrozmq::z85::encode(&public).map_err(|_| Error::EINVAL)?;
            ffi::write_cstr(z85_public_key, 41, text.as_bytes())?;
            Ok(0)
        })())
    })
}

/// `zmq_atomic_counter_new`: a counter starting at 0.
#[no_mangle]
pub extern "C" fn zmq_atomic_counter_new() -> *mut c_void {
    api!(std::ptr::null_mut(), ffi::into_handle(Box::new(AtomicI32::new(0))))
}

fn counter<'a>(p: *mut c_void) -> Option<&'a AtomicI32> {
    ffi::boxed(p)
}

/// `zmq_atomic_counter_set`.
#[no_mangle]
pub extern "C" fn zmq_atomic_counter_set(counter_p: *mut c_void, value: c_int) {
    api!((), {
        if let Some(c) = counter(counter_p) {
            c.store(value, Ordering::SeqCst);
        }
    })
}

/// `zmq_atomic_counter_inc`: returns the value before the increment.
#[no_mangle]
pub extern "C" fn zmq_atomic_counter_inc(counter_p: *mut c_void) -> c_int {
    api!(-1, counter(counter_p).map(|c| c.fetch_add(1, Ordering::SeqCst)).unwrap_or(-1))
}

/// `zmq_atomic_counter_dec`: 1 if the counter is still non-zero after the
/// decrement, 0 if it reached zero.
#[no_mangle]
pub extern "C" fn zmq_atomic_counter_dec(counter_p: *mut c_void) -> c_int {
    api!(-1, counter(counter_p).map(|c| (c.fetch_sub(1, Ordering::SeqCst) - 1 != 0) as c_int).unwrap_or(-1))
}

/// `zmq_atomic_counter_value`.
#[no_mangle]
pub extern "C" fn zmq_atomic_counter_value(counter_p: *mut c_void) -> c_int {
    api!(-1, counter(counter_p).map(|c| c.load(Ordering::SeqCst)).unwrap_or(-1))
}

/// `zmq_atomic_counter_destroy`: frees the counter and sets `*counter_p` to NULL.
#[no_mangle]
pub extern "C" fn zmq_atomic_counter_destroy(counter_p: *mut *mut c_void) {
    api!((), {
        if let Ok(p) = ffi::read(counter_p) {
            if !p.is_null() {
                ffi::free_handle::<AtomicI32>(p as usize);
            }
            ffi::write(counter_p, std::ptr::null_mut());
        }
    })
}

/// `zmq_stopwatch_start`: a stopwatch, read with `zmq_stopwatch_intermediate`
/// and freed by `zmq_stopwatch_stop`.
#[no_mangle]
pub extern "C" fn zmq_stopwatch_start() -> *mut c_void {
    api!(std::ptr::null_mut(), ffi::into_handle(Box::new(std::time::Instant::now())))
}

fn micros_since(p: *mut c_void) -> c_ulong {
    ffi::boxed::<std::time::Instant>(p).map(|t| t.elapsed().as_micros().min(c_ulong::MAX as u128) as c_ulong).unwrap_or(0)
}

/// `zmq_stopwatch_intermediate`: microseconds since the start.
#[no_mangle]
pub extern "C" fn zmq_stopwatch_intermediate(watch: *mut c_void) -> c_ulong {
    api!(0, micros_since(watch))
}

/// `zmq_stopwatch_stop`: microseconds since the start; frees the stopwatch.
#[no_mangle]
pub extern "C" fn zmq_stopwatch_stop(watch: *mut c_void) -> c_ulong {
    api!(0, {
        let us = micros_since(watch);
        if !watch.is_null() {
            ffi::free_handle::<std::time::Instant>(watch as usize);
        }
        us
    })
}

/// `zmq_sleep`: sleeps whole seconds.
#[no_mangle]
pub extern "C" fn zmq_sleep(seconds: c_int) {
    api!((), std::thread::sleep(std::time::Duration::from_secs(seconds.max(0) as u64)))
}

/// `zmq_threadstart`: runs `func(arg)` on a new thread; join and free it
/// with `zmq_threadclose`.
#[no_mangle]
pub extern "C" fn zmq_threadstart(func: ffi::ThreadFn, arg: *mut c_void) -> *mut c_void {
    api!(std::ptr::null_mut(), {
        let arg = ffi::CallerPtr(arg);
        match std::thread::Builder::new().name("zmq-thread".into()).spawn(move || {
            let arg = arg;
            ffi::call_thread_fn(func, arg)
        }) {
            Ok(h) => ffi::into_handle(Box::new(h)),
            Err(_) => fail_null(Error::EAGAIN),
        }
    })
}

/// `zmq_threadclose`: waits for a `zmq_threadstart` thread and frees it.
#[no_mangle]
pub extern "C" fn zmq_threadclose(thread: *mut c_void) {
    api!((), {
        if !thread.is_null() {
            let h = ffi::take_box::<std::thread::JoinHandle<()>>(thread);
            let _ = h.join();
        }
    })
}
