#!/usr/bin/python3
"""Mongrel2 end to end on Debian's libzmq and on ferrozmq's libzmq.so.5.

    driver.py --lib DIR [--modes debian,ferrozmq,m2-ferrozmq,handler-ferrozmq] [--keep]

For each mode, in a fresh temp dir: a Mongrel2 config loaded with m2sh into
a sqlite db; handler.py (pyzmq) connected to Mongrel2's PUSH (tcp) and SUB
(ipc) sockets; mongrel2 itself on a free loopback port; requests with curl,
Mongrel2's control port (REP, ipc) queried, then both stopped with SIGTERM.

Modes (which libzmq each program loads):
    debian            mongrel2: Debian's   handler: Debian's     (baseline)
    ferrozmq          mongrel2: ferrozmq's handler: ferrozmq's
    m2-ferrozmq       mongrel2: ferrozmq's handler: Debian's
    handler-ferrozmq  mongrel2: Debian's   handler: ferrozmq's

Every process runs under `timeout` and in a process group of its own that
is killed at the end; readiness is waited for by polling (the handler's
ready file, the HTTP port answering, the first handler round trip), each
with a deadline. The library each process really mapped is read from
/proc/PID/maps. Prints one PASS/FAIL line per check and, last,
`N passed, M failed`; exits 1 if any check failed.
"""

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
PY = "/usr/bin/python3"
SYSTEM_PREFIXES = ("/usr/lib/", "/lib/")
LIFETIME = 150  # seconds any one process may live (its `timeout`)

