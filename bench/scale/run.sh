#!/usr/bin/env bash
# run.sh - the scale benchmark, ferrozmq beside libzmq (see README.md here):
#
#   bash bench/scale/run.sh            # ROUTER x 10 000 DEALERs, PUB x 1 000 SUBs
#   bash bench/scale/run.sh --quick    # smoke: N = 500 / 100, one repetition
#   bash bench/scale/run.sh --help
#
# Builds bench/scale/scale.c against Debian's libzmq (cc -O2 ... -lzmq) and
# crates/ferrozmq/examples/scale.rs (cargo build --release --example scale),
# raises the open-file limit (2 descriptors per connection in the client
# process), then runs each implementation's server with its own clients,
# libzmq and ferrozmq in turn (order alternating between repetitions), every
# program under its own watchdog and `timeout`, and prints a table of
# medians with the ferrozmq/libzmq ratios. Exit status: 0 if every run
# produced its figures, 1 if one failed, 2 if the setup failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))
cd "$root"

say () { echo "run.sh: $*" >&2; }

usage () {
    cat <<'EOF'
usage: bash bench/scale/run.sh [options]

  --quick            smoke run: --router-n 500 --pub-n 100 --pub-m 2000 --reps 1
  --reps R           repetitions per implementation and test (default 3; median shown)
  --router-n N       DEALER connections to the ROUTER (default 10000)
  --router-k K       requests per DEALER in the timed phase (default 20)
  --pub-n N          SUB connections to the PUB (default 1000)
  --pub-m M          messages published to all SUBs (default 10000)
  --size B           message size in bytes (default 8; at least 8)
  --only LIST        router,pub (default both)
  --backlog N        ZMQ_BACKLOG for both servers (default: the library default, 100)
  --timeout S        watchdog per program in seconds (default 600; 120 with --quick)
  --out DIR          logs and results (default target/bench-scale/out)

environment: SCALE_FERROZMQ (use this ferrozmq `scale` binary instead of
building one), SCALE_BUILD (build directory, default target/bench-scale),
SCALE_PORT (first TCP port).
EOF
}

router_n=10000 router_k=20 pub_n=1000 pub_m=10000 size=8 reps=3 only=router,pub
backlog="" timeout_s=600 out=""
# --quick sets smaller defaults; options given with it still apply.
for a in "$@"; do
    case $a in --quick) router_n=500 pub_n=100 pub_m=2000 reps=1 timeout_s=120 ;; esac
done
while [ $# -gt 0 ]; do
    case $1 in
        --quick) ;;
        --reps) reps=$2; shift ;;
        --router-n) router_n=$2; shift ;;
        --router-k) router_k=$2; shift ;;
        --pub-n) pub_n=$2; shift ;;
        --pub-m) pub_m=$2; shift ;;
        --size) size=$2; shift ;;
        --only) only=$2; shift ;;
        --backlog) backlog=$2; shift ;;
        --timeout) timeout_s=$2; shift ;;
        --out) out=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) say "unknown option $1"; usage >&2; exit 2 ;;
    esac
    shift
done
for v in router_n router_k pub_n pub_m size reps timeout_s; do
    case ${!v} in ''|*[!0-9]*) say "--${v//_/-} must be a number"; exit 2 ;; esac
done
[ "$size" -ge 8 ] || { say "--size must be at least 8 (the PUB test carries a sequence number)"; exit 2; }
run_router=0 run_pub=0
case ",$only," in *,router,*) run_router=1 ;; esac
case ",$only," in *,pub,*) run_pub=1 ;; esac
[ $run_router = 1 ] || [ $run_pub = 1 ] || { say "--only takes router, pub or router,pub"; exit 2; }

