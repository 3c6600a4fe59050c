//! `BodyPool`: receive buffers for large frame bodies, recycled.
//!
//! A large frame (≥ 16 KiB) is read from the kernel straight into a buffer
//! of its own, which becomes the message's payload without a copy. The
//! application thread frees that payload, usually right after reading it.
//! Left to `malloc`, each such buffer would come back from the kernel as
//! fresh pages: glibc trims the top of an arena on free, and the next
//! allocation page-faults every 4 KiB page again (zeroed by the kernel) —
//! measured at a third of the receiving I/O thread's time in a 64 KiB
//! stream. So buffers of the common sizes go back to the pool of the
//! connection that made them and are reused while still resident.
//!
//! Sizes are rounded up to a power of two between 16 KiB and 1 MiB (larger
//! bodies are allocated as they come); each size keeps a few buffers, so a
//! connection that once received large messages holds at most
//! `PER_CLASS` buffers of each size it saw. The pool lives as long as the
//! last payload it handed out, so a message may outlive its connection.

use bytes::Bytes;
use std::sync::{Arc, Mutex};

/// Smallest pooled size: 2^14 = 16 KiB (the engine's large-frame threshold).
const MIN_CLASS: u32 = 14;
/// Largest pooled size: 2^20 = 1 MiB.
const MAX_CLASS: u32 = 20;
const CLASSES: usize = (MAX_CLASS - MIN_CLASS + 1) as usize;
/// Buffers kept per size: enough to cover the frames in flight between the
/// I/O thread and a reader that keeps up.
const PER_CLASS: usize = 16;

/// Free buffers by size class.
type Shelves = Mutex<[Vec<Vec<u8>>; CLASSES]>;

/// One connection's pool (created on its first large frame).
#[derive(Clone)]
pub(crate) struct BodyPool {
    shelves: Arc<Shelves>,
}

impl BodyPool {
    pub(crate) fn new() -> BodyPool {
        BodyPool { shelves: Arc::new(Mutex::new(Default::default())) }
    }

    /// An empty buffer for a body of `len` bytes. Pooled sizes come with
    /// their full capacity; larger bodies get a first read's worth and grow
    /// as bytes really arrive (a peer that declares a huge frame and sends
    /// nothing must not make us reserve it).
    pub(crate) fn take(&self, len: usize, first_read: usize) -> Vec<u8> {
        match class_of(len) {
            Some(c) => {
                let reused = self.shelves.lock().map(|mut s| s[c].pop()).unwrap_or(None);
                reused.unwrap_or_else(|| Vec::with_capacity(1 << (c as u32 + MIN_CLASS)))
            }
            None => Vec::with_capacity(len.min(first_read)),
        }
    }

    /// Turns a filled buffer into a payload that returns to this pool when
    /// the last reference to it is dropped.
    pub(crate) fn freeze(&self, buf: Vec<u8>) -> Bytes {
        if class_of(buf.capacity()).is_some_and(|c| buf.capacity() == 1 << (c as u32 + MIN_CLASS)) {
            Bytes::from_owner(PooledBody { buf, shelves: Arc::clone(&self.shelves) })
        } else {
            Bytes::from(buf)
        }
    }
}

/// The size class of a body of `len` bytes, if pooled.
fn class_of(len: usize) -> Option<usize> {
    let bits = len.max(1).next_power_of_two().trailing_zeros();
    (MIN_CLASS..=MAX_CLASS).contains(&bits).then(|| (bits - MIN_CLASS) as usize)
}

/// A payload that goes back on its shelf when dropped.
struct PooledBody {
    buf: Vec<u8>,
    shelves: Arc<Shelves>,
}

impl AsRef<[u8]> for PooledBody {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        let Some(c) = class_of(buf.capacity()) else { return };
        buf.clear();
        if let Ok(mut shelves) = self.shelves.lock() {
            if shelves[c].len() < PER_CLASS {
                shelves[c].push(buf);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_16k_to_1m() {
        assert_eq!(class_of(100), None);
        assert_eq!(class_of(16 * 1024), Some(0));
        assert_eq!(class_of(16 * 1024 + 1), Some(1));
        assert_eq!(class_of(65536), Some(2));
        assert_eq!(class_of(1 << 20), Some(6));
        assert_eq!(class_of((1 << 20) + 1), None);
    }

    #[test]
    fn buffers_come_back_and_are_reused() {
        let pool = BodyPool::new();
        let mut b = pool.take(65536, 1024);
        assert_eq!(b.capacity(), 65536);
        b.extend_from_slice(&[7u8; 65536]);
        let ptr = b.as_ptr();
        let payload = pool.freeze(b);
        assert_eq!(&payload[..4], &[7, 7, 7, 7]);
        let clone = payload.clone();
        drop(payload);
        // Still referenced: not back yet.
        assert!(pool.shelves.lock().unwrap()[2].is_empty());
        drop(clone);
        let again = pool.take(40000, 1024);
        assert_eq!(again.as_ptr(), ptr, "the same buffer is handed out again");
        assert!(again.is_empty());
    }

    #[test]
    fn huge_bodies_are_not_pooled_nor_reserved_up_front() {
        let pool = BodyPool::new();
        let b = pool.take(1 << 40, 256 * 1024);
        assert_eq!(b.capacity(), 256 * 1024);
        let payload = pool.freeze(vec![1u8; 3 << 20]);
        drop(payload);
        assert!(pool.shelves.lock().unwrap().iter().all(|s| s.is_empty()));
    }

    #[test]
    fn shelves_are_bounded() {
        let pool = BodyPool::new();
        let payloads: Vec<Bytes> = (0..PER_CLASS + 5).map(|_| pool.freeze(pool.take(20000, 0))).collect();
        drop(payloads);
        assert_eq!(pool.shelves.lock().unwrap()[1].len(), PER_CLASS);
    }

    #[test]
    fn payload_outlives_the_pool_handle() {
        let pool = BodyPool::new();
        let mut b = pool.take(30000, 0);
        b.extend_from_slice(&[3u8; 30000]);
        let payload = pool.freeze(b);
        drop(pool);
        assert_eq!(payload.len(), 30000);
        drop(payload);
    }
}
