#!/usr/bin/env bash
# cppzmq (Debian's cppzmq-dev 4.9.0 zmq.hpp) programs in the style of
# ZeroMQ's 2010 C++ examples, on ferrozmq's libzmq.so.5:
#   pubsub.cpp   a PUB bound to two endpoints publishing "rand <n>" and
#                "time <t>"; two SUBs filtering by prefix, each checking it
#                only gets its topic;
#   pipeline.cpp ventilator -> workers -> sink over ZMQ_DOWNSTREAM/UPSTREAM
#                in threads, zmq::context_t ctx(0) for inproc.
# Both run over inproc://, ipc:// and tcp:// -- the endpoint strings given on
# the command line are the only change (plus context_t(1) for ipc/tcp: libzmq
# refuses them with zero I/O threads, EMTHREAD, which is checked too).
#
#   bash run.sh [--lib DIR]   # DIR holds libzmq.so.5 and pkgconfig/libzmq.pc
#                             # (default: <repo>/target/capi/lib; its zmq.h is
#                             # the one that .pc names, <repo>/target/capi/include)
#   bash run.sh --system      # baseline: Debian's libzmq 4.3.4 and zmq.h
#
# With --lib, each program is built twice and both builds run on our library:
#   @ours    compiled against OUR zmq.h and linked with our libzmq.so
#            (PKG_CONFIG_PATH=DIR/pkgconfig pkg-config --cflags --libs libzmq);
#   @debian  compiled against Debian's zmq.h and libzmq.so (an existing
#            binary), run with LD_LIBRARY_PATH=DIR.
# With --system only @debian is built and run on Debian's libzmq.
# Every program checks /proc/self/maps for the library under test.
# Last line: "N passed, M failed".
set -u

SUITE=cppzmq
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

command -v g++ >/dev/null || fatal setup "g++ not found (apt-get install g++)"
[ -e /usr/include/zmq.hpp ] || fatal setup "/usr/include/zmq.hpp not found (apt-get install cppzmq-dev)"

# Which zmq.h a compile really uses (from g++ -M).
zmq_h_used() {
    # shellcheck disable=SC2086
    g++ -std=c++17 -M $1 "$HERE/pipeline.cpp" 2>/dev/null | tr ' \\' '\n\n' | grep -E '/zmq\.h$' | head -n 1 |
        xargs -r readlink -f
}

# build TAG "CFLAGS LIBS" WANT_ZMQ_H
build() {
    local tag=$1 flags=$2 want=$3 p ok=1
    local used
    used=$(zmq_h_used "$flags")
    if [ -n "$used" ] && [ "$used" = "$(readlink -f "$want")" ]; then
        pass "build@$tag-uses-$(echo "$want" | sed "s|^$REPO/||")"
    else
        fail "build@$tag-zmq.h" "compiles against '${used:-nothing}', want '$want' (cflags: $flags)"
        ok=0
    fi
    mkdir -p "$WORK/$tag"
    for p in pubsub pipeline; do
        # shellcheck disable=SC2086
        if locked g++ -std=c++17 -O1 -g -Wall -Wno-deprecated-declarations -pthread -o "$WORK/$tag/$p" \
            "$HERE/$p.cpp" $flags >"$WORK/build-$tag-$p.log" 2>&1; then
            pass "build@$tag-$p"
        else
            fail "build@$tag-$p" "g++ failed: $(grep -m 3 -E 'error|undefined' "$WORK/build-$tag-$p.log" | tr '\n' ' ')"
            ok=0
        fi
    done
    return $((1 - ok))
}

run_all() {
    local tag=$1
    local d="$WORK/$tag"
    export FZ_BUILD=$tag
    local t
    for t in inproc ipc tcp; do
        local a b
        case $t in
            inproc) a="inproc://fz-$t-1"; b="inproc://fz-$t-2" ;;
            ipc) a="ipc://$WORK/$tag-1.ipc"; b="ipc://$WORK/$tag-2.ipc" ;;
            tcp) a="tcp://127.0.0.1:*"; b="tcp://127.0.0.1:*" ;;
        esac
        [ -x "$d/pubsub" ] && run_prog "pubsub@$tag-$t" 60 "$d/pubsub" "$a" "$b"
        [ -x "$d/pipeline" ] && run_prog "pipeline@$tag-$t" 60 "$d/pipeline" "$a" "$b" 4 200
    done
    if [ -x "$d/pipeline" ]; then
        run_prog "emthread@$tag-tcp" 30 "$d/pipeline" --expect-emthread "tcp://127.0.0.1:*"
        run_prog "emthread@$tag-ipc" 30 "$d/pipeline" --expect-emthread "ipc://$WORK/$tag-e.ipc"
    fi
    unset FZ_BUILD
}

# Debian's header and library (pkg-config without our directory).
DEB_FLAGS=$(env -u PKG_CONFIG_PATH pkg-config --cflags --libs libzmq) ||
    fatal setup "pkg-config cannot find Debian's libzmq (apt-get install libzmq3-dev)"
build debian "$DEB_FLAGS" /usr/include/zmq.h

if [ "$SYSTEM" = 0 ]; then
    PC="$LIB/pkgconfig/libzmq.pc"
    if [ ! -e "$PC" ]; then
        fail "build@ours" "$PC is missing (scripts/build-capi.sh stages it)"
    else
        OUR_FLAGS=$(PKG_CONFIG_PATH="$LIB/pkgconfig" pkg-config --cflags --libs libzmq)
        pcdir=$(PKG_CONFIG_PATH="$LIB/pkgconfig" pkg-config --variable=pcfiledir libzmq)
        incdir=$(PKG_CONFIG_PATH="$LIB/pkgconfig" pkg-config --variable=includedir libzmq)
        echo "# our pkg-config: $PC -> $OUR_FLAGS (includedir $incdir)"
        if [ "$(readlink -f "$pcdir")" != "$(readlink -f "$LIB/pkgconfig")" ]; then
            fail "build@ours-pkg-config" "pkg-config used $pcdir/libzmq.pc, not $PC"
        else
            build ours "$OUR_FLAGS" "$incdir/zmq.h"
        fi
        run_all ours
    fi
fi
run_all debian

finish
