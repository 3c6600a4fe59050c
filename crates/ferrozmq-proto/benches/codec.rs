//! Frame codec micro-benchmarks: ZMTP 3.x frame encoding and decoding.
//!
//! * `frame_encode/<size>`: `encode_frame` of one batch of message frames
//!   into a pre-sized `BytesMut` (cleared, not freed, between iterations),
//!   as the engine fills its output batch.
//! * `frame_decode/<size>`: `FrameDecoder::decode` of a buffer holding a
//!   batch of back-to-back frames until it is empty, as the engine decodes
//!   one read. The buffer is copied fresh for every iteration outside the
//!   timed region (`iter_batched_ref`).
//!
//! Body sizes 8 B, 64 B, 1 KiB (short/long header boundary is at 255 B) and
//! 64 KiB. A batch is about 256 KiB of wire bytes (at least 16 frames), so
//! per-batch overhead is amortised the way it is in the engine. Throughput is
//! reported in frames (`Throughput::Elements`); bytes/s = frames/s × size.
//!
//! Run: `cargo bench -p ferrozmq-proto --bench codec` (add a filter such as
//! `frame_decode/8` to run one case).

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ferrozmq_proto::{encode_frame, FrameDecoder};
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 4] = [8, 64, 1024, 64 * 1024];
/// Wire bytes per batch.
const BATCH_BYTES: usize = 256 * 1024;

fn header_len(size: usize) -> usize {
    if size <= 255 {
        2
    } else {
        9
    }
}

/// Frames per batch for a body size.
fn frames_per_batch(size: usize) -> usize {
    (BATCH_BYTES / (size + header_len(size))).max(16)
}

/// A distinct, non-zero body so nothing can be special-cased.
fn body(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 + 7) as u8).collect()
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_encode");
    for size in SIZES {
        let frames = frames_per_batch(size);
        let body = body(size);
        let mut out = BytesMut::with_capacity(frames * (size + header_len(size)));
        group.throughput(Throughput::Elements(frames as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(|| {
                out.clear();
                for i in 0..frames {
                    // Alternate MORE so the flag path is exercised, as in
                    // multipart traffic.
                    encode_frame(i & 1 == 0, false, black_box(&body), &mut out);
                }
                black_box(out.len())
            })
        });
        // Sanity (outside the timing): the batch is what we think it is.
        assert_eq!(out.len(), frames * (size + header_len(size)));
    }
    group.finish();
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_decode");
    let decoder = FrameDecoder::new(None);
    for size in SIZES {
        let frames = frames_per_batch(size);
        let body = body(size);
        let mut wire = BytesMut::with_capacity(frames * (size + header_len(size)));
        for i in 0..frames {
            encode_frame(i & 1 == 0, false, &body, &mut wire);
        }
        // Sanity (outside the timing): the batch decodes to `frames` frames.
        {
            let mut buf = wire.clone();
            let mut n = 0;
            while let Some(f) = decoder.decode(&mut buf).expect("valid frames") {
                assert_eq!(f.body.len(), size);
                n += 1;
            }
            assert_eq!((n, buf.len()), (frames, 0));
        }
        group.throughput(Throughput::Elements(frames as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter_batched_ref(
                || wire.clone(),
                |buf| {
                    let mut bytes = 0usize;
                    while let Some(frame) = decoder.decode(buf).expect("valid frames") {
                        bytes += frame.body.len();
                        black_box(&frame);
                    }
                    bytes
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = encode, decode
}
criterion_main!(benches);
