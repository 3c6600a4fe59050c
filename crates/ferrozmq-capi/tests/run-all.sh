#!/usr/bin/env bash
# Every acceptance suite of the C ABI, on ferrozmq's libzmq.so.5: builds and
# stages the library (scripts/build-capi.sh), then runs the project's C
# suite and the real programs and bindings (docs/capi.md lists them), each
# under its own watchdogs, and sums their "N passed, M failed" lines.
#
#   bash crates/ferrozmq-capi/tests/run-all.sh            # all
#   CAPI_SUITES="c pyzmq" bash .../run-all.sh             # a subset
#
# Suites: c, pyzmq, mongrel2, rust-zmq, others (czmq, cppzmq, Perl, Ruby,
# PHP, Java). A suite that fails to print its closing line counts as a
# failure; the exit status is non-zero if anything failed.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
cd "$root"
bash scripts/build-capi.sh || { echo "run-all: the library did not build"; echo "0 passed, 1 failed"; exit 1; }
lib=$root/target/capi/lib
suites=${CAPI_SUITES:-c pyzmq mongrel2 rust-zmq others}

declare -A script=(
    [c]="$here/c/run.sh --lib $lib"
    [pyzmq]="$here/bindings/pyzmq/run.sh --lib $lib"
    [mongrel2]="$here/bindings/mongrel2/run.sh --lib $lib"
    [rust-zmq]="$here/bindings/rust-zmq/run.sh --lib $lib"
    [others]="$here/bindings/run-others.sh --lib $lib"
)

pass=0
fail=0
report=()
for s in $suites; do
    cmd=${script[$s]:-}
    if [ -z "$cmd" ]; then
        echo "run-all: unknown suite $s"
        fail=$((fail + 1))
        continue
    fi
    echo "=== capi suite: $s"
    log=$(mktemp)
    t0=$SECONDS
    # shellcheck disable=SC2086
    bash $cmd 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    rm -f "$log"
    if [ -z "$line" ]; then
        echo "run-all: suite $s printed no closing line (exit $rc)"
        fail=$((fail + 1))
        report+=("$s: no result (exit $rc)")
        continue
    fi
    p=$(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/')
    f=$(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/')
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        f=1
    fi
    pass=$((pass + p))
    fail=$((fail + f))
    report+=("$s: $p passed, $f failed ($((SECONDS - t0)) s)")
done
echo "=== capi suites"
for r in "${report[@]}"; do
    echo "  $r"
done
echo "capi: $pass passed, $fail failed"
[ "$fail" = 0 ]
