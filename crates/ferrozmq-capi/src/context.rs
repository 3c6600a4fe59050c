//! Contexts: `zmq_ctx_*` and the deprecated `zmq_init`/`zmq_term`.

use crate::handles::{bury, lock, CtxHandle, CtxState, Tagged};
use crate::{api, fail, fail_null, ffi, ret};
use ferrozmq::{Context, Error, Result};
use std::ffi::{c_int, c_void};
use std::sync::atomic::AtomicU32;
use std::sync::Mutex;

/// Context option numbers (libzmq's zmq.h).
pub(crate) mod opt {
    pub const IO_THREADS: i32 = 1;
    pub const MAX_SOCKETS: i32 = 2;
    pub const SOCKET_LIMIT: i32 = 3;
    pub const THREAD_PRIORITY: i32 = 3;
    pub const THREAD_SCHED_POLICY: i32 = 4;
    pub const MAX_MSGSZ: i32 = 5;
    pub const MSG_T_SIZE: i32 = 6;
    pub const THREAD_AFFINITY_CPU_ADD: i32 = 7;
    pub const THREAD_AFFINITY_CPU_REMOVE: i32 = 8;
    pub const THREAD_NAME_PREFIX: i32 = 9;
    pub const ZERO_COPY_RECV: i32 = 10;
    pub const IPV6: i32 = 42;
    pub const BLOCKY: i32 = 70;
}

/// libzmq's `ZMQ_SOCKET_LIMIT` with epoll (the largest `ZMQ_MAX_SOCKETS`).
const SOCKET_LIMIT: i32 = 65535;

/// The live context behind a handle.
pub(crate) fn ctx_handle<'a>(p: *mut c_void) -> Result<&'a CtxHandle> {
    ffi::handle::<CtxHandle>(p).ok_or(Error::EFAULT)
}

impl CtxState {
    /// The running context, started now if this is the first socket.
    pub(crate) fn started(&mut self) -> Result<Context> {
        if self.terminated {
            return Err(Error::ETERM);
        }
        if let Some(c) = &self.ctx {
            return Ok(c.clone());
        }
        let c = Context::builder()
            .io_threads(self.io_threads.max(0) as usize)
            .max_sockets(self.max_sockets.max(1) as usize)
            // ZMQ_BLOCKY is applied per socket, when each is made (zmq_socket).
            .blocky(true)
            .build()?;
        self.ctx = Some(c.clone());
        Ok(c)
    }
}

fn new_ctx(io_threads: i32) -> *mut c_void {
    let h = CtxHandle {
        tag: AtomicU32::new(CtxHandle::TAG),
        state: Mutex::new(CtxState { io_threads, ..CtxState::default() }),
    };
    ffi::into_handle(Box::new(h))
}

/// `zmq_ctx_new`: a context with libzmq's defaults (1 I/O thread, 1023
/// sockets). Its threads start with its first socket.
#[no_mangle]
pub extern "C" fn zmq_ctx_new() -> *mut c_void {
    api!(std::ptr::null_mut(), new_ctx(1))
}

/// `zmq_init` (deprecated): a context with `io_threads` I/O threads.
#[no_mangle]
pub extern "C" fn zmq_init(io_threads: c_int) -> *mut c_void {
    api!(std::ptr::null_mut(), {
        if io_threads < 0 {
            return fail_null(Error::EINVAL);
        }
        new_ctx(io_threads)
    })
}

/// `zmq_ctx_term`: makes blocking calls on the context's sockets return
/// ETERM, waits until every socket is closed and every lingering message is
/// delivered (or its linger expired), joins the I/O threads and frees the
/// context.
#[no_mangle]
pub extern "C" fn zmq_ctx_term(context: *mut c_void) -> c_int {
    api!(-1, {
        let h = match ctx_handle(context) {
            Ok(h) => h,
            Err(e) => return fail(e),
        };
        let ctx = {
            let mut st = lock(&h.state);
            st.terminated = true;
            st.ctx.take()
        };
        if let Some(ctx) = ctx {
            if let Err(e) = ctx.term() {
                return fail(e);
            }
        }
        bury(h);
        0
    })
}

