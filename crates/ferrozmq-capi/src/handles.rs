//! The objects behind the `void *` handles of the C API, and how a handle
//! dies.
//!
//! Every handle starts with a tag that names its kind, as libzmq's objects
//! do (`check_tag`): a NULL pointer, a context passed where a socket belongs,
//! or a closed socket is refused with `ENOTSOCK`/`EFAULT` instead of being
//! used. A closed handle is not freed at once: it is tagged dead and kept in
//! a graveyard of the most recent [`GRAVEYARD_SIZE`] dead handles, so that a
//! use after close (a double `zmq_close`, a late `zmq_send` from another
//! thread) reads a dead tag rather than freed memory. libzmq frees at once
//! and such a program may crash there; here it gets an error.
//!
//! Besides `ffi`, this is the crate's one other module with `unsafe` code:
//! the socket slot's lock (see [`SocketSlot`]).

use crate::ffi;
use ferrozmq::{Context, Socket};
use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

/// A kind of handle, recognised by the first word of its memory.
pub(crate) trait Tagged {
    /// The tag of a live handle of this kind.
    const TAG: u32;
    /// The tag word (the first field).
    fn tag_word(&self) -> &AtomicU32;
}

/// The tag every handle gets when it is closed.
pub(crate) const DEAD_TAG: u32 = 0xDEAD_BEEF;

/// How many closed handles stay allocated (tagged dead) before the oldest is
/// freed: each costs one small allocation (the socket or context itself is
/// released at close), so a program that opens and closes sockets in a loop
/// keeps at most this many around.
pub(crate) const GRAVEYARD_SIZE: usize = 4096;

/// Locks a mutex whatever a panicking holder left behind (every API call
/// runs under `catch_unwind`, so a poisoned lock only means a bug of ours
/// was caught; the data is still consistent enough to go on or close).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A `zmq_ctx_new` context. The ferrozmq `Context` is made at the first
/// `zmq_socket`, so that `ZMQ_IO_THREADS`, `ZMQ_MAX_SOCKETS` and
/// `ZMQ_BLOCKY` can be set before it starts, as libzmq allows.
#[repr(C)]
pub(crate) struct CtxHandle {
    pub tag: AtomicU32,
    pub state: Mutex<CtxState>,
}

impl Tagged for CtxHandle {
    const TAG: u32 = 0xABAD_CAFE;
    fn tag_word(&self) -> &AtomicU32 {
        &self.tag
    }
}

/// A context's options and, once started, the context.
pub(crate) struct CtxState {
    pub ctx: Option<Context>,
    pub io_threads: i32,
    pub max_sockets: i32,
    pub ipv6: bool,
    pub blocky: bool,
    pub max_msgsz: i32,
    pub thread_priority: i32,
    pub thread_sched_policy: i32,
    pub thread_name_prefix: String,
    pub zero_copy_recv: i32,
    /// `zmq_ctx_shutdown` or `zmq_ctx_term` was called.
    pub terminated: bool,
}

impl Default for CtxState {
    fn default() -> CtxState {
        CtxState {
            ctx: None,
            io_threads: 1,
            max_sockets: 1023,
            ipv6: false,
            blocky: true,
            max_msgsz: i32::MAX,
            thread_priority: -1,
            thread_sched_policy: -1,
            thread_name_prefix: String::new(),
            zero_copy_recv: 1,
            terminated: false,
        }
    }
}

/// A `zmq_socket` socket. Its slot serialises calls on one socket: a
/// libzmq socket must not be used by two threads at once, and a program that
/// does so anyway gets its calls run one after the other here instead of
/// corrupting the socket. `None` once closed.
#[repr(C)]
pub(crate) struct SocketHandle {
    pub tag: AtomicU32,
    pub socket: SocketSlot,
}

