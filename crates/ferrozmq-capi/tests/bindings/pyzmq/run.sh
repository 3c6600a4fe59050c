#!/usr/bin/env bash
# pyzmq's own test suite (Debian's python3-zmq, `zmq.tests`) on Debian's
# libzmq (twice: the baseline, and what is flaky on it) and on ferrozmq's
# libzmq.so.5 (LD_LIBRARY_PATH=DIR), then a comparison.
#
#   run.sh [--lib DIR] [--out DIR] [--jobs N] [--threshold PCT] [--files "test_a.py test_b.py"]
#
# DIR defaults to target/capi/lib (what scripts/build-capi.sh stages). Every
# test is bounded (pyzmq's SIGALRM at 20 s, pytest-timeout at 30 s, the
# runner's watchdog at 45 s) and so is each pass (--budget). Each pass takes
# /tmp/ferrozmq-cpu.lock (flock) unless FERROZMQ_CPU_LOCK_HELD=1 says the
# caller holds it. Last line: `N passed, M failed` (the library check plus one
# check per test passing on Debian's libzmq); exits non-zero when the library
# loaded is not DIR's, or fewer than 95 % of those tests pass on ferrozmq.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../../../.." && pwd)"
LIB="$REPO/target/capi/lib"
OUT=""
JOBS=2
THRESHOLD=95
BASELINE_BUDGET=240
OURS_BUDGET=360
PY=/usr/bin/python3
FILES=()

die() {
    echo "pyzmq: FAIL: $*" >&2
    echo "0 passed, 1 failed"
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
        --lib) LIB="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        --threshold) THRESHOLD="$2"; shift 2 ;;
        --files) read -r -a FILES <<< "$2"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done

# Everything this needs, or a loud failure.
[ -x "$PY" ] || die "$PY missing (Debian's python3)"
"$PY" -c 'import zmq' 2>/dev/null || die "Debian's pyzmq missing: apt-get install python3-zmq"
[ -d /usr/lib/python3/dist-packages/zmq/tests ] || die "pyzmq's tests missing (/usr/lib/python3/dist-packages/zmq/tests)"
"$PY" -c 'import pytest' 2>/dev/null || die "pytest missing: apt-get install python3-pytest"
"$PY" -c 'import pytest_timeout' 2>/dev/null || die "pytest-timeout missing: apt-get install python3-pytest-timeout"
for m in tornado gevent numpy; do
    "$PY" -c "import $m" 2>/dev/null || echo "pyzmq: warning: python3-$m missing: the tests needing it are skipped on both sides" >&2
done
[ -e /usr/lib/x86_64-linux-gnu/libzmq.so.5 ] || die "Debian's libzmq5 missing (the baseline): apt-get install libzmq5"
command -v flock >/dev/null || die "flock missing (util-linux)"
[ -d "$LIB" ] || die "library directory $LIB does not exist (build it: bash scripts/build-capi.sh)"
LIB="$(cd "$LIB" && pwd)"
[ -e "$LIB/libzmq.so.5" ] || die "$LIB/libzmq.so.5 missing (build it: bash scripts/build-capi.sh)"

[ -n "$OUT" ] || OUT="$(mktemp -d /tmp/ferrozmq-pyzmq.XXXXXX)"
mkdir -p "$OUT" || die "cannot create $OUT"
echo "pyzmq: results in $OUT; ferrozmq library: $LIB"

locked() {
    if [ "${FERROZMQ_CPU_LOCK_HELD:-}" = 1 ]; then
        "$@"
    else
        FERROZMQ_CPU_LOCK_HELD=1 flock /tmp/ferrozmq-cpu.lock "$@"
    fi
}

start=$SECONDS
fatal=0
for run in debian-1 debian-2; do
    t0=$SECONDS
    locked timeout -k 10 $((BASELINE_BUDGET + 90)) "$PY" "$HERE/runner.py" --name "$run" --out "$OUT" \
        --jobs "$JOBS" --budget "$BASELINE_BUDGET" ${FILES[@]+--files "${FILES[@]}"} || { echo "pyzmq: baseline pass $run failed (exit $?)"; fatal=1; }
    echo "pyzmq: $run took $((SECONDS - t0)) s"
done
t0=$SECONDS
locked timeout -k 10 $((OURS_BUDGET + 90)) "$PY" "$HERE/runner.py" --name ferrozmq --out "$OUT" \
    --lib "$LIB" --jobs "$JOBS" --budget "$OURS_BUDGET" ${FILES[@]+--files "${FILES[@]}"} || echo "pyzmq: ferrozmq pass exited $?"
echo "pyzmq: ferrozmq took $((SECONDS - t0)) s"
for f in debian-1 debian-2 ferrozmq; do
    [ -e "$OUT/$f.xml" ] || die "pass $f wrote no $OUT/$f.xml"
done
echo "pyzmq: passes took $((SECONDS - start)) s; junit-xml: $OUT/debian-1.xml $OUT/debian-2.xml $OUT/ferrozmq.xml"
echo
"$PY" "$HERE/compare.py" --baseline "$OUT/debian-1.xml" --baseline "$OUT/debian-2.xml" \
    --ours "$OUT/ferrozmq.xml" --threshold "$THRESHOLD" | tee "$OUT/summary.txt"
rc=${PIPESTATUS[0]}
[ $fatal -eq 0 ] || [ $rc -ne 0 ] || rc=1
exit $rc
