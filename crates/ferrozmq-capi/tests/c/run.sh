#!/usr/bin/env bash
# ferrozmq's C ABI test suite: C programs built with the system cc against
# OUR zmq.h (crates/ferrozmq-capi/include) and run against a libzmq.so.5.
#
#   bash crates/ferrozmq-capi/tests/c/run.sh                  # ferrozmq's library
#   bash crates/ferrozmq-capi/tests/c/run.sh --against-system # Debian's libzmq
#
# Options:
#   --against-system  link and run against the system's libzmq (how the tests
#                     themselves are validated); FERROZMQ-ONLY cases skip
#   --lib DIR         ferrozmq's staged library directory
#                     (default target/capi/lib, made by scripts/build-capi.sh)
#   --no-valgrind     skip the valgrind runs (also VALGRIND=0)
#   --only REGEX      only programs (t_*.c) whose name matches REGEX
#   --keep            keep the build directory and the logs
#
# Every case of every program (t_*.c; `prog --list`) runs in a process of its
# own under a watchdog (timeout); each program then runs once more, whole,
# under valgrind memcheck (definite leaks and memory errors fail it). Also
# checked: the header against Debian's (header_matches.sh) and, for
# ferrozmq, scripts/install-capi.sh into a temporary prefix (never
# /usr/local) with a program built through pkg-config, dynamically and
# statically.
#
# The last line is exactly "N passed, M failed"; the exit status is 0 only
# when nothing failed. A missing library is a failure, never a skip.
#
# Heavy steps take /tmp/ferrozmq-cpu.lock (flock) one at a time; a caller
# that holds it already exports FERROZMQ_CPU_LOCK_HELD=1.
#
# Needs: gcc (cc), g++ (for header_matches.sh), valgrind, pkg-config,
# coreutils (timeout), util-linux (flock), libzmq3-dev (reference header
# and --against-system).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
include="$root/crates/ferrozmq-capi/include"
mode=ferrozmq
libdir="$root/target/capi/lib"
use_valgrind=1
[ "${VALGRIND:-1}" = 0 ] && use_valgrind=0
only=""
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --against-system) mode=system ;;
        --lib) libdir=$2; shift ;;
        --no-valgrind) use_valgrind=0 ;;
        --only) only=$2; shift ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

