#!/usr/bin/env bash
# Runs the czmq, cppzmq, Perl, Ruby, PHP and Java suites of this directory in
# turn on one libzmq.so.5 and sums them (see README-czmq-cppzmq-langs.md).
#
#   bash run-others.sh [--lib DIR]   # DIR holds libzmq.so.5 (default: <repo>/target/capi/lib)
#   bash run-others.sh --system      # baseline: Debian's libzmq 4.3.4
#   SUITES="czmq perl" bash run-others.sh ...   # a subset
#
# Each suite prints its checks and a last line "N passed, M failed"; a suite
# that ends without that line counts as one more failure. Last line here:
# the sums, "N passed, M failed"; the exit status is non-zero on any failure.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SUITES=${SUITES:-czmq cppzmq perl ruby php java}

total_pass=0
total_fail=0
summary=()
start=$SECONDS
for s in $SUITES; do
    echo "=== $s"
    log=$(mktemp "${TMPDIR:-/tmp}/fz-others-$s.XXXXXX")
    t0=$SECONDS
    if [ -x "$HERE/$s/run.sh" ] || [ -f "$HERE/$s/run.sh" ]; then
        bash "$HERE/$s/run.sh" "$@" 2>&1 | tee "$log"
        rc=${PIPESTATUS[0]}
    else
        echo "FAIL $s: $HERE/$s/run.sh not found" | tee "$log"
        rc=1
    fi
    last=$(tail -n 1 "$log")
    rm -f "$log"
    if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        p=${BASH_REMATCH[1]}
        f=${BASH_REMATCH[2]}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            f=1
            echo "FAIL $s: run.sh exited with status $rc after reporting no failure"
        fi
    else
        p=0
        f=1
        echo "FAIL $s: run.sh (status $rc) ended without an 'N passed, M failed' line"
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    summary+=("$(printf '%-7s %4d passed, %3d failed  (%ds)' "$s" "$p" "$f" $((SECONDS - t0)))")
done
echo "=== summary ($((SECONDS - start))s)"
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
