#!/usr/bin/env bash
# compare.sh - the one command of the performance comparison:
#
#   bash bench/compare.sh            # full matrix, medians of 5 (~10-15 min)
#   bash bench/compare.sh --quick    # ~1 min smoke (what CI runs)
#   bash bench/compare.sh --help     # every option
#
# Installs what is missing (Debian's libzmq3-dev, a C compiler; apt needs
# root), copies the C benchmark kit (../shared/bench beside the repository,
# or $BENCH_KIT) to a build directory and builds it against Debian's libzmq,
# builds fzmq in release mode, then runs bench/compare.py with the same
# arguments. Environment: BENCH_KIT (kit sources), BENCH_BUILD (where the kit
# is built; default target/bench-kit), FZMQ (use this fzmq binary instead of
# building one), BENCH_RIVALS=1 (also build bench/rust-rivals and add the
# zeromq/rzmq crates' column), BENCH_CAPI_LIB (use this directory's
# libzmq.so.5 for the C-ABI column instead of building one with
# scripts/build-capi.sh), and compare.py's BENCH_* variables.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/.." && pwd))
cd "$root"

for a in "$@"; do
    case $a in -h|--help) exec python3 "$here/compare.py" --help ;; esac
done

say () { echo "compare.sh: $*" >&2; }

# --- dependencies ---------------------------------------------------------
need=()
[ -e /usr/include/zmq.h ] || need+=(libzmq3-dev)
command -v cc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        say "missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root"
        exit 1
    fi
    say "apt-get install ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- the C kit, against Debian's libzmq -----------------------------------
kit=${BENCH_KIT:-$root/../shared/bench}
if [ ! -f "$kit/Makefile" ]; then
    say "benchmark kit not found at $kit (set BENCH_KIT)"
    exit 1
fi
build=${BENCH_BUILD:-$root/target/bench-kit}
mkdir -p "$build"
# cp -p keeps the sources' times, so make rebuilds only what changed.
cp -p "$kit"/*.c "$kit"/*.h "$kit"/Makefile "$build"/
make -s -C "$build" all
say "C kit built in $build (libzmq $("$build/zmq_version"))"

# --- fzmq, release ----------------------------------------------------------
if [ -n "${FZMQ:-}" ]; then
    fzmq=$FZMQ
    say "using FZMQ=$fzmq"
    export BENCH_FZMQ_SOURCE=${BENCH_FZMQ_SOURCE:-"the binary $fzmq (FZMQ)"}
else
    say "cargo build --release -p ferrozmq-cli"
    cargo build --release -p ferrozmq-cli
    target=$(cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    fzmq=$target/release/fzmq
    export BENCH_FZMQ_SOURCE="$(git describe --always --dirty 2>/dev/null || echo unknown) (release build)"
fi
[ -x "$fzmq" ] || { say "no fzmq binary at $fzmq"; exit 1; }

# --- ferrozmq's libzmq.so.5 (the C kit runs on it too: the "capi" column) -
capi_lib=${BENCH_CAPI_LIB:-}
if [ -z "$capi_lib" ]; then
    say "bash scripts/build-capi.sh"
    bash scripts/build-capi.sh
    capi_lib=$root/target/capi/lib
fi

# --- optional: the zeromq and rzmq crates -----------------------------------
extra=()
if [ "${BENCH_RIVALS:-0}" = 1 ]; then
    if bash "$here/rust-rivals/build.sh"; then
        extra+=(--rivals-bin "${RIVALS_TARGET:-$root/target/rust-rivals}/release")
        case " $* " in *" --pairs"*) ;; *) extra+=(--pairs "${BENCH_PAIRS:-libzmq,ferrozmq,mixed,raw},rivals") ;; esac
    else
        say "bench/rust-rivals did not build; running without the rival crates"
    fi
fi

exec python3 "$here/compare.py" --kit-bin "$build" --fzmq "$fzmq" --capi-lib "$capi_lib" "${extra[@]}" "$@"
