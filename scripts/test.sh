#!/usr/bin/env bash
# The whole test suite, as CI runs it: unit, property, integration, interop
# with real libzmq (pyzmq), doc tests, the C ABI's acceptance suites, and a
# short fuzz smoke of the decoder and handshake.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --workspace --all-targets
cargo test --workspace
# The C ABI (libzmq.so.5): the project's C suite and real programs and
# bindings running on it (pyzmq's own tests, Mongrel2, czmq, cppzmq, the
# zmq crate, Perl, Ruby, PHP, Java); see docs/capi.md.
bash crates/ferrozmq-capi/tests/run-all.sh
bash scripts/fuzz-smoke.sh "${FUZZ_SECONDS:-30}"
# The performance comparison runner, once and briefly, to prove it works
# (no timing is asserted: the figures come from `bash bench/compare.sh`).
bash bench/compare.sh --quick
