#!/usr/bin/env bash
# Checks ferrozmq's zmq.h against libzmq's (Debian's /usr/include/zmq.h):
#
#  1. both our headers (zmq.h, zmq_utils.h) compile with no warning as C99,
#     C11, C++98 and C++11, -Wall -Wextra -pedantic -Werror, with and
#     without -DZMQ_BUILD_DRAFT_API;
#  2. every macro libzmq's header defines exists in ours with the same value
#     (a C program prints each value, compiled once against each header),
#     also with stand-in system headers that leave errno.h empty, so that the
#     Windows fallbacks (ENOTSUP = ZMQ_HAUSNUMERO + 1, ...) are compared too;
#     macros only ours defines are listed;
#  3. sizeof, _Alignof and field offsets of zmq_msg_t, zmq_pollitem_t (and
#     zmq_poller_event_t in draft mode) agree;
#  4. every function and typedef has the same C type (compared through C++
#     typeid names, which encode the full parameter list), and ours declares
#     exactly 70 stable and 27 draft functions.
#
# Known, expected differences (reported, not failures): the version patch
# level (Debian has 4.3.4, we describe 4.3.5) and, in the draft block, what
# libzmq changed after 4.3.4 (ZMQ_RECONNECT_STOP_AFTER_DISCONNECT 0x3 -> 0x4,
# the options 113-124, ZMQ_NORM_* modes, zmq_ppoll, zmq_disconnect_peer).
#
# Usage: header_matches.sh [--system-include DIR]   (default /usr/include)
# Exit status 0 when everything matches. Needs cc, c++ (gcc, g++) and
# libzmq3-dev for the reference header.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ours=$(cd "$here/../../include" && pwd)
theirs=/usr/include
while [ $# -gt 0 ]; do
    case "$1" in
        --system-include) theirs=$2; shift 2 ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        *) echo "header_matches: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -f "$theirs/zmq.h" ] || { echo "header_matches: FAIL: no reference header $theirs/zmq.h (apt-get install libzmq3-dev)" >&2; exit 1; }
[ -f "$ours/zmq.h" ] || { echo "header_matches: FAIL: no $ours/zmq.h" >&2; exit 1; }

# One compile at a time on the shared machine; callers that already hold the
# lock export FERROZMQ_CPU_LOCK_HELD=1.
locked() {
    if [ -n "${FERROZMQ_CPU_LOCK_HELD:-}" ]; then "$@"
    else FERROZMQ_CPU_LOCK_HELD=1 flock /tmp/ferrozmq-cpu.lock "$@"; fi
}

work=$(mktemp -d /tmp/ferrozmq-header.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Macros that may differ, with the reason.
known_difference() {
    case "$1" in
        ZMQ_VERSION_PATCH|ZMQ_VERSION) echo "libzmq 4.3.5 vs the reference's own version" ;;
        ZMQ_RECONNECT_STOP_AFTER_DISCONNECT) echo "draft value changed in libzmq 4.3.5 (0x3 -> 0x4)" ;;
        *) return 1 ;;
    esac
}

# ---------------------------------------------------------------- 1. compile
echo "== 1. our headers compile cleanly"
cat >"$work/use.c" <<'EOF'
#include <zmq.h>
#include <zmq_utils.h>
static zmq_msg_t msg;
static zmq_pollitem_t item;
int main (void)
{
    (void) msg;
    (void) item;
    return ZMQ_VERSION == ZMQ_MAKE_VERSION (4, 3, 5) ? 0 : 1;
}
EOF
cp "$work/use.c" "$work/use.cpp"
compile_ok() {  # compiler std draft-flag file
    local out
    if ! out=$(locked "$1" "-std=$2" -Wall -Wextra -pedantic -Werror \
            -DZMQ_NO_DEPRECATION_NOTE $3 -I "$ours" -c "$4" -o "$work/use.o" 2>&1); then
        fail "$1 -std=$2 $3: $out"
    else
        echo "ok: $1 -std=$2 ${3:-(stable)}"
    fi
}
for draft in "" "-DZMQ_BUILD_DRAFT_API"; do
    for std in c99 c11; do compile_ok cc "$std" "$draft" "$work/use.c"; done
    for std in c++98 c++11; do compile_ok c++ "$std" "$draft" "$work/use.cpp"; done
done

