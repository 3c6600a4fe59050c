//! libFuzzer target: `Handshake::feed` on arbitrary bytes, delivered in
//! arbitrary chunk sizes, for every socket type and both roles (chosen by the
//! first two input bytes). The body is shared with the stable smoke test.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ferrozmq_proto::fuzzing::fuzz_handshake(data);
});
