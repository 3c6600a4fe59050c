# Sourced by the run.sh of ../perl ../ruby ../php ../java after lib/common.sh:
# the fzmq peer, the scenarios (REQ/REP and PUB/SUB, each side binding and
# connecting) and the library check; each run.sh then defines LANG_NAME and
# BINDING=(command...), which runs "BINDING MODE [EP] [STOPFILE]", and calls
# run_lib_check, run_scenarios and finish.
FZMQ=${FZMQ:-$REPO/target/debug/fzmq}
[ -x "$FZMQ" ] || fatal setup "the ferrozmq peer $FZMQ is missing (cargo build -p ferrozmq-cli)"

# A generator for fzmq send pub: "news <i>" / "weather <i>" pairs every
# 10 ms until the STOP file exists (at most 20 s).
cat >"$WORK/gen.sh" <<'GEN'
i=0
while [ ! -e "$1" ] && [ $i -lt 2000 ]; do
    printf 'news %d\nweather %d\n' $i $i
    i=$((i + 1))
    sleep 0.01
done
GEN
printf 'hello 1\nhello 2\nmulti\tpart\n' >"$WORK/requests"

# start NAME STDIN SECS CMD... : in the background under a watchdog;
# output in $WORK/NAME.out and .err; sets LAST_PID.
start() {
    local name=$1 input=$2 secs=$3
    shift 3
    timeout -k 5 "$secs" "$@" <"$input" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    LAST_PID=$!
}

# wait_line FILE REGEX SECS PID : the first line of FILE matching REGEX,
# polling until SECS have passed or PID has exited.
wait_line() {
    local file=$1 re=$2 secs=$3 pid=$4 line
    local end=$((SECONDS + secs))
    while :; do
        line=$(grep -m 1 -E "$re" "$file" 2>/dev/null) && { echo "$line"; return 0; }
        kill -0 "$pid" 2>/dev/null || break
        [ "$SECONDS" -ge "$end" ] && break
        sleep 0.05
    done
    line=$(grep -m 1 -E "$re" "$file" 2>/dev/null) && { echo "$line"; return 0; }
    return 1
}

# Counts the binding's PASS/FAIL lines and reports its exit status.
binding_result() {
    local name=$1 rc=$2 out="$WORK/$1.out"
    local np nf
    np=$(grep -c '^PASS ' "$out")
    nf=$(grep -c '^FAIL ' "$out")
    grep -E '^(PASS|FAIL|INFO) ' "$out"
    PASSED=$((PASSED + np))
    FAILED=$((FAILED + nf))
    if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
        local why="exited with status $rc"
        [ "$rc" -eq 124 ] && why="killed by the watchdog"
        fail "$name/exit" "$why; stderr: $(tail -n 8 "$WORK/$name.err" | tr '\n' ' ')"
    elif [ "$rc" -eq 0 ] && [ "$np" -eq 0 ]; then
        fail "$name/exit" "reported no checks; stderr: $(tail -n 8 "$WORK/$name.err" | tr '\n' ' ')"
    elif [ "$rc" -ne 0 ] || [ "$nf" -ne 0 ]; then
        echo "--- $name stderr:"; tail -n 15 "$WORK/$name.err" | sed 's/^/    /'
    fi
}

# The fzmq side of each exchange, and what it must print.
peer_result() {
    local file=$1 rc=$2 role=$3 name=$4
    local out="$WORK/$file.out" err="$WORK/$file.err"
    if [ "$rc" -ne 0 ]; then
        fail "$name/fzmq-exit" "fzmq exited with status $rc$([ "$rc" -eq 124 ] && echo ' (watchdog)'); stderr: $(tail -n 5 "$err" | tr '\n' ' ')"
    else
        pass "$name/fzmq-exit"
    fi
    local want got
    case $role in
        rep) want=$(printf '%s:hello 1\n%s:hello 2\n%s:multi\t%s:part' "$LANG_NAME" "$LANG_NAME" "$LANG_NAME" "$LANG_NAME") ;;
        req) want=$(printf 'hello 1\nhello 2\nmulti\tpart') ;;
        pub)
            got=$(cat "$out")
            local first ok=1 i=0 line
            first=$(head -n 1 "$out" | sed -n 's/^weather \([0-9][0-9]*\)$/\1/p')
            if [ -z "$first" ]; then ok=0; else
                while IFS= read -r line; do
                    [ "$line" = "weather $((first + i))" ] || ok=0
                    i=$((i + 1))
                done <"$out"
            fi
            if [ "$ok" = 1 ] && [ "$i" -eq 3 ]; then pass "$name/fzmq-sub-got-3-weather-in-order"
            else fail "$name/fzmq-sub-got-3-weather-in-order" "fzmq printed: $(echo "$got" | tr '\n' '|')"; fi
            return ;;
        sub) return ;;
    esac
    got=$(cat "$out")
    if [ "$got" = "$want" ]; then pass "$name/fzmq-output"
    else fail "$name/fzmq-output" "fzmq printed '$(echo "$got" | tr '\n' '|')', want '$(echo "$want" | tr '\n' '|')'"; fi
}

