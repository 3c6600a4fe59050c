#!/usr/bin/env bash
# czmq (Debian's libczmq 4.2.1, unchanged) running on ferrozmq's libzmq.so.5.
#
#   bash run.sh [--lib DIR]   # DIR holds libzmq.so.5 (default: <repo>/target/capi/lib)
#   bash run.sh --system      # baseline: Debian's libzmq 4.3.4
#
# Builds the C programs of this folder against czmq (pkg-config libczmq), runs
# each under a watchdog with LD_LIBRARY_PATH=DIR so that czmq's own
# libzmq.so.5 dependency resolves to ours, and counts the PASS/FAIL lines they
# print. Each program first checks /proc/self/maps: the library under test
# must be mapped and no other libzmq. Last line: "N passed, M failed".
# Heavy steps (compiles, each program) run under flock $FERROZMQ_CPU_LOCK
# (default /tmp/ferrozmq-cpu.lock), one at a time.
set -u

SUITE=czmq
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../../../.." && pwd)
LIB="$REPO/target/capi/lib"
SYSTEM=0

# ---------------------------------------------------------------- common part
# (the same in every run.sh of ../czmq ../cppzmq ../perl ../ruby ../php ../java)
usage() { echo "usage: $0 [--lib DIR | --system]"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --lib) [ $# -ge 2 ] || { usage >&2; exit 2; }; LIB=$2; shift 2 ;;
        --lib=*) LIB=${1#--lib=}; shift ;;
        --system) SYSTEM=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done

