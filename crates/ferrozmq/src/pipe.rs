//! `Pipe`: a one-way queue of message frames between two threads (a socket
//! and a connection's I/O engine, or two inproc sockets), with a high-water
//! mark counted in whole messages.
//!
//! Why it is shaped like this:
//! * **Lock-free.** Frames live in a single-producer single-consumer queue
//!   of chunks ([`crate::spsc`]): the writer publishes with one store, the
//!   reader takes a whole published batch after one load. No lock is taken
//!   on the path of a message, so a fast reader and a fast writer never wait
//!   for each other.
//! * **Whole messages only.** `flush()` publishes frames only up to the last
//!   complete message (the frames of an unfinished message wait in a small
//!   private staging vector), so a reader never sees half of a multipart
//!   message (libzmq's ypipe does the same).
//! * **One wake-up per batch.** The reader says it is going to sleep by
//!   setting `reader_waiting` when it finds the queue empty; only then does a
//!   flush notify it (a Dekker handshake: each side stores its flag, then
//!   loads the other's, all sequentially consistent). A busy reader costs
//!   the writer nothing.
//! * **HWM without locking.** The writer compares its count of written
//!   messages with the reader's published count; it only re-reads the shared
//!   counter when its cached view says "full", and parks itself with
//!   `writer_waiting` (the same handshake) when it really is, to be woken
//!   once half the queue has drained (libzmq's low-water mark).

use crate::msg::Msg;
use crate::signal::Notify;
use crate::spsc::{queue, Consumer, Producer};
use ferrozmq_proto::Metadata;
use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How often (in messages) a busy reader tells a waiting writer about room.
const READER_REPORT_INTERVAL: u64 = 128;

/// Keeps what one thread writes often on a cache line of its own, so that
/// the other side's reads of its own fields do not bounce it (two 64-byte
/// lines: x86's adjacent-line prefetcher pairs them).
#[repr(align(128))]
#[derive(Default)]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Counters only the reader writes (per message).
#[derive(Default)]
struct ReaderCounters {
    /// Whole messages consumed by the reader (also the HWM's other half).
    read_count: AtomicU64,
    bytes_read: AtomicU64,
}

/// Counters only the writer's side writes (per batch, or rarely).
#[derive(Default)]
struct WriterCounters {
    published_msgs: AtomicU64,
    published_bytes: AtomicU64,
    /// Messages the writer's socket discarded for this peer at its HWM.
    dropped: AtomicU64,
    /// Times the connection behind this pipe was re-established.
    reconnects: AtomicU64,
}

/// The flags both ends read and write rarely (sleeping, closing).
#[derive(Default)]
struct Flags {
    reader_waiting: AtomicBool,
    writer_waiting: AtomicBool,
    /// A waiting writer wants to be woken once the reader's count reaches
    /// this (the low-water mark, see `PipeWriter::check_write`).
    writer_wake_at: AtomicU64,
    /// The CPU the waiting writer last ran on (see `PipeReader::read`).
    writer_cpu: std::sync::atomic::AtomicU32,
    writer_closed: AtomicBool,
    reader_closed: AtomicBool,
}

/// What changes rarely and is read once per batch.
#[derive(Default)]
struct Slow {
    /// The connection's properties, stamped on every frame the reader takes
    /// (see [`PipeWriter::set_metadata`]).
    metadata: Option<Arc<Metadata>>,
    /// CONFLATE: the newest complete message, replacing the previous one.
    conflated: Option<Vec<Msg>>,
}

pub(crate) struct PipeShared {
    /// Statistics (`Socket::stats`) and the reader's progress: each group is
    /// written by one side only, with relaxed stores once per batch or per
    /// message, and read by whoever asks; they cost the hot path no shared
    /// read-modify-write and no false sharing.
    reader: Padded<ReaderCounters>,
    writer: Padded<WriterCounters>,
    flags: Padded<Flags>,
    /// Bumped whenever `slow.metadata` changes.
    metadata_version: AtomicU64,
    slow: Mutex<Slow>,
    /// Whole messages that may be in flight; 0 = unlimited.
    hwm: AtomicU64,
    /// CONFLATE: keep only the newest message (HWM is then ignored).
    conflate: AtomicBool,
    reader_notify: Arc<dyn Notify>,
    writer_notify: Arc<dyn Notify>,
}