# ------------------------------------------------------------- 2. macros
# Stand-in system headers: just enough for zmq.h and printf, with an empty
# errno.h so the header's own #ifndef E... fallbacks become visible.
stub="$work/stub"
mkdir -p "$stub"
: >"$stub/errno.h"
: >"$stub/signal.h"
: >"$stub/inttypes.h"
cat >"$stub/stddef.h" <<'EOF'
typedef __SIZE_TYPE__ size_t;
#define NULL ((void *) 0)
#define offsetof(t, m) __builtin_offsetof (t, m)
EOF
cat >"$stub/stdint.h" <<'EOF'
typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __INT32_TYPE__ int32_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
EOF
cat >"$stub/stdio.h" <<'EOF'
int printf (const char *, ...);
EOF

# macro_names INCLUDE_DIR MODE(real|stub) DRAFT_FLAG -> "NAME<TAB>KIND" lines,
# KIND = object | empty | function; only macros the header itself defines.
macro_names() {
    local inc=$1 mode=$2 draft=$3 extra=()
    [ "$mode" = stub ] && extra=(-nostdinc -I "$stub")
    printf '#include <errno.h>\n#include <stddef.h>\n#include <stdio.h>\n#include <stdint.h>\n#include <signal.h>\n' >"$work/base.c"
    printf '#include <errno.h>\n#include <stddef.h>\n#include <stdio.h>\n#include <stdint.h>\n#include <signal.h>\n#include <zmq.h>\n' >"$work/with.c"
    locked cc -std=gnu11 $draft "${extra[@]}" -dM -E "$work/base.c" | sort >"$work/base.dm"
    locked cc -std=gnu11 $draft "${extra[@]}" -I "$inc" -dM -E "$work/with.c" | sort >"$work/with.dm"
    comm -13 "$work/base.dm" "$work/with.dm" | awk '
        /^#define [A-Za-z_][A-Za-z0-9_]*\(/ { n=$2; sub(/\(.*/, "", n); print n "\tfunction"; next }
        /^#define / && NF == 2 { print $2 "\tempty"; next }
        /^#define / { print $2 "\tobject" }' | grep -v '_H_INCLUDED__' | sort -u
}

# value_program NAMES_FILE -> C source printing "NAME = value" per macro.
value_program() {
    {
        echo '#include <errno.h>'
        echo '#include <stddef.h>'
        echo '#include <stdint.h>'
        echo '#include <stdio.h>'
        echo '#include <zmq.h>'
        echo 'static void num (const char *n, long long v) { printf ("%s = %lld\n", n, v); }'
        echo 'static void str (const char *n, const char *v) { printf ("%s = \"%s\"\n", n, v); }'
        echo '#define SHOW(n) _Generic ((n), char *: str, const char *: str, default: num) (#n, (n))'
        echo 'int main (void) {'
        while IFS=$'\t' read -r name kind; do
            echo "#ifdef $name"
            case "$kind" in
                object) echo "    SHOW ($name);" ;;
                empty) echo "    printf (\"%s defined, empty\\n\", \"$name\");" ;;
                function)
                    if [ "$name" = ZMQ_MAKE_VERSION ]; then
                        echo "    printf (\"%s(1,2,3) = %lld\\n\", \"$name\", (long long) $name (1, 2, 3));"
                    else
                        echo "    printf (\"%s defined, function-like\\n\", \"$name\");"
                    fi ;;
            esac
            echo "#else"
            echo "    printf (\"%s UNDEFINED\\n\", \"$name\");"
            echo "#endif"
        done <"$1"
        echo '    return 0;'
        echo '}'
    }
}

# macro_values INCLUDE_DIR MODE DRAFT_FLAG NAMES_FILE OUT
macro_values() {
    local inc=$1 mode=$2 draft=$3 names=$4 out=$5 extra=()
    [ "$mode" = stub ] && extra=(-nostdinc -I "$stub")
    value_program "$names" >"$work/values.c"
    if ! locked cc -std=gnu11 -w $draft "${extra[@]}" -I "$inc" "$work/values.c" -o "$work/values" 2>"$work/values.err"; then
        fail "cannot build the macro printer against $inc ($mode $draft):"; cat "$work/values.err"; return
    fi
    "$work/values" | sort >"$out"
}

