//! Stable-toolchain fuzz smoke: runs the same bodies as the cargo-fuzz
//! targets (`ferrozmq_proto::fuzzing`) on inputs from a seeded RNG, half of
//! them mutations of valid greeting/READY/frame streams so the deep paths
//! get exercised, for a fixed time.
//!
//! `FERROZMQ_FUZZ_SECS` sets the duration (default 2 s, so `cargo test` stays
//! quick; `scripts/fuzz-smoke.sh` passes its own), `FERROZMQ_FUZZ_SEED` the
//! seed (default fixed, so a failure reproduces). Built in the test (debug)
//! profile on purpose: overflow checks are on, so arithmetic overflow on a
//! peer-supplied length panics here instead of wrapping silently.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrozmq_proto::fuzzing::{
    fuzz_curve_server, fuzz_frame_decoder, fuzz_handshake, HandshakeOutcome,
};
use ferrozmq_proto::*;

/// splitmix64: tiny, good enough, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
}

const INTERESTING: [u8; 10] = [0x00, 0x01, 0x02, 0x03, 0x04, 0x06, 0x7f, 0x80, 0xfe, 0xff];
const NAMES: [&str; 10] = [
    "READY",
    "ERROR",
    "PING",
    "PONG",
    "SUBSCRIBE",
    "CANCEL",
    "JOIN",
    "Socket-Type",
    "Identity",
    "X-a",
];

fn random_command(rng: &mut Rng) -> Command {
    let small = |rng: &mut Rng, n: usize| {
        let len = rng.below(n);
        Bytes::from(rng.bytes(len))
    };
    match rng.below(7) {
        0 => {
            let mut m = Metadata::new();
            for _ in 0..rng.below(4) {
                let name = NAMES[rng.below(NAMES.len())];
                let value = if rng.below(2) == 0 {
                    Bytes::from_static(SocketType::ALL[rng.below(21)].wire_name().as_bytes())
                } else {
                    small(rng, 40)
                };
                m.insert(name, value);
            }
            Command::Ready(m)
        }
        1 => Command::Error {
            reason: small(rng, 300),
        },
        2 => Command::Subscribe(small(rng, 300)),
        3 => Command::Cancel(small(rng, 30)),
        4 => Command::Ping {
            ttl_deciseconds: rng.next() as u16,
            context: small(rng, 20),
        },
        5 => Command::Pong {
            context: small(rng, 20),
        },
        _ => Command::Unknown {
            name: Bytes::copy_from_slice(NAMES[rng.below(NAMES.len())].as_bytes()),
            data: small(rng, 50),
        },
    }
}

/// A plausible connection byte stream: greeting, READY, then frames.
/// `ctl` is the control byte `fuzz_handshake` will read: the READY usually
/// names a socket type compatible with the one it selects, so the handshake
/// often completes and the post-READY paths run too.
fn valid_stream(rng: &mut Rng, ctl: u8) -> Vec<u8> {
    if rng.below(5) == 0 {
        return legacy_stream(rng);
    }
    let local = SocketType::ALL[usize::from(ctl & 0x1f) % 21];
    let compatible: Vec<SocketType> = SocketType::ALL
        .iter()
        .copied()
        .filter(|t| local.is_compatible_with(*t))
        .collect();
    let mut out = BytesMut::new();
    let mut g = [0u8; 64];
    encode_greeting(MechanismName::Null, false, rng.below(300), &mut g);
    out.extend_from_slice(&g);
    let mut m = Metadata::new();
    let peer = if !compatible.is_empty() && rng.below(4) != 0 {
        compatible[rng.below(compatible.len())]
    } else {
        SocketType::ALL[rng.below(21)]
    };
    m.insert("Socket-Type", peer.wire_name());
    if rng.below(2) == 0 {
        let len = rng.below(20);
        m.insert("Identity", Bytes::from(rng.bytes(len)));
    }
    Command::Ready(m).encode(&mut out);
    for _ in 0..rng.below(6) {
        if rng.below(2) == 0 {
            random_command(rng).encode(&mut out);
        } else {
            let len = [0, 1, 255, 256, 300][rng.below(5)];
            let body = rng.bytes(len);
            encode_frame(rng.below(2) == 0, false, &body, &mut out);
        }
    }
    out.to_vec()
}

/// A ZMTP 1.0 (unversioned or revision 0) or 2.0 peer: greeting, identity
/// frame, then a few frames in that version's framing.
fn legacy_stream(rng: &mut Rng) -> Vec<u8> {
    let mut out = BytesMut::new();
    let format = match rng.below(3) {
        0 => WireFormat::V1,
        1 => {
            out.extend_from_slice(b"\xff\0\0\0\0\0\0\0\x01\x7f\x00");
            out.extend_from_slice(&[rng.byte() % 12]);
            WireFormat::V1
        }
        _ => {
            out.extend_from_slice(b"\xff\0\0\0\0\0\0\0\x01\x7f\x01");
            out.extend_from_slice(&[rng.byte() % 12]);
            WireFormat::V2
        }
    };
    let id_len = [0, 1, 5, 253, 254, 255, 256][rng.below(7)];
    let id = rng.bytes(id_len);
    encode_frame_for(format, false, false, &id, &mut out);
    for _ in 0..rng.below(4) {
        let len = [0, 1, 254, 255, 300][rng.below(5)];
        let body = rng.bytes(len);
        encode_frame_for(format, rng.below(2) == 0, false, &body, &mut out);
    }
    out.to_vec()
}

