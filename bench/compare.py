#!/usr/bin/env python3
"""compare.py - side-by-side performance comparison of ferrozmq and libzmq.

Runs the C benchmark kit (../shared/bench, built against Debian's libzmq)
and `fzmq perf` (argument- and output-compatible with libzmq's perf tools)
in every pairing, interleaved and repeated, plus the kit's raw-socket floor,
and writes:

    OUT/table.md      medians, min-max, ratios, which targets are met
    OUT/results.json  every sample and every summary figure
    OUT/chart.svg     throughput and one-way latency against message size
    OUT/log.txt       the raw output of every program that ran

Normally started through bench/compare.sh, which installs the dependencies
and builds both sides first; run directly it needs --kit-bin and --fzmq.
Python 3 standard library only.

Exit status: 0 when every ferrozmq<->ferrozmq run (fzmq perf, and the C kit
on ferrozmq's libzmq.so.5) produced a figure, 1 when one of them failed, timed out or printed nothing (failures of libzmq runs
and of the mixed pairings are reported in the table but do not fail the
runner), 2 on a usage error.
"""

import argparse
import datetime
import html
import json
import math
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

# --------------------------------------------------------------------------
# configuration

DEFAULT_SIZES = "8,64,1024,65536"
DEFAULT_TRANSPORTS = "tcp,ipc,inproc"
DEFAULT_PAIRS = "libzmq,ferrozmq,capi,mixed,raw"

# The targets of the performance issue, checked (not asserted) in the table.
THR_TARGET = 1.5  # ferrozmq / libzmq throughput at 8, 64 and 1024 B
THR_TARGET_SIZES = (8, 64, 1024)
LAT_FLOOR_TARGET = 1.5  # ferrozmq one-way latency / raw floor, tcp and ipc
LAT_INPROC_TARGET = 0.5  # ferrozmq / libzmq one-way latency, inproc
BW_TARGET = 0.9  # ferrozmq / raw bandwidth at 64 KiB
CAPI_TARGET = 0.9  # the C kit on ferrozmq's libzmq.so.5 / fzmq perf: within 10 %
BW_SIZE = 65536


def env(name, default):
    v = os.environ.get(name)
    return v if v not in (None, "") else default


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="compare.py",
        description="ferrozmq vs libzmq vs the raw-socket floor: throughput "
        "and latency, interleaved, medians of --reps runs.",
        epilog="Every option can also be given as an environment variable: "
        "BENCH_REPS, BENCH_SIZES, BENCH_TRANSPORTS, BENCH_SCALE, BENCH_PAIRS, "
        "BENCH_OUT, BENCH_TIMEOUT, BENCH_PIN, BENCH_PORT, BENCH_KIT_BIN, FZMQ, "
        "BENCH_RIVALS_BIN.",
    )
    p.add_argument("--reps", type=int, default=int(env("BENCH_REPS", 5)),
                   help="runs per pairing and cell; the table shows the median (default 5)")
    p.add_argument("--sizes", default=env("BENCH_SIZES", DEFAULT_SIZES),
                   help="message sizes in bytes, comma separated (default %s)" % DEFAULT_SIZES)
    p.add_argument("--transports", default=env("BENCH_TRANSPORTS", DEFAULT_TRANSPORTS),
                   help="tcp, ipc, inproc (default all)")
    p.add_argument("--pairs", default=env("BENCH_PAIRS", DEFAULT_PAIRS),
                   help="libzmq, ferrozmq, capi (the same C kit on ferrozmq's "
                   "libzmq.so.5, needs --capi-lib), mixed (both cross pairings), raw (the "
                   "floor), rivals (zeromq/rzmq crates, tcp 64 B thr, needs "
                   "--rivals-bin); default %s" % DEFAULT_PAIRS)
    p.add_argument("--scale", type=float, default=float(env("BENCH_SCALE", 1.0)),
                   help="multiplies every message/roundtrip count (default 1: "
                   "about 0.3-1 s of timed work per run on a 2-vCPU VM)")
    p.add_argument("--quick", action="store_true", default=env("BENCH_QUICK", "") == "1",
                   help="smoke run: reps 1, sizes 64, scale 0.02 (about a minute; what CI runs)")
    p.add_argument("--out", default=env("BENCH_OUT", "bench-out"),
                   help="output directory (default bench-out/)")
    p.add_argument("--timeout", type=float, default=float(env("BENCH_TIMEOUT", 60)),
                   help="seconds before a program is killed and its run marked timeout (default 60)")
    p.add_argument("--pin", default=env("BENCH_PIN", "none"), choices=["none", "same", "split"],
                   help="none: the scheduler places everything; same: every process "
                   "on CPU 0; split: bind side on CPU 0, connect side on CPU 1")
    p.add_argument("--port", type=int, default=int(env("BENCH_PORT", 0)),
                   help="first TCP port (default: chosen from the pid, below the ephemeral range)")
    p.add_argument("--kit-bin", default=env("BENCH_KIT_BIN", ""),
                   help="directory with the built C kit (local_thr, raw_lat, ...)")
    p.add_argument("--fzmq", default=env("FZMQ", ""), help="the fzmq binary")
    p.add_argument("--capi-lib", default=env("BENCH_CAPI_LIB", ""),
                   help="directory with ferrozmq's libzmq.so.5 (scripts/build-capi.sh stages it "
                   "in target/capi/lib); the capi pairing runs the C kit with LD_LIBRARY_PATH on it")
    p.add_argument("--rivals-bin", default=env("BENCH_RIVALS_BIN", ""),
                   help="directory with the rival crates' programs (bench/rust-rivals)")
    p.add_argument("--label", default=env("BENCH_LABEL", ""),
                   help="free text put in the table's header (e.g. machine state)")
    a = p.parse_args(argv)
    if a.quick:
        a.reps, a.sizes, a.scale = 1, "64", 0.02
        a.timeout = min(a.timeout, 30)
    try:
        a.sizes = [int(s) for s in a.sizes.replace(" ", ",").split(",") if s]
    except ValueError:
        p.error("--sizes: comma-separated integers expected")
    a.transports = [t for t in a.transports.replace(" ", ",").split(",") if t]
    a.pairs = [t for t in a.pairs.replace(" ", ",").split(",") if t]
    for t in a.transports:
        if t not in ("tcp", "ipc", "inproc"):
            p.error("unknown transport %r" % t)
    for t in a.pairs:
        if t not in ("libzmq", "ferrozmq", "capi", "mixed", "raw", "rivals"):
            p.error("unknown pairing %r" % t)
    if a.reps < 1 or a.scale <= 0 or not a.sizes or any(s < 1 for s in a.sizes):
        p.error("--reps >= 1, --scale > 0 and sizes >= 1 expected")
    if not a.kit_bin or not os.path.isfile(os.path.join(a.kit_bin, "local_thr")):
        p.error("--kit-bin must be the directory of the built C kit (bench/compare.sh builds it)")
    if not a.fzmq or not os.access(a.fzmq, os.X_OK):
        p.error("--fzmq must be the fzmq binary (bench/compare.sh builds it)")
    return a


