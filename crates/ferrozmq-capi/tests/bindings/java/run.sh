#!/usr/bin/env bash
# Java's jzmq (Debian's libzmq-java / libzmq-jni 3.1.0: /usr/share/java/zmq.jar
# and libjzmq.so over JNI) on ferrozmq's libzmq.so.5, against ferrozmq's own
# CLI (fzmq) as the peer: REQ/REP and PUB/SUB (prefix filter "weather") over
# tcp, with Java as REP, REQ, PUB and SUB, each once binding (fzmq connects)
# and once connecting (fzmq binds) -- 8 exchanges.
#
#   bash run.sh [--lib DIR]   # DIR holds libzmq.so.5 (default: <repo>/target/capi/lib)
#   bash run.sh --system      # baseline: Debian's libzmq 4.3.4
#
# How jzmq finds libzmq: System.loadLibrary("jzmq") loads
# /usr/lib/x86_64-linux-gnu/jni/libjzmq.so, whose DT_NEEDED libzmq.so.5 (no
# RPATH) the dynamic loader resolves, so LD_LIBRARY_PATH=DIR is enough. Every
# JVM checks /proc/self/maps for the library under test. FzBinding.java is
# compiled with javac in a temporary directory. The peer is $FZMQ (default
# <repo>/target/debug/fzmq). Last line: "N passed, M failed".
set -u

SUITE=java
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../../../.." && pwd)
LIB="$REPO/target/capi/lib"
SYSTEM=0

. "$HERE/../lib/common.sh"
. "$HERE/../lib/lang_driver.sh"

LANG_NAME=java
JZMQ_JAR=${JZMQ_JAR:-/usr/share/java/zmq.jar}
command -v javac >/dev/null && command -v java >/dev/null || fatal setup "java/javac not found (apt-get install default-jdk-headless)"
[ -e "$JZMQ_JAR" ] || fatal setup "$JZMQ_JAR not found (apt-get install libzmq-java)"
ls /usr/lib/x86_64-linux-gnu/jni/libjzmq.so* >/dev/null 2>&1 || fatal setup "libjzmq.so not found (apt-get install libzmq-jni)"
mkdir -p "$WORK/classes"
if locked javac -cp "$JZMQ_JAR" -d "$WORK/classes" "$HERE/FzBinding.java" >"$WORK/javac.log" 2>&1; then
    pass build-FzBinding
else
    fatal build-FzBinding "javac failed: $(tail -n 5 "$WORK/javac.log" | tr '\n' ' ')"
fi
# Small heaps, one GC thread: eight JVMs on two shared cores.
BINDING=(java -Xss512k -Xmx64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$JZMQ_JAR:$WORK/classes" FzBinding)
run_lib_check
run_scenarios
finish