/// Input for `fuzz_curve_server`: mode, step, then edits or raw bytes.
fn curve_input(rng: &mut Rng) -> Vec<u8> {
    let mut mode = rng.byte();
    if rng.below(3) != 0 {
        mode &= !0x80; // mostly edit mode: the deep paths
    }
    if rng.below(2) == 0 {
        mode &= !0x02; // mostly the right server key
    }
    let mut d = vec![mode, [1, 7, 64, 255][rng.below(4)]];
    if mode & 0x80 != 0 {
        let n = rng.below(400);
        d.extend(rng.bytes(n));
    } else {
        for _ in 0..rng.below(3) {
            // Offsets within greeting (64) + HELLO (202) + WELCOME-less
            // INITIATE (~300) + MESSAGE: anywhere up to ~700.
            let at = rng.below(720) as u16;
            d.extend_from_slice(&at.to_be_bytes());
            d.push(1 << rng.below(8));
        }
    }
    d
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let len = data.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let ins = rng.bytes(n);
                data.splice(i..i, ins);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let j = (i + 1 + rng.below(16)).min(len);
                data.drain(i..j);
            }
            4 => data.truncate(rng.below(len + 1)),
            5 if len > 9 => {
                // Plant a huge or boundary long length somewhere.
                let i = rng.below(len - 8);
                let v: u64 = [1 << 63, u64::MAX, i64::MAX as u64, 256, 65536, 65537][rng.below(6)];
                data[i..i + 8].copy_from_slice(&v.to_be_bytes());
            }
            _ => {}
        }
    }
}

fn run_curve(data: &[u8], seed: u64, iteration: u64) -> HandshakeOutcome {
    match catch_unwind(AssertUnwindSafe(|| fuzz_curve_server(data))) {
        Ok(o) => o,
        Err(_) => {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            panic!("curve fuzz crash: seed {seed:#x} iteration {iteration}, input: {hex}");
        }
    }
}

fn run_one(data: &[u8], seed: u64, iteration: u64) -> HandshakeOutcome {
    let r = catch_unwind(AssertUnwindSafe(|| {
        fuzz_frame_decoder(data);
        let outcome = fuzz_handshake(data);
        // For generated streams (2 control bytes + 64-byte greeting), also
        // decode what follows the greeting; byte 65 serves as the control byte.
        if let Some(frames) = data.get(65..) {
            fuzz_frame_decoder(frames);
        }
        outcome
    }));
    match r {
        Ok(outcome) => outcome,
        Err(_) => {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            panic!(
                "fuzz crash: seed {seed:#x} iteration {iteration}, input ({} bytes): {hex}",
                data.len()
            );
        }
    }
}

#[test]
fn fuzz_smoke() {
    let secs: f64 = std::env::var("FERROZMQ_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let seed: u64 = std::env::var("FERROZMQ_FUZZ_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0x5EED_2026_F022_0001);
    let deadline = Instant::now() + Duration::from_secs_f64(secs.max(0.0));
    let mut rng = Rng(seed);
    let mut n = 0u64;
    let mut total_bytes = 0u64;
    let (mut complete, mut failed) = (0u64, 0u64);
    while n == 0 || Instant::now() < deadline {
        for _ in 0..256 {
            let mut data = match rng.below(4) {
                0 => {
                    let len = rng.below(600);
                    rng.bytes(len)
                }
                _ => {
                    // Control bytes first: the fuzz bodies read the first one or two.
                    // Bit 0x40 clear: the stream carries its own greeting.
                    let ctl = rng.byte() & !0x40;
                    let mut d = vec![ctl, rng.byte()];
                    d.extend(valid_stream(&mut rng, ctl));
                    d
                }
            };
            if rng.below(4) != 0 {
                mutate(&mut rng, &mut data);
            }
            total_bytes += data.len() as u64;
            match run_one(&data, seed, n) {
                HandshakeOutcome::Complete => complete += 1,
                HandshakeOutcome::Failed => failed += 1,
                HandshakeOutcome::InProgress => {}
            }
            n += 1;
        }
    }
    // The CURVE server body: each input costs a few X25519 operations, so it
    // gets a share of the time of its own.
    let curve_deadline = Instant::now() + Duration::from_secs_f64((secs / 2.0).max(0.0));
    let (mut c_n, mut c_complete, mut c_failed) = (0u64, 0u64, 0u64);
    while c_n < 32 || Instant::now() < curve_deadline {
        let data = curve_input(&mut rng);
        match run_curve(&data, seed, c_n) {
            HandshakeOutcome::Complete => c_complete += 1,
            HandshakeOutcome::Failed => c_failed += 1,
            HandshakeOutcome::InProgress => {}
        }
        c_n += 1;
    }
    assert!(
        c_complete > 0 && c_failed > 0,
        "curve fuzz is not reaching deep states"
    );
    println!(
        "fuzz smoke: {n} inputs ({total_bytes} bytes) in {secs} s, seed {seed:#x}: \
         {complete} handshakes completed, {failed} failed, 0 crashes; \
         curve server: {c_n} inputs, {c_complete} completed, {c_failed} failed"
    );
    // The generator must reach both ends of the state machine.
    if n > 10_000 {
        assert!(
            complete > 0 && failed > 0,
            "fuzz smoke is not reaching deep states"
        );
    }
}
