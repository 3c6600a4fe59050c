//! Every raw-pointer access of the C ABI, and nothing else.
//!
//! The rest of the crate is safe Rust: it asks this module to turn a C
//! caller's pointer into a reference, a slice or a string (after the checks
//! libzmq makes: NULL, handle tags, message validity), to write results back
//! through out-pointers, to set `errno`, and to wrap C callbacks and
//! foreign buffers. Each `unsafe` block says which part of the libzmq API
//! contract makes it sound: the caller promises what libzmq's man pages ask
//! of it (a buffer of `len` bytes, a NUL-terminated string, a `zmq_msg_t`
//! it owns), and we check everything that can be checked.

use crate::handles::Tagged;
use bytes::Bytes;
use ferrozmq::{Error, Msg, Result};
use std::ffi::{c_char, c_int, c_void, CStr};

/// The C `zmq_msg_t`: 64 opaque bytes aligned like a pointer (libzmq's
/// definition; our `Msg` lives inside it by value).
#[repr(C, align(8))]
pub struct ZmqMsgT {
    _bytes: [u8; 64],
}

const _: () = assert!(std::mem::size_of::<Msg>() == 64);
const _: () = assert!(std::mem::align_of::<Msg>() <= 8);
const _: () = assert!(std::mem::size_of::<ZmqMsgT>() == 64);

/// `zmq_pollitem_t` on POSIX.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ZmqPollItem {
    pub socket: *mut c_void,
    pub fd: c_int,
    pub events: i16,
    pub revents: i16,
}

/// `zmq_free_fn`.
pub type FreeFn = Option<unsafe extern "C" fn(data: *mut c_void, hint: *mut c_void)>;
/// `zmq_timer_fn`.
pub type TimerFn = Option<unsafe extern "C" fn(timer_id: c_int, arg: *mut c_void)>;
/// `zmq_thread_fn`.
pub type ThreadFn = Option<unsafe extern "C" fn(arg: *mut c_void)>;

/// Sets the calling thread's C `errno` (C programs and bindings read it
/// directly, not only through `zmq_errno`).
pub fn set_errno(code: c_int) {
    // SAFETY: __errno_location returns the calling thread's errno slot,
    // valid for the thread's whole life.
    unsafe { *libc::__errno_location() = code };
}

/// The calling thread's C `errno`.
pub fn errno() -> c_int {
    // SAFETY: as in `set_errno`.
    unsafe { *libc::__errno_location() }
}

/// A NUL-terminated string argument as UTF-8 (`EINVAL` if it is not UTF-8;
/// `None` for NULL, which callers map to their own error).
pub fn str_arg<'a>(p: *const c_char) -> Option<Result<&'a str>> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the caller passes a NUL-terminated string (libzmq's contract
    // for every `const char *` argument), alive for the call.
    let c = unsafe { CStr::from_ptr(p) };
    Some(c.to_str().map_err(|_| Error::EINVAL))
}

/// A NUL-terminated string argument as bytes.
pub fn cstr_bytes<'a>(p: *const c_char) -> Option<&'a [u8]> {
    if p.is_null() {
        return None;
    }
    // SAFETY: as in `str_arg`.
    Some(unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// `len` bytes at `p`; NULL is allowed only with `len` 0.
pub fn bytes_arg<'a>(p: *const c_void, len: usize) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::EFAULT);
    }
    // SAFETY: the caller passes a buffer of `len` readable bytes, alive for
    // the call (libzmq's contract for `(const void *buf, size_t len)`).
    Ok(unsafe { std::slice::from_raw_parts(p as *const u8, len) })
}

/// `len` writable bytes at `p`; NULL is allowed only with `len` 0.
pub fn bytes_out<'a>(p: *mut c_void, len: usize) -> Result<&'a mut [u8]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(Error::EFAULT);
    }
    // SAFETY: the caller passes a buffer of `len` writable bytes that
    // nothing else uses during the call.
    Ok(unsafe { std::slice::from_raw_parts_mut(p as *mut u8, len) })
}