MODES = {
    "debian": (False, False),
    "ferrozmq": (True, True),
    "m2-ferrozmq": (True, False),
    "handler-ferrozmq": (False, True),
}


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def check(self, mode, name, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append("%s: %s: %s" % (mode, name, detail))
        print("  %s %s: %s%s" % ("PASS" if ok else "FAIL", mode, name,
                                 (" (" + detail + ")") if detail else ""), flush=True)
        return ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def mapped_libzmq(pid):
    libs = set()
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and os.path.basename(parts[5].strip()).startswith("libzmq"):
                path = parts[5].strip()
                if path.endswith(" (deleted)"):
                    path = path[: -len(" (deleted)")]
                libs.add(os.path.realpath(path))
    return sorted(libs)


def lib_ok(libs, ours, libdir):
    """(ok, description) for the list of libzmq files one process mapped."""
    if len(libs) != 1:
        return False, "expected exactly one libzmq mapped, found %r" % (libs,)
    if ours:
        want = os.path.realpath(os.path.join(libdir, "libzmq.so.5"))
        if libs[0] != want or libs[0].startswith(SYSTEM_PREFIXES):
            return False, "mapped %s, expected ferrozmq's %s" % (libs[0], want)
    elif not libs[0].startswith(SYSTEM_PREFIXES):
        return False, "mapped %s, expected Debian's" % libs[0]
    return True, libs[0]


def env_for(ours, libdir):
    env = dict(os.environ)
    for k in ("LD_LIBRARY_PATH", "LD_PRELOAD", "PYTHONHOME", "PYTHONPATH"):
        env.pop(k, None)
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("LOGNAME", "root")
    if ours:
        env["LD_LIBRARY_PATH"] = os.path.realpath(libdir)
    return env


def tail(path, n=15):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join("      | " + l for l in lines[-n:])
    except OSError:
        return "      | (no %s)" % path


def curl(args, timeout=10):
    """Runs curl; returns (rc, stdout bytes, stderr text)."""
    cmd = ["curl", "-sS", "--max-time", str(timeout), "--noproxy", "*"] + args
    r = subprocess.run(cmd, capture_output=True, timeout=timeout + 10)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace").strip()


def http(url, data_file=None, timeout=10):
    """Returns (status, headers dict (lower-case), body) or raises RuntimeError."""
    args = ["-i", url]
    if data_file:
        args = ["--data-binary", "@" + data_file, "-H", "Content-Type: application/octet-stream"] + args
    rc, out, err = curl(args, timeout)
    if rc != 0:
        raise RuntimeError("curl exit %d: %s" % (rc, err))
    head, sep, body = out.partition(b"\r\n\r\n")
    if not sep:
        raise RuntimeError("no HTTP header in %r" % out[:200])
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


class Proc:
    """A child under `timeout`, in a process group of its own."""

    def __init__(self, name, argv, cwd, env, log):
        self.name = name
        self.log = log
        self.logf = open(log, "wb")
        self.p = subprocess.Popen(["timeout", "-k", "3", str(LIFETIME)] + argv, cwd=cwd, env=env,
                                  stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT,
                                  start_new_session=True)

    def alive(self):
        return self.p.poll() is None

    def child_pid(self):
        """The program's pid (timeout's only child)."""
        try:
            with open("/proc/%d/task/%d/children" % (self.p.pid, self.p.pid)) as f:
                kids = f.read().split()
            return int(kids[0]) if kids else None
        except OSError:
            return None

    def kill(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait()
        self.logf.close()


def wait_for(what, cond, deadline_s, procs=()):
    """Polls cond() until true; returns (ok, seconds or reason)."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < deadline_s:
        for p in procs:
            if not p.alive():
                return False, "%s exited (status %s) while waiting for %s" % (p.name, p.p.returncode, what)
        try:
            v = cond()
            if v:
                return True, "%.2fs" % (time.monotonic() - t0)
        except Exception as e:  # noqa: BLE001 - keep the last reason for the message
            last = str(e)
        time.sleep(0.05)
    return False, "not ready after %ds (%s)" % (deadline_s, last or "no answer")


CONFIG = """\
handler = Handler(send_spec='tcp://127.0.0.1:{send_port}',
                  send_ident='{handler_uuid}',
                  recv_spec='ipc://run/handler-replies',
                  recv_ident='',
                  protocol='tnetstring')

static = Dir(base='static/', index_file='index.html', default_ctype='text/plain')

main = Server(
    uuid="{server_uuid}",
    access_log="/logs/access.log",
    error_log="/logs/error.log",
    chroot="./",
    pid_file="/run/mongrel2.pid",
    default_host="localhost",
    name="ferrozmq-test",
    bind_addr="127.0.0.1",
    port={http_port},
    hosts=[Host(name="localhost", routes={{
        '/handler': handler,
        '/static/': static
    }})]
)

settings = {{"zeromq.threads": 1, "server.daemonize": 0, "limits.content_length": 65536}}

servers = [main]
"""


def run_mode(mode, libdir, checks, keep):
    m2_ours, h_ours = MODES[mode]
    print("== mode %s: mongrel2 on %s, handler on %s" % (
        mode, "ferrozmq" if m2_ours else "Debian's libzmq", "ferrozmq" if h_ours else "Debian's libzmq"), flush=True)
    tmp = tempfile.mkdtemp(prefix="ferrozmq-mongrel2-%s." % mode)
    procs = []
    failed_before = checks.failed
    try:
        for d in ("run", "logs", "tmp", "static"):
            os.makedirs(os.path.join(tmp, d))
        with open(os.path.join(tmp, "static", "index.html"), "w") as f:
            f.write("static ok\n")
        http_port, send_port = free_port(), free_port()
        server_uuid, handler_uuid = str(uuid.uuid4()), str(uuid.uuid4())
        with open(os.path.join(tmp, "mongrel2.conf"), "w") as f:
            f.write(CONFIG.format(send_port=send_port, http_port=http_port,
                                  server_uuid=server_uuid, handler_uuid=handler_uuid))
        base = "http://127.0.0.1:%d" % http_port

        # 1. config -> sqlite (m2sh, on Debian's libzmq: it is only the loader)
        r = subprocess.run(["m2sh", "load", "-config", "mongrel2.conf", "-db", "config.sqlite"],
                           cwd=tmp, env=env_for(False, libdir), capture_output=True, timeout=30)
        loaded = r.returncode == 0 and os.path.exists(os.path.join(tmp, "config.sqlite"))
        if not checks.check(mode, "m2sh load", loaded,  # m2sh exits 0 even on a syntax error
                            "" if loaded else "exit %d, no config.sqlite: %s" % (
                                r.returncode, (r.stdout + r.stderr).decode()[-400:])):
            return

        # 2. the handler, ready once its ready file exists
        ready = os.path.join(tmp, "handler.ready")
        handler = Proc("handler", [PY, os.path.join(HERE, "handler.py"),
                                   "--pull", "tcp://127.0.0.1:%d" % send_port,
                                   "--pub", "ipc://%s/run/handler-replies" % tmp,
                                   "--ready", ready, "--lifetime", str(LIFETIME - 10)],
                       tmp, env_for(h_ours, libdir), os.path.join(tmp, "handler.log"))
        procs.append(handler)
        ok, how = wait_for("the handler's ready file", lambda: os.path.exists(ready), 20, [handler])
        if not checks.check(mode, "handler starts", ok, how if ok else how + "\n" + tail(handler.log)):
            return
        info = json.load(open(ready))
        ok, desc = lib_ok(info["libs"], h_ours, libdir)
        ok2, desc2 = lib_ok(mapped_libzmq(info["pid"]), h_ours, libdir)
        checks.check(mode, "handler's libzmq (/proc/PID/maps)", ok and ok2,
                     "%s, zmq_version %s" % (desc, info["zmq_version"]) if ok and ok2 else desc + "; " + desc2)

        # 3. mongrel2, ready once its port answers
        m2 = Proc("mongrel2", ["mongrel2", "config.sqlite", server_uuid], tmp,
                  env_for(m2_ours, libdir), os.path.join(tmp, "mongrel2.log"))
        procs.append(m2)
        ok, how = wait_for("mongrel2's HTTP port", lambda: http(base + "/static/", timeout=2)[0] == 200, 30, [m2])
        if not checks.check(mode, "mongrel2 answers on 127.0.0.1:%d" % http_port, ok,
                            how if ok else how + "\n" + tail(m2.log) + "\n" + tail(os.path.join(tmp, "logs", "error.log"))):
            return
        m2pid = m2.child_pid()
        try:
            with open(os.path.join(tmp, "run", "mongrel2.pid")) as f:
                filepid = int(f.read().strip())
        except (OSError, ValueError):
            filepid = None
        if m2pid is None or filepid != m2pid:
            checks.check(mode, "mongrel2's libzmq (/proc/PID/maps)", False,
                         "cannot find mongrel2's pid (timeout's child %s, pid file %s)" % (m2pid, filepid))
        else:
            ok, desc = lib_ok(mapped_libzmq(m2pid), m2_ours, libdir)
            checks.check(mode, "mongrel2's libzmq (/proc/PID/maps)", ok, desc)

        # 4. the first round trip through the handler (PUB/SUB joins late)
        ok, how = wait_for("the first reply through the handler",
                           lambda: http(base + "/handler/ping", timeout=2)[2] == b"pong", 30, [m2, handler])
        if not checks.check(mode, "first request through the handler (GET /handler/ping)", ok,
                            how if ok else how + "\n" + tail(handler.log) + "\n" + tail(os.path.join(tmp, "logs", "error.log"))):
            return

        # 5. requests
        def expect(name, url, status, body=None, data=None, sha=None):
            try:
                st, hd, bd = http(url, data)
            except RuntimeError as e:
                return checks.check(mode, name, False, str(e))
            problems = []
            if st != status:
                problems.append("status %d, expected %d" % (st, status))
            if body is not None and bd != body:
                problems.append("body %r..., expected %r..." % (bd[:80], body[:80]))
            if sha is not None:
                if hashlib.sha256(bd).hexdigest() != sha:
                    problems.append("body sha256 %s (%d bytes), expected %s" % (
                        hashlib.sha256(bd).hexdigest()[:16], len(bd), sha[:16]))
                if hd.get("x-body-sha256") != sha:
                    problems.append("X-Body-Sha256 %r, expected %s" % (hd.get("x-body-sha256"), sha[:16]))
            return checks.check(mode, name, not problems, "; ".join(problems))

        expect("GET /handler/hello?name=ferrozmq", base + "/handler/hello?name=ferrozmq", 200,
               b"hello GET /handler/hello name=ferrozmq")
        for size in (1000, 50000):
            data = bytes((i * 7 + size) % 251 for i in range(size))
            path = os.path.join(tmp, "post-%d.bin" % size)
            with open(path, "wb") as f:
                f.write(data)
            expect("POST /handler/echo with a %d-byte body" % size, base + "/handler/echo", 200,
                   data, data=path, sha=hashlib.sha256(data).hexdigest())
        expect("GET /handler/status/404", base + "/handler/status/404", 404, b"status 404")
        expect("GET /handler/status/201", base + "/handler/status/201", 201, b"status 201")
        n = 300000
        from m2proto import big_body  # the pattern the handler sends

        expect("GET /handler/big?n=%d" % n, base + "/handler/big?n=%d" % n, 200,
               sha=hashlib.sha256(big_body(n)).hexdigest())

        # 24 requests at once (curl --parallel), each answer checked
        outdir = os.path.join(tmp, "parallel")
        os.makedirs(outdir)
        rc, out, err = curl(["-Z", "--parallel-max", "12", "-o", outdir + "/r#1",
                             "-w", "%{http_code}\\n", base + "/handler/hello?i=[1-24]"], timeout=20)
        bad = []
        for i in range(1, 25):
            try:
                got = open(os.path.join(outdir, "r%d" % i), "rb").read()
            except OSError:
                got = None
            if got != ("hello GET /handler/hello i=%d" % i).encode():
                bad.append("%d: %r" % (i, got[:60] if got else got))
        codes = out.decode().split()
        checks.check(mode, "24 parallel GETs (curl -Z)", rc == 0 and not bad and codes.count("200") == 24,
                     "curl exit %d %s; %d of 24 status 200; wrong bodies: %s" % (rc, err, codes.count("200"), bad[:4])
                     if not (rc == 0 and not bad and codes.count("200") == 24) else "")

        # three requests on one kept-alive connection
        rc, out, err = curl(["-w", "|%{num_connects}\\n", base + "/handler/hello?k=1",
                             base + "/handler/hello?k=2", base + "/handler/hello?k=3"])
        want = b"".join(b"hello GET /handler/hello k=%d|%d\n" % (k, 1 if k == 1 else 0) for k in (1, 2, 3))
        checks.check(mode, "3 requests on one keep-alive connection", rc == 0 and out == want,
                     "" if rc == 0 and out == want else "curl exit %d %s: %r" % (rc, err, out[:200]))

        expect("GET /static/ (a Dir route, no handler)", base + "/static/", 200, b"static ok\n")

        # 6. mongrel2's control port (a REP socket over ipc), asked by pyzmq
        #    on the handler's library
        ctl = subprocess.run([PY, "-c", CONTROL_CLIENT, "ipc://%s/run/control" % tmp, HERE],
                             env=env_for(h_ours, libdir), capture_output=True, timeout=30)
        got = ctl.stdout.decode().strip()
        checks.check(mode, "control port: uuid command", ctl.returncode == 0 and got == server_uuid,
                     "" if ctl.returncode == 0 and got == server_uuid else
                     "exit %d, got %r, expected %s; %s" % (ctl.returncode, got, server_uuid, ctl.stderr.decode()[-300:]))

        # 7. both stop on SIGTERM, in bounded time (zmq_ctx_term must return)
        for p, pid, name in ((m2, m2.child_pid(), "mongrel2"), (handler, info["pid"], "handler")):
            if pid is None:
                checks.check(mode, "%s exits on SIGTERM" % name, False, "no pid")
                continue
            t0 = time.monotonic()
            os.kill(pid, signal.SIGTERM)
            try:
                rc = p.p.wait(timeout=20)
                checks.check(mode, "%s exits on SIGTERM" % name, rc == 0,
                             "exit status %d after %.2fs" % (rc, time.monotonic() - t0) + ("" if rc == 0 else "\n" + tail(p.log)))
            except subprocess.TimeoutExpired:
                checks.check(mode, "%s exits on SIGTERM" % name, False, "still running 20 s after SIGTERM\n" + tail(p.log))
    except Exception as e:  # noqa: BLE001 - a harness error is a failed check, not a traceback
        checks.check(mode, "harness", False, "%s: %s" % (type(e).__name__, e))
    finally:
        for p in procs:
            p.kill()
        if keep or checks.failed > failed_before:
            print("  (logs kept in %s)" % tmp, flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


CONTROL_CLIENT = r"""
import sys, zmq
sys.path.insert(0, sys.argv[2])
from m2proto import tnetstring_parse
ctx = zmq.Context()
s = ctx.socket(zmq.REQ)
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.RCVTIMEO, 10000)
s.setsockopt(zmq.SNDTIMEO, 10000)
s.connect(sys.argv[1])
body = b"4:uuid,0:}"  # ["uuid", {}] as a tnetstring
s.send(b"%d:%s]" % (len(body), body))
raw = s.recv()
reply, _ = tnetstring_parse(raw)  # {"headers": ["uuid"], "rows": [[UUID]]}
if not isinstance(reply, dict) or "rows" not in reply:
    sys.exit("unexpected control reply %r" % raw[:300])
print(reply["rows"][0][0].decode())
s.close()
ctx.term()
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--modes", default="debian,ferrozmq,m2-ferrozmq,handler-ferrozmq")
    ap.add_argument("--keep", action="store_true", help="keep every temp dir")
    args = ap.parse_args()
    checks = Checks()
    t0 = time.monotonic()
    for mode in args.modes.split(","):
        if mode not in MODES:
            print("unknown mode %s" % mode)
            return 2
        t = time.monotonic()
        run_mode(mode, args.lib, checks, args.keep)
        print("  (%s took %.1fs)" % (mode, time.monotonic() - t), flush=True)
    print()
    if checks.failures:
        print("mongrel2: FAILED checks:")
        for f in checks.failures:
            print("  " + f.splitlines()[0])
    print("mongrel2: %.1fs in all" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (checks.passed, checks.failed))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
