#!/usr/bin/env bash
# run.sh - CURVE throughput, ferrozmq vs libzmq, measured in one run:
#
#   bash bench/curve/run.sh [runs=5] [sizes="64 1024"]
#
# PUSH -> PULL over tcp with CURVE on both sides (no ZAP handler), for each
# size: libzmq<->libzmq (bench/curve/curve_thr.c against Debian's libzmq,
# which has CURVE through libsodium), ferrozmq<->ferrozmq (`fzmq perf
# local_thr|remote_thr` with FZMQ_PERF_CURVE=1: the same fixed keys) and both
# mixed pairings, interleaved run by run; prints the median msg/s of each
# and the ferrozmq/libzmq ratio. Needs libzmq3-dev and a C compiler (see
# scripts/setup.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=${1:-5}
sizes=${2:-"64 1024"}
out=$root/target/bench-curve
mkdir -p "$out"
cc -O2 -o "$out/curve_thr" "$here/curve_thr.c" -lzmq
(cd "$root" && cargo build --release -q -p ferrozmq-cli)
fzmq=$root/target/release/fzmq
port=$((20000 + RANDOM % 20000))

# one <local: lz|fz> <remote: lz|fz> <size> <count> -> msg/s
one () {
    port=$((port + 1))
    local ep=tcp://127.0.0.1:$port
    local l r
    case $1 in lz) l=("$out/curve_thr" local "$ep") ;; fz) l=(env FZMQ_PERF_CURVE=1 "$fzmq" perf local_thr "$ep") ;; esac
    case $2 in lz) r=("$out/curve_thr" remote "$ep") ;; fz) r=(env FZMQ_PERF_CURVE=1 "$fzmq" perf remote_thr "$ep") ;; esac
    timeout 120 "${l[@]}" "$3" "$4" >"$out/local.txt" &
    local pid=$!
    sleep 0.2
    timeout 120 "${r[@]}" "$3" "$4" >/dev/null
    wait $pid
    awk '/msg\/s/ {print $3}' "$out/local.txt"
}

median () { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf "%-8s %14s %14s %14s %14s %8s\n" size "libzmq<->libzmq" "ferro<->ferro" "ferro->libzmq" "libzmq->ferro" "f/l"
for size in $sizes; do
    count=$((size <= 256 ? 500000 : 200000))
    ll=() ff=() fl=() lf=()
    for ((i = 0; i < runs; i++)); do
        ll+=("$(one lz lz "$size" "$count")")
        ff+=("$(one fz fz "$size" "$count")")
        fl+=("$(one lz fz "$size" "$count")")
        lf+=("$(one fz lz "$size" "$count")")
    done
    mll=$(echo "${ll[*]}" | median); mff=$(echo "${ff[*]}" | median)
    mfl=$(echo "${fl[*]}" | median); mlf=$(echo "${lf[*]}" | median)
    printf "%-8s %14s %14s %14s %14s %8s\n" "$size" "$mll" "$mff" "$mfl" "$mlf" \
        "$(awk -v a="$mff" -v b="$mll" 'BEGIN {printf "%.2fx", a / b}')"
done