# Counts at scale 1, chosen for about 0.3-1 s of timed work per run on a
# 2-vCPU VM (libzmq 4.3.4: tcp 64 B ~5 M msg/s, 1 KiB ~0.7 M, 64 KiB ~45 k;
# one-way latency 25-55 us; raw tcp ping-pong ~8 us).
def thr_count(transport, size, scale):
    if transport == "inproc":
        n = 3_000_000 if size <= 256 else 2_000_000 if size <= 4096 else 300_000
    else:
        n = 2_500_000 if size <= 256 else 500_000 if size <= 4096 else max(5_000, int(1.5e9 / size))
    return max(10, int(n * scale))


def lat_count(transport, size, scale):
    n = 10_000 if transport == "inproc" else 5_000
    if size > 4096:
        n //= 2
    return max(10, int(n * scale))


def raw_thr_count(transport, size, scale):
    n = 400_000 if size <= 4096 else max(5_000, int(2.5e9 / size))
    return max(10, int(n * scale))


# --------------------------------------------------------------------------
# programs and pairings


class Impl:
    """How to start one side's perf programs."""

    def __init__(self, name, argv_for):
        self.name = name
        self.argv_for = argv_for  # program name -> argv prefix

    def argv(self, program, *args):
        return self.argv_for(program) + [str(a) for a in args]


class Pairing:
    """One column of the comparison: who binds, who connects (or a floor)."""

    def __init__(self, key, label, bind=None, connect=None, kind="zmq"):
        self.key, self.label, self.bind, self.connect, self.kind = key, label, bind, connect, kind


def pairings_for(transport, kind, size, cfg, libzmq, ferro, capi=None):
    """The pairings of one cell, in the order they take turns."""
    out = []
    if "libzmq" in cfg.pairs:
        out.append(Pairing("libzmq", "libzmq↔libzmq", libzmq, libzmq))
    if "ferrozmq" in cfg.pairs:
        out.append(Pairing("ferrozmq", "ferrozmq↔ferrozmq", ferro, ferro))
    if capi is not None and "capi" in cfg.pairs:
        out.append(Pairing("capi", "C kit on ferrozmq's libzmq.so.5", capi, capi))
    if transport != "inproc":
        if "mixed" in cfg.pairs:
            # Named connect side -> bind side: for thr the sender -> the
            # receiver; for lat the REQ (timer) -> the REP (echo).
            out.append(Pairing("f2l", "fzmq→libzmq", libzmq, ferro))
            out.append(Pairing("l2f", "libzmq→fzmq", ferro, libzmq))
        if "raw" in cfg.pairs:
            out.append(Pairing("raw", "raw floor", kind="raw"))
        if "rivals" in cfg.pairs and cfg.rivals_bin and transport == "tcp" and kind == "thr" and size == 64:
            for crate in ("zeromq", "rzmq"):
                prog = os.path.join(cfg.rivals_bin, "%s_thr" % crate)
                if os.access(prog, os.X_OK):
                    out.append(Pairing(crate, "%s crate" % crate, kind="rival:" + prog))
    return out


# --------------------------------------------------------------------------
# endpoints and readiness


