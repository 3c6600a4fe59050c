#!/usr/bin/env bash
# The whole test suite, as CI runs it: unit, property, integration, interop
# with real libzmq (pyzmq), doc tests, and a short fuzz smoke of the decoder
# and handshake.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --workspace --all-targets
cargo test --workspace
bash scripts/fuzz-smoke.sh "${FUZZ_SECONDS:-30}"
# The performance comparison runner, once and briefly, to prove it works
# (no timing is asserted: the figures come from `bash bench/compare.sh`).
bash bench/compare.sh --quick