/// A snapshot of one pipe's counters.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PipeCounters {
    /// Whole messages written (and published) into the pipe.
    pub written_msgs: u64,
    pub written_bytes: u64,
    /// Whole messages taken out by the reader.
    pub read_msgs: u64,
    pub read_bytes: u64,
    pub dropped: u64,
    pub reconnects: u64,
}

impl PipeShared {
    /// The pipe's counters now.
    pub(crate) fn counters(&self) -> PipeCounters {
        PipeCounters {
            written_msgs: self.writer.published_msgs.load(Ordering::Relaxed),
            written_bytes: self.writer.published_bytes.load(Ordering::Relaxed),
            read_msgs: self.reader.read_count.load(Ordering::Relaxed),
            read_bytes: self.reader.bytes_read.load(Ordering::Relaxed),
            dropped: self.writer.dropped.load(Ordering::Relaxed),
            reconnects: self.writer.reconnects.load(Ordering::Relaxed),
        }
    }

    /// True once the writer has closed its end.
    pub(crate) fn writer_closed(&self) -> bool {
        self.flags.writer_closed.load(Ordering::SeqCst)
    }

    /// True once the reader has closed its end.
    pub(crate) fn reader_closed(&self) -> bool {
        self.flags.reader_closed.load(Ordering::SeqCst)
    }

    /// Ends the pipe from outside either end, as if both had closed: the
    /// reader sees the end of the stream after what is queued, the writer
    /// sees a closed reader, and both owners are woken to notice. How an
    /// inproc connection is dropped by `disconnect` (its far ends belong to
    /// another socket).
    pub(crate) fn sever(&self) {
        self.flags.writer_closed.store(true, Ordering::SeqCst);
        self.flags.reader_closed.store(true, Ordering::SeqCst);
        self.flags.reader_waiting.store(false, Ordering::SeqCst);
        self.flags.writer_waiting.store(false, Ordering::SeqCst);
        self.reader_notify.notify();
        self.writer_notify.notify();
    }

    fn slow(&self) -> std::sync::MutexGuard<'_, Slow> {
        // Every critical section is a few assignments: a poisoned lock is
        // still consistent.
        self.slow.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Creates a pipe. `hwm` is in whole messages (0 = no limit).
pub(crate) fn pipe(
    hwm: u64,
    reader_notify: Arc<dyn Notify>,
    writer_notify: Arc<dyn Notify>,
) -> (PipeWriter, PipeReader) {
    let shared = Arc::new(PipeShared {
        reader: Padded::default(),
        writer: Padded::default(),
        flags: Padded::default(),
        metadata_version: AtomicU64::new(0),
        slow: Mutex::new(Slow::default()),
        hwm: AtomicU64::new(hwm),
        conflate: AtomicBool::new(false),
        reader_notify,
        writer_notify,
    });
    let (producer, consumer) = queue();
    (
        PipeWriter {
            shared: shared.clone(),
            queue: producer,
            staging: Vec::new(),
            written: 0,
            bytes: 0,
            complete_bytes: 0,
            peer_read: 0,
            in_message: false,
            closed: false,
        },
        PipeReader {
            shared,
            queue: consumer,
            conflated: VecDeque::new(),
            read: 0,
            bytes_read: 0,
            closed: false,
            in_message: false,
            metadata: None,
            metadata_version: 0,
        },
    )
}

/// The writing end of a pipe.
pub(crate) struct PipeWriter {
    shared: Arc<PipeShared>,
    queue: Producer,
    /// The frames of the message being written, until its last frame.
    staging: Vec<Msg>,
    /// Whole messages written.
    written: u64,
    /// Bytes of every frame written, and of the complete messages among them.
    bytes: u64,
    complete_bytes: u64,
    peer_read: u64,
    in_message: bool,
    closed: bool,
}

impl PipeWriter {
    /// Sets the properties the reader stamps on every frame it takes from
    /// now on (the connection's metadata for `zmq_msg_gets`). Frames the
    /// reader already took keep what they had.
    pub(crate) fn set_metadata(&self, metadata: Option<Arc<Metadata>>) {
        self.shared.slow().metadata = metadata;
        self.shared.metadata_version.fetch_add(1, Ordering::Release);
    }

    /// The shared state, for statistics.
    pub(crate) fn shared(&self) -> &Arc<PipeShared> {
        &self.shared
    }