class Endpoints:
    def __init__(self, first_port, tmpdir):
        self.port = first_port or 10000 + (os.getpid() * 7) % 18000
        self.tmpdir = tmpdir
        self.n = 0

    def _port_free(self, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def fresh(self, transport):
        """A never-used endpoint (sockets of earlier runs may sit in TIME_WAIT)."""
        self.n += 1
        if transport == "tcp":
            while True:
                self.port += 1
                if self.port > 32000:
                    self.port = 10001
                if self._port_free(self.port):
                    return "tcp://127.0.0.1:%d" % self.port
        if transport == "ipc":
            return "ipc://%s/r%d.ipc" % (self.tmpdir, self.n)
        raise ValueError(transport)


def listening(endpoint):
    """True once something listens on endpoint (read from /proc, no connect)."""
    if endpoint.startswith("tcp://"):
        port = int(endpoint.rsplit(":", 1)[1])
        for f in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(f) as fh:
                    next(fh)
                    for line in fh:
                        parts = line.split()
                        if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                            return True
            except OSError:
                pass
        return False
    path = endpoint[len("ipc://"):]
    try:
        with open("/proc/net/unix") as fh:
            next(fh)
            for line in fh:
                parts = line.split()
                # Flags 00010000 = __SO_ACCEPTCON: listen() was called.
                if len(parts) >= 8 and parts[7] == path and int(parts[3], 16) & 0x10000:
                    return True
    except OSError:
        return os.path.exists(path)
    return False


# --------------------------------------------------------------------------
# running programs


class Runner:
    # Seconds one side of a pair may outlive the other (the kit's programs
    # pause 0.5 s before closing, fzmq's local_lat 1 s).
    GRACE = 5.0

    def __init__(self, cfg, log):
        self.cfg = cfg
        self.log = log
        self.tmp = tempfile.mkdtemp(prefix="fzbench-")
        self.eps = Endpoints(cfg.port, self.tmp)
        self.live = set()
        self.pin_bind, self.pin_connect, self.pin_single = {
            "none": ([], [], []),
            "same": (["taskset", "-c", "0"], ["taskset", "-c", "0"], ["taskset", "-c", "0"]),
            "split": (["taskset", "-c", "0"], ["taskset", "-c", "1"], []),
        }[cfg.pin]

    def _start(self, argv, name):
        f = open(os.path.join(self.tmp, name), "w+")
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        self.live.add(p)
        return p, f

    def _kill(self, p):
        """Kills what is left of p's process group (raw_thr/raw_lat and the
        rival programs fork helpers that could outlive their parent)."""
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        p.wait()
        self.live.discard(p)

    def kill_all(self):
        for p in list(self.live):
            self._kill(p)

    def _finish(self, procs, deadline):
        """Waits for every process until deadline; kills the rest. True if in time."""
        in_time = True
        for p, _ in procs:
            left = deadline - time.monotonic()
            try:
                p.wait(timeout=max(0.01, left))
            except subprocess.TimeoutExpired:
                in_time = False
        for p, _ in procs:
            self._kill(p)
        return in_time

    def _record(self, header, procs):
        outs = []
        for p, f in procs:
            f.seek(0)
            text = f.read()
            f.close()
            outs.append(text)
            self.log.write("== %s\n$ %s\n[exit %s]\n%s" % (header, " ".join(p.args), p.returncode, text))
        self.log.flush()
        return outs

    def single(self, header, argv):
        t0 = time.monotonic()
        procs = [self._start(argv, "single.out")]
        ok = self._finish(procs, t0 + self.cfg.timeout)
        (out,) = self._record(header, procs)
        return out, procs[0][0].returncode, None if ok else "timeout", time.monotonic() - t0

    def pair(self, header, bind_argv, connect_argv, endpoint):
        """Bind side first; the connect side once the bind side listens.
        Returns (outputs, exit codes, status) with status None when both
        ended in time, "timeout" when the run outlived --timeout, "stalled"
        when one side ended and the other did not follow within GRACE s
        (e.g. a receiver that never gets the last messages)."""
        t0 = time.monotonic()
        deadline = t0 + self.cfg.timeout
        b = self._start(self.pin_bind + bind_argv, "bind.out")
        while not listening(endpoint) and b[0].poll() is None and time.monotonic() < min(deadline, t0 + 10):
            time.sleep(0.002)
        c = self._start(self.pin_connect + connect_argv, "connect.out")
        status, first_end = None, None
        while True:
            codes = [b[0].poll(), c[0].poll()]
            now = time.monotonic()
            if None not in codes:
                break
            if first_end is None and codes != [None, None]:
                first_end = now
            if now >= deadline:
                status = "timeout"
                break
            if first_end is not None and now - first_end > self.GRACE:
                status = "stalled"
                break
            time.sleep(0.005)
        for p, _ in (b, c):
            self._kill(p)
        outs = self._record(header, [b, c])
        if endpoint.startswith("ipc://"):
            try:
                os.unlink(endpoint[len("ipc://"):])
            except OSError:
                pass
        codes = (b[0].returncode, c[0].returncode)
        return outs, codes, status, time.monotonic() - t0


NUM = r"([0-9]+(?:\.[0-9]+)?)"


def grab(text, label):
    m = re.search(r"%s: %s \[%s\]" % (re.escape(label), NUM, re.escape(
        {"mean throughput": "msg/s", "average latency": "us"}[label])), text)
    return float(m.group(1)) if m else None


def run_one(runner, transport, size, kind, pairing, libzmq, rep):
    """One sample: returns dict(value, status, seconds, note)."""
    cfg = runner.cfg
    header = "%s %s B %s %s rep %d" % (transport, size, kind, pairing.key, rep + 1)
    label = "mean throughput" if kind == "thr" else "average latency"
    n = thr_count(transport, size, cfg.scale) if kind == "thr" else lat_count(transport, size, cfg.scale)
    extra = {}

    if pairing.kind == "raw":
        ep = runner.eps.fresh(transport)
        if kind == "thr":
            n = raw_thr_count(transport, size, cfg.scale)
            argv = libzmq.argv("raw_thr", ep, size, n)
        else:
            argv = libzmq.argv("raw_lat", ep, size, n)
            argv += {"none": [], "same": ["0", "0"], "split": ["0", "1"]}[cfg.pin]
        out, code, end, secs = runner.single(header, argv)
        outs, codes = [out], [code]
        result_text = out
        if transport == "ipc":
            try:
                os.unlink(ep[len("ipc://"):])
            except OSError:
                pass
    elif pairing.kind.startswith("rival:"):
        ep = runner.eps.fresh(transport)
        argv = [pairing.kind[len("rival:"):], ep, str(size), str(n)]
        out, code, end, secs = runner.single(header, argv)
        outs, codes, result_text = [out], [code], out
    elif transport == "inproc":
        impl = pairing.bind
        prog = "inproc_thr" if kind == "thr" else "inproc_lat"
        out, code, end, secs = runner.single(header, runner.pin_single + impl.argv(prog, size, n))
        outs, codes, result_text = [out], [code], out
    else:
        ep = runner.eps.fresh(transport)
        if kind == "thr":
            bind_argv = pairing.bind.argv("local_thr", ep, size, n)
            connect_argv = pairing.connect.argv("remote_thr", ep, size, n)
        else:
            bind_argv = pairing.bind.argv("local_lat", ep, size, n)
            connect_argv = pairing.connect.argv("remote_lat", ep, size, n)
        outs, codes, end, secs = runner.pair(header, bind_argv, connect_argv, ep)
        # thr: the receiver (bind side) prints; lat: the REQ (connect side).
        result_text = outs[0] if kind == "thr" else outs[1]

    value = grab(result_text, label)
    if end and any(c not in (0, -signal.SIGKILL) for c in codes):
        status = "fail"  # one side failed first; the other was left waiting
    elif end:
        status = end
    elif value is None:
        status = "no output" if not any(o.strip() for o in outs) else "fail"
    elif any(c != 0 for c in codes):
        status = "fail"  # a figure, but a side exited non-zero: do not trust it
    else:
        status = "ok"
    if status != "ok":
        names = ["bind side", "connect side"] if len(outs) == 2 else ["program"]
        why = {"stalled": "killed %.0f s after the other side ended" % Runner.GRACE, "timeout": "killed at the timeout",
               "fail": "killed (left waiting)"}
        parts = []
        for name, code, o in zip(names, codes, outs):
            state = why.get(status, "") if code == -signal.SIGKILL else "exit %s" % code
            last = o.strip().splitlines()[-1][:120] if o.strip() else ""
            parts.append("%s %s%s" % (name, state, ": " + last if last else ""))
        extra["note"] = "; ".join(parts)
    return dict(value=value if status == "ok" else None, raw_value=value, status=status,
                seconds=round(secs, 3), count=n, **extra)


# --------------------------------------------------------------------------
# machine state


def cpu_busy_jiffies():
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return sum(f[:8]) - f[3] - f[4]


def own_cpu_seconds():
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class LoadMeter:
    """CPU used by processes other than this runner and its children, in
    cores, over an interval (approximate: kernel softirq work done for our
    loopback traffic is counted as foreign)."""

    HZ = os.sysconf("SC_CLK_TCK")

    def __init__(self):
        self.reset()

    def reset(self):
        self.t, self.busy, self.own = time.monotonic(), cpu_busy_jiffies(), own_cpu_seconds()

    def foreign_cores(self):
        dt = time.monotonic() - self.t
        if dt <= 0:
            return 0.0
        busy = (cpu_busy_jiffies() - self.busy) / self.HZ
        own = own_cpu_seconds() - self.own
        return max(0.0, (busy - own) / dt)


def loadavg():
    with open("/proc/loadavg") as fh:
        return fh.read().split()[:3]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def git_rev():
    try:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        rev = subprocess.run(["git", "-C", root, "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        return rev or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# --------------------------------------------------------------------------
# summary


def summarize(samples):
    vals = [s["value"] for s in samples if s["status"] == "ok"]
    bad = [s["status"] for s in samples if s["status"] != "ok"]
    d = dict(n=len(samples), ok=len(vals), failed=len(bad), statuses=sorted(set(bad)))
    if vals:
        d.update(median=statistics.median(vals), min=min(vals), max=max(vals))
    return d


def fmt_rate(v):
    if v is None:
        return "-"
    for div, suf in ((1e6, "M"), (1e3, "k")):
        if v >= div:
            x = v / div
            return ("%.2f" if x < 10 else "%.1f" if x < 100 else "%.0f") % x + suf
    return "%.0f" % v


def fmt_us(v):
    if v is None:
        return "-"
    return "%.2f" % v if v < 10 else "%.1f" % v if v < 1000 else "%.0f" % v


def fmt_mb(v):
    return "-" if v is None else "%.0f" % v


def cell(s, fmt):
    """median (min–max), or the failure."""
    if not s or s["n"] == 0:
        return "n/a"
    if s["ok"] == 0:
        return "**%s**" % "/".join(s["statuses"]).upper()
    text = fmt(s["median"])
    if s["n"] > 1:
        text += " (%s–%s)" % (fmt(s["min"]), fmt(s["max"]))
    if s["failed"]:
        text += " ⚠%d %s" % (s["failed"], "/".join(s["statuses"]))
    return text


def ratio(a, b):
    if not a or not b or "median" not in a or "median" not in b or not b["median"]:
        return None
    return a["median"] / b["median"]


def fmt_ratio(r):
    return "-" if r is None else "%.2f×" % r


def verdict(r, target, higher_is_better):
    if r is None:
        return "n/a"
    met = r >= target if higher_is_better else r <= target
    return "✅ met" if met else "❌ missed"


def build_tables(cfg, summary, meta):
    S = lambda t, s, k, p: summary.get((t, s, k, p))  # noqa: E731
    lines = []
    w = lines.append
    w("# ferrozmq vs libzmq — comparison run")
    w("")
    w("- date: %s" % meta["date"])
    w("- machine: %s, %d vCPU, Linux %s" % (meta["cpu"], meta["nproc"], meta["kernel"]))
    w("- libzmq: %s (Debian package, the C kit in %s); ferrozmq: %s, `fzmq perf`"
      % (meta["libzmq"], meta["kit_src"], meta["ferrozmq"]))
    w("- %s; scale %g; pinning: %s; %.0f s in all" % (
        "medians of %d interleaved runs per pairing and cell (min–max in brackets)" % cfg.reps
        if cfg.reps > 1 else "one run per pairing and cell", cfg.scale, cfg.pin, meta["seconds"]))
    w("- load average at start %s, at end %s; CPU used by other processes during the run: "
      "%.2f cores on average, %.2f at most in one cell" % (
          " ".join(meta["load_start"]), " ".join(meta["load_end"]),
          meta["foreign_cores_avg"], meta["foreign_cores_max"]))
    if cfg.quick:
        w("- **quick mode: a smoke run that proves the runner works; these figures are not measurements**")
    if meta["busy"]:
        w("- **the machine was busy (other work used CPU): the figures are preliminary**")
    if cfg.label:
        w("- note: %s" % cfg.label)
    w("")
    w("thr = PUSH/PULL messages per second (receiver's clock); lat = REQ/REP one-way µs "
      "(round trip / 2). Mixed pairings are named connect side → bind side "
      "(sender → receiver for thr). raw floor: the kit's raw_thr (one write() per "
      "message) and raw_lat (blocking ping-pong, TCP_NODELAY / Unix socket), no zmq.")
    w("")

    w("## Throughput [msg/s]")
    w("")
    w("| transport | size B | libzmq | ferrozmq | f/l | fzmq→libzmq | libzmq→fzmq | raw floor | target f/l ≥ %.1f |" % THR_TARGET)
    w("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    targets = []
    for t in cfg.transports:
        for s in cfg.sizes:
            l, f = S(t, s, "thr", "libzmq"), S(t, s, "thr", "ferrozmq")
            r = ratio(f, l)
            v = verdict(r, THR_TARGET, True) if s in THR_TARGET_SIZES else "—"
            if s in THR_TARGET_SIZES and r is not None:
                targets.append(("thr %s %d B: f/l ≥ %.1f" % (t, s, THR_TARGET), r, v))
            w("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
                t, s, cell(l, fmt_rate), cell(f, fmt_rate), fmt_ratio(r),
                cell(S(t, s, "thr", "f2l"), fmt_rate), cell(S(t, s, "thr", "l2f"), fmt_rate),
                cell(S(t, s, "thr", "raw"), fmt_rate), v))
    w("")

    w("## One-way latency [µs]")
    w("")
    w("| transport | size B | libzmq | ferrozmq | fzmq→libzmq | libzmq→fzmq | raw floor | f/l | f/floor | target |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for t in cfg.transports:
        for s in cfg.sizes:
            l, f, fl = S(t, s, "lat", "libzmq"), S(t, s, "lat", "ferrozmq"), S(t, s, "lat", "raw")
            rl, rf = ratio(f, l), ratio(f, fl)
            if t == "inproc":
                v = verdict(rl, LAT_INPROC_TARGET, False)
                name, rr = "lat inproc %d B: f/l ≤ %.1f" % (s, LAT_INPROC_TARGET), rl
                v = "f/l ≤ %.1f: %s" % (LAT_INPROC_TARGET, v)
            else:
                v = verdict(rf, LAT_FLOOR_TARGET, False)
                name, rr = "lat %s %d B: f/floor ≤ %.1f" % (t, s, LAT_FLOOR_TARGET), rf
                v = "f/floor ≤ %.1f: %s" % (LAT_FLOOR_TARGET, v)
            if rr is not None:
                targets.append((name, rr, v.split(": ")[1]))
            w("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                t, s, cell(l, fmt_us), cell(f, fmt_us),
                cell(S(t, s, "lat", "f2l"), fmt_us), cell(S(t, s, "lat", "l2f"), fmt_us),
                cell(fl, fmt_us) if t != "inproc" else "n/a",
                fmt_ratio(rl), fmt_ratio(rf), v))
    w("")

    if BW_SIZE in cfg.sizes:
        w("## Bandwidth at 64 KiB [MB/s of payload]")
        w("")
        w("| transport | libzmq | ferrozmq | raw floor | f/l | f/raw | target f/raw ≥ %.1f |" % BW_TARGET)
        w("|---|---:|---:|---:|---:|---:|---|")
        for t in cfg.transports:
            if t == "inproc":
                continue
            mb = lambda x: None if not x or "median" not in x else dict(  # noqa: E731
                x, median=x["median"] * BW_SIZE / 1e6, min=x["min"] * BW_SIZE / 1e6, max=x["max"] * BW_SIZE / 1e6)
            l, f, fl = (mb(S(t, BW_SIZE, "thr", k)) for k in ("libzmq", "ferrozmq", "raw"))
            rf = ratio(f, fl)
            v = verdict(rf, BW_TARGET, True)
            if rf is not None:
                targets.append(("bw %s 64 KiB: f/raw ≥ %.1f" % (t, BW_TARGET), rf, v))
            w("| %s | %s | %s | %s | %s | %s | %s |" % (
                t, cell(l or S(t, BW_SIZE, "thr", "libzmq"), fmt_mb), cell(f or S(t, BW_SIZE, "thr", "ferrozmq"), fmt_mb),
                cell(fl or S(t, BW_SIZE, "thr", "raw"), fmt_mb), fmt_ratio(ratio(f, l)), fmt_ratio(rf), v))
        w("")

    rivals = [(k, S("tcp", 64, "thr", k)) for k in ("zeromq", "rzmq")]
    if any(v for _, v in rivals):
        w("## Other pure-Rust crates (tcp PUSH/PULL, 64 B) [msg/s]")
        w("")
        w("| libzmq | ferrozmq | zeromq crate | rzmq crate |")
        w("|---:|---:|---:|---:|")
        w("| %s | %s | %s | %s |" % (cell(S("tcp", 64, "thr", "libzmq"), fmt_rate),
                                     cell(S("tcp", 64, "thr", "ferrozmq"), fmt_rate),
                                     cell(rivals[0][1], fmt_rate), cell(rivals[1][1], fmt_rate)))
        w("")

    capi_cells = [(t, s, k) for t in cfg.transports for s in cfg.sizes for k in ("thr", "lat")
                  if S(t, s, k, "capi")]
    if capi_cells:
        w("## The C ABI: the same C kit on ferrozmq's libzmq.so.5")
        w("")
        w("Throughput ratio C/fzmq (higher is better) and latency ratio fzmq/C "
          "(higher is better), target ≥ %.1f: within 10 %% of `fzmq perf`." % CAPI_TARGET)
        w("")
        w("| transport | size B | kind | libzmq | C kit on ferrozmq | fzmq perf | C/libzmq | vs fzmq | target |")
        w("|---|---:|---|---:|---:|---:|---:|---:|---|")
        for t, s, k in capi_cells:
            unit = fmt_rate if k == "thr" else fmt_us
            c, f, l = S(t, s, k, "capi"), S(t, s, k, "ferrozmq"), S(t, s, k, "libzmq")
            r = ratio(c, f) if k == "thr" else ratio(f, c)
            rl = ratio(c, l) if k == "thr" else ratio(l, c)
            v = verdict(r, CAPI_TARGET, True)
            if r is not None:
                targets.append(("C ABI %s %s %d B: within 10%% of fzmq" % (k, t, s), r, v))
            w("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
                t, s, k, cell(l, unit), cell(c, unit), cell(f, unit), fmt_ratio(rl), fmt_ratio(r), v))
        w("")

    w("## Targets")
    w("")
    if targets:
        met = sum(1 for _, _, v in targets if "met" in v and "missed" not in v)
        w("%d of %d checked targets met (informative only: no timing is asserted)." % (met, len(targets)))
        w("")
        w("| target | ratio | |")
        w("|---|---:|---|")
        for name, r, v in targets:
            w("| %s | %.2f× | %s |" % (name, r, v))
    else:
        w("no target could be checked (a pairing is missing or failed).")
    w("")
    fails = meta["failures"]
    if fails:
        w("## Failed runs")
        w("")
        for f in fails:
            w("- %s" % f)
        w("")
    return "\n".join(lines), targets


# --------------------------------------------------------------------------
# chart (hand-written SVG)

COLORS = {"ferrozmq": "#d9480f", "libzmq": "#1864ab", "raw": "#5c5f66"}
NAMES = {"ferrozmq": "ferrozmq", "libzmq": "libzmq", "raw": "raw-socket floor"}
DASH = {"tcp": "", "ipc": "7,4", "inproc": "2,3"}


def nice_ticks_log(lo, hi):
    """Major ticks 1, 2, 5 × 10^k between lo and hi (or only decades if many)."""
    ticks = []
    k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    mults = (1, 2, 5) if k1 - k0 <= 3 else (1,)
    for k in range(k0, k1 + 1):
        for m in mults:
            v = m * 10 ** k
            if lo <= v <= hi:
                ticks.append(v)
    return ticks


def fmt_tick(v, unit=""):
    if v >= 1e6:
        s = "%gM" % (v / 1e6)
    elif v >= 1e3:
        s = "%gk" % (v / 1e3)
    else:
        s = "%g" % v
    return s + unit


def fmt_size(v):
    return "%g KiB" % (v / 1024) if v >= 1024 else "%d B" % v


def marker(kind, x, y, color):
    if kind == "tcp":
        return '<circle cx="%.1f" cy="%.1f" r="3.6" fill="%s"/>' % (x, y, color)
    if kind == "ipc":
        return '<rect x="%.1f" y="%.1f" width="7" height="7" fill="%s"/>' % (x - 3.5, y - 3.5, color)
    return '<path d="M%.1f %.1fL%.1f %.1fL%.1f %.1fZ" fill="%s"/>' % (x, y - 4.5, x + 4.2, y + 3, x - 4.2, y + 3, color)


def panel(x0, y0, w, h, title, ylabel, series, sizes, unit, fmt_val):
    """series: list of (impl, transport, [(size, median, min, max)])."""
    out = []
    vals = [v for _, _, pts in series for p in pts for v in p[1:] if v]
    if not vals:
        vals = [1, 10]
    lo, hi = min(vals), max(vals)
    lo, hi = 10 ** (math.floor(math.log10(lo) * 4) / 4), 10 ** (math.ceil(math.log10(hi) * 4) / 4)
    if hi / lo < 10:
        lo, hi = lo / 3, hi * 3
    xs_lo, xs_hi = min(sizes), max(sizes)
    if xs_lo == xs_hi:
        xs_lo, xs_hi = xs_lo / 4, xs_hi * 4
    xs_lo, xs_hi = xs_lo / 1.6, xs_hi * 1.6

    def X(v):
        return x0 + (math.log(v) - math.log(xs_lo)) / (math.log(xs_hi) - math.log(xs_lo)) * w

    def Y(v):
        return y0 + h - (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)) * h

    out.append('<text x="%.1f" y="%.1f" class="title">%s</text>' % (x0 + w / 2, y0 - 14, html.escape(title)))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="#fff" stroke="#adb5bd"/>' % (x0, y0, w, h))
    for v in nice_ticks_log(lo, hi):
        y = Y(v)
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="grid"/>' % (x0, y, x0 + w, y))
        out.append('<text x="%d" y="%.1f" class="ytick">%s</text>' % (x0 - 6, y + 4, fmt_val(v)))
    for s in sizes:
        x = X(s)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" class="grid"/>' % (x, y0, x, y0 + h))
        out.append('<text x="%.1f" y="%d" class="xtick">%s</text>' % (x, y0 + h + 16, fmt_size(s)))
    out.append('<text x="%.1f" y="%d" class="axis">message size (log scale)</text>' % (x0 + w / 2, y0 + h + 36))
    out.append('<text transform="translate(%d,%.1f) rotate(-90)" class="axis">%s</text>'
               % (x0 - 58, y0 + h / 2, html.escape(ylabel)))
    for impl, tr, pts in series:
        color = COLORS[impl]
        shift = {"ferrozmq": 4, "libzmq": -4, "raw": 0}[impl]  # keep min-max bars apart
        pts = [p for p in pts if p[1]]
        if not pts:
            continue
        d = " ".join("%s%.1f %.1f" % ("M" if i == 0 else "L", X(s) + shift, Y(m)) for i, (s, m, _, _) in enumerate(pts))
        dash = ' stroke-dasharray="%s"' % DASH[tr] if DASH[tr] else ""
        out.append('<path d="%s" fill="none" stroke="%s" stroke-width="2"%s><title>%s %s</title></path>'
                   % (d, color, dash, NAMES[impl], tr))
        for s, m, mn, mx in pts:
            x = X(s) + shift
            if mn and mx and mx > mn:
                out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.2"/>'
                           % (x, Y(mx), x, Y(mn), color))
            out.append('<g><title>%s %s %s: %s%s</title>%s</g>' % (
                NAMES[impl], tr, fmt_size(s), fmt_val(m), unit, marker(tr, x, Y(m), color)))
    return out


