//! Pipe hand-off between threads, through the public API: an inproc socket
//! pair in one context, the receiving socket on its own thread.
//!
//! * `handoff/push_pull/<size>`: PUSH (bench thread) → PULL (receiver thread).
//! * `handoff/pair/<size>`: PAIR ↔ PAIR, one direction.
//!
//! One iteration sends a batch of `BATCH` (1 000) messages of 8 B or 1 KiB and
//! then waits until the receiver has taken all of them (it reports each
//! complete batch on a `std::sync::mpsc` channel, which costs one wake-up per
//! batch, amortised over 1 000 messages). The batch equals the default
//! SNDHWM, below inproc's SNDHWM + RCVHWM, so a batch never blocks on the
//! HWM by itself; the sender can still block when the receiver lags a batch
//! behind, as in a real pipeline. Messages are prebuilt: an 8 B message is
//! stored inline, a 1 KiB one is a shared buffer whose clone is a reference
//! count, so the figure is the pipe, wake-ups and socket layers, not an
//! allocator. Throughput is messages (`Throughput::Elements`).
//!
//! The receiver checks every size; it stops on an empty message.
//!
//! Run: `cargo bench -p ferrozmq --bench handoff`.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrozmq::{Context, Msg, Socket, SocketType};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const BATCH: usize = 1000;
const SIZES: [usize; 2] = [8, 1024];
/// Receives never wait longer than this (a stuck bench fails, not hangs).
const RCVTIMEO_MS: i32 = 10_000;

static ENDPOINT_SEQ: AtomicUsize = AtomicUsize::new(0);

struct Link {
    _ctx: Context,
    tx: Socket,
    done: mpsc::Receiver<()>,
    receiver: Option<thread::JoinHandle<()>>,
}

impl Link {
    fn new(sender: SocketType, receiver: SocketType, size: usize) -> Link {
        let ctx = Context::new();
        let endpoint = format!("inproc://handoff-{}", ENDPOINT_SEQ.fetch_add(1, Ordering::Relaxed));
        let rx = ctx.socket(receiver).expect("socket");
        rx.set_rcvtimeo(RCVTIMEO_MS).expect("rcvtimeo");
        rx.bind(&endpoint).expect("bind");
        let tx = ctx.socket(sender).expect("socket");
        tx.set_sndtimeo(RCVTIMEO_MS).expect("sndtimeo");
        tx.connect(&endpoint).expect("connect");
        let (done_tx, done) = mpsc::sync_channel(1);
        let receiver = thread::Builder::new()
            .name("handoff-rx".into())
            .spawn(move || loop {
                for _ in 0..BATCH {
                    let m = rx.recv_msg(0).expect("recv (timed out?)");
                    if m.is_empty() {
                        return;
                    }
                    assert_eq!(m.len(), size);
                }
                if done_tx.send(()).is_err() {
                    return;
                }
            })
            .expect("spawn");
        Link { _ctx: ctx, tx, done, receiver: Some(receiver) }
    }

    fn batch(&self, msg: &Msg) {
        for _ in 0..BATCH {
            self.tx.send(msg.clone(), 0).expect("send");
        }
        self.done.recv_timeout(Duration::from_millis(RCVTIMEO_MS as u64)).expect("receiver stalled");
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::new(), 0);
        if let Some(h) = self.receiver.take() {
            h.join().expect("receiver thread panicked");
        }
    }
}

fn handoff(c: &mut Criterion) {
    let mut group = c.benchmark_group("handoff");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, tx_type, rx_type) in [
        ("push_pull", SocketType::Push, SocketType::Pull),
        ("pair", SocketType::Pair, SocketType::Pair),
    ] {
        for size in SIZES {
            let msg = Msg::from_bytes(Bytes::from(vec![0x5au8; size]));
            let link = Link::new(tx_type, rx_type, size);
            group.bench_with_input(BenchmarkId::new(name, size), &size, |b, _| b.iter(|| link.batch(&msg)));
        }
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = handoff
}
criterion_main!(benches);