# --- open files ---------------------------------------------------------------
# The client process holds, per connection, the TCP socket and the zmq
# socket's eventfd (libzmq's mailbox signaler, ferrozmq's Signal): 2 fds.
max_n=0
[ $run_router = 1 ] && max_n=$router_n
[ $run_pub = 1 ] && [ "$pub_n" -gt "$max_n" ] && max_n=$pub_n
need=$((2 * max_n + 64))
soft=$(ulimit -Sn) hard=$(ulimit -Hn)
if [ "$soft" != unlimited ] && [ "$soft" -lt "$need" ]; then
    if [ "$hard" = unlimited ] || [ "$hard" -ge "$need" ]; then
        ulimit -Sn "$need"
    elif ! { ulimit -Hn "$need" && ulimit -Sn "$need"; } 2>/dev/null; then
        fit=$(( (hard - 64) / 2 ))
        say "need $need open files per process for N=$max_n (2 per connection in the client" \
            "process: the TCP socket and the zmq socket's eventfd), but the hard limit is" \
            "$hard and cannot be raised here (that needs root with CAP_SYS_RESOURCE, or a" \
            "higher nofile limit for this session). Run with N <= $fit" \
            "(--router-n / --pub-n), or raise the limit first."
        exit 2
    fi
fi
say "open files: soft limit $(ulimit -Sn) (need $need)"

# --- dependencies and builds ------------------------------------------------
missing=()
[ -e /usr/include/zmq.h ] || missing+=(libzmq3-dev)
command -v cc >/dev/null || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        say "missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root"
        exit 2
    fi
    say "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

build=${SCALE_BUILD:-$root/target/bench-scale}
out=${out:-$build/out}
mkdir -p "$build" "$out"
say "cc -O2 bench/scale/scale.c -lzmq"
cc -O2 -Wall -o "$build/scale-libzmq" "$here/scale.c" -lzmq
if [ -n "${SCALE_FERROZMQ:-}" ]; then
    fz=$SCALE_FERROZMQ
    fz_source="the binary $fz (SCALE_FERROZMQ)"
