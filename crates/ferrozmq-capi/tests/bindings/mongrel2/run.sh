#!/usr/bin/env bash
# Mongrel2 (Debian's mongrel2-core) end to end, with a pyzmq handler, on
# Debian's libzmq and on ferrozmq's libzmq.so.5 (LD_LIBRARY_PATH=DIR):
#
#   run.sh [--lib DIR] [--modes debian,ferrozmq,m2-ferrozmq,handler-ferrozmq] [--keep]
#
# DIR defaults to target/capi/lib (what scripts/build-capi.sh stages). See
# driver.py for the modes and the checks. Takes /tmp/ferrozmq-cpu.lock
# (flock) unless FERROZMQ_CPU_LOCK_HELD=1; the whole run is bounded (10 min).
# Last line: `N passed, M failed`; exits non-zero if any check failed.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../../../.." && pwd)"
LIB="$REPO/target/capi/lib"
PY=/usr/bin/python3
extra=()

die() {
    echo "mongrel2: FAIL: $*" >&2
    echo "0 passed, 1 failed"
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
        --lib) LIB="$2"; shift 2 ;;
        --modes) extra+=(--modes "$2"); shift 2 ;;
        --keep) extra+=(--keep); shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done

for prog in mongrel2 m2sh; do
    command -v "$prog" >/dev/null || die "$prog missing: apt-get install mongrel2-core"
done
command -v curl >/dev/null || die "curl missing: apt-get install curl"
command -v timeout >/dev/null || die "timeout missing (coreutils)"
command -v flock >/dev/null || die "flock missing (util-linux)"
[ -x "$PY" ] || die "$PY missing (Debian's python3)"
"$PY" -c 'import zmq' 2>/dev/null || die "Debian's pyzmq missing: apt-get install python3-zmq"
[ -e /usr/lib/x86_64-linux-gnu/libzmq.so.5 ] || die "Debian's libzmq5 missing (the baseline): apt-get install libzmq5"
[ -d "$LIB" ] || die "library directory $LIB does not exist (build it: bash scripts/build-capi.sh)"
LIB="$(cd "$LIB" && pwd)"
[ -e "$LIB/libzmq.so.5" ] || die "$LIB/libzmq.so.5 missing (build it: bash scripts/build-capi.sh)"

cmd=(timeout -k 10 600 "$PY" "$HERE/driver.py" --lib "$LIB" "${extra[@]}")
if [ "${FERROZMQ_CPU_LOCK_HELD:-}" = 1 ]; then
    "${cmd[@]}"
else
    FERROZMQ_CPU_LOCK_HELD=1 flock /tmp/ferrozmq-cpu.lock "${cmd[@]}"
fi
rc=$?
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    die "the driver did not finish within 10 minutes"
fi
exit $rc