compare_macros() {  # MODE DRAFT_FLAG LABEL
    local mode=$1 draft=$2 label=$3
    echo
    echo "== 2. macros, $label"
    macro_names "$theirs" "$mode" "$draft" >"$work/theirs.names"
    macro_names "$ours" "$mode" "$draft" >"$work/ours.names"
    sort -u "$work/theirs.names" "$work/ours.names" >"$work/all.names"
    macro_values "$theirs" "$mode" "$draft" "$work/all.names" "$work/theirs.values"
    macro_values "$ours" "$mode" "$draft" "$work/all.names" "$work/ours.values"
    local n_theirs n_ours same=0 name line_t line_o why
    n_theirs=$(wc -l <"$work/theirs.names")
    n_ours=$(wc -l <"$work/ours.names")
    while IFS=$'\t' read -r name _; do
        line_t=$(grep -E "^$name( |\()" "$work/theirs.values" || true)
        line_o=$(grep -E "^$name( |\()" "$work/ours.values" || true)
        if [ -z "$line_t" ]; then
            fail "macro $name: no value printed for the reference"
        elif [ "$line_t" = "$line_o" ]; then
            same=$((same + 1))
        elif why=$(known_difference "$name"); then
            echo "known difference: reference '$line_t', ours '$line_o' ($why)"
        else
            fail "macro $name: reference '$line_t', ours '$line_o'"
        fi
    done <"$work/theirs.names"
    echo "reference defines $n_theirs macros, ours $n_ours; $same identical"
    local extras
    extras=$(cut -f1 "$work/ours.names" | grep -vxF -f <(cut -f1 "$work/theirs.names") || true)
    if [ -n "$extras" ]; then
        echo "only in ours (extras, fine):"
        for name in $extras; do
            echo "  $(grep -E "^$name( |\()" "$work/ours.values")"
        done
    fi
}
compare_macros real "" "stable, real system headers"
compare_macros stub "" "stable, empty errno.h (Windows fallbacks)"
compare_macros real "-DZMQ_BUILD_DRAFT_API" "draft, real system headers"

# ------------------------------------------------------------- 3. layouts
echo
echo "== 3. struct layouts"
cat >"$work/layout.c" <<'EOF'
#include <stddef.h>
#include <stdio.h>
#include <zmq.h>
#define L(what, v) printf ("%-40s %zu\n", what, (size_t) (v))
int main (void)
{
    L ("sizeof (zmq_msg_t)", sizeof (zmq_msg_t));
    L ("_Alignof (zmq_msg_t)", _Alignof (zmq_msg_t));
    L ("sizeof (zmq_fd_t)", sizeof (zmq_fd_t));
    L ("sizeof (zmq_pollitem_t)", sizeof (zmq_pollitem_t));
    L ("_Alignof (zmq_pollitem_t)", _Alignof (zmq_pollitem_t));
    L ("offsetof (zmq_pollitem_t, socket)", offsetof (zmq_pollitem_t, socket));
    L ("offsetof (zmq_pollitem_t, fd)", offsetof (zmq_pollitem_t, fd));
    L ("offsetof (zmq_pollitem_t, events)", offsetof (zmq_pollitem_t, events));
    L ("offsetof (zmq_pollitem_t, revents)", offsetof (zmq_pollitem_t, revents));
#ifdef ZMQ_BUILD_DRAFT_API
    L ("sizeof (zmq_poller_event_t)", sizeof (zmq_poller_event_t));
    L ("_Alignof (zmq_poller_event_t)", _Alignof (zmq_poller_event_t));
    L ("offsetof (zmq_poller_event_t, socket)", offsetof (zmq_poller_event_t, socket));
    L ("offsetof (zmq_poller_event_t, fd)", offsetof (zmq_poller_event_t, fd));
    L ("offsetof (zmq_poller_event_t, user_data)", offsetof (zmq_poller_event_t, user_data));
    L ("offsetof (zmq_poller_event_t, events)", offsetof (zmq_poller_event_t, events));
#endif
    return 0;
}
EOF
for draft in "" "-DZMQ_BUILD_DRAFT_API"; do
    for side in theirs ours; do
        inc=$theirs; [ $side = ours ] && inc=$ours
        locked cc -std=gnu11 $draft -I "$inc" "$work/layout.c" -o "$work/layout.$side"
        "$work/layout.$side" >"$work/layout.$side.txt"
    done
    if diff -u "$work/layout.theirs.txt" "$work/layout.ours.txt" >"$work/layout.diff"; then
        echo "ok: layouts identical ${draft:-(stable)}:"
        sed 's/^/  /' "$work/layout.ours.txt"
    else
        fail "layouts differ ${draft:-(stable)}:"; cat "$work/layout.diff"
    fi
done

# ------------------------------------------------------------- 4. functions
echo
echo "== 4. function and typedef types"
# function_names INCLUDE_DIR DRAFT_FLAG: every function declared ZMQ_EXPORT.
function_names() {
    printf '#include <zmq.h>\n' >"$work/fn.c"
    locked cc -std=gnu11 $2 -I "$1" -E -P "$work/fn.c" | tr '\n' ' ' \
        | grep -oE 'visibility *\( *"default" *\) *\) *\)[^;(]*\(' \
        | sed -E 's/.*[^A-Za-z0-9_]([A-Za-z_][A-Za-z0-9_]*) *\($/\1/' | sort -u
}
typeid_program() {  # NAMES_FILE
    echo '#include <zmq.h>'
    echo '#include <cstdio>'
    echo '#include <typeinfo>'
    echo '#define T(x) std::printf ("%-32s %s\n", #x, typeid (x).name ())'
    echo 'int main () {'
    while read -r f; do echo "    T (&$f);"; done <"$1"
    cat <<'EOF'
    T (zmq_msg_t);
    T (zmq_free_fn);
    T (zmq_fd_t);
    T (zmq_pollitem_t);
    T (((zmq_pollitem_t *) 0)->socket);
    T (((zmq_pollitem_t *) 0)->fd);
    T (((zmq_pollitem_t *) 0)->events);
    T (((zmq_pollitem_t *) 0)->revents);
    T (zmq_timer_fn);
    T (zmq_thread_fn);
#ifdef ZMQ_BUILD_DRAFT_API
    T (zmq_poller_event_t);
    T (((zmq_poller_event_t *) 0)->socket);
    T (((zmq_poller_event_t *) 0)->fd);
    T (((zmq_poller_event_t *) 0)->user_data);
    T (((zmq_poller_event_t *) 0)->events);
#endif
    return 0;
}
EOF
}
for draft in "" "-DZMQ_BUILD_DRAFT_API"; do
    label=${draft:-(stable)}
    function_names "$theirs" "$draft" >"$work/fn.theirs"
    function_names "$ours" "$draft" >"$work/fn.ours"
    echo "reference declares $(wc -l <"$work/fn.theirs") functions $label, ours $(wc -l <"$work/fn.ours")"
    missing=$(comm -23 "$work/fn.theirs" "$work/fn.ours")
    [ -z "$missing" ] || fail "functions missing from ours $label: $missing"
    extra=$(comm -13 "$work/fn.theirs" "$work/fn.ours" | tr '\n' ' ')
    [ -z "$extra" ] || echo "only in ours $label (newer than the reference header): $extra"
    comm -12 "$work/fn.theirs" "$work/fn.ours" >"$work/fn.common"
    for side in theirs ours; do
        inc=$theirs; [ $side = ours ] && inc=$ours
        typeid_program "$work/fn.common" >"$work/typeid.cpp"
        locked c++ -std=c++11 -w $draft -I "$inc" "$work/typeid.cpp" -o "$work/typeid.$side"
        "$work/typeid.$side" >"$work/typeid.$side.txt"
    done
    if diff -u "$work/typeid.theirs.txt" "$work/typeid.ours.txt" >"$work/typeid.diff"; then
        echo "ok: $(wc -l <"$work/typeid.ours.txt") function and type signatures identical $label"
    else
        fail "signatures differ $label:"; cat "$work/typeid.diff"
    fi
done
n_stable=$(function_names "$ours" "" | wc -l)
n_all=$(function_names "$ours" "-DZMQ_BUILD_DRAFT_API" | wc -l)
if [ "$n_stable" -eq 70 ] && [ $((n_all - n_stable)) -eq 27 ]; then
    echo "ok: ours declares 70 stable and 27 draft functions"
else
    fail "ours declares $n_stable stable and $((n_all - n_stable)) draft functions (want 70 and 27)"
fi

echo
if [ "$failures" -eq 0 ]; then
    echo "header_matches: PASS"
else
    echo "header_matches: FAIL ($failures problems)"
    exit 1
fi
