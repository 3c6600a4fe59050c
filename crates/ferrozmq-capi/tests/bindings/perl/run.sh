#!/usr/bin/env bash
# Perl's ZMQ::FFI (Debian's libzmq-ffi-perl) on ferrozmq's libzmq.so.5,
# against ferrozmq's own CLI (fzmq) as the peer: REQ/REP and PUB/SUB (prefix
# filter "weather") over tcp, with Perl as REP, REQ, PUB and SUB, each once
# binding (fzmq connects) and once connecting (fzmq binds) -- 8 exchanges.
#
#   bash run.sh [--lib DIR]   # DIR holds libzmq.so.5 (default: <repo>/target/capi/lib)
#   bash run.sh --system      # baseline: Debian's libzmq 4.3.4
#
# How ZMQ::FFI finds libzmq: FFI::CheckLib's find_lib(lib => 'zmq') scans
# directories for lib*zmq.so* and dlopens the full path of the first one that
# has zmq_version -- FFI_CHECKLIB_PATH first, then @DynaLoader::dl_library_path
# (/usr/local/lib, /usr/lib/x86_64-linux-gnu, ..., and LD_LIBRARY_PATH only
# last). So LD_LIBRARY_PATH alone still loads Debian's library (checked below:
# the /proc/self/maps guard catches it); FFI_CHECKLIB_PATH=DIR loads ours.
# Every Perl process checks /proc/self/maps for the library under test.
# The peer is $FZMQ (default <repo>/target/debug/fzmq). Last line:
# "N passed, M failed".
set -u

SUITE=perl
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../../../.." && pwd)
LIB="$REPO/target/capi/lib"
SYSTEM=0

. "$HERE/../lib/common.sh"
. "$HERE/../lib/lang_driver.sh"

LANG_NAME=perl
command -v perl >/dev/null || fatal setup "perl not found"
perl -MZMQ::FFI -e 1 2>/dev/null || fatal setup "ZMQ::FFI not found (apt-get install libzmq-ffi-perl)"
BINDING=(perl "$HERE/fz_binding.pl")
if [ "$SYSTEM" = 0 ]; then
    # The guard works: with LD_LIBRARY_PATH only, ZMQ::FFI picks Debian's
    # library, and the binding's own check must say so.
    if [ "$FERRO_EXPECT_LIB" != "$DEBIAN_LIB" ]; then
        out=$(env -u FFI_CHECKLIB_PATH timeout -k 5 60 perl "$HERE/fz_binding.pl" lib-check 2>&1)
        rc=$?
        if [ "$rc" -ne 0 ] && echo "$out" | grep -q '^FAIL perl/lib-check/loaded-library: .*it is NOT'; then
            pass "ld-library-path-alone-loads-debian-and-the-guard-sees-it"
        else
            fail "ld-library-path-alone-loads-debian-and-the-guard-sees-it" "rc $rc, output: $(echo "$out" | tr '\n' ' ')"
        fi
    fi
    export FFI_CHECKLIB_PATH="$LIB"
fi
echo "# ZMQ::FFI picks: $(perl -MZMQ::FFI::Util=zmq_soname -e 'print zmq_soname()')"
run_lib_check
run_scenarios
finish