    /// Counts a message the socket discarded for this peer (mute at HWM).
    pub(crate) fn note_dropped(&self) {
        self.shared.writer.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a re-established connection behind this pipe.
    pub(crate) fn note_reconnect(&self) {
        self.shared.writer.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// True if a frame may be written now: always inside a message that was
    /// already started, otherwise only below the HWM.
    pub(crate) fn check_write(&mut self) -> bool {
        if self.in_message {
            return true;
        }
        let hwm = self.shared.hwm.load(Ordering::Relaxed);
        if hwm == 0 || self.written - self.peer_read < hwm || self.shared.conflate.load(Ordering::Relaxed) {
            return true;
        }
        self.peer_read = self.shared.reader.read_count.load(Ordering::Acquire);
        if self.written - self.peer_read < hwm {
            return true;
        }
        // Wake me once half the queue has drained (libzmq's low-water
        // mark): woken at the first free slot, a writer would sleep again
        // after one message, and pay a wake-up (a context switch when both
        // share a core) for each.
        self.shared.flags.writer_wake_at.store(self.written.saturating_sub(hwm / 2), Ordering::Relaxed);
        self.shared.flags.writer_cpu.store(crate::sys::current_cpu(), Ordering::Relaxed);
        self.shared.flags.writer_waiting.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        self.peer_read = self.shared.reader.read_count.load(Ordering::SeqCst);
        self.written - self.peer_read < hwm
    }

    /// Writes one frame. Call `check_write` first for the first frame of a
    /// message; publish with `flush`.
    #[inline]
    pub(crate) fn write(&mut self, msg: Msg) {
        let more = msg.get_more();
        let starts_message = !self.in_message;
        self.bytes += msg.len() as u64;
        self.in_message = more;
        if self.shared.conflate.load(Ordering::Relaxed) {
            // CONFLATE: a new message supersedes the complete one staged;
            // `flush` moves the newest into the reader's slot.
            if starts_message {
                self.staging.clear();
            }
            self.staging.push(msg);
            if more {
                return;
            }
        } else if more || !self.staging.is_empty() {
            self.staging.push(msg);
            if more {
                return;
            }
            for m in self.staging.drain(..) {
                self.queue.push(m);
            }
        } else {
            self.queue.push(msg);
        }
        self.written += 1;
        self.complete_bytes = self.bytes;
    }

    /// Publishes every complete message written and wakes a sleeping reader.
    /// Returns false if the reader has gone away (the peer disconnected).
    pub(crate) fn flush(&mut self) -> bool {
        let conflate = self.shared.conflate.load(Ordering::Relaxed);
        let pending = self.queue.has_uncommitted() || (conflate && !self.in_message && !self.staging.is_empty());
        if !pending {
            return !self.closed && !self.shared.flags.reader_closed.load(Ordering::Relaxed);
        }
        if self.shared.flags.reader_closed.load(Ordering::SeqCst) {
            // Nobody will read: what was written is dropped with the queue.
            self.staging.clear();
            self.queue.commit();
            return false;
        }
        if conflate && !self.in_message && !self.staging.is_empty() {
            // Only the newest message survives (libzmq's CONFLATE: single-part
            // messages; the last complete one is kept whole).
            let newest = std::mem::take(&mut self.staging);
            self.shared.slow().conflated = Some(newest);
        }
        self.queue.commit();
        self.shared.writer.published_msgs.store(self.written, Ordering::Relaxed);
        self.shared.writer.published_bytes.store(self.complete_bytes, Ordering::Relaxed);
        // Dekker with the reader's `reader_waiting` (the commit above is
        // SeqCst): wake it only if it said it sleeps.
        if self.shared.flags.reader_waiting.load(Ordering::SeqCst)
            && self.shared.flags.reader_waiting.swap(false, Ordering::SeqCst)
        {
            self.shared.reader_notify.notify();
        }
        true
    }

    /// CONFLATE on this pipe (both ends see it).
    pub(crate) fn set_conflate(&self, on: bool) {
        self.shared.conflate.store(on, Ordering::Relaxed);
    }

    /// Drops the frames of an unfinished message (the sender gave up half-way).
    pub(crate) fn rollback(&mut self) {
        if self.in_message {
            self.staging.clear();
            self.bytes = self.complete_bytes;
            self.in_message = false;
        }
    }

    /// True once the reader has closed its end.
    pub(crate) fn is_reader_closed(&self) -> bool {
        self.shared.flags.reader_closed.load(Ordering::SeqCst)
    }

    /// Changes the high-water mark of a live pipe (SNDHWM/RCVHWM changes
    /// reach existing connections, as in libzmq).
    pub(crate) fn set_hwm(&self, hwm: u64) {
        self.shared.hwm.store(hwm, Ordering::Relaxed);
        // A raised limit may unblock a waiting writer; it re-checks on wake.
        self.shared.writer_notify.notify();
    }

    /// Publishes what is complete and marks the end of the stream. The reader
    /// sees every message flushed before this, then `Closed`.
    pub(crate) fn close(&mut self) {
        if self.closed {
            return;
        }
        self.rollback();
        self.flush();
        self.closed = true;
        self.shared.flags.writer_closed.store(true, Ordering::SeqCst);
        self.shared.flags.reader_waiting.store(false, Ordering::SeqCst);
        self.shared.reader_notify.notify();
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.close();
    }
}

/// What a read found.
#[derive(Debug)]
pub(crate) enum Read {
    Frame(Msg),
    /// Nothing now; the reader is registered for a wake-up.
    Empty,
    /// The writer closed and everything it wrote has been read.
    Closed,
}

/// The reading end of a pipe.
pub(crate) struct PipeReader {
    shared: Arc<PipeShared>,
    queue: Consumer,
    /// CONFLATE: the frames of the newest message, taken from the slot.
    conflated: VecDeque<Msg>,
    read: u64,
    bytes_read: u64,
    closed: bool,
    in_message: bool,
    /// The reader's copy of the connection's properties, refreshed when the
    /// writer changes them: cloning it per frame touches a reference count
    /// only this thread uses.
    metadata: Option<Arc<Metadata>>,
    metadata_version: u64,
}

impl PipeReader {
    /// True if a frame can be taken now, without registering for a wake-up.
    fn ready(&mut self) -> bool {
        if !self.conflated.is_empty() || self.queue.available() {
            return true;
        }
        self.shared.conflate.load(Ordering::Relaxed) && self.shared.slow().conflated.is_some()
    }

    /// Like `ready`, but registers for a wake-up when there is nothing: the
    /// Dekker handshake with `PipeWriter::flush`.
    fn ready_or_register(&mut self) -> bool {
        if self.ready() {
            return true;
        }
        self.shared.flags.reader_waiting.store(true, Ordering::SeqCst);
        // A commit that raced with the store above is seen here.
        self.ready()
    }

    /// CONFLATE on this pipe (both ends see it).
    pub(crate) fn set_conflate(&self, on: bool) {
        self.shared.conflate.store(on, Ordering::Relaxed);
    }

    /// The shared state, for statistics.
    pub(crate) fn shared(&self) -> &Arc<PipeShared> {
        &self.shared
    }

    #[inline]
    fn refresh_metadata(&mut self) {
        let v = self.shared.metadata_version.load(Ordering::Acquire);
        if v != self.metadata_version {
            self.metadata_version = v;
            self.metadata = self.shared.slow().metadata.clone();
        }
    }

    /// Takes the next frame.
    pub(crate) fn read(&mut self) -> Read {
        if !self.ready_or_register() {
            if self.shared.flags.writer_closed.load(Ordering::SeqCst) && !self.ready() {
                return Read::Closed;
            }
            return Read::Empty;
        }
        let msg = if self.shared.conflate.load(Ordering::Relaxed) {
            if !self.in_message {
                // Only the newest complete message is delivered: messages
                // queued before CONFLATE was set give way to later ones,
                // and the slot (written after) to nothing.
                while let Some(m) = self.queue.pop() {
                    if self.conflated.back().is_none_or(|b| !b.get_more()) {
                        self.conflated.clear();
                    }
                    self.conflated.push_back(m);
                }
                if let Some(newest) = self.shared.slow().conflated.take() {
                    self.conflated = newest.into();
                }
            }
            match self.conflated.pop_front() {
                Some(m) => m,
                None => return Read::Empty,
            }
        } else {
            match self.queue.pop() {
                Some(m) => m,
                None => return Read::Empty,
            }
        };
        let mut msg = msg;
        self.refresh_metadata();
        if self.metadata.is_some() {
            msg.set_metadata(self.metadata.clone());
        }
        self.in_message = msg.get_more();
        self.bytes_read += msg.len() as u64;
        if !self.in_message {
            self.read += 1;
            self.shared.reader.bytes_read.store(self.bytes_read, Ordering::Relaxed);
            self.shared.reader.read_count.store(self.read, Ordering::Release);
            if self.queue.at_batch_end() || self.read % READER_REPORT_INTERVAL == 0 {
                fence(Ordering::SeqCst);
                // A writer that waits on another CPU is woken at once, to
                // refill while we drain. One that waits on ours could only
                // run by taking the CPU from us: it sleeps until the
                // low-water mark, so that each hand-over moves half a queue.
                let flags = &self.shared.flags;
                if flags.writer_waiting.load(Ordering::Acquire)
                    && (self.read >= flags.writer_wake_at.load(Ordering::Relaxed)
                        || flags.writer_cpu.load(Ordering::Relaxed) != crate::sys::current_cpu())
                    && flags.writer_waiting.swap(false, Ordering::AcqRel)
                {
                    self.shared.writer_notify.notify();
                }
            }
        }
        Read::Frame(msg)
    }

    /// True if the frames the last `read` knew to be published are used up
    /// (the next `read` looks at the writer's published count again).
    #[inline]
    pub(crate) fn at_batch_end(&self) -> bool {
        self.queue.at_batch_end()
    }

    /// True if a whole message can be read now. When false, the reader is
    /// registered for a wake-up, exactly as an empty `read` does: whoever
    /// asks "anything to read?" (poll, ZMQ_EVENTS) must be told when the
    /// answer changes, or it sleeps through the next message.
    pub(crate) fn has_message(&mut self) -> bool {
        self.ready_or_register()
    }

    /// True if the last frame read had MORE set.
    pub(crate) fn in_message(&self) -> bool {
        self.in_message
    }

    /// True if the writer has closed (there may still be frames to read).
    pub(crate) fn is_writer_closed(&self) -> bool {
        self.shared.flags.writer_closed.load(Ordering::SeqCst)
    }

    /// Discards everything queued and tells the writer we are gone.
    pub(crate) fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.shared.flags.reader_closed.store(true, Ordering::SeqCst);
        self.conflated.clear();
        while self.queue.pop().is_some() {}
        self.shared.slow().conflated = None;
        self.shared.flags.writer_waiting.store(false, Ordering::Relaxed);
        self.shared.writer_notify.notify();
    }

    /// Changes the high-water mark (RCVHWM on a live connection).
    pub(crate) fn set_hwm(&self, hwm: u64) {
        self.shared.hwm.store(hwm, Ordering::Relaxed);
        self.shared.writer_notify.notify();
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Default)]
    struct Counter(AtomicUsize);
    impl Notify for Counter {
        fn notify(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn frame(s: &str, more: bool) -> Msg {
        let mut m = Msg::from(s);
        m.set_more(more);
        m
    }

    #[test]
    fn partial_messages_are_not_visible() {
        let rn = Arc::new(Counter::default());
        let wn = Arc::new(Counter::default());
        let (mut w, mut r) = pipe(10, rn.clone(), wn.clone());
        assert!(matches!(r.read(), Read::Empty));
        w.write(frame("a", true));
        w.flush();
        assert!(matches!(r.read(), Read::Empty), "half a message must stay hidden");
        w.write(frame("b", false));
        w.flush();
        assert_eq!(rn.0.load(Ordering::SeqCst), 1, "one wake-up for the sleeping reader");
        assert!(matches!(r.read(), Read::Frame(m) if &*m == b"a"));
        assert!(matches!(r.read(), Read::Frame(m) if &*m == b"b"));
    }

    #[test]
    fn hwm_blocks_and_reader_wakes_writer() {
        let rn = Arc::new(Counter::default());
        let wn = Arc::new(Counter::default());
        let (mut w, mut r) = pipe(2, rn, wn.clone());
        for _ in 0..2 {
            assert!(w.check_write());
            w.write(frame("x", false));
        }
        w.flush();
        assert!(!w.check_write(), "at HWM");
        assert!(matches!(r.read(), Read::Frame(_)));
        assert!(matches!(r.read(), Read::Frame(_)));
        assert!(wn.0.load(Ordering::SeqCst) >= 1, "writer woken");
        assert!(w.check_write());
    }

    #[test]
    fn a_writer_waiting_on_the_readers_cpu_is_woken_at_the_low_water_mark() {
        let wn = Arc::new(Counter::default());
        let (mut w, mut r) = pipe(1000, Arc::new(Counter::default()), wn.clone());
        let cpu_before = crate::sys::current_cpu();
        for i in 0..1000 {
            assert!(w.check_write());
            w.write(frame("x", false));
            if i % 10 == 9 {
                w.flush(); // batches of 10, as a streaming writer publishes
            }
        }
        assert!(!w.check_write(), "at HWM");
        for _ in 0..499 {
            assert!(matches!(r.read(), Read::Frame(_)));
        }
        let early = wn.0.load(Ordering::SeqCst);
        for _ in 0..501 {
            assert!(matches!(r.read(), Read::Frame(_)));
        }
        assert!(wn.0.load(Ordering::SeqCst) >= 1, "woken by the time the queue is drained");
        assert!(w.check_write());
        // One thread is both sides here, so on one CPU — unless the thread
        // moved meanwhile, when an early wake-up is right.
        if crate::sys::current_cpu() == cpu_before {
            assert_eq!(early, 0, "not woken before half the queue drained");
        }
    }

    #[test]
    fn close_delivers_then_reports_closed() {
        let n = Arc::new(Counter::default());
        let (mut w, mut r) = pipe(0, n.clone(), n);
        w.write(frame("1", false));
        w.write(frame("half", true));
        w.close();
        assert!(matches!(r.read(), Read::Frame(m) if &*m == b"1"));
        assert!(matches!(r.read(), Read::Closed));
    }

    #[test]
    fn reader_close_tells_writer() {
        let n = Arc::new(Counter::default());
        let (mut w, mut r) = pipe(0, n.clone(), n);
        r.close();
        w.write(frame("1", false));
        assert!(!w.flush());
        assert!(w.is_reader_closed());
    }

    #[test]
    fn threads_move_a_million_frames_in_order() {
        struct Thread(std::thread::Thread, AtomicBool);
        impl Notify for Thread {
            fn notify(&self) {
                self.1.store(true, Ordering::SeqCst);
                self.0.unpark();
            }
        }
        let reader_thread = Arc::new(Thread(std::thread::current(), AtomicBool::new(false)));
        let writer_slot: Arc<Mutex<Option<std::thread::Thread>>> = Arc::new(Mutex::new(None));
        struct Lazy(Arc<Mutex<Option<std::thread::Thread>>>);
        impl Notify for Lazy {
            fn notify(&self) {
                if let Some(t) = &*self.0.lock().unwrap() {
                    t.unpark();
                }
            }
        }
        let (mut w, mut r) = pipe(100, reader_thread.clone(), Arc::new(Lazy(writer_slot.clone())));
        const N: u64 = 1_000_000;
        let h = std::thread::spawn(move || {
            *writer_slot.lock().unwrap() = Some(std::thread::current());
            for i in 0..N {
                while !w.check_write() {
                    std::thread::park_timeout(std::time::Duration::from_millis(10));
                }
                w.write(Msg::from(i.to_le_bytes().to_vec()));
                if i % 16 == 0 {
                    w.flush();
                }
            }
            w.close();
        });
        let mut expect = 0u64;
        loop {
            match r.read() {
                Read::Frame(m) => {
                    assert_eq!(u64::from_le_bytes(m.as_bytes().try_into().unwrap()), expect);
                    expect += 1;
                }
                Read::Empty => std::thread::park_timeout(std::time::Duration::from_millis(10)),
                Read::Closed => break,
            }
        }
        assert_eq!(expect, N);
        h.join().unwrap();
    }
}

#[cfg(test)]
mod wake_tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Default)]
    struct Counter(AtomicUsize);
    impl Notify for Counter {
        fn notify(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn asking_for_a_message_registers_for_the_wake_up() {
        let rn = Arc::new(Counter::default());
        let (mut w, mut r) = pipe(0, rn.clone(), Arc::new(Counter::default()));
        // A reader that only ever asks (poll) and never reads must still be
        // woken when the first message arrives.
        assert!(!r.has_message());
        w.write(Msg::from("x"));
        w.flush();
        assert_eq!(rn.0.load(Ordering::SeqCst), 1);
        assert!(r.has_message());
    }
}
