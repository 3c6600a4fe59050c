//! libFuzzer target: the CURVE server handshake under attack — a real
//! CURVE client's HELLO/INITIATE/MESSAGE corrupted at fuzzer-chosen offsets,
//! or raw bytes after a CURVE greeting, with ZAP answers and replays (see
//! `ferrozmq_proto::fuzzing::fuzz_curve_server`). The body is shared with
//! the stable smoke test.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ferrozmq_proto::fuzzing::fuzz_curve_server(data);
});
