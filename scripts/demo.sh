#!/usr/bin/env bash
# Builds ferrozmq and runs the demonstration: a pipeline and a pub/sub over
# inproc, ipc and tcp, printing what flowed and how fast.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -q -p ferrozmq --example demo