passed=0
failed=0
skipped=0
failures=()
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "FAIL: $1"; }
finish() {
    echo
    if [ ${#failures[@]} -gt 0 ]; then
        echo "failed:"
        printf '  %s\n' "${failures[@]}"
    fi
    [ "$skipped" -gt 0 ] && echo "$skipped skipped (FERROZMQ-ONLY cases against libzmq, timing cases under valgrind)"
    echo "$passed passed, $failed failed"
    [ "$keep" = 1 ] && echo "(build and logs kept in $build)" >&2
    [ "$failed" -eq 0 ]
    exit $?
}

# ------------------------------------------------------------------ lock
lock_file=/tmp/ferrozmq-cpu.lock
have_lock=0
lock() {
    [ -n "${FERROZMQ_CPU_LOCK_HELD:-}" ] && return
    exec 9>"$lock_file"
    flock 9
    have_lock=1
    export FERROZMQ_CPU_LOCK_HELD=1
}
unlock() {
    [ "$have_lock" = 1 ] || return
    flock -u 9
    exec 9>&-
    have_lock=0
    unset FERROZMQ_CPU_LOCK_HELD
}

# ------------------------------------------------------------------ tools
for tool in cc timeout flock; do
    if ! command -v "$tool" >/dev/null; then
        fail "tool $tool is missing (apt-get install gcc coreutils util-linux)"
        finish
    fi
done
if [ "$use_valgrind" = 1 ] && ! command -v valgrind >/dev/null; then
    fail "valgrind is missing (apt-get install valgrind; or pass --no-valgrind)"
    finish
fi

# ------------------------------------------------------------------ library
if [ "$mode" = ferrozmq ]; then
    libdir=$(cd "$libdir" 2>/dev/null && pwd || echo "$libdir")
    if [ ! -e "$libdir/libzmq.so.5" ]; then
        echo "run.sh: ferrozmq's library $libdir/libzmq.so.5 is missing:" >&2
        echo "run.sh: build it with 'bash scripts/build-capi.sh' (or test libzmq with --against-system)" >&2
        fail "library missing: $libdir/libzmq.so.5"
        finish
    fi
    link_flags=(-L "$libdir" -lzmq)
    expect_lib=$(readlink -f "$libdir/libzmq.so.5")
    run_env=(env "LD_LIBRARY_PATH=$libdir" "ZMQTEST_TARGET=ferrozmq" "ZMQTEST_EXPECT_LIB=$expect_lib")
else
    sys_so=$(ldconfig -p 2>/dev/null | awk '/libzmq\.so\.5 .*x86-64|libzmq\.so\.5 \(libc6/ {print $NF; exit}')
    [ -n "$sys_so" ] || sys_so=$(ls /usr/lib/*/libzmq.so.5 /usr/lib/libzmq.so.5 2>/dev/null | head -1)
    if [ -z "$sys_so" ] || [ ! -e "$sys_so" ]; then
        fail "the system's libzmq.so.5 is missing (apt-get install libzmq5 libzmq3-dev)"
        finish
    fi
    sysdir=$(dirname "$sys_so")
    if [ ! -e "$sysdir/libzmq.so" ]; then
        fail "$sysdir/libzmq.so is missing, cannot link (apt-get install libzmq3-dev)"
        finish
    fi
    link_flags=(-L "$sysdir" -lzmq)
    expect_lib=$(readlink -f "$sys_so")
    run_env=(env -u LD_LIBRARY_PATH -u LD_PRELOAD "ZMQTEST_TARGET=system" "ZMQTEST_EXPECT_LIB=$expect_lib")
fi
echo "== C ABI tests against $mode's libzmq: $expect_lib"

# ------------------------------------------------------------------ build
if [ "$keep" = 1 ]; then
    build="$root/target/capi-tests/$mode"
    rm -rf "$build"
    mkdir -p "$build"
else
    build=$(mktemp -d /tmp/ferrozmq-capi-tests.XXXXXX)
    trap 'rm -rf "$build"' EXIT
fi
mkdir -p "$build/bin" "$build/logs"

programs=()
for src in "$here"/t_*.c; do
    name=$(basename "$src" .c)
    if [ -n "$only" ] && ! [[ "$name" =~ $only ]]; then continue; fi
    programs+=("$name")
done

lock
for name in "${programs[@]}"; do
    if cc -std=gnu11 -g -O1 -Wall -Wextra -Werror -pthread -I "$include" \
          "$here/$name.c" -o "$build/bin/$name" "${link_flags[@]}" -ldl \
          >"$build/logs/$name.build" 2>&1; then
        :
    else
        fail "build $name.c (see below)"
        sed 's/^/    /' "$build/logs/$name.build" | head -40
    fi
done
unlock

# ------------------------------------------------------------------ header
if [ -z "$only" ] || [[ header =~ $only ]]; then
    if [ -f /usr/include/zmq.h ] && command -v c++ >/dev/null; then
        if bash "$here/header_matches.sh" >"$build/logs/header.log" 2>&1; then
            pass
            echo "PASS: header_matches.sh"
        else
            fail "header_matches.sh"
            grep -E '^(FAIL|header_matches)' "$build/logs/header.log" | sed 's/^/    /' | head -40
        fi
    else
        fail "header_matches.sh needs /usr/include/zmq.h and c++ (apt-get install libzmq3-dev g++)"
    fi
fi

# ------------------------------------------------------------------ cases
run_case() {  # program case
    local prog=$1 case=$2 log="$build/logs/$1.$2.log" rc
    # In a scratch directory of its own: relative ipc paths land there.
    local dir
    dir=$(mktemp -d "$build/run.XXXXXX")
    (cd "$dir" && "${run_env[@]}" timeout -k 5 90 "$build/bin/$prog" "$case") >"$log" 2>&1
    rc=$?
    rm -rf "$dir"
    if grep -q "^SKIP: " "$log"; then
        grep "^SKIP: " "$log"
        skipped=$((skipped + 1))
        return
    fi
    if [ $rc -eq 0 ] && grep -q "^PASS: " "$log"; then
        echo "PASS: $prog:$case"
        pass
        return
    fi
    local why="exit status $rc"
    [ $rc -eq 124 ] && why="timed out after 90 s (deadlock?)"
    [ $rc -gt 128 ] && [ $rc -ne 124 ] && why="killed by signal $((rc - 128))"
    fail "$prog:$case ($why)"
    grep -v "^PASS: " "$log" | sed 's/^/    /' | head -40
}

for name in "${programs[@]}"; do
    [ -x "$build/bin/$name" ] || continue
    cases=$("$build/bin/$name" --list 2>/dev/null)
    lock
    for c in $cases; do
        run_case "$name" "$c"
    done
    unlock
done

# ------------------------------------------------------------------ valgrind
# Programs run whole under memcheck; ZMQTEST_VALGRIND=1 scales their loops
# down. Against Debian's libzmq a suppression file hides libzmq's own reads
# of uninitialised memory when it checks the tag of a non-socket handle.
valgrind_programs="t_basics t_context t_socket t_msg t_poll t_patterns t_monitor t_proxy t_stress"
if [ "$use_valgrind" = 1 ]; then
    supp=()
    [ "$mode" = system ] && supp=(--suppressions="$here/valgrind-system-libzmq.supp")
    for name in "${programs[@]}"; do
        [[ " $valgrind_programs " == *" $name "* ]] || continue
        [ -x "$build/bin/$name" ] || continue
        log="$build/logs/$name.valgrind.log"
        dir=$(mktemp -d "$build/run.XXXXXX")
        lock
        (cd "$dir" && "${run_env[@]}" ZMQTEST_VALGRIND=1 timeout -k 5 600 valgrind -q \
            --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
            --show-leak-kinds=definite --num-callers=30 "${supp[@]}" \
            "$build/bin/$name") >"$log" 2>&1
        rc=$?
        unlock
        rm -rf "$dir"
        skipped=$((skipped + $(grep -c '^SKIP: ' "$log")))
        if [ $rc -eq 0 ]; then
            echo "PASS: valgrind $name"
            pass
        else
            why="exit status $rc"
            [ $rc -eq 99 ] && why="memory errors or definite leaks"
            [ $rc -eq 124 ] && why="timed out under valgrind"
            [ $rc -eq 1 ] && why="cases failed under valgrind"
            fail "valgrind $name ($why)"
            grep -v "^PASS: " "$log" | sed 's/^/    /' | head -60
        fi
    done
fi

# ------------------------------------------------------------------ install
# scripts/install-capi.sh into a temporary prefix (never /usr/local), then a
# program built through that prefix's pkg-config file, linked dynamically
# and statically; then --uninstall must leave the prefix empty.
if [ "$mode" = ferrozmq ] && { [ -z "$only" ] || [[ install =~ $only ]]; }; then
    stage=$(dirname "$libdir")
    prefix=$(mktemp -d /tmp/ferrozmq-capi-prefix.XXXXXX)
    probe="$build/install_probe.c"
    cat >"$probe" <<'EOF'
#include <zmq.h>
#include <stdio.h>
#include <string.h>
int main (void)
{
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);
    void *ctx = zmq_ctx_new ();
    void *a = zmq_socket (ctx, ZMQ_PAIR), *b = zmq_socket (ctx, ZMQ_PAIR);
    char buf[8] = {0};
    int ok = ctx && a && b && zmq_bind (a, "inproc://probe") == 0
             && zmq_connect (b, "inproc://probe") == 0
             && zmq_send (b, "probe", 5, 0) == 5 && zmq_recv (a, buf, 8, 0) == 5
             && strcmp (buf, "probe") == 0;
    zmq_close (a);
    zmq_close (b);
    zmq_ctx_term (ctx);
    printf ("%d.%d.%d %s\n", major, minor, patch, ok ? "ok" : "broken");
    return ok && major == 4 && minor == 3 && patch == 5 ? 0 : 1;
}
EOF
    if [ -f "$stage/lib/pkgconfig/libzmq.pc" ] && [ -f "$stage/lib/libzmq.a" ]; then
        inst_log="$build/logs/install.log"
        if bash "$root/scripts/install-capi.sh" --no-build "$prefix" >"$inst_log" 2>&1 \
           && [ -e "$prefix/lib/libzmq.so.5" ] && [ -f "$prefix/include/zmq.h" ]; then
            echo "PASS: install: install-capi.sh --no-build into $prefix"
            pass
        else
            fail "install-capi.sh --no-build $prefix"
            sed 's/^/    /' "$inst_log" | head -20
        fi
        pc=(env "PKG_CONFIG_PATH=$prefix/lib/pkgconfig" PKG_CONFIG_LIBDIR= pkg-config)
        if "${pc[@]}" --exists libzmq 2>/dev/null \
           && [ "$("${pc[@]}" --modversion libzmq)" = 4.3.5 ] \
           && [ "$("${pc[@]}" --variable=prefix libzmq)" = "$prefix" ]; then
            echo "PASS: install: libzmq.pc (4.3.5, prefix rewritten)"
            pass
        else
            fail "installed libzmq.pc (want Version 4.3.5, prefix $prefix): $("${pc[@]}" --modversion --variable=prefix libzmq 2>&1 | tr '\n' ' ')"
        fi
        lock
        # shellcheck disable=SC2046
        cc -o "$build/probe_dyn" "$probe" $("${pc[@]}" --cflags --libs libzmq) >"$build/logs/probe_dyn.log" 2>&1
        dyn_rc=$?
        # Static: the archive plus what Libs.private says it needs.
        cc -o "$build/probe_static" "$probe" $("${pc[@]}" --cflags libzmq) "$prefix/lib/libzmq.a" \
            $("${pc[@]}" --static --libs-only-l libzmq | sed 's/-lzmq\b//') >"$build/logs/probe_static.log" 2>&1
        static_rc=$?
        unlock
        out=""
        if [ $dyn_rc -eq 0 ] \
           && env LD_LIBRARY_PATH="$prefix/lib" ldd "$build/probe_dyn" | grep "$prefix/lib/libzmq.so.5" >/dev/null \
           && out=$(env LD_LIBRARY_PATH="$prefix/lib" timeout 30 "$build/probe_dyn" 2>&1); then
            echo "PASS: install: pkg-config build, dynamic ($out)"
            pass
        else
            fail "program linked with pkg-config against $prefix (dynamic): $out"
            sed 's/^/    /' "$build/logs/probe_dyn.log" | head -20
        fi
        # grep reads all of ldd's output: with pipefail, `grep -q` quitting
        # early can fail the pipeline through ldd's SIGPIPE.
        if [ $static_rc -eq 0 ] && ! ldd "$build/probe_static" 2>/dev/null | grep libzmq >/dev/null \
           && out=$(timeout 30 "$build/probe_static" 2>&1); then
            echo "PASS: install: static link with libzmq.a + Libs.private ($out)"
            pass
        else
            fail "program linked statically with libzmq.a and Libs.private"
            sed 's/^/    /' "$build/logs/probe_static.log" | head -20
        fi
        bash "$root/scripts/install-capi.sh" --uninstall "$prefix" >>"$inst_log" 2>&1
        left=$(find "$prefix" -mindepth 1 | head -5)
        if [ -z "$left" ]; then
            echo "PASS: install: --uninstall leaves the prefix empty"
            pass
        else
            fail "install-capi.sh --uninstall left files: $left"
        fi
    else
        fail "install check: $stage has no lib/pkgconfig/libzmq.pc or lib/libzmq.a (scripts/build-capi.sh stages both)"
    fi
    rm -rf "$prefix"
fi

finish
