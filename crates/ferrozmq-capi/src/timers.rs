//! `zmq_timers_*`: a set of interval timers that the caller drives from its
//! own loop (`zmq_timers_timeout` to know how long to wait,
//! `zmq_timers_execute` to run what is due).

use crate::ffi::{self, CallerPtr, TimerFn};
use crate::handles::{bury, lock, Tagged, TimersHandle};
use crate::{api, fail, ret};
use ferrozmq::{Error, Result};
use std::ffi::{c_int, c_long, c_void};
use std::sync::atomic::AtomicU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Timer {
    id: c_int,
    interval: Duration,
    due: Instant,
    handler: TimerFn,
    arg: CallerPtr,
}

/// The timers of one `zmq_timers_t`.
#[derive(Default)]
pub(crate) struct Timers {
    next_id: c_int,
    timers: Vec<Timer>,
}

impl Timers {
    fn find(&mut self, id: c_int) -> Result<&mut Timer> {
        self.timers.iter_mut().find(|t| t.id == id).ok_or(Error::EINVAL)
    }
}

fn timers<'a>(p: *mut c_void) -> Result<&'a TimersHandle> {
    ffi::handle::<TimersHandle>(p).ok_or(Error::EFAULT)
}

/// `zmq_timers_new`.
#[no_mangle]
pub extern "C" fn zmq_timers_new() -> *mut c_void {
    api!(std::ptr::null_mut(), {
        let h = TimersHandle { tag: AtomicU32::new(TimersHandle::TAG), timers: Mutex::new(Timers::default()) };
        ffi::into_handle(Box::new(h))
    })
}

/// `zmq_timers_destroy`: frees the timers and sets `*timers_p` to NULL.
#[no_mangle]
pub extern "C" fn zmq_timers_destroy(timers_p: *mut *mut c_void) -> c_int {
    api!(-1, {
        ret((|| {
            let p = ffi::read(timers_p)?;
            let h = timers(p)?;
            std::mem::take(&mut *lock(&h.timers));
            bury(h);
            ffi::write(timers_p, std::ptr::null_mut());
            Ok(0)
        })())
    })
}

/// `zmq_timers_add`: a timer calling `handler(id, arg)` every `interval`
/// ms; returns its id.
#[no_mangle]
pub extern "C" fn zmq_timers_add(timers_: *mut c_void, interval: usize, handler: TimerFn, arg: *mut c_void) -> c_int {
    api!(-1, {
        ret((|| {
            if handler.is_none() {
                return Err(Error::EFAULT);
            }
            let h = timers(timers_)?;
            let mut t = lock(&h.timers);
            t.next_id += 1;
            let id = t.next_id;
            let interval = Duration::from_millis(interval as u64);
            t.timers.push(Timer { id, interval, due: Instant::now() + interval, handler, arg: CallerPtr(arg) });
            Ok(id)
        })())
    })
}

/// `zmq_timers_cancel`.
#[no_mangle]
pub extern "C" fn zmq_timers_cancel(timers_: *mut c_void, timer_id: c_int) -> c_int {
    api!(-1, {
        ret((|| {
            let h = timers(timers_)?;
            let mut t = lock(&h.timers);
            let before = t.timers.len();
            t.timers.retain(|x| x.id != timer_id);
            if t.timers.len() == before {
                return Err(Error::EINVAL);
            }
            Ok(0)
        })())
    })
}

/// `zmq_timers_set_interval`: a new interval, counted from now.
#[no_mangle]
pub extern "C" fn zmq_timers_set_interval(timers_: *mut c_void, timer_id: c_int, interval: usize) -> c_int {
    api!(-1, {
        ret((|| {
            let h = timers(timers_)?;
            let mut t = lock(&h.timers);
            let x = t.find(timer_id)?;
            x.interval = Duration::from_millis(interval as u64);
            x.due = Instant::now() + x.interval;
            Ok(0)
        })())
    })
}

/// `zmq_timers_reset`: the timer's interval starts again from now.
#[no_mangle]
pub extern "C" fn zmq_timers_reset(timers_: *mut c_void, timer_id: c_int) -> c_int {
    api!(-1, {
        ret((|| {
            let h = timers(timers_)?;
            let mut t = lock(&h.timers);
            let x = t.find(timer_id)?;
            x.due = Instant::now() + x.interval;
            Ok(0)
        })())
    })
}

/// `zmq_timers_timeout`: ms until the next timer is due (0 if one is
/// overdue), -1 if there is none.
#[no_mangle]
pub extern "C" fn zmq_timers_timeout(timers_: *mut c_void) -> c_long {
    api!(-1, {
        let h = match timers(timers_) {
            Ok(h) => h,
            Err(e) => return fail(e) as c_long,
        };
        let t = lock(&h.timers);
        let now = Instant::now();
        match t.timers.iter().map(|x| x.due).min() {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(now);
                // Round up, so that a caller waiting this long finds it due.
                let ms = left.as_micros().div_ceil(1000);
                ms.min(c_long::MAX as u128) as c_long
            }
        }
    })
}

/// `zmq_timers_execute`: runs every due timer's handler once and schedules
/// its next run. Handlers run without any lock held, so one may add, cancel
/// or reset timers (a timer cancelled by an earlier handler does not run).
#[no_mangle]
pub extern "C" fn zmq_timers_execute(timers_: *mut c_void) -> c_int {
    api!(-1, {
        ret((|| {
            let h = timers(timers_)?;
            let now = Instant::now();
            let due: Vec<(c_int, TimerFn, CallerPtr)> = {
                let mut t = lock(&h.timers);
                let mut due = Vec::new();
                for x in t.timers.iter_mut().filter(|x| x.due <= now) {
                    x.due = now + x.interval;
                    due.push((x.id, x.handler, x.arg));
                }
                due
            };
            for (id, f, arg) in due {
                let still = lock(&h.timers).timers.iter().any(|x| x.id == id);
                if still {
                    ffi::call_timer_fn(f, id, arg);
                }
            }
            Ok(0)
        })())
    })
}