PASSED=0
FAILED=0
LOCK_WAIT=0
CPU_LOCK=${FERROZMQ_CPU_LOCK:-/tmp/ferrozmq-cpu.lock}
pass() { PASSED=$((PASSED + 1)); echo "PASS $SUITE/$1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $SUITE/$1: $2"; }
finish() {
    echo "# $SUITE: ${SECONDS}s, of which ${LOCK_WAIT}s waiting for $CPU_LOCK"
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] && exit 0 || exit 1
}
fatal() { fail "$1" "$2"; finish; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fz-$SUITE.XXXXXX")
cleanup() {
    # Only this script's own background jobs that are still running (each a
    # watchdog, whose process group goes with it).
    local p
    for p in $(jobs -p); do kill "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One heavy job at a time across the project: fd 9 holds the lock while a
# step runs; the step itself (and its children) get fd 9 closed. A caller
# that already holds the lock sets FERROZMQ_CPU_LOCK_HELD=1.
exec 9>>"$CPU_LOCK"
locked() {
    if [ "${FERROZMQ_CPU_LOCK_HELD:-0}" = 1 ]; then
        "$@" 9>&-
        return
    fi
    local t0=$SECONDS
    flock 9
    LOCK_WAIT=$((LOCK_WAIT + SECONDS - t0))
    "$@" 9>&-
    local rc=$?
    flock -u 9
    return $rc
}

# The library under test, and what /proc/PID/maps must show.
DEBIAN_LIB=$(ldconfig -p 2>/dev/null | awk '/libzmq\.so\.5 .*x86-64/ {print $NF; exit}')
[ -n "$DEBIAN_LIB" ] && DEBIAN_LIB=$(readlink -f "$DEBIAN_LIB")
if [ "$SYSTEM" = 1 ]; then
    [ -n "$DEBIAN_LIB" ] && [ -e "$DEBIAN_LIB" ] || fatal setup "Debian's libzmq.so.5 not found (apt-get install libzmq5)"
    FERRO_EXPECT_LIB=$DEBIAN_LIB
    unset LD_LIBRARY_PATH
    LIB=""
    echo "# $SUITE: baseline on Debian's libzmq ($FERRO_EXPECT_LIB)"
else
    [ -e "$LIB/libzmq.so.5" ] || fatal setup "$LIB/libzmq.so.5 is missing: build it (bash scripts/build-capi.sh), or pass --lib DIR, or --system for the Debian baseline"
    LIB=$(cd "$LIB" && pwd)
    FERRO_EXPECT_LIB=$(readlink -f "$LIB/libzmq.so.5")
    [ "$FERRO_EXPECT_LIB" != "$DEBIAN_LIB" ] || fatal setup "$LIB/libzmq.so.5 is Debian's libzmq ($DEBIAN_LIB): use --system for the baseline"
    export LD_LIBRARY_PATH="$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "# $SUITE: on $FERRO_EXPECT_LIB"
fi
export FERRO_EXPECT_LIB
export FZ_TMP="$WORK"

# Runs a program that prints PASS/FAIL lines; counts them. A non-zero exit
# without a FAIL line (crash, watchdog) is one more failure.
run_prog() {
    local name=$1 secs=$2
    shift 2
    local log="$WORK/$name.log"
    locked timeout -k 5 "$secs" "$@" >"$log" 2>&1
    local rc=$?
    local np nf
    np=$(grep -c '^PASS ' "$log")
    nf=$(grep -c '^FAIL ' "$log")
    grep -E '^(PASS|FAIL|INFO) ' "$log"
    PASSED=$((PASSED + np))
    FAILED=$((FAILED + nf))
    if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
        local why="exited with status $rc"
        [ "$rc" -eq 124 ] && why="killed by the watchdog after ${secs}s"
        [ "$rc" -gt 128 ] && [ "$rc" -ne 124 ] && why="$why (signal $((rc - 128)))"
        fail "$name" "$why"
    elif [ "$rc" -eq 0 ] && [ "$np" -eq 0 ]; then
        fail "$name" "reported no checks"
    fi
    if [ "$rc" -ne 0 ] || [ "$nf" -ne 0 ]; then
        echo "--- $name: last lines of its output ($log)"
        grep -vE '^(PASS|INFO) ' "$log" | tail -n 25 | sed 's/^/    /'
    fi
}
# ------------------------------------------------------------ end common part

command -v gcc >/dev/null || fatal setup "gcc not found (apt-get install gcc)"
pkg-config --exists libczmq || fatal setup "pkg-config cannot find libczmq (apt-get install libczmq-dev)"
pkg-config --exists libzmq || fatal setup "pkg-config cannot find libzmq (apt-get install libzmq3-dev)"
ldd_czmq=$(ldd "$(pkg-config --variable=libdir libczmq)/libczmq.so" 2>/dev/null | awk '/libzmq\.so\.5/ {print $3}')
echo "# libczmq.so resolves libzmq.so.5 to: $(readlink -f "$ldd_czmq")"

PROGRAMS=(zsock_types zauth zmonitor zproxy zloop_zpoller zbeacon)
mkdir -p "$WORK/bin"
# czmq's flags, plus -lzmq for the few direct zmq_* calls (zmq_version in
# the library check, zmq_getsockopt on a non-socket). At run time
# LD_LIBRARY_PATH decides which libzmq.so.5 is loaded.
CFLAGS_LIBS=$(pkg-config --cflags --libs libczmq libzmq)
for p in "${PROGRAMS[@]}"; do
    # shellcheck disable=SC2086
    if locked gcc -O1 -g -Wall -o "$WORK/bin/$p" "$HERE/$p.c" $CFLAGS_LIBS >"$WORK/build-$p.log" 2>&1; then
        pass "build-$p"
    else
        fail "build-$p" "gcc failed: $(tail -n 5 "$WORK/build-$p.log" | tr '\n' ' ')"
    fi
done

for p in zsock_types zauth zmonitor zproxy zloop_zpoller; do
    [ -x "$WORK/bin/$p" ] || { fail "$p" "not built"; continue; }
    run_prog "$p" 60 "$WORK/bin/$p"
done

# zbeacon: the loopback refusal in this namespace, then real broadcasts in a
# private network namespace (a veth pair 10.213.7.1/24 that nothing else can
# see; needs root or unprivileged user namespaces).
if [ -x "$WORK/bin/zbeacon" ]; then
    run_prog zbeacon-lo 30 "$WORK/bin/zbeacon" lo-check
    if [ "$(id -u)" = 0 ]; then UNSHARE=(unshare -n); else UNSHARE=(unshare -r -n); fi
    command -v unshare >/dev/null && command -v ip >/dev/null ||
        fail zbeacon-netns "unshare (util-linux) and ip (iproute2) are needed for the broadcast test"
    # shellcheck disable=SC2016
    run_prog zbeacon-netns 60 "${UNSHARE[@]}" sh -c '
        set -e
        ip link set lo up
        ip link add fzb0 type veth peer name fzb1
        ip addr add 10.213.7.1/24 brd + dev fzb0
        ip link set fzb0 up
        ip link set fzb1 up
        exec "$0" exchange fzb0 5670' "$WORK/bin/zbeacon"
else
    fail zbeacon "not built"
fi

finish
