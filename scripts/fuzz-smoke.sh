#!/usr/bin/env bash
# Fuzz smoke test for ferrozmq-proto's frame decoder and handshake.
#
# Usage: scripts/fuzz-smoke.sh [SECONDS]      (default 30; total, split
#                                              evenly over the 2 targets)
#   FUZZ_MODE=auto|libfuzzer|stable           (default auto)
#
# libfuzzer mode runs the cargo-fuzz targets in fuzz/ (installing cargo-fuzz
# with `cargo install cargo-fuzz --locked` if missing). cargo-fuzz needs
# nightly-only rustc flags: it uses a nightly toolchain if rustup has one,
# else the stable one with RUSTC_BOOTSTRAP=1.
# stable mode runs the same fuzz bodies (ferrozmq_proto::fuzzing) from a
# seeded RNG in the ferrozmq-proto test `fuzz_smoke`, on any toolchain.
# auto tries libfuzzer and falls back to stable when cargo-fuzz cannot be
# installed or built. Compilation time is not counted in SECONDS.
#
# Exits non-zero if any input crashes (libFuzzer leaves the input under
# fuzz/artifacts/<target>/; the stable test prints it as hex with its seed).
set -euo pipefail

DURATION="${1:-30}"
MODE="${FUZZ_MODE:-auto}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGETS=(frame_decoder handshake)

if ! [[ "$DURATION" =~ ^[0-9]+$ ]] || [ "$DURATION" -lt 1 ]; then
    echo "usage: $0 [SECONDS>=1]" >&2
    exit 2
fi
PER_TARGET=$(( DURATION / ${#TARGETS[@]} ))
[ "$PER_TARGET" -ge 1 ] || PER_TARGET=1

run_stable() {
    echo "fuzz-smoke: stable harness, ${DURATION}s"
    cd "$ROOT"
    FERROZMQ_FUZZ_SECS="$DURATION" cargo test -p ferrozmq-proto --test fuzz_smoke -- --nocapture
}

# Prints the cargo invocation prefix that can run cargo-fuzz, or fails.
fuzz_cargo() {
    if ! cargo fuzz --version >/dev/null 2>&1; then
        echo "fuzz-smoke: installing cargo-fuzz" >&2
        cargo install cargo-fuzz --locked >&2 || return 1
    fi
    if command -v rustup >/dev/null 2>&1 && rustup toolchain list | grep -q '^nightly'; then
        echo "cargo +nightly"
    else
        echo "env RUSTC_BOOTSTRAP=1 cargo"
    fi
}

run_libfuzzer() {
    local cargo_cmd
    cargo_cmd="$(fuzz_cargo)" || return 3
    cd "$ROOT/fuzz"
    echo "fuzz-smoke: building fuzz targets with '$cargo_cmd fuzz'"
    $cargo_cmd fuzz build || return 3
    for t in "${TARGETS[@]}"; do
        echo "fuzz-smoke: libFuzzer target '$t' for ${PER_TARGET}s"
        mkdir -p "corpus/$t"
        # A crash makes cargo fuzz exit non-zero; set -e is off inside the
        # caller's `if`, so check explicitly.
        if ! $cargo_cmd fuzz run "$t" "corpus/$t" -- \
            -max_total_time="$PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; then
            echo "fuzz-smoke: target '$t' FAILED (see fuzz/artifacts/$t/)" >&2
            return 1
        fi
    done
    echo "fuzz-smoke: libFuzzer targets passed"
}

case "$MODE" in
    stable) run_stable ;;
    libfuzzer) run_libfuzzer ;;
    auto)
        rc=0
        run_libfuzzer || rc=$?
        if [ "$rc" -eq 3 ]; then
            echo "fuzz-smoke: cargo-fuzz unavailable, falling back to the stable harness" >&2
            run_stable
        elif [ "$rc" -ne 0 ]; then
            exit "$rc"
        fi
        ;;
    *) echo "FUZZ_MODE must be auto, libfuzzer or stable" >&2; exit 2 ;;
esac
