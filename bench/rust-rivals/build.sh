#!/usr/bin/env bash
# Builds the optional rival programs (zeromq_thr, rzmq_thr) into
# $RIVALS_TARGET/release (default: <repo>/target/rust-rivals/release), one
# crate at a time; a crate that does not build is skipped with a message.
# Needs crates.io. Exits non-zero only when neither builds.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))
export CARGO_TARGET_DIR=${RIVALS_TARGET:-$root/target/rust-rivals}
built=0
for crate in zeromq rzmq; do
    if cargo build --release --manifest-path "$here/Cargo.toml" --features "$crate" --bin "${crate}_thr"; then
        built=$((built + 1))
    else
        echo "rust-rivals: the $crate crate did not build; its column is skipped" >&2
        rm -f "$CARGO_TARGET_DIR/release/${crate}_thr"
    fi
done
echo "rust-rivals: $built of 2 built in $CARGO_TARGET_DIR/release" >&2
[ "$built" -gt 0 ]
