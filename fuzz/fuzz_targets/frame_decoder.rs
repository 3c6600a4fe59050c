//! libFuzzer target: arbitrary bytes through `FrameDecoder::decode` until it
//! stops, and `Command::parse` on every command frame. The body (with its
//! invariants) is shared with the stable smoke test.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ferrozmq_proto::fuzzing::fuzz_frame_decoder(data);
});
