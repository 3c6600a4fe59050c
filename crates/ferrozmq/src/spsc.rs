//! `spsc`: an unbounded single-producer single-consumer queue of [`Msg`]s
//! in linked chunks, the storage under every [`crate::pipe`].
//!
//! Why its own module: it is one of the few places with `unsafe` code (the
//! slots are written by one thread and read by another without a lock), so
//! it is kept small, with the protocol in one place:
//!
//! * The producer writes slots in order and *commits* them by storing the
//!   total number of slots written into `committed` (Release). It never
//!   touches a slot after writing it.
//! * The consumer reads only slots below the `committed` it loaded
//!   (Acquire), in order, moving each value out. It frees a chunk only after
//!   moving to the next one, whose pointer the producer stored (Release)
//!   before committing any slot in it — so the producer is never still
//!   using a chunk the consumer frees.
//! * Whatever is left when both ends are gone (written, never read) is
//!   dropped by the shared part's `Drop`, from the consumer's last position.
//!
//! No atomic read-modify-write is needed on the hot path: one Release store
//! per commit, one Acquire load per consumer batch. This is libzmq's `yqueue`
//! idea (chunks, no per-element allocation), with Rust ownership doing the
//! bookkeeping of what is still live.

use crate::msg::Msg;
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Slots per chunk: 16 × 64 bytes ≈ 1 KiB, so that an idle connection
/// (two pipes) costs little; under load, chunks the consumer is done with go
/// back to the producer (`Shared::spare`), so steady streaming allocates
/// nothing.
const CHUNK: usize = 16;

struct Chunk {
    slots: [UnsafeCell<MaybeUninit<Msg>>; CHUNK],
    next: AtomicPtr<Chunk>,
}

impl Chunk {
    fn new() -> *mut Chunk {
        Box::into_raw(Box::new(Chunk {
            slots: std::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
            next: AtomicPtr::new(ptr::null_mut()),
        }))
    }
}

/// Where the consumer stopped, recorded when it is dropped (for cleanup).
struct ConsumerEnd {
    head: *mut Chunk,
    index: usize,
    read: u64,
}

struct Shared {
    /// Slots written and visible to the consumer.
    committed: AtomicU64,
    /// Slots the producer wrote in all (set when the producer is dropped).
    written_at_end: Mutex<Option<u64>>,
    /// The consumer's position when it was dropped (None while it lives).
    consumer_end: Mutex<Option<ConsumerEnd>>,
    /// The first chunk, until the consumer takes ownership of the walk.
    first: AtomicPtr<Chunk>,
    /// One chunk the consumer finished with, for the producer to reuse
    /// (libzmq's yqueue keeps one spare the same way).
    spare: AtomicPtr<Chunk>,
}

// SAFETY: the raw chunk pointers are only dereferenced by the one producer
// and the one consumer under the commit protocol above, or by `Drop` when
// both are gone; `Msg` is `Send`.
unsafe impl Send for Shared {}
// SAFETY: shared access is only through atomics and mutexes.
unsafe impl Sync for Shared {}
// SAFETY: `ConsumerEnd` is a position, moved under the mutex to the last
// owner, which alone dereferences it.
unsafe impl Send for ConsumerEnd {}

impl Drop for Shared {
    fn drop(&mut self) {
        // Both ends are gone: drop what was written and never read, and free
        // every chunk from the consumer's position on.
        let written = self.written_at_end.get_mut().unwrap_or_else(|p| p.into_inner()).unwrap_or(0);
        let end = self.consumer_end.get_mut().unwrap_or_else(|p| p.into_inner()).take();
        let (mut chunk, mut index, mut read) = match end {
            Some(e) => (e.head, e.index, e.read),
            None => (*self.first.get_mut(), 0, 0),
        };
        let spare = *self.spare.get_mut();
        if !spare.is_null() {
            // SAFETY: a spare chunk is owned by nobody else (the consumer
            // gave it up, the producer never took it) and holds no value.
            drop(unsafe { Box::from_raw(spare) });
        }
        while !chunk.is_null() {
            // Drop the values still live in this chunk, then the chunk.
            while read < written && index < CHUNK {
                // SAFETY: slot `read` was written by the producer and not
                // moved out by the consumer (it stopped before it); both
                // ends are gone, so nothing else touches it.
                unsafe { (*(*chunk).slots[index].get()).assume_init_drop() };
                index += 1;
                read += 1;
            }
            // SAFETY: `chunk` is live and owned by us now; its `next` was set
            // before any slot after it was written.
            let next = unsafe { (*chunk).next.load(Ordering::Acquire) };
            // SAFETY: allocated by `Chunk::new` via `Box::into_raw`, freed
            // once: the walk moves past it and never returns.
            drop(unsafe { Box::from_raw(chunk) });
            chunk = next;
            index = 0;
        }
    }
}

/// Creates a queue.
pub(crate) fn queue() -> (Producer, Consumer) {
    let first = Chunk::new();
    let shared = Arc::new(Shared {
        committed: AtomicU64::new(0),
        written_at_end: Mutex::new(None),
        consumer_end: Mutex::new(None),
        first: AtomicPtr::new(first),
        spare: AtomicPtr::new(ptr::null_mut()),
    });
    (
        Producer { shared: shared.clone(), tail: first, index: 0, written: 0, committed: 0 },
        Consumer { shared, head: first, index: 0, read: 0, visible: 0 },
    )
}

/// The writing end.
pub(crate) struct Producer {
    shared: Arc<Shared>,
    tail: *mut Chunk,
    index: usize,
    written: u64,
    /// `written` as of the last commit.
    committed: u64,
}

// SAFETY: the producer's chunk pointer is only used by whichever thread owns
// the producer (it moves with it).
unsafe impl Send for Producer {}