else
    say "cargo build --release -p ferrozmq --example scale"
    cargo build --release -q -p ferrozmq --example scale
    target=$(cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    fz=$target/release/examples/scale
    fz_source="$(git describe --always --dirty 2>/dev/null || echo unknown) (release build)"
fi
[ -x "$fz" ] || { say "no ferrozmq scale binary at $fz"; exit 2; }
declare -A bin=([libzmq]="$build/scale-libzmq" [ferrozmq]="$fz")

# --- ports --------------------------------------------------------------------
# Below the ephemeral range, so no client connection can hold one; every
# run gets fresh ports (checked unused, TIME_WAIT included).
port=${SCALE_PORT:-$((21000 + ($$ % 500) * 20))}
next_port () { # sets $got_port (not a subshell: $port must advance)
    while ss -Htan "( sport = :$port )" 2>/dev/null | grep -q .; do port=$((port + 1)); done
    got_port=$port
    port=$((port + 1))
}

# --- runs -----------------------------------------------------------------------
results=$out/results.tsv
log=$out/log.txt
: >"$results"
: >"$log"
export SCALE_TIMEOUT=$timeout_s
if [ -n "$backlog" ]; then export SCALE_BACKLOG=$backlog; else unset SCALE_BACKLOG; fi
failures=0

field () { # field FILE PREFIX -> the first word after PREFIX
    awk -v p="$2" 'index($0, p) == 1 { sub(p, ""); split($0, w, " "); print w[1]; exit }' "$1"
}

# run_one KIND IMPL REP
run_one () {
    local kind=$1 impl=$2 rep=$3 b=${bin[$2]}
    local srv=$out/$kind-$impl-$rep-server cli=$out/$kind-$impl-$rep-clients
    local p1 p2 server_args client_args n
    next_port; p1=$got_port
    if [ "$kind" = router ]; then
        n=$router_n
        server_args=(router-server "tcp://127.0.0.1:$p1" "$router_n" "$router_k" "$size")
        client_args=(router-clients "tcp://127.0.0.1:$p1" "$router_n" "$router_k" "$size")
    else
        n=$pub_n
        next_port; p2=$got_port
        server_args=(pub-server "tcp://127.0.0.1:$p1" "tcp://127.0.0.1:$p2" "$pub_n" "$pub_m" "$size")
        client_args=(sub-clients "tcp://127.0.0.1:$p1" "tcp://127.0.0.1:$p2" "$pub_n" "$pub_m" "$size")
    fi
    local guard=$((timeout_s + 15))
    timeout -k 5 "$guard" "$b" "${server_args[@]}" >"$srv.out" 2>"$srv.err" &
    local spid=$! i
    # Bind first: the server prints "listening:" once bound.
    for ((i = 0; i < 400; i++)); do
        grep -q '^listening:' "$srv.out" 2>/dev/null && break
        kill -0 $spid 2>/dev/null || break
        sleep 0.05
    done
    local crc=0 src=0
    if grep -q '^listening:' "$srv.out"; then
        timeout -k 5 "$guard" "$b" "${client_args[@]}" >"$cli.out" 2>"$cli.err" || crc=$?
    else
        crc=125
        : >"$cli.out"
        echo "server did not start listening" >"$cli.err"
    fi
    if [ $crc != 0 ]; then
        # The server would wait for clients that are gone: end it now.
        kill $spid 2>/dev/null || true
    fi
    wait $spid || src=$?
    {
        echo "=== $kind $impl rep $rep: $b ${server_args[*]}  (exit $src)"
        cat "$srv.out" "$srv.err" 2>/dev/null || true
        echo "=== $kind $impl rep $rep: $b ${client_args[*]}  (exit $crc)"
        cat "$cli.out" "$cli.err" 2>/dev/null || true
    } >>"$log"
    local mem vmd conn thr name status=ok
    mem=$(field "$srv.out" "memory per connection: ")
    vmd=$(field "$srv.out" "vmdata per connection: ")
    conn=$(field "$cli.out" "connect time: ")
    thr=$(field "$cli.out" "throughput: ")
    name=$(sed -n 's/^implementation: //p' "$srv.out" | head -1)
    if [ $src != 0 ] || [ $crc != 0 ] || [ -z "$mem" ] || [ -z "$conn" ] || [ -z "$thr" ]; then
        status="FAIL(server $src, clients $crc)"
        failures=$((failures + 1))
        say "$kind $impl rep $rep failed: server exit $src, clients exit $crc:" \
            "$(tail -n1 "$srv.err" "$cli.err" 2>/dev/null | grep -v '^==>' | grep . | tr '\n' ' ')"
    else
        say "$kind $impl rep $rep: N=$n ${mem} B/conn (VmData ${vmd} B/conn)," \
            "connect ${conn} s, ${thr} msg/s"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$impl" "$rep" "$n" "$status" \
        "${mem:--}" "${conn:--}" "${thr:--}" "${vmd:--}" >>"$results"
    [ -n "$name" ] && echo "$impl	$name" >>"$out/names.tsv"
    return 0
}

: >"$out/names.tsv"
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$SECONDS
for ((rep = 1; rep <= reps; rep++)); do
    # Alternate the order so that neither implementation always goes first.
    if ((rep % 2)); then order=(libzmq ferrozmq); else order=(ferrozmq libzmq); fi
    for kind in router pub; do
        [ $kind = router ] && [ $run_router = 0 ] && continue
        [ $kind = pub ] && [ $run_pub = 0 ] && continue
        for impl in "${order[@]}"; do
            run_one $kind "$impl" $rep
        done
    done
done

# --- table ----------------------------------------------------------------------
table=$out/table.md
{
    echo "## Scale: ferrozmq vs libzmq"
    echo
    echo "$started; $(nproc) CPUs; load before: $load; $reps repetition(s), medians" \
        "(min-max); message size $size B; listen backlog ${backlog:-library default};" \
        "$((SECONDS - t_start)) s in all. ferrozmq: $fz_source."
    echo
    echo "- ROUTER: N DEALERs (one client process, one context) connect to one ROUTER;" \
        "K=$router_k echo round trips each, N in flight; msgs/s = round trips per second."
    echo "- PUB: N SUBs (one client process) subscribed to everything; M=$pub_m messages;" \
        "msgs/s = deliveries (messages x subscribers) per second."
    echo "- bytes/connection: server VmRSS growth from bound to all N connected and one" \
        "message carried on each, / N (VmData: the same for private writable mappings," \
        "i.e. heap reserved, touched or not). connect time: client side, first socket" \
        "created to every connection's first message received."
    echo
    awk -F'\t' -v names="$out/names.tsv" '
        function median(list,    a, n, i, j, t) {
            n = split(list, a, " ")
            for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
            if (n == 0) return ""
            return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        function lo(list,    a, n, i, m) { n = split(list, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]; return m }
        function hi(list,    a, n, i, m) { n = split(list, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]; return m }
        function si(x) {
            if (x == "") return "-"
            if (x >= 1e6) return sprintf("%.3gM", x / 1e6)
            if (x >= 1e3) return sprintf("%.3gk", x / 1e3)
            return sprintf("%.3g", x)
        }
        function cell(list, kind,    m, s) {
            if (list == "") return "**FAIL**"
            m = median(list)
            if (kind == "bytes") s = sprintf("%d", m); else if (kind == "s") s = sprintf("%.3f", m); else s = si(m)
            if (split(list, tmp, " ") > 1) {
                if (kind == "bytes") s = s sprintf(" (%d-%d)", lo(list), hi(list))
                else if (kind == "s") s = s sprintf(" (%.3f-%.3f)", lo(list), hi(list))
                else s = s " (" si(lo(list)) "-" si(hi(list)) ")"
            }
            return s
        }
        function ratio(a, b) { if (a == "" || b == "" || median(b) + 0 == 0) return "-"; return sprintf("%.2f×", median(a) / median(b)) }
        BEGIN { while ((getline line < names) > 0) { split(line, nf, "\t"); label[nf[1]] = nf[2] } }
        {
            k = $1 SUBSEP $2; n[$1] = $4
            if ($5 == "ok") { mem[k] = mem[k] " " $6; conn[k] = conn[k] " " $7; thr[k] = thr[k] " " $8; vmd[k] = vmd[k] " " $9 }
            else fails[k]++
            seen[$1] = 1
        }
        END {
            print "| test | N | implementation | bytes/connection | connect time [s] | msgs/s | VmData bytes/connection |"
            print "|---|---:|---|---:|---:|---:|---:|"
            split("router pub", kinds, " ")
            for (ki = 1; ki <= 2; ki++) {
                kd = kinds[ki]
                if (!(kd in seen)) continue
                title = (kd == "router") ? "ROUTER echo" : "PUB fan-out"
                split("libzmq ferrozmq", impls, " ")
                for (ii = 1; ii <= 2; ii++) {
                    im = impls[ii]; k = kd SUBSEP im
                    nm = (im in label) ? label[im] : im
                    if (k in fails) nm = nm " ⚠" fails[k] " failed"
                    printf "| %s | %d | %s | %s | %s | %s | %s |\n", title, n[kd], nm, cell(mem[k], "bytes"), cell(conn[k], "s"), cell(thr[k], "rate"), cell(vmd[k], "bytes")
                }
                kl = kd SUBSEP "libzmq"; kf = kd SUBSEP "ferrozmq"
                printf "| %s | %d | **ferrozmq/libzmq** | %s | %s | %s | %s |\n", title, n[kd], ratio(mem[kf], mem[kl]), ratio(conn[kf], conn[kl]), ratio(thr[kf], thr[kl]), ratio(vmd[kf], vmd[kl])
            }
        }' "$results"
    echo
    echo "Ratios: bytes/connection and connect time, lower is better for ferrozmq;" \
        "msgs/s, higher is better. Every program's output: $log."
} >"$table"
cat "$table"
if [ $failures -gt 0 ]; then
    say "$failures run(s) failed; see $log"
    exit 1
fi
