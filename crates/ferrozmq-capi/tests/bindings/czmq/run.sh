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

. "$HERE/../lib/common.sh"

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