/// Reads `*p` (an in-out size or int argument).
pub fn read<T: Copy>(p: *const T) -> Result<T> {
    if p.is_null() {
        return Err(Error::EFAULT);
    }
    // SAFETY: non-NULL, and the caller passes a valid, aligned `T`.
    Ok(unsafe { p.read() })
}

/// Writes `*p = v` if `p` is not NULL.
pub fn write<T>(p: *mut T, v: T) {
    if !p.is_null() {
        // SAFETY: non-NULL, and the caller passes a valid, aligned,
        // writable `T`.
        unsafe { p.write(v) };
    }
}

/// A handle the library gave out (`zmq_ctx_new`, `zmq_socket`, ...), after
/// the check libzmq makes with its tags: NULL, another kind of handle, or a
/// closed one give `None` (the caller maps that to `ENOTSOCK`/`EFAULT`).
///
/// A closed handle's memory stays allocated, tagged dead, for a while (see
/// `handles::bury`), so a use after close within that time reads the dead
/// tag instead of freed memory.
pub fn handle<'a, T: Tagged>(p: *mut c_void) -> Option<&'a T> {
    if p.is_null() || (p as usize) % std::mem::align_of::<T>() != 0 {
        return None;
    }
    // SAFETY: a non-NULL, aligned pointer the caller got from us: every
    // handle type starts with its tag (`#[repr(C)]`), so reading the tag
    // only reads memory we allocated for a handle (libzmq's contract: only
    // pointers it returned are passed back). Only a live tag of the right
    // kind lets the rest be used.
    let tag = unsafe { &*(p as *const std::sync::atomic::AtomicU32) };
    if tag.load(std::sync::atomic::Ordering::Acquire) != T::TAG {
        return None;
    }
    // SAFETY: the tag says this is a live `T` that we allocated with
    // `Box::into_raw` (see `into_handle`); it stays allocated at least
    // until it is buried and evicted, long after any call in progress.
    Some(unsafe { &*(p as *const T) })
}

/// Gives a handle to C: the pointer is the boxed value's address.
pub fn into_handle<T>(value: Box<T>) -> *mut c_void {
    Box::into_raw(value) as *mut c_void
}

/// Frees a handle given out by [`into_handle`], once nothing can use it:
/// `handles::bury` calls this only for the oldest dead handles.
pub fn free_handle<T>(p: usize) {
    // SAFETY: `p` came from `into_handle::<T>` and is freed exactly once,
    // by the graveyard, long after its tag was set dead.
    drop(unsafe { Box::from_raw(p as *mut T) });
}

/// A value boxed by [`into_handle`] that has no tag (atomic counters,
/// stopwatches, threads: libzmq checks nothing for them either); `None` for
/// NULL.
pub fn boxed<'a, T>(p: *mut c_void) -> Option<&'a T> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the caller passes a pointer we returned from `into_handle::<T>`
    // and has not freed (the API contract of these objects).
    Some(unsafe { &*(p as *const T) })
}

/// Takes back a value boxed by [`into_handle`] (to free or join it).
pub fn take_box<T>(p: *mut c_void) -> Box<T> {
    // SAFETY: as in `boxed`; the caller's destroy call ends its use.
    unsafe { Box::from_raw(p as *mut T) }
}

/// The live `Msg` in a caller's `zmq_msg_t`, or `EFAULT` if `p` is NULL,
/// misaligned, or does not hold one (never initialised, or closed).
pub fn msg<'a>(p: *mut ZmqMsgT) -> Result<&'a mut Msg> {
    if p.is_null() || (p as usize) % 8 != 0 {
        return Err(Error::EFAULT);
    }
    // SAFETY: the caller passes a `zmq_msg_t` it owns (64 bytes, aligned),
    // not in use by another thread (libzmq's contract for messages). Its
    // words are read as plain integers first, which any bit pattern is.
    let raw = unsafe { &*(p as *const [u64; 8]) };
    if !Msg::raw_looks_live(raw) {
        return Err(Error::EFAULT);
    }
    // SAFETY: the check above says one of our constructors wrote a `Msg`
    // here and it was not closed since (closing zeroes it).
    Ok(unsafe { &mut *(p as *mut Msg) })
}

