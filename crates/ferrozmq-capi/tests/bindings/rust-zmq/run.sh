#!/usr/bin/env bash
# rust-zmq (the `zmq` crate 0.10 from crates.io) built and tested against
# Debian's libzmq and against ferrozmq's (PKG_CONFIG_PATH=DIR/pkgconfig,
# LD_LIBRARY_PATH=DIR):
#
#   run.sh [--lib DIR] [--target-root DIR] [--keep]
#
# DIR defaults to target/capi/lib (what scripts/build-capi.sh stages); the
# cargo target dirs default to /tmp/ferrozmq-rustzmq-target/{debian,ferrozmq}
# (kept between runs as a build cache; never the project's target/). See
# driver.py for what is checked. Needs crates.io (cargo fetch) the first
# time. Builds and test runs take /tmp/ferrozmq-cpu.lock (flock) unless
# FERROZMQ_CPU_LOCK_HELD=1; the whole run is bounded (40 min, most of it
# only on a first, uncached build).
# Last line: `N passed, M failed`; exits non-zero if any check failed.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../../../.." && pwd)"
LIB="$REPO/target/capi/lib"
PY=/usr/bin/python3
extra=()

die() {
    echo "rust-zmq: FAIL: $*" >&2
    echo "0 passed, 1 failed"
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
        --lib) LIB="$2"; shift 2 ;;
        --target-root) extra+=(--target-root "$2"); shift 2 ;;
        --keep) extra+=(--keep); shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done

command -v cargo >/dev/null || die "cargo missing (a Rust toolchain)"
command -v pkg-config >/dev/null || die "pkg-config missing: apt-get install pkg-config"
for prog in nm ldd timeout; do
    command -v $prog >/dev/null || die "$prog missing (binutils / libc-bin / coreutils)"
done
[ -x "$PY" ] || die "$PY missing (Debian's python3)"
[ -e /usr/lib/x86_64-linux-gnu/libzmq.so.5 ] || die "Debian's libzmq5 missing (the baseline): apt-get install libzmq5"
env -u PKG_CONFIG_PATH -u PKG_CONFIG_LIBDIR pkg-config --exists libzmq \
    || die "Debian's libzmq.pc missing (the baseline): apt-get install libzmq3-dev"
[ -d "$LIB" ] || die "library directory $LIB does not exist (build it: bash scripts/build-capi.sh)"
LIB="$(cd "$LIB" && pwd)"
for f in libzmq.so.5 libzmq.so pkgconfig/libzmq.pc; do
    [ -e "$LIB/$f" ] || die "$LIB/$f missing (build it: bash scripts/build-capi.sh)"
done

timeout -k 10 2400 "$PY" "$HERE/driver.py" --lib "$LIB" "${extra[@]}"
rc=$?
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    die "the driver did not finish within 40 minutes"
fi
exit $rc