# scenario MODE: MODE is ROLE-SIDE, ROLE the binding's socket (rep req pub
# sub), SIDE whether the binding binds or connects (fzmq does the other).
scenario() {
    local mode=$1 role=${1%-*} side=${1#*-}
    # $WORK/$b.out|err: the binding's output, $WORK/$p.out|err: fzmq's.
    local b="$mode" p="$mode-fzmq" stop="$WORK/$mode.stop"
    local peer input=/dev/null gen=0
    case $role in
        rep) peer=("$FZMQ" send req --timeout-ms 15000); input="$WORK/requests" ;;
        req) peer=("$FZMQ" recv rep --echo --count 3 --timeout-ms 15000) ;;
        pub) peer=("$FZMQ" recv sub --subscribe weather --count 3 --timeout-ms 15000) ;;
        sub) peer=("$FZMQ" send pub -o linger=0); gen=1 ;;
    esac
    local bargs=() ep bpid ppid line
    [ "$role" = pub ] && bargs=("$stop")
    start_peer() { # $1: --bind/--connect EP
        if [ "$gen" = 1 ]; then
            start "$p" /dev/null 60 bash -c 'bash "$0" "$1" | "${@:2}"' "$WORK/gen.sh" "$stop" "${peer[@]}" "$@"
        else
            start "$p" "$input" 60 "${peer[@]}" "$@"
        fi
        ppid=$LAST_PID
    }
    if [ "$side" = bind ]; then
        start "$b" /dev/null 60 "${BINDING[@]}" "$mode" "${bargs[@]}"
        bpid=$LAST_PID
        if ! line=$(wait_line "$WORK/$b.out" '^ENDPOINT ' 30 "$bpid"); then
            wait "$bpid"
            binding_result "$b" "$?"
            fail "$mode/endpoint" "the binding printed no ENDPOINT line"
            return
        fi
        ep=${line#ENDPOINT }
        start_peer --connect "$ep"
    else
        start_peer --bind tcp://127.0.0.1:0
        if ! line=$(wait_line "$WORK/$p.err" '^fzmq: bound to ' 30 "$ppid"); then
            touch "$stop"
            wait "$ppid"
            fail "$mode/endpoint" "fzmq printed no 'bound to' line: $(tail -n 5 "$WORK/$p.err" | tr '\n' ' ')"
            return
        fi
        ep=${line#fzmq: bound to }
        start "$b" /dev/null 60 "${BINDING[@]}" "$mode" "$ep" "${bargs[@]}"
        bpid=$LAST_PID
    fi
    local brc prc
    case $role in
        pub) wait "$ppid"; prc=$?; touch "$stop"; wait "$bpid"; brc=$? ;;
        sub) wait "$bpid"; brc=$?; touch "$stop"; wait "$ppid"; prc=$? ;;
        *) wait "$bpid"; brc=$?; wait "$ppid"; prc=$? ;;
    esac
    echo "# $LANG_NAME $mode: $([ "$side" = bind ] && echo "$LANG_NAME binds, fzmq connects" || echo "fzmq binds, $LANG_NAME connects") at $ep"
    binding_result "$b" "$brc"
    peer_result "$p" "$prc" "$role" "$mode"
}

lib_check() {
    local name="lib-check"
    start "$name" /dev/null 60 "${BINDING[@]}" lib-check
    wait "$LAST_PID"
    binding_result "$name" "$?"
}
run_lib_check() { locked lib_check; }

run_scenarios() {
    local m
    for m in rep-bind rep-connect req-bind req-connect pub-bind pub-connect sub-bind sub-connect; do
        locked scenario "$m"
    done
}
