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

. "$HERE/../lib/common.sh"

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