/// The lock of a socket handle: a flag taken with one atomic exchange and
/// released with a plain store. `std::sync::Mutex` also releases with an
/// atomic exchange (to find sleepers), and that second locked instruction
/// per call was measurable on every `zmq_msg_send`/`zmq_msg_recv` (each
/// message pays one lock on each side). Contention only comes from programs
/// that share a socket between threads, which libzmq forbids: the waiter
/// spins briefly, then yields, then sleeps in short naps.
pub(crate) struct SocketSlot {
    busy: AtomicBool,
    socket: UnsafeCell<Option<Socket>>,
}

// SAFETY: the socket inside is only reached through a `SlotGuard`, and a
// guard exists only while its thread holds `busy` (acquired with an Acquire
// exchange from false to true, released with a Release store): at most one
// thread touches the socket at a time, and each sees the previous holder's
// writes. `Socket` is `Send`, so handing it from thread to thread is fine.
unsafe impl Sync for SocketSlot {}

impl SocketSlot {
    pub(crate) fn new(socket: Socket) -> SocketSlot {
        SocketSlot { busy: AtomicBool::new(false), socket: UnsafeCell::new(Some(socket)) }
    }

    /// Takes the slot, waiting for another thread's call to end.
    pub(crate) fn lock(&self) -> SlotGuard<'_> {
        let mut tries = 0u32;
        while self.busy.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            tries = tries.saturating_add(1);
            if tries < 64 {
                std::hint::spin_loop();
            } else if tries < 128 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(std::time::Duration::from_micros(100));
            }
        }
        SlotGuard { slot: self }
    }
}

/// Access to a socket slot, released on drop (also when unwinding).
pub(crate) struct SlotGuard<'a> {
    slot: &'a SocketSlot,
}

impl std::ops::Deref for SlotGuard<'_> {
    type Target = Option<Socket>;
    fn deref(&self) -> &Option<Socket> {
        // SAFETY: this guard holds the slot (see `SocketSlot`'s Sync).
        unsafe { &*self.slot.socket.get() }
    }
}

impl std::ops::DerefMut for SlotGuard<'_> {
    fn deref_mut(&mut self) -> &mut Option<Socket> {
        // SAFETY: this guard holds the slot, and `&mut self` makes this the
        // only reference made through it.
        unsafe { &mut *self.slot.socket.get() }
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        self.slot.busy.store(false, Ordering::Release);
    }
}

impl Tagged for SocketHandle {
    const TAG: u32 = 0xBADD_ECAF;
    fn tag_word(&self) -> &AtomicU32 {
        &self.tag
    }
}

/// `zmq_timers_new` timers.
#[repr(C)]
pub(crate) struct TimersHandle {
    pub tag: AtomicU32,
    pub timers: Mutex<crate::timers::Timers>,
}

impl Tagged for TimersHandle {
    const TAG: u32 = 0x7133_7133;
    fn tag_word(&self) -> &AtomicU32 {
        &self.tag
    }
}

/// `zmq_poller_new` (draft) poller.
#[repr(C)]
pub(crate) struct PollerHandle {
    pub tag: AtomicU32,
    pub poller: Mutex<crate::poll::Poller>,
}

impl Tagged for PollerHandle {
    const TAG: u32 = 0xCAFE_D00D;
    fn tag_word(&self) -> &AtomicU32 {
        &self.tag
    }
}

struct Grave {
    addr: usize,
    free: fn(usize),
}

static GRAVEYARD: Mutex<VecDeque<Grave>> = Mutex::new(VecDeque::new());

/// Marks a handle dead and keeps its memory for a while (see the module
/// docs). Call once per handle, after taking out what it held.
pub(crate) fn bury<T: Tagged>(h: &T) {
    h.tag_word().store(DEAD_TAG, Ordering::Release);
    let addr = h as *const T as usize;
    let evicted = {
        let mut g = lock(&GRAVEYARD);
        g.push_back(Grave { addr, free: ffi::free_handle::<T> });
        if g.len() > GRAVEYARD_SIZE {
            g.pop_front()
        } else {
            None
        }
    };
    if let Some(old) = evicted {
        (old.free)(old.addr);
    }
}
