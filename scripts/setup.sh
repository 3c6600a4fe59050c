#!/usr/bin/env bash
# Installs what the tests and benchmarks need, idempotently: real libzmq peers
# (pyzmq from PyPI bundles libzmq 4.3.x with CURVE; Debian's libzmq for the C
# benchmark kit) and pytest; JeroMQ 0.3.6 and a JDK for the ZMTP 2.0 interop
# tests (crates/ferrozmq/tests/interop_jeromq.rs); and for the C ABI's
# acceptance suites (crates/ferrozmq-capi/tests): Debian's pyzmq and its
# test suite, Mongrel2, czmq, cppzmq, the Perl/Ruby/PHP/Java bindings, a C++
# compiler, pkg-config and valgrind. Safe to run many times; does nothing
# when all is present. Needs root for apt (CI runs as root).
set -euo pipefail

need_apt=()
[ -e /usr/include/zmq.h ] || need_apt+=(libzmq3-dev)
ldconfig -p 2>/dev/null | grep -q 'libzmq.so.5 ' || need_apt+=(libzmq5)
command -v cc >/dev/null || need_apt+=(gcc)
command -v curl >/dev/null || need_apt+=(curl)
dpkg -s libjeromq-java >/dev/null 2>&1 || need_apt+=(libjeromq-java)
for pkg in python3-zmq python3-pytest libczmq-dev cppzmq-dev mongrel2-core libzmq-ffi-perl \
    ruby-ffi-rzmq php-zmq libzmq-java g++ pkg-config valgrind python3-pytest-timeout \
    python3-tornado python3-gevent python3-numpy; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
command -v javac >/dev/null || need_apt+=(default-jdk-headless)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! python3 -c 'import zmq' 2>/dev/null; then
    echo "setup: pip install pyzmq"
    python3 -m pip install -q pyzmq
fi
echo "setup: ok (pyzmq $(python3 -c 'import zmq; print(zmq.pyzmq_version(), "libzmq", zmq.zmq_version())'))"