impl Producer {
    /// Writes one slot; it stays invisible until [`Producer::commit`].
    #[inline]
    pub(crate) fn push(&mut self, msg: Msg) {
        if self.index == CHUNK {
            let recycled = self.shared.spare.swap(ptr::null_mut(), Ordering::Acquire);
            let next = if recycled.is_null() {
                Chunk::new()
            } else {
                // SAFETY: the consumer published this chunk as spare after
                // moving every value out of it; we own it now. Its `next`
                // must be reset before it is linked in again.
                unsafe { (*recycled).next.store(ptr::null_mut(), Ordering::Relaxed) };
                recycled
            };
            // SAFETY: `tail` is live: the consumer frees a chunk only after
            // moving to its successor, which does not exist yet.
            unsafe { (*self.tail).next.store(next, Ordering::Release) };
            self.tail = next;
            self.index = 0;
        }
        // SAFETY: slot `index` of the tail chunk is beyond everything
        // committed, so the consumer does not look at it.
        unsafe { (*(*self.tail).slots[self.index].get()).write(msg) };
        self.index += 1;
        self.written += 1;
    }

    /// True if slots were written since the last commit.
    #[inline]
    pub(crate) fn has_uncommitted(&self) -> bool {
        self.written != self.committed
    }

    /// Makes every slot written so far visible.
    #[inline]
    pub(crate) fn commit(&mut self) {
        self.committed = self.written;
        self.shared.committed.store(self.written, Ordering::SeqCst);
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        *self.shared.written_at_end.lock().unwrap_or_else(|p| p.into_inner()) = Some(self.written);
    }
}

/// The reading end.
pub(crate) struct Consumer {
    shared: Arc<Shared>,
    head: *mut Chunk,
    index: usize,
    read: u64,
    /// `committed` as last loaded.
    visible: u64,
}

// SAFETY: as for `Producer`.
unsafe impl Send for Consumer {}

impl Consumer {
    /// True if a committed slot is waiting (loads `committed` only when the
    /// last batch is used up).
    #[inline]
    pub(crate) fn available(&mut self) -> bool {
        if self.read < self.visible {
            return true;
        }
        self.visible = self.shared.committed.load(Ordering::SeqCst);
        self.read < self.visible
    }

    /// True if no more committed slots are known without loading again: the
    /// end of the batch the consumer saw.
    #[inline]
    pub(crate) fn at_batch_end(&self) -> bool {
        self.read >= self.visible
    }

    /// Takes the next committed slot.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Msg> {
        if !self.available() {
            return None;
        }
        if self.index == CHUNK {
            // SAFETY: slot `read` is committed, so the producer filled this
            // chunk and stored `next` (Release) before writing into it; the
            // SeqCst load of `committed` ordered that store before us.
            let next = unsafe { (*self.head).next.load(Ordering::Acquire) };
            debug_assert!(!next.is_null());
            // The producer has moved on to `next` (or beyond) and never
            // touches this chunk again; every value in it was moved out.
            // Offer it for reuse; if a spare is already there, free this one.
            let done = self.head;
            let previous = self.shared.spare.swap(done, Ordering::Release);
            if !previous.is_null() {
                // SAFETY: the previous spare was owned by the spare slot,
                // which we just took it from; no value lives in it.
                // Allocated by `Chunk::new`.
                drop(unsafe { Box::from_raw(previous) });
            }
            self.head = next;
            self.index = 0;
        }
        // SAFETY: the slot is committed (written, published with Release,
        // seen with Acquire) and read exactly once: `read` moves past it.
        let msg = unsafe { (*(*self.head).slots[self.index].get()).assume_init_read() };
        self.index += 1;
        self.read += 1;
        Some(msg)
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        // Hand the position to the shared part, which drops the rest when
        // the producer is gone too. (The first chunk pointer is now stale:
        // the walk starts here.)
        *self.shared.consumer_end.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(ConsumerEnd { head: self.head, index: self.index, read: self.read });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_across_chunks_and_cleanup_of_leftovers() {
        let (mut p, mut c) = queue();
        for i in 0..1000u32 {
            p.push(Msg::from(i.to_le_bytes().to_vec()));
            if i % 7 == 0 {
                p.commit();
            }
        }
        p.commit();
        for i in 0..600u32 {
            let m = c.pop().expect("committed");
            assert_eq!(m.as_bytes(), i.to_le_bytes());
        }
        // 400 left (spanning several chunks), some shared payloads among them.
        p.push(Msg::from(vec![9u8; 4096]));
        drop(c);
        drop(p);
    }

    #[test]
    fn uncommitted_slots_are_invisible_and_dropped_with_the_queue() {
        let (mut p, mut c) = queue();
        p.push(Msg::from("a"));
        assert!(c.pop().is_none());
        p.commit();
        assert_eq!(c.pop().unwrap().as_bytes(), b"a");
        assert!(c.pop().is_none());
        p.push(Msg::from(vec![1u8; 100]));
        drop(p);
        drop(c);
    }

    #[test]
    fn two_threads_move_frames_in_order() {
        let (mut p, mut c) = queue();
        const N: u64 = 200_000;
        let h = std::thread::spawn(move || {
            for i in 0..N {
                p.push(Msg::from(i.to_le_bytes().to_vec()));
                if i % 5 == 0 {
                    p.commit();
                }
            }
            p.commit();
        });
        let mut expect = 0;
        while expect < N {
            match c.pop() {
                Some(m) => {
                    assert_eq!(u64::from_le_bytes(m.as_bytes().try_into().unwrap()), expect);
                    expect += 1;
                }
                None => std::hint::spin_loop(),
            }
        }
        h.join().unwrap();
    }
}
