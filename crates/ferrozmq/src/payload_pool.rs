//! `PooledBuf`: payload buffers of 39 B to 8 KiB, recycled between threads.
//!
//! A frame too large to live inside its `Msg` but small enough to be common
//! (a 64-byte or 1 KiB message) needs a heap buffer, which is made on one
//! thread and freed on another: the application thread builds it and the
//! I/O thread drops it after writing, or the I/O thread decodes it and the
//! application drops it after reading, or an inproc sender and its
//! receiver. glibc's malloc handles that pattern badly (the freeing thread's
//! cache fills, then every free takes the allocating arena's lock while the
//! other thread allocates from it): measured at more than half the time of an
//! inproc 64 B stream built with `zmq_msg_init_size` (5.4 M msg/s against
//! 14 M with one shared payload).
//!
//! So buffers of power-of-two sizes from 64 B to 8 KiB are recycled through
//! magazines, in the manner of slab allocators: each thread keeps, per size,
//! a magazine to take buffers from and one to put freed buffers in; a full
//! magazine of freed buffers goes to a shared depot (one lock per
//! [`MAGAZINE`] frees), and a thread whose magazine runs dry takes a full
//! one from there (one lock per [`MAGAZINE`] allocations). A stream between
//! two threads then costs a thread-local push and pop per message.
//!
//! Bounds: a thread holds at most two magazines per size; the depot keeps
//! at most [`DEPOT_BYTES`] per size and frees what would go beyond. A thread
//! that exits frees its magazines.

use std::cell::RefCell;
use std::sync::Mutex;

/// Smallest pooled capacity: 2^6 = 64 B (payloads of 39 B and up come here;
/// smaller ones live inside the `Msg`).
const MIN_CLASS: u32 = 6;
/// Largest pooled capacity: 2^13 = 8 KiB. Larger payloads are rarer per
/// second and their copies dwarf the allocator; at 16 KiB and up the engine
/// has its own per-connection pool (`runtime/body_pool.rs`).
const MAX_CLASS: u32 = 13;
const CLASSES: usize = (MAX_CLASS - MIN_CLASS + 1) as usize;

/// Buffers per magazine: the depot's lock is taken once per this many
/// allocations or frees.
pub(crate) const MAGAZINE: usize = 32;

/// What the depot keeps per size class, in bytes (full magazines beyond it
/// are freed): 2 MiB, so at most 16 MiB in all.
pub(crate) const DEPOT_BYTES: usize = 2 << 20;

type Magazine = Vec<Vec<u8>>;

static DEPOT: [Mutex<Vec<Magazine>>; CLASSES] = [const { Mutex::new(Vec::new()) }; CLASSES];

#[derive(Default)]
struct ThreadCache {
    /// Buffers to hand out, per class.
    take: [Magazine; CLASSES],
    /// Buffers freed on this thread, per class.
    freed: [Magazine; CLASSES],
}

impl Drop for ThreadCache {
    fn drop(&mut self) {
        // Buffers freed on an exiting thread could serve others: hand full
        // magazines to the depot; the rest is freed with the cache.
        for c in 0..CLASSES {
            for m in [std::mem::take(&mut self.take[c]), std::mem::take(&mut self.freed[c])] {
                if m.len() == MAGAZINE {
                    deposit(c, m);
                }
            }
        }
    }
}

thread_local! {
    static CACHE: RefCell<ThreadCache> = RefCell::new(ThreadCache::default());
}

fn class_of(capacity: usize) -> Option<usize> {
    let bits = capacity.max(1).next_power_of_two().trailing_zeros();
    (MIN_CLASS..=MAX_CLASS).contains(&bits).then(|| (bits - MIN_CLASS) as usize)
}

fn class_size(c: usize) -> usize {
    1 << (c as u32 + MIN_CLASS)
}

fn depot_limit(c: usize) -> usize {
    (DEPOT_BYTES / (class_size(c) * MAGAZINE)).max(2)
}

fn deposit(c: usize, m: Magazine) {
    let rejected = {
        let mut d = DEPOT[c].lock().unwrap_or_else(|p| p.into_inner());
        if d.len() < depot_limit(c) {
            d.push(m);
            None
        } else {
            Some(m)
        }
    };
    // A magazine the depot has no room for is freed outside its lock.
    drop(rejected);
}