/// Writes a new `Msg` into a caller's `zmq_msg_t` without reading what was
/// there (`zmq_msg_init*`: the memory is uninitialised, as libzmq allows).
pub fn msg_init(p: *mut ZmqMsgT, m: Msg) -> Result<()> {
    if p.is_null() || (p as usize) % 8 != 0 {
        return Err(Error::EFAULT);
    }
    // SAFETY: the caller passes 64 writable, aligned bytes it owns; what was
    // there is overwritten without being dropped (libzmq's init does the
    // same; a live message overwritten this way leaks, as in libzmq).
    unsafe { (p as *mut Msg).write(m) };
    Ok(())
}

/// Takes the `Msg` out of a caller's `zmq_msg_t`, leaving an empty one
/// (what `zmq_msg_send` leaves behind on success).
pub fn msg_take(p: *mut ZmqMsgT) -> Result<Msg> {
    let m = msg(p)?;
    Ok(std::mem::take(m))
}

/// Drops the `Msg` in a caller's `zmq_msg_t` and zeroes it, so that a
/// second close (or any use) fails with `EFAULT`, as in libzmq.
pub fn msg_close(p: *mut ZmqMsgT) -> Result<()> {
    let m = msg(p)?;
    let taken = std::mem::take(m);
    // SAFETY: `p` holds the empty `Msg` just left by `take` (nothing to
    // drop); overwriting it with zeroes marks the slot closed.
    unsafe { (p as *mut [u64; 8]).write([0; 8]) };
    drop(taken);
    Ok(())
}

/// A caller's buffer handed over without a copy (`zmq_msg_init_data`):
/// `ffn(data, hint)` is called exactly once, when the last reference goes,
/// on whichever thread drops it; with no `ffn` the buffer is never freed
/// (libzmq's rule for constant data).
struct ForeignBuf {
    data: *mut c_void,
    len: usize,
    ffn: FreeFn,
    hint: *mut c_void,
}

// SAFETY: libzmq's contract for zmq_msg_init_data: the buffer belongs to the
// message until the free function is called, and that function may be
// called from any thread (libzmq calls it from its I/O threads).
unsafe impl Send for ForeignBuf {}

impl AsRef<[u8]> for ForeignBuf {
    fn as_ref(&self) -> &[u8] {
        if self.len == 0 || self.data.is_null() {
            return &[];
        }
        // SAFETY: the caller gave `len` readable bytes at `data`, alive until
        // `ffn` is called from our `drop`.
        unsafe { std::slice::from_raw_parts(self.data as *const u8, self.len) }
    }
}

impl Drop for ForeignBuf {
    fn drop(&mut self) {
        if let Some(f) = self.ffn {
            // SAFETY: the free function the caller gave for this buffer,
            // called once with the pointer and hint it gave. A panic cannot
            // come out of a C function; one that calls back into the library
            // finds no lock of ours held here (payloads are dropped outside
            // the socket and pipe locks).
            unsafe { f(self.data, self.hint) };
        }
    }
}

/// The payload of `zmq_msg_init_data`.
pub fn foreign_bytes(data: *mut c_void, len: usize, ffn: FreeFn, hint: *mut c_void) -> Bytes {
    Bytes::from_owner(ForeignBuf { data, len, ffn, hint })
}

/// The payload of `zmq_send_const`: the caller promises the buffer stays
/// valid and unchanged for the life of the program.
pub fn const_bytes(data: *const c_void, len: usize) -> Result<Bytes> {
    if len == 0 {
        return Ok(Bytes::new());
    }
    if data.is_null() {
        return Err(Error::EFAULT);
    }
    // SAFETY: zmq_send_const's contract: the data is constant and outlives
    // every use the library makes of it.
    let s: &'static [u8] = unsafe { std::slice::from_raw_parts(data as *const u8, len) };
    Ok(Bytes::from_static(s))
}

/// A `void *` the C caller hands to a callback of its own on another thread
/// (`zmq_threadstart`'s argument, a timer's argument).
#[derive(Clone, Copy)]
pub struct CallerPtr(pub *mut c_void);

// SAFETY: the pointer is only passed back to the caller's own function, which
// libzmq's API lets run on the thread the library chooses.
unsafe impl Send for CallerPtr {}