/// `zmq_term` (deprecated): `zmq_ctx_term`.
#[no_mangle]
pub extern "C" fn zmq_term(context: *mut c_void) -> c_int {
    zmq_ctx_term(context)
}

/// `zmq_ctx_destroy` (deprecated): `zmq_ctx_term`.
#[no_mangle]
pub extern "C" fn zmq_ctx_destroy(context: *mut c_void) -> c_int {
    zmq_ctx_term(context)
}

/// `zmq_ctx_shutdown`: blocking calls on the context's sockets return
/// ETERM from now on, and no new socket can be made; the context stays
/// until `zmq_ctx_term`.
#[no_mangle]
pub extern "C" fn zmq_ctx_shutdown(context: *mut c_void) -> c_int {
    api!(-1, {
        let h = match ctx_handle(context) {
            Ok(h) => h,
            Err(e) => return fail(e),
        };
        let mut st = lock(&h.state);
        st.terminated = true;
        if let Some(c) = &st.ctx {
            c.shutdown();
        }
        0
    })
}

/// `zmq_ctx_set`: options as libzmq's `ctx_t::set`. `ZMQ_IO_THREADS` and
/// `ZMQ_MAX_SOCKETS` take effect if set before the first socket.
#[no_mangle]
pub extern "C" fn zmq_ctx_set(context: *mut c_void, option: c_int, optval: c_int) -> c_int {
    api!(-1, {
        ret((|| {
            let h = ctx_handle(context)?;
            let mut st = lock(&h.state);
            match option {
                opt::IO_THREADS if optval >= 0 => st.io_threads = optval,
                opt::MAX_SOCKETS if (1..=SOCKET_LIMIT).contains(&optval) => st.max_sockets = optval,
                opt::THREAD_PRIORITY if optval >= 0 => st.thread_priority = optval,
                opt::THREAD_SCHED_POLICY if optval >= 0 => st.thread_sched_policy = optval,
                opt::THREAD_AFFINITY_CPU_ADD | opt::THREAD_AFFINITY_CPU_REMOVE if optval >= 0 => {}
                opt::MAX_MSGSZ if optval >= 0 => st.max_msgsz = optval,
                opt::ZERO_COPY_RECV if optval >= 0 => st.zero_copy_recv = optval,
                opt::IPV6 if optval >= 0 => st.ipv6 = optval != 0,
                opt::BLOCKY if optval >= 0 => st.blocky = optval != 0,
                opt::THREAD_NAME_PREFIX if optval >= 0 => st.thread_name_prefix = optval.to_string(),
                _ => return Err(Error::EINVAL),
            }
            Ok(0)
        })())
    })
}

/// `zmq_ctx_get`.
#[no_mangle]
pub extern "C" fn zmq_ctx_get(context: *mut c_void, option: c_int) -> c_int {
    api!(-1, {
        ret((|| {
            let h = ctx_handle(context)?;
            let st = lock(&h.state);
            Ok(match option {
                opt::IO_THREADS => st.io_threads,
                opt::MAX_SOCKETS => st.max_sockets,
                opt::SOCKET_LIMIT => SOCKET_LIMIT,
                opt::THREAD_SCHED_POLICY => st.thread_sched_policy,
                opt::MAX_MSGSZ => st.max_msgsz,
                opt::MSG_T_SIZE => 64,
                opt::ZERO_COPY_RECV => st.zero_copy_recv,
                opt::IPV6 => st.ipv6 as c_int,
                opt::BLOCKY => st.blocky as c_int,
                opt::THREAD_NAME_PREFIX => st.thread_name_prefix.parse().unwrap_or(0),
                _ => return Err(Error::EINVAL),
            })
        })())
    })
}