/// An empty buffer whose capacity is the pooled class for `len` bytes, or
/// `None` if `len` is outside the pooled range.
fn take(len: usize) -> Option<Vec<u8>> {
    let c = class_of(len)?;
    let reused = CACHE
        .try_with(|cache| {
            let mut cache = cache.borrow_mut();
            let cache = &mut *cache;
            if cache.take[c].is_empty() {
                if !cache.freed[c].is_empty() {
                    std::mem::swap(&mut cache.take[c], &mut cache.freed[c]);
                } else if let Some(m) = DEPOT[c].lock().unwrap_or_else(|p| p.into_inner()).pop() {
                    cache.take[c] = m;
                }
            }
            cache.take[c].pop()
        })
        .ok()
        .flatten();
    Some(reused.unwrap_or_else(|| Vec::with_capacity(class_size(c))))
}

/// Returns a buffer to the pool (or frees it if it is not of a pooled
/// capacity, or the thread is exiting).
fn give_back(mut buf: Vec<u8>) {
    let Some(c) = class_of(buf.capacity()).filter(|&c| class_size(c) == buf.capacity()) else { return };
    buf.clear();
    let _ = CACHE.try_with(|cache| {
        let mut cache = cache.borrow_mut();
        let freed = &mut cache.freed[c];
        if freed.capacity() == 0 {
            freed.reserve_exact(MAGAZINE);
        }
        freed.push(buf);
        if freed.len() == MAGAZINE {
            let full = std::mem::replace(freed, Vec::with_capacity(MAGAZINE));
            drop(cache);
            deposit(c, full);
        }
    });
}

/// A payload in a recycled buffer. Dropping it returns the buffer to the
/// pool of the dropping thread.
pub(crate) struct PooledBuf {
    buf: Vec<u8>,
}

impl PooledBuf {
    /// `len` zero bytes, if `len` is in the pooled range.
    pub(crate) fn zeroed(len: usize) -> Option<PooledBuf> {
        let mut buf = take(len)?;
        buf.resize(len, 0);
        Some(PooledBuf { buf })
    }

    /// A copy of `data`, if its length is in the pooled range.
    pub(crate) fn copy_of(data: &[u8]) -> Option<PooledBuf> {
        let mut buf = take(data.len())?;
        buf.extend_from_slice(data);
        Some(PooledBuf { buf })
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// The bytes as a plain `Vec` (leaving the pool).
    pub(crate) fn into_vec(mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

impl Clone for PooledBuf {
    fn clone(&self) -> PooledBuf {
        PooledBuf::copy_of(&self.buf).unwrap_or_else(|| PooledBuf { buf: self.buf.clone() })
    }
}

impl Drop for PooledBuf {
    fn drop(&mut self) {
        if self.buf.capacity() != 0 {
            give_back(std::mem::take(&mut self.buf));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_39_bytes_to_8_kib() {
        assert_eq!(class_of(39), Some(0));
        assert_eq!(class_of(64), Some(0));
        assert_eq!(class_of(65), Some(1));
        assert_eq!(class_of(8192), Some(CLASSES - 1));
        assert_eq!(class_of(8193), None);
        assert!(PooledBuf::zeroed(10_000).is_none());
    }

    #[test]
    fn a_freed_buffer_is_reused_on_the_same_thread() {
        let a = PooledBuf::copy_of(&[7u8; 100]).unwrap();
        assert_eq!(a.as_slice(), &[7u8; 100][..]);
        let p = a.as_slice().as_ptr();
        drop(a);
        let b = PooledBuf::zeroed(120).unwrap();
        assert_eq!(b.as_slice().as_ptr(), p, "the same 128-byte buffer comes back");
        assert!(b.as_slice().iter().all(|&x| x == 0), "and is zeroed");
    }

    #[test]
    fn buffers_freed_on_another_thread_come_back_through_the_depot() {
        // A stream between two threads: this one allocates, the other frees
        // (and exits, handing its full magazines to the depot). 5000-byte
        // buffers: a class no other test of the crate uses.
        let (tx, rx) = std::sync::mpsc::channel::<PooledBuf>();
        let freer = std::thread::spawn(move || {
            for b in rx {
                drop(b);
            }
        });
        let mut sent = std::collections::HashSet::new();
        for _ in 0..MAGAZINE * 4 {
            let b = PooledBuf::zeroed(5000).unwrap();
            sent.insert(b.as_slice().as_ptr() as usize);
            tx.send(b).unwrap();
        }
        drop(tx);
        freer.join().unwrap();
        let again: Vec<_> = (0..MAGAZINE).map(|_| PooledBuf::zeroed(5000).unwrap()).collect();
        let reused = again.iter().filter(|b| sent.contains(&(b.as_slice().as_ptr() as usize))).count();
        assert_eq!(reused, MAGAZINE, "every buffer of the next magazine was one freed by the other thread");
    }
}