def build_chart(cfg, summary, meta):
    def series(kind):
        out = []
        for tr in cfg.transports:
            for impl in ("libzmq", "ferrozmq", "raw"):
                if impl == "raw" and tr == "inproc":
                    continue
                pts = []
                for s in cfg.sizes:
                    d = summary.get((tr, s, kind, impl))
                    if d and "median" in d:
                        pts.append((s, d["median"], d["min"], d["max"]))
                if pts:
                    out.append((impl, tr, pts))
        return out

    W, H = 1080, 560
    pw, ph, top = 410, 330, 70
    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
         'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">' % (W, H, W, H),
         '<style>.title{font-size:15px;font-weight:bold;text-anchor:middle}'
         '.sup{font-size:12px;fill:#495057;text-anchor:middle}'
         '.ytick{font-size:11px;text-anchor:end;fill:#343a40}.xtick{font-size:11px;text-anchor:middle;fill:#343a40}'
         '.axis{font-size:12px;text-anchor:middle;fill:#212529}.grid{stroke:#e9ecef;stroke-width:1}'
         '.leg{font-size:12px;fill:#212529}</style>',
         '<rect width="100%" height="100%" fill="#fff"/>',
         '<text x="%d" y="24" class="title" style="font-size:17px">ferrozmq vs libzmq vs the raw-socket floor</text>' % (W // 2),
         '<text x="%d" y="44" class="sup">%s</text>' % (W // 2, html.escape(
             "%s; %s; %d vCPU; %s%s%s" % (
                 "medians of %d interleaved runs, bars = min–max" % cfg.reps if cfg.reps > 1 else "single runs",
                 meta["date"][:10], meta["nproc"], meta["cpu"],
                 "; quick smoke, not a measurement" if cfg.quick else "",
                 "; machine busy: preliminary" if meta["busy"] else "")))]
    o += panel(90, top + 20, pw, ph, "Throughput (PUSH/PULL; higher is better)", "messages per second",
               series("thr"), cfg.sizes, " msg/s", fmt_tick)
    o += panel(90 + pw + 130, top + 20, pw, ph, "One-way latency (REQ/REP; lower is better)", "microseconds",
               series("lat"), cfg.sizes, " µs", lambda v: fmt_tick(v))
    # legend
    ly = top + 20 + ph + 62
    x = 90
    for impl in ("ferrozmq", "libzmq", "raw"):
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>' % (x, ly, x + 28, ly, COLORS[impl]))
        o.append('<text x="%d" y="%d" class="leg">%s</text>' % (x + 34, ly + 4, NAMES[impl]))
        x += 160
    x += 30
    for tr in ("tcp", "ipc", "inproc"):
        if tr not in cfg.transports:
            continue
        dash = ' stroke-dasharray="%s"' % DASH[tr] if DASH[tr] else ""
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#343a40" stroke-width="2"%s/>' % (x, ly, x + 36, ly, dash))
        o.append(marker(tr, x + 18, ly, "#343a40"))
        o.append('<text x="%d" y="%d" class="leg">%s</text>' % (x + 42, ly + 4, tr))
        x += 100
    o.append('<text x="%d" y="%d" class="sup">throughput floor = one write() per message on a plain socket; '
             'latency floor = blocking ping-pong (TCP_NODELAY / Unix socket); inproc has no floor</text>'
             % (W // 2, ly + 30))
    o.append("</svg>")
    return "\n".join(o) + "\n"


# --------------------------------------------------------------------------
# main


def main(argv):
    cfg = parse_args(argv)
    os.makedirs(cfg.out, exist_ok=True)
    kit = cfg.kit_bin
    libzmq = Impl("libzmq", lambda prog: [os.path.join(kit, prog)])
    ferro = Impl("ferrozmq", lambda prog: [cfg.fzmq, "perf", prog])
    # The very same C binaries as the libzmq column, loading ferrozmq's
    # libzmq.so.5 instead of Debian's.
    capi = None
    if "capi" in cfg.pairs:
        if cfg.capi_lib and os.path.exists(os.path.join(cfg.capi_lib, "libzmq.so.5")):
            capi = Impl("capi", lambda prog: ["env", "LD_LIBRARY_PATH=" + os.path.abspath(cfg.capi_lib),
                                              os.path.join(kit, prog)])
        else:
            print("compare: capi asked for but no libzmq.so.5 in --capi-lib %r; skipped" % cfg.capi_lib,
                  file=sys.stderr)
    if "rivals" in cfg.pairs and not cfg.rivals_bin:
        print("compare: rivals asked for but no --rivals-bin; skipped", file=sys.stderr)

    try:
        libver = subprocess.run([os.path.join(kit, "zmq_version")], capture_output=True, text=True,
                                timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        libver = "unknown"
    meta = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                cpu=cpu_model(), nproc=os.cpu_count() or 0, kernel=os.uname().release,
                libzmq="libzmq " + libver, ferrozmq=env("BENCH_FZMQ_SOURCE", "") or git_rev(),
                kit_src=env("BENCH_KIT", "../shared/bench"), load_start=loadavg())

    log = open(os.path.join(cfg.out, "log.txt"), "w")
    runner = Runner(cfg, log)
    samples = []
    summary = {}
    cell_loads = []
    other_load = {}
    t_start = time.monotonic()
    whole = LoadMeter()
    total_cells = len(cfg.transports) * len(cfg.sizes) * 2
    done = 0
    print("compare: %s vs %s; reps %d, sizes %s, transports %s, scale %g; log in %s"
          % (meta["libzmq"], meta["ferrozmq"], cfg.reps, ",".join(map(str, cfg.sizes)),
             ",".join(cfg.transports), cfg.scale, log.name), file=sys.stderr)
    try:
        for tr in cfg.transports:
            for size in cfg.sizes:
                for kind in ("thr", "lat"):
                    pairs = pairings_for(tr, kind, size, cfg, libzmq, ferro, capi)
                    meter = LoadMeter()
                    got = {p.key: [] for p in pairs}
                    # Interleaved: A B C D A B C D ..., so drift hits every pairing alike.
                    for rep in range(cfg.reps):
                        for p in pairs:
                            r = run_one(runner, tr, size, kind, p, libzmq, rep)
                            r.update(transport=tr, size=size, kind=kind, pairing=p.key, label=p.label, rep=rep + 1)
                            samples.append(r)
                            got[p.key].append(r)
                    fc = meter.foreign_cores()
                    cell_loads.append(fc)
                    other_load[(tr, size, kind)] = round(fc, 3)
                    for p in pairs:
                        summary[(tr, size, kind, p.key)] = summarize(got[p.key])
                    done += 1
                    unit = fmt_rate if kind == "thr" else fmt_us
                    print("[%d/%d] %-6s %6d B %s  %s  (other load %.2f cores)" % (
                        done, total_cells, tr, size, kind, "  ".join(
                            "%s %s" % (p.key, cell(summary[(tr, size, kind, p.key)], unit).split(" (")[0])
                            for p in pairs), fc), file=sys.stderr)
    finally:
        runner.kill_all()
        log.close()
        subprocess.run(["rm", "-rf", runner.tmp])

    meta.update(seconds=time.monotonic() - t_start, load_end=loadavg(),
                foreign_cores_avg=whole.foreign_cores(), foreign_cores_max=max(cell_loads or [0.0]))
    meta["busy"] = meta["foreign_cores_avg"] > 0.25 or meta["foreign_cores_max"] > 0.5
    meta["failures"] = ["%s %d B %s %s rep %d: %s%s" % (
        s["transport"], s["size"], s["kind"], s["label"], s["rep"], s["status"],
        " (%s)" % s["note"] if s.get("note") else "") for s in samples if s["status"] != "ok"]

    table, targets = build_tables(cfg, summary, meta)
    with open(os.path.join(cfg.out, "table.md"), "w") as fh:
        fh.write(table)
    with open(os.path.join(cfg.out, "chart.svg"), "w") as fh:
        fh.write(build_chart(cfg, summary, meta))
    with open(os.path.join(cfg.out, "results.json"), "w") as fh:
        json.dump(dict(
            config=dict(reps=cfg.reps, sizes=cfg.sizes, transports=cfg.transports, pairs=cfg.pairs,
                        scale=cfg.scale, pin=cfg.pin, timeout=cfg.timeout, quick=cfg.quick),
            meta=meta,
            summary=[dict(transport=k[0], size=k[1], kind=k[2], pairing=k[3],
                          other_load_cores=other_load.get(k[:3]), **v) for k, v in summary.items()],
            targets=[dict(target=n, ratio=r, verdict=v) for n, r, v in targets],
            samples=samples), fh, indent=1, ensure_ascii=False)
        fh.write("\n")

    print(table)
    print("compare: wrote %s/{table.md,results.json,chart.svg,log.txt}" % cfg.out, file=sys.stderr)
    ferro_bad = [s for s in samples if s["pairing"] in ("ferrozmq", "capi") and s["status"] != "ok"]
    if ferro_bad:
        print("compare: %d ferrozmq↔ferrozmq run(s) failed — see the table and %s/log.txt"
              % (len(ferro_bad), cfg.out), file=sys.stderr)
        return 1
    if not any(s["pairing"] == "ferrozmq" for s in samples) and "ferrozmq" in cfg.pairs:
        print("compare: no ferrozmq run took place", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
