# Sourced by every run.sh of ../czmq ../cppzmq ../perl ../ruby ../php ../java
# (after it sets SUITE, HERE, REPO, LIB and SYSTEM): argument parsing, the
# library under test, pass/fail counting, the CPU lock, and running one
# program with its checks. Reads the caller's "$@".
usage() { echo "usage: $0 [--lib DIR | --system]"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --lib) [ $# -ge 2 ] || { usage >&2; exit 2; }; LIB=$2; shift 2 ;;
        --lib=*) LIB=${1#--lib=}; shift ;;
        --system) SYSTEM=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done

PASSED=0
FAILED=0
LOCK_WAIT=0
CPU_LOCK=${FERROZMQ_CPU_LOCK:-/tmp/ferrozmq-cpu.lock}
pass() { PASSED=$((PASSED + 1)); echo "PASS $SUITE/$1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $SUITE/$1: $2"; }
finish() {
    echo "# $SUITE: ${SECONDS}s, of which ${LOCK_WAIT}s waiting for $CPU_LOCK"
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] && exit 0 || exit 1
}
fatal() { fail "$1" "$2"; finish; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fz-$SUITE.XXXXXX")
cleanup() {
    # Only this script's own background jobs that are still running (each a
    # watchdog, whose process group goes with it).
    local p
    for p in $(jobs -p); do kill "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One heavy job at a time across the project: fd 9 holds the lock while a
# step runs; the step itself (and its children) get fd 9 closed. A caller
# that already holds the lock sets FERROZMQ_CPU_LOCK_HELD=1.
exec 9>>"$CPU_LOCK"
locked() {
    if [ "${FERROZMQ_CPU_LOCK_HELD:-0}" = 1 ]; then
        "$@" 9>&-
        return
    fi
    local t0=$SECONDS
    flock 9
    LOCK_WAIT=$((LOCK_WAIT + SECONDS - t0))
    "$@" 9>&-
    local rc=$?
    flock -u 9
    return $rc
}

# The library under test, and what /proc/PID/maps must show.
DEBIAN_LIB=$(ldconfig -p 2>/dev/null | awk '/libzmq\.so\.5 .*x86-64/ {print $NF; exit}')
[ -n "$DEBIAN_LIB" ] && DEBIAN_LIB=$(readlink -f "$DEBIAN_LIB")
if [ "$SYSTEM" = 1 ]; then
    [ -n "$DEBIAN_LIB" ] && [ -e "$DEBIAN_LIB" ] || fatal setup "Debian's libzmq.so.5 not found (apt-get install libzmq5)"
    FERRO_EXPECT_LIB=$DEBIAN_LIB
    unset LD_LIBRARY_PATH
    LIB=""
    echo "# $SUITE: baseline on Debian's libzmq ($FERRO_EXPECT_LIB)"
else
    [ -e "$LIB/libzmq.so.5" ] || fatal setup "$LIB/libzmq.so.5 is missing: build it (bash scripts/build-capi.sh), or pass --lib DIR, or --system for the Debian baseline"
    LIB=$(cd "$LIB" && pwd)
    FERRO_EXPECT_LIB=$(readlink -f "$LIB/libzmq.so.5")
    [ "$FERRO_EXPECT_LIB" != "$DEBIAN_LIB" ] || fatal setup "$LIB/libzmq.so.5 is Debian's libzmq ($DEBIAN_LIB): use --system for the baseline"
    export LD_LIBRARY_PATH="$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "# $SUITE: on $FERRO_EXPECT_LIB"
fi
export FERRO_EXPECT_LIB
export FZ_TMP="$WORK"

# Runs a program that prints PASS/FAIL lines; counts them. A non-zero exit
# without a FAIL line (crash, watchdog) is one more failure.
run_prog() {
    local name=$1 secs=$2
    shift 2
    local log="$WORK/$name.log"
    locked timeout -k 5 "$secs" "$@" >"$log" 2>&1
    local rc=$?
    local np nf
    np=$(grep -c '^PASS ' "$log")
    nf=$(grep -c '^FAIL ' "$log")
    grep -E '^(PASS|FAIL|INFO) ' "$log"
    PASSED=$((PASSED + np))
    FAILED=$((FAILED + nf))
    if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
        local why="exited with status $rc"
        [ "$rc" -eq 124 ] && why="killed by the watchdog after ${secs}s"
        [ "$rc" -gt 128 ] && [ "$rc" -ne 124 ] && why="$why (signal $((rc - 128)))"
        fail "$name" "$why"
    elif [ "$rc" -eq 0 ] && [ "$np" -eq 0 ]; then
        fail "$name" "reported no checks"
    fi
    if [ "$rc" -ne 0 ] || [ "$nf" -ne 0 ]; then
        echo "--- $name: last lines of its output ($log)"
        grep -vE '^(PASS|INFO) ' "$log" | tail -n 25 | sed 's/^/    /'
    fi
}
