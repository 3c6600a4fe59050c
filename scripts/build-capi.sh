#!/usr/bin/env bash
# Builds ferrozmq's C library (crates/ferrozmq-capi) and stages it the way
# an installed libzmq looks, in target/capi/:
#   lib/libzmq.so.5.2.5, lib/libzmq.so.5 -> ..., lib/libzmq.so -> ...
#   lib/libzmq.a
#   lib/pkgconfig/libzmq.pc     (prefix = target/capi)
#   include/zmq.h, include/zmq_utils.h
# Run an existing program on it with LD_LIBRARY_PATH=target/capi/lib, build
# against it with PKG_CONFIG_PATH=target/capi/lib/pkgconfig; install it with
# scripts/install-capi.sh. `--debug` stages the debug build instead.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=release
[ "${1:-}" = "--debug" ] && profile=debug
if [ "$profile" = release ]; then
    cargo build -q --release -p ferrozmq-capi
else
    cargo build -q -p ferrozmq-capi
fi
src="target/$profile"
out="$PWD/target/capi"
mkdir -p "$out/lib/pkgconfig" "$out/include"
# libzmq 4.3.5's file name (SONAME libzmq.so.5, set by the crate's build.rs).
install -m 0755 "$src/libzmq.so" "$out/lib/libzmq.so.5.2.5"
ln -sf libzmq.so.5.2.5 "$out/lib/libzmq.so.5"
ln -sf libzmq.so.5 "$out/lib/libzmq.so"
install -m 0644 "$src/libzmq.a" "$out/lib/libzmq.a"
for h in crates/ferrozmq-capi/include/*.h; do
    install -m 0644 "$h" "$out/include/"
done
[ -e "$out/include/zmq.h" ] || { echo "build-capi: no zmq.h in crates/ferrozmq-capi/include" >&2; exit 1; }
sed -e "s|@PREFIX@|$out|g" -e "s|@LIBDIR@|$out/lib|g" crates/ferrozmq-capi/libzmq.pc.in > "$out/lib/pkgconfig/libzmq.pc"
echo "build-capi: $profile library staged in $out"
