#!/usr/bin/env bash
# Ruby's ffi-rzmq (Debian's ruby-ffi-rzmq 2.0.7 / ruby-ffi-rzmq-core 1.0.7)
# on ferrozmq's libzmq.so.5, against ferrozmq's own CLI (fzmq) as the peer:
# REQ/REP and PUB/SUB (prefix filter "weather") over tcp, with Ruby as REP,
# REQ, PUB and SUB, each once binding (fzmq connects) and once connecting
# (fzmq binds) -- 8 exchanges.
#
#   bash run.sh [--lib DIR]   # DIR holds libzmq.so.5 (default: <repo>/target/capi/lib)
#   bash run.sh --system      # baseline: Debian's libzmq 4.3.4
#
# How ffi-rzmq finds libzmq: ffi-rzmq-core's libzmq.rb does
# `ffi_lib 'libzmq.so.5'` (Debian patches in the soname), i.e.
# dlopen("libzmq.so.5"): the dynamic loader's search, so LD_LIBRARY_PATH=DIR
# is enough. Every Ruby process checks /proc/self/maps for the library under
# test. The peer is $FZMQ (default <repo>/target/debug/fzmq).
# Last line: "N passed, M failed".
set -u

SUITE=ruby
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../../../.." && pwd)
LIB="$REPO/target/capi/lib"
SYSTEM=0

. "$HERE/../lib/common.sh"
. "$HERE/../lib/lang_driver.sh"

LANG_NAME=ruby
command -v ruby >/dev/null || fatal setup "ruby not found (apt-get install ruby)"
ruby -e 'require "ffi-rzmq"' 2>/dev/null || fatal setup "ffi-rzmq not found (apt-get install ruby-ffi-rzmq)"
BINDING=(ruby "$HERE/fz_binding.rb")
run_lib_check
run_scenarios
finish
