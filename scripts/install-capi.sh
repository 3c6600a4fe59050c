#!/usr/bin/env bash
# Installs ferrozmq's C ABI drop-in (libzmq.so.5, libzmq.a, zmq.h,
# zmq_utils.h, libzmq.pc) under a prefix, or removes it again.
#
#   bash scripts/install-capi.sh [--no-build] [--force] [PREFIX]
#   bash scripts/install-capi.sh --uninstall [PREFIX]
#
# PREFIX defaults to /usr/local. Files go to PREFIX/lib (not the Debian
# multiarch PREFIX/lib/x86_64-linux-gnu), PREFIX/include and
# PREFIX/lib/pkgconfig, and the list of what was installed to
# PREFIX/share/ferrozmq/capi-manifest, which --uninstall reads: it removes
# exactly those files and nothing else. Running either direction twice is
# harmless.
#
# Unless --no-build is given it first runs scripts/build-capi.sh, which
# stages the library in target/capi/. With a system prefix (/usr/local,
# /usr) and root it runs ldconfig afterwards.
#
# WARNING: /usr/local/lib comes before /usr/lib/x86_64-linux-gnu in the
# dynamic linker's search order, so installing into /usr/local makes every
# program on the machine that uses libzmq.so.5 (Debian's python3-zmq,
# czmq, ...) load ferrozmq instead of Debian's libzmq. That is the point of
# a drop-in, but tests must never do it: they install into a temporary
# PREFIX. PREFIX=/usr would overwrite Debian's own /usr/include/zmq.h and is
# refused unless --force.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
stage="$root/target/capi"
soname=libzmq.so.5
real=libzmq.so.5.2.5

prefix=/usr/local
uninstall=0
build=1
force=0
while [ $# -gt 0 ]; do
    case "$1" in
        --uninstall) uninstall=1 ;;
        --no-build) build=0 ;;
        --force) force=1 ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        -*) echo "install-capi: unknown option $1" >&2; exit 2 ;;
        *) prefix=$1 ;;
    esac
    shift
done
case "$prefix" in
    /*) ;;
    *) prefix="$(pwd)/$prefix" ;;
esac
prefix=${prefix%/}
[ -n "$prefix" ] || { echo "install-capi: refusing to use / as the prefix" >&2; exit 2; }

libdir="$prefix/lib"
incdir="$prefix/include"
pcdir="$libdir/pkgconfig"
manifest="$prefix/share/ferrozmq/capi-manifest"

is_system_prefix() { [ "$prefix" = /usr/local ] || [ "$prefix" = /usr ]; }
run_ldconfig() {
    if is_system_prefix; then
        if [ "$(id -u)" = 0 ]; then
            ldconfig
            echo "install-capi: ran ldconfig"
        else
            echo "install-capi: not root: run 'ldconfig' as root to refresh the linker cache"
        fi
    fi
}

if [ "$uninstall" = 1 ]; then
    if [ ! -f "$manifest" ]; then
        echo "install-capi: nothing to uninstall under $prefix (no $manifest)"
        exit 0
    fi
    while IFS= read -r f; do
        [ -n "$f" ] || continue
        if [ -e "$f" ] || [ -L "$f" ]; then
            rm -f -- "$f"
            echo "removed $f"
        fi
    done <"$manifest"
    rm -f -- "$manifest"
    # Remove the directories we may have created, only if now empty.
    for d in "$prefix/share/ferrozmq" "$pcdir" "$libdir" "$incdir" "$prefix/share"; do
        rmdir -- "$d" 2>/dev/null || true
    done
    run_ldconfig
    echo "install-capi: uninstalled ferrozmq's libzmq from $prefix"
    exit 0
fi

if [ "$prefix" = /usr ] && [ "$force" = 0 ]; then
    echo "install-capi: PREFIX=/usr would overwrite Debian's libzmq3-dev files (/usr/include/zmq.h);" >&2
    echo "install-capi: use /usr/local (the default) or pass --force" >&2
    exit 2
fi

if [ "$build" = 1 ]; then
    [ -f "$root/scripts/build-capi.sh" ] || { echo "install-capi: scripts/build-capi.sh is missing" >&2; exit 1; }
    (cd "$root" && bash scripts/build-capi.sh)
fi

for f in "lib/$real" "lib/libzmq.a" "include/zmq.h" "include/zmq_utils.h" "lib/pkgconfig/libzmq.pc"; do
    [ -f "$stage/$f" ] || { echo "install-capi: $stage/$f is missing (did scripts/build-capi.sh run?)" >&2; exit 1; }
done

if [ "$prefix" = /usr/local ]; then
    echo "install-capi: NOTE: /usr/local/lib/$soname shadows Debian's libzmq for every program on this machine"
fi

mkdir -p "$libdir" "$incdir" "$pcdir" "$(dirname "$manifest")"
installed=()
put() {  # mode source destination
    install -m "$1" "$2" "$3"
    installed+=("$3")
    echo "installed $3"
}
link() {  # target name
    ln -sfn "$1" "$2"
    installed+=("$2")
    echo "installed $2 -> $1"
}

put 0755 "$stage/lib/$real" "$libdir/$real"
link "$real" "$libdir/$soname"
link "$soname" "$libdir/libzmq.so"
put 0644 "$stage/lib/libzmq.a" "$libdir/libzmq.a"
put 0644 "$stage/include/zmq.h" "$incdir/zmq.h"
put 0644 "$stage/include/zmq_utils.h" "$incdir/zmq_utils.h"

# The staged .pc names the staging prefix; point it at this one.
tmp_pc=$(mktemp)
sed -e "s|^prefix=.*|prefix=$prefix|" \
    -e 's|^exec_prefix=.*|exec_prefix=${prefix}|' \
    -e 's|^libdir=.*|libdir=${prefix}/lib|' \
    -e 's|^includedir=.*|includedir=${prefix}/include|' \
    "$stage/lib/pkgconfig/libzmq.pc" >"$tmp_pc"
put 0644 "$tmp_pc" "$pcdir/libzmq.pc"
rm -f "$tmp_pc"

# Merge with an earlier manifest so that a re-install keeps one list.
{
    [ -f "$manifest" ] && cat "$manifest"
    printf '%s\n' "${installed[@]}"
} | sort -u >"$manifest.new"
mv -f "$manifest.new" "$manifest"
echo "installed $manifest (read by --uninstall)"

run_ldconfig
echo "install-capi: ferrozmq's libzmq installed under $prefix"
echo "  link with:  cc prog.c \$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs libzmq)"
if ! is_system_prefix; then
    echo "  run with:   LD_LIBRARY_PATH=$libdir ./prog"
fi
