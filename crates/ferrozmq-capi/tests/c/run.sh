#!/usr/bin/env bash
# The C ABI's own test suite: every t_*.c here, built with the system C
# compiler against ferrozmq's zmq.h and linked against its libzmq.so.5, each
# case in its own process under a watchdog, then a selection under valgrind
# (memcheck: errors and definite leaks fail), then the header check.
#
#   bash run.sh [--lib DIR]        # DIR holds libzmq.so.5 (default: <repo>/target/capi/lib)
#   bash run.sh --against-system   # the same tests on Debian's libzmq (validation:
#                                  # cases marked FERROZMQ-ONLY are skipped there)
#   VALGRIND=0 bash run.sh         # skip the valgrind pass
#
# Last line: "N passed, M failed"; exit status non-zero on any failure. A
# missing library, compiler or valgrind fails loudly.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../../.." && pwd)
lib=$root/target/capi/lib
target=ferrozmq
while [ $# -gt 0 ]; do
    case $1 in
        --lib) lib=$2; shift 2 ;;
        --against-system) target=system; shift ;;
        *) echo "run.sh: unknown argument $1"; echo "0 passed, 1 failed"; exit 2 ;;
    esac
done

pass=0
fail=0
failures=()
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); failures+=("$1"); echo "FAIL: $1"; }

command -v cc >/dev/null || { echo "run.sh: no C compiler (cc)"; echo "0 passed, 1 failed"; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ferrozmq-capi-c.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ "$target" = ferrozmq ]; then
    [ -e "$lib/libzmq.so.5" ] || { echo "run.sh: no libzmq.so.5 in $lib (bash scripts/build-capi.sh)"; echo "0 passed, 1 failed"; exit 2; }
    inc=$root/crates/ferrozmq-capi/include
    env_lib=(env "LD_LIBRARY_PATH=$lib")
    link=(-L"$lib" -lzmq)
else
    [ -e /usr/include/zmq.h ] || { echo "run.sh: Debian's libzmq3-dev is missing"; echo "0 passed, 1 failed"; exit 2; }
    inc=/usr/include
    env_lib=(env)
    link=(-lzmq)
fi
export ZMQTEST_TARGET=$target

# Build.
progs=()
for src in "$here"/t_*.c; do
    name=$(basename "$src" .c)
    if cc -std=gnu11 -O1 -g -Wall -Wextra -Wno-unused-parameter -I"$inc" -o "$work/$name" "$src" "${link[@]}" -lpthread -ldl 2>"$work/$name.build"; then
        progs+=("$name")
    else
        cat "$work/$name.build"
        bad "$name: does not compile"
    fi
done

# Every case in its own process, in a scratch directory (relative ipc paths
# land there), under a watchdog.
for name in "${progs[@]}"; do
    mapfile -t cases < <("${env_lib[@]}" "$work/$name" --list)
    if [ ${#cases[@]} -eq 0 ]; then
        bad "$name: lists no case"
        continue
    fi
    for c in "${cases[@]}"; do
        dir=$(mktemp -d "$work/run.XXXXXX")
        out=$(cd "$dir" && timeout -k 5 120 "${env_lib[@]}" "$work/$name" "$c" 2>&1)
        rc=$?
        if [ $rc = 0 ] && grep -q "^SKIP: $name:$c" <<<"$out"; then
            echo "SKIP: $name:$c"
            continue
        fi
        if [ $rc = 0 ] && grep -q "^PASS: $name:$c" <<<"$out"; then
            echo "PASS: $name:$c"
            ok
        else
            echo "$out" | tail -20
            [ $rc = 124 ] && bad "$name:$c (timed out after 120 s)" || bad "$name:$c (exit $rc)"
        fi
    done
done

# Memory: the message, socket, context and poll programs under memcheck
# (ferrozmq only: Debian's libzmq is not the subject). Timing-bound cases
# skip themselves under valgrind (ZMQTEST_VALGRIND).
if [ "$target" = ferrozmq ] && [ "${VALGRIND:-1}" != 0 ]; then
    if ! command -v valgrind >/dev/null; then
        bad "valgrind is not installed (apt-get install valgrind)"
    else
        for name in t_basics t_msg t_socket t_context t_poll t_stress; do
            [ -x "$work/$name" ] || continue
            dir=$(mktemp -d "$work/vg.XXXXXX")
            log=$work/$name.valgrind
            (cd "$dir" && ZMQTEST_VALGRIND=1 timeout -k 5 600 "${env_lib[@]}" valgrind -q --error-exitcode=99 \
                --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
                --suppressions=/dev/null "$work/$name" >"$log.out" 2>"$log") 
            rc=$?
            if [ $rc = 0 ]; then
                echo "PASS: valgrind $name"
                ok
            else
                tail -40 "$log"
                tail -10 "$log.out"
                bad "valgrind $name (exit $rc: $( [ $rc = 99 ] && echo 'memory errors or leaks' || echo 'test failure or timeout'))"
            fi
        done
    fi
fi

# The header against libzmq's.
if [ "$target" = ferrozmq ]; then
    if bash "$here/header_matches.sh" >"$work/header.log" 2>&1; then
        echo "PASS: header_matches"
        ok
    else
        tail -30 "$work/header.log"
        bad "header_matches"
    fi
fi

if [ ${#failures[@]} -gt 0 ]; then
    echo "failed:"
    printf '  %s\n' "${failures[@]}"
fi
echo "c-abi: $pass passed, $fail failed"
[ "$fail" = 0 ]