/// Runs a caller's thread function (`zmq_threadstart`).
pub fn call_thread_fn(f: ThreadFn, arg: CallerPtr) {
    if let Some(f) = f {
        // SAFETY: the caller's function with the caller's argument, as
        // zmq_threadstart promises to run it.
        unsafe { f(arg.0) };
    }
}

/// Runs a caller's timer handler (`zmq_timers_execute`).
pub fn call_timer_fn(f: TimerFn, id: c_int, arg: CallerPtr) {
    if let Some(f) = f {
        // SAFETY: the handler and argument given to zmq_timers_add, called
        // from the thread that called zmq_timers_execute.
        unsafe { f(id, arg.0) };
    }
}

/// A caller's array of `n` plain C structs (poll items, iovecs, poller
/// events); NULL only with `n` 0.
pub fn array<'a, T: Copy>(p: *mut T, n: usize) -> Result<&'a mut [T]> {
    if n == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(Error::EFAULT);
    }
    // SAFETY: the caller passes `n` elements it owns, not used elsewhere
    // during the call (zmq_poll's, zmq_sendiov's, zmq_poller_wait_all's
    // contract); `T` is a plain C struct, valid for any bits it holds.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, n) })
}

/// The caller's array of poll items.
pub fn poll_items<'a>(p: *mut ZmqPollItem, n: c_int) -> Result<&'a mut [ZmqPollItem]> {
    array(p, n.max(0) as usize)
}

/// The caller's array of `count` iovecs (`zmq_sendiov`).
pub fn iovecs<'a>(p: *mut libc::iovec, count: usize) -> Result<&'a mut [libc::iovec]> {
    array(p, count)
}

/// Runs `f` with the thread's signal mask set to `*mask` (`zmq_ppoll`);
/// NULL leaves the mask alone.
pub fn with_sigmask<R>(mask: *const libc::sigset_t, f: impl FnOnce() -> R) -> R {
    if mask.is_null() {
        return f();
    }
    let mut old = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `mask` is the caller's valid sigset (zmq_ppoll's contract);
    // `old` receives the current mask, restored below.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, mask, old.as_mut_ptr()) };
    let r = f();
    if rc == 0 {
        // SAFETY: `old` was filled by the successful call above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut()) };
    }
    r
}

/// A buffer the caller frees with `free()` (what `zmq_recviov` returns
/// each frame in, as libzmq does).
pub fn malloc_copy(data: &[u8]) -> *mut c_void {
    // SAFETY: plain allocation; at least one byte so that an empty frame
    // still gets a pointer the caller can free.
    let p = unsafe { libc::malloc(data.len().max(1)) };
    if !p.is_null() {
        // SAFETY: `p` has room for `data.len()` bytes and does not overlap it.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p as *mut u8, data.len()) };
    }
    p
}

/// `strerror` of the C library, for errors that are not ZeroMQ's own.
pub fn os_strerror(code: c_int) -> *const c_char {
    // SAFETY: strerror returns a pointer to a static or thread-local string
    // (what libzmq's zmq_strerror returns too).
    unsafe { libc::strerror(code) }
}

/// Copies `s` and a NUL into a caller's `char` buffer of `cap` bytes.
pub fn write_cstr(dest: *mut c_char, cap: usize, s: &[u8]) -> Result<()> {
    let out = bytes_out(dest as *mut c_void, cap)?;
    if out.len() < s.len() + 1 {
        return Err(Error::EINVAL);
    }
    out[..s.len()].copy_from_slice(s);
    out[s.len()] = 0;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_words(m: &Msg) -> [u64; 8] {
        // SAFETY: a live 64-byte Msg read as words, for a layout test.
        unsafe { *(m as *const Msg as *const [u64; 8]) }
    }

    #[test]
    fn live_messages_pass_the_check_and_zeroes_fail() {
        for m in [Msg::new(), Msg::from(vec![1u8; 100]), Msg::with_size(1000), Msg::from("x")] {
            assert!(Msg::raw_looks_live(&raw_words(&m)));
        }
        assert!(!Msg::raw_looks_live(&[0u64; 8]));
    }
}
