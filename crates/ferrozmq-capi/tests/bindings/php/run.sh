#!/usr/bin/env bash
# PHP's zmq extension (Debian's php-zmq 1.1.3) on ferrozmq's libzmq.so.5,
# against ferrozmq's own CLI (fzmq) as the peer: REQ/REP and PUB/SUB (prefix
# filter "weather") over tcp, with PHP as REP, REQ, PUB and SUB, each once
# binding (fzmq connects) and once connecting (fzmq binds) -- 8 exchanges.
#
#   bash run.sh [--lib DIR]   # DIR holds libzmq.so.5 (default: <repo>/target/capi/lib)
#   bash run.sh --system      # baseline: Debian's libzmq 4.3.4
#
# How php-zmq finds libzmq: the extension zmq.so has DT_NEEDED libzmq.so.5
# (no RPATH), so LD_LIBRARY_PATH=DIR is enough. Every PHP process checks
# /proc/self/maps for the library under test. The peer is $FZMQ (default
# <repo>/target/debug/fzmq). Last line: "N passed, M failed".
set -u

SUITE=php
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../../../.." && pwd)
LIB="$REPO/target/capi/lib"
SYSTEM=0

. "$HERE/../lib/common.sh"
. "$HERE/../lib/lang_driver.sh"

LANG_NAME=php
command -v php >/dev/null || fatal setup "php not found (apt-get install php-cli)"
php -r 'exit(class_exists("ZMQContext") ? 0 : 1);' 2>/dev/null || fatal setup "the php zmq extension is not loaded (apt-get install php-zmq)"
BINDING=(php "$HERE/fz_binding.php")
run_lib_check
run_scenarios
finish
