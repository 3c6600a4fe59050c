#!/usr/bin/env bash
# router10k.sh - a ROUTER serving 10 000 concurrent TCP connections, libzmq
# and ferrozmq in turn, with the DEALER clients split over two processes.
#
#   bash bench/scale/router10k.sh [reps=3] [n=10000] [k=20]
#
# Why two client processes: every client socket costs two descriptors (its
# TCP connection and its wake-up eventfd, in libzmq as in ferrozmq), and a
# machine whose hard descriptor limit is 20 000 cannot hold 10 000 of them in
# one process. The server counts N hellos, so it measures its memory with
# every connection up whichever client they came from; its own "server
# throughput" line (round trips per second over all N x K requests) is the
# figure to compare. Needs the binaries run.sh builds (run it once first, or
# --quick): target/bench-scale/scale-libzmq and the `scale` example.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
reps=${1:-3}
n=${2:-10000}
k=${3:-20}
lz=$root/target/bench-scale/scale-libzmq
fz=${SCALE_FERROZMQ:-$root/target/release/examples/scale}
[ -x "$lz" ] || { echo "router10k.sh: $lz missing (run bench/scale/run.sh --quick first)" >&2; exit 1; }
[ -x "$fz" ] || (cd "$root" && cargo build --release -q --example scale -p ferrozmq)
half=$((n / 2))
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((2 * half + 100)) ]; then
    echo "router10k.sh: need $((2 * half + 100)) descriptors per client process, have $(ulimit -n)" >&2
    exit 1
fi
out=$root/target/bench-scale/router10k
mkdir -p "$out"
export SCALE_BACKLOG=${SCALE_BACKLOG:-8192}
port=$((20000 + RANDOM % 20000))

one () {  # one NAME BIN -> prints "NAME rss_per_conn vmdata_per_conn server_rate"
    local name=$1 bin=$2
    port=$((port + 1))
    local ep=tcp://127.0.0.1:$port
    timeout 600 "$bin" router-server "$ep" "$n" "$k" >"$out/server.txt" 2>&1 &
    local sp=$!
    for _ in $(seq 100); do grep -q listening "$out/server.txt" 2>/dev/null && break; sleep 0.05; done
    timeout 600 "$bin" router-clients "$ep" "$half" "$k" >"$out/c1.txt" 2>&1 &
    local c1=$!
    timeout 600 "$bin" router-clients "$ep" $((n - half)) "$k" >"$out/c2.txt" 2>&1 &
    local c2=$!
    if ! wait $c1 || ! wait $c2 || ! wait $sp; then
        echo "$name FAILED (logs in $out)"; return
    fi
    awk -v name="$name" '
        /^memory per connection/ {rss=$4} /^vmdata per connection/ {vm=$4} /^server throughput/ {thr=$3}
        END {print name, rss, vm, thr}' "$out/server.txt"
}

echo "ROUTER x $n DEALERs (2 client processes), K=$k, backlog $SCALE_BACKLOG, $reps rep(s)"
printf "%-9s %14s %16s %18s\n" impl "RSS B/conn" "VmData B/conn" "round trips/s"
for ((i = 0; i < reps; i++)); do
    for impl in libzmq ferrozmq; do
        bin=$lz; [ $impl = ferrozmq ] && bin=$fz
        one $impl "$bin" | awk '{printf "%-9s %14s %16s %18s\n", $1, $2, $3, $4}'
    done
done
