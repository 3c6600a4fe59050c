#!/usr/bin/python3
"""One pass of pyzmq's own test suite (Debian's python3-zmq, zmq.tests) on one
libzmq, every test bounded, the results written as junit-xml.

    runner.py --name NAME --out DIR [--lib LIBDIR] [--jobs N]
              [--test-timeout S] [--hard-timeout S] [--budget S]

Each test file runs in a pytest process of its own (pyzmq's tests are not
isolated from each other: on Debian's own libzmq, test_ioloop leaves the
logging module in a state that makes test_log hang), with
ferrozmq_pytest_plugin recording progress line by line. A test is bounded
three ways: pyzmq's own SIGALRM (ZMQ_TEST_TIMEOUT), pytest-timeout (thread
method: dumps the stacks and ends the process), and this runner's watchdog,
which kills the process group when one test has run longer than
--hard-timeout (a hang that holds the GIL stops the other two). When a
process dies before the end (crash, timeout, watchdog), the test it was in is
recorded as failed with the reason, and the file is run again without the
tests already done. The whole pass is bounded by --budget: what has not run
by then is recorded as not run.

With --lib, LD_LIBRARY_PATH is LIBDIR and every process checks that the
libzmq it mapped is LIBDIR's; without, LD_LIBRARY_PATH is removed and every
process checks that it mapped Debian's. A process whose check fails ends the
whole pass (exit code 3).

Writes DIR/NAME.xml (junit-xml, one testcase per test) and DIR/NAME.json
(per-test outcomes, what each file's processes did, the library seen);
each process's output and pytest's own junit-xml stay in DIR/NAME/work/.
"""

import argparse
import concurrent.futures
import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS_DIR = "/usr/lib/python3/dist-packages/zmq/tests"
PYTHON = "/usr/bin/python3"


def signame(num):
    try:
        return signal.Signals(num).name
    except ValueError:
        return "signal %d" % num


class FatalLibraryError(Exception):
    pass


class Pass:
    def __init__(self, args):
        self.args = args
        self.out = os.path.abspath(args.out)
        self.deadline = time.monotonic() + args.budget
        self.lock = threading.Lock()
        self.tests = {}  # nodeid -> dict(phases..., file)
        self.order = []
        self.files = {}  # file -> notes
        self.libs = []  # every "lib" event seen
        self.fatal = None
        self.stop = threading.Event()

    # ------------------------------------------------------------ environment
    def env(self):
        env = dict(os.environ)
        for k in ("LD_LIBRARY_PATH", "LD_PRELOAD", "PYTHONHOME", "PYTHONSTARTUP",
                  "FERROZMQ_EXPECT_LIB_DIR", "FERROZMQ_EXPECT_SYSTEM_LIB",
                  "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "ZMQ_TEST_TIMEOUT"):
            env.pop(k, None)
        env["PYTHONPATH"] = HERE
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONNOUSERSITE"] = "1"
        env["PYTHONFAULTHANDLER"] = "1"
        env["ZMQ_TEST_TIMEOUT"] = str(self.args.zmq_test_timeout)
        if self.args.lib:
            env["LD_LIBRARY_PATH"] = os.path.realpath(self.args.lib)
            env["FERROZMQ_EXPECT_LIB_DIR"] = os.path.realpath(self.args.lib)
        else:
            env["FERROZMQ_EXPECT_SYSTEM_LIB"] = "1"
        return env

    # -------------------------------------------------------------- one file
    def run_file(self, path):
        base = os.path.basename(path)[:-3]
        notes = {"attempts": [], "seconds": 0.0}
        with self.lock:
            self.files[base + ".py"] = notes
        progress = os.path.join(self.out, self.args.name, "progress", base + ".jsonl")
        deselect = os.path.join(self.out, self.args.name, "deselect", base + ".txt")
        done = set()
        started_file = time.monotonic()
        for attempt in range(1, self.args.max_attempts + 1):
            if self.stop.is_set():
                notes["attempts"].append({"result": "not run: pass stopped"})
                break
            if time.monotonic() >= self.deadline:
                notes["attempts"].append({"result": "not run: pass budget of %ds used up" % self.args.budget})
                break
            with open(deselect, "w") as f:
                f.write("".join(i + "\n" for i in sorted(done)))
            work = os.path.join(self.out, self.args.name, "work", base, "attempt%d" % attempt)
            os.makedirs(work, exist_ok=True)
            env = self.env()
            env["FERROZMQ_PROGRESS"] = progress
            env["FERROZMQ_DESELECT"] = deselect
            cmd = [PYTHON, "-m", "pytest", "--pyargs", "zmq.tests." + base,
                   "-p", "ferrozmq_pytest_plugin", "-p", "no:cacheprovider",
                   "--rootdir", TESTS_DIR, "--basetemp", os.path.join(work, "tmp"),
                   "--timeout", str(self.args.test_timeout), "--timeout-method", "thread",
                   "-q", "-rN", "-o", "junit_family=xunit2",
                   "--junitxml", os.path.join(work, "pytest-junit.xml")]
            offset = os.path.getsize(progress) if os.path.exists(progress) else 0
            log = open(os.path.join(work, "output.txt"), "wb")
            proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            current, current_t, finished_t, killed = None, None, None, None
            reported = {}
            while True:
                rc = proc.poll()
                # read new progress lines
                if os.path.exists(progress):
                    with open(progress) as f:
                        f.seek(offset)
                        chunk = f.read()
                    complete = chunk[: chunk.rfind("\n") + 1]
                    offset += len(complete.encode())
                    for line in complete.splitlines():
                        try:
                            ev = json.loads(line)
                        except ValueError:
                            continue
                        self.event(base, ev)
                        if ev["ev"] == "start":
                            current, current_t = ev["id"], time.monotonic()
                        elif ev["ev"] == "report":
                            reported.setdefault(ev["id"], set()).add(ev["when"])
                            if ev["when"] == "teardown":
                                done.add(ev["id"])
                                if ev["id"] == current:
                                    current = None
                        elif ev["ev"] == "finish":
                            finished_t = time.monotonic()
                            current = None
                        elif ev["ev"] == "lib" and ev.get("problems"):
                            self.fatal = "%s: %s" % (base, "; ".join(ev["problems"]))
                if rc is not None:
                    break
                now = time.monotonic()
                if current is not None and now - current_t > self.args.hard_timeout:
                    killed = "killed by the harness watchdog after %ds in this test" % self.args.hard_timeout
                elif finished_t is not None and now - finished_t > self.args.exit_timeout:
                    killed = "exit hang"
                elif now > self.deadline:
                    killed = "killed: pass budget of %ds used up" % self.args.budget
                elif self.stop.is_set():
                    killed = "killed: pass stopped"
                if killed:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait()
                    rc = proc.returncode
                    # pick up anything written just before the kill
                    continue
                time.sleep(0.1)
            log.close()
            with open(os.path.join(work, "output.txt"), "rb") as f:
                output = f.read().decode("utf-8", "replace")
            att = {"rc": rc, "work": work}
            if rc == 3 and self.fatal is None and "wrong libzmq" in output:
                self.fatal = "%s: %s" % (base, output.strip().splitlines()[-1])
            if self.fatal:
                att["result"] = "wrong library: " + self.fatal
                notes["attempts"].append(att)
                self.stop.set()
                break
            if finished_t is not None:
                att["result"] = "finished" if not killed else "finished, then hung at exit (killed after %ds)" % self.args.exit_timeout
                if killed:
                    notes["exit_hang"] = True
                notes["attempts"].append(att)
                break
            # The process ended early.
            if killed:
                why = killed
            elif rc < 0:
                why = "process died of %s" % signame(-rc)
            elif "+++++++++++++++++++++++++++++++++++ Timeout +++" in output or "Timeout +++" in output:
                why = "pytest-timeout: still running after %ds (process ended by its thread method)" % self.args.test_timeout
            else:
                why = "pytest exited with status %d before the end" % rc
            tail = [l for l in output.strip().splitlines()[-3:]]
            att["result"] = why
            att["output_tail"] = tail
            notes["attempts"].append(att)
            if current is None:
                # Died outside any test (collection, start-up, between tests):
                # nothing to deselect, so running again would do the same.
                notes["died_outside_tests"] = why + (" | " + tail[-1] if tail else "")
                break
            self.synthetic(base, current, why, reported.get(current, set()))
            done.add(current)
        notes["seconds"] = round(time.monotonic() - started_file, 1)

    # ---------------------------------------------------------------- events
    def event(self, base, ev):
        with self.lock:
            if ev["ev"] == "lib":
                self.libs.append(dict(ev, file=base + ".py"))
            elif ev["ev"] == "report":
                t = self.test(ev["id"], base)
                t["phases"][ev["when"]] = (ev["outcome"], ev.get("msg", ""))
                t["dur"] = round(t.get("dur", 0) + ev.get("dur", 0), 3)
            elif ev["ev"] == "collect_error":
                self.files.setdefault(base + ".py", {}).setdefault("collect_errors", []).append(
                    "%s: %s" % (ev["id"], ev["msg"]))

    def test(self, nodeid, base):
        if nodeid not in self.tests:
            self.tests[nodeid] = {"file": base + ".py", "phases": {}}
            self.order.append(nodeid)
        return self.tests[nodeid]

    def synthetic(self, base, nodeid, why, phases_seen):
        with self.lock:
            t = self.test(nodeid, base)
            when = "call" if "setup" in phases_seen else "setup"
            if "call" in phases_seen:
                when = "teardown"
            t["phases"][when] = ("failed", why)
            t["crashed"] = True

    # ---------------------------------------------------------------- result
    @staticmethod
    def outcome(t):
        ph = t["phases"]
        for when in ("setup", "call", "teardown"):
            o, msg = ph.get(when, (None, ""))
            if o == "failed":
                kind = "failed" if when == "call" else "error"
                return kind, ("" if when == "call" else "[%s] " % when) + msg
        for when in ("setup", "call", "teardown"):
            o, msg = ph.get(when, (None, ""))
            if o in ("skipped", "xfailed"):
                return "skipped", msg
        if ph.get("call", (None,))[0] in ("passed", "xpassed"):
            return "passed", ""
        return "failed", "no result recorded"

    def write(self):
        suite = ET.Element("testsuite", name="pyzmq-" + self.args.name)
        counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
        results = {}
        for nodeid in self.order:
            t = self.tests[nodeid]
            kind, msg = self.outcome(t)
            counts[kind] += 1
            results[nodeid] = {"outcome": kind, "msg": msg, "file": t["file"], "dur": t.get("dur", 0)}
            parts = nodeid.split("::")
            classname = ".".join([parts[0][:-3]] + parts[1:-1])
            tc = ET.SubElement(suite, "testcase", classname=classname, name=parts[-1],
                               file=parts[0], time="%.3f" % t.get("dur", 0))
            props = ET.SubElement(tc, "properties")
            ET.SubElement(props, "property", name="nodeid", value=nodeid)
            if kind in ("failed", "error"):
                ET.SubElement(tc, "failure" if kind == "failed" else "error", message=msg).text = msg
            elif kind == "skipped":
                ET.SubElement(tc, "skipped", message=msg)
        suite.set("tests", str(len(self.order)))
        suite.set("failures", str(counts["failed"]))
        suite.set("errors", str(counts["error"]))
        suite.set("skipped", str(counts["skipped"]))
        ET.ElementTree(suite).write(os.path.join(self.out, self.args.name + ".xml"),
                                    encoding="utf-8", xml_declaration=True)
        summary = {
            "name": self.args.name,
            "lib_dir": os.path.realpath(self.args.lib) if self.args.lib else None,
            "fatal": self.fatal,
            "libs_seen": sorted({tuple(l["libs"]) for l in self.libs}),
            "zmq_versions": sorted({l["zmq_version"] for l in self.libs}),
            "lib_checks": len(self.libs),
            "lib_problems": [l for l in self.libs if l.get("problems")],
            "counts": counts,
            "files": self.files,
            "tests": results,
        }
        with open(os.path.join(self.out, self.args.name + ".json"), "w") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
        return summary


def preflight(args):
    """Imports zmq once in the pass's environment and shows which libzmq
    got mapped; fails the pass before any test if it is the wrong one."""
    p = Pass(args)
    env = p.env()
    code = ("import sys; sys.path.insert(0, %r); import ferrozmq_pytest_plugin as m; "
            "ok, d = m.check_library(); print(d); sys.exit(0 if ok else 3)" % HERE)
    r = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    return r.returncode, (r.stdout + r.stderr).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--lib")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--test-timeout", type=int, default=30)
    ap.add_argument("--zmq-test-timeout", type=int, default=20)
    ap.add_argument("--hard-timeout", type=int, default=45)
    ap.add_argument("--exit-timeout", type=int, default=20)
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--max-attempts", type=int, default=40)
    ap.add_argument("--files", nargs="*", help="test file names (default: all test_*.py)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for d in ("progress", "deselect", "work"):
        os.makedirs(os.path.join(args.out, args.name, d), exist_ok=True)

    t0 = time.monotonic()
    rc, desc = preflight(args)
    print("[%s] preflight: %s" % (args.name, desc), flush=True)
    if rc != 0:
        print("[%s] FATAL: wrong or unloadable libzmq: %s" % (args.name, desc), flush=True)
        p = Pass(args)
        p.fatal = "preflight: " + desc
        p.write()
        return 3

    files = sorted(glob.glob(os.path.join(TESTS_DIR, "test_*.py")),
                   key=lambda f: -os.path.getsize(f))
    if args.files:
        files = [f for f in files if os.path.basename(f) in args.files]
    if not files:
        print("[%s] FATAL: no pyzmq test files in %s" % (args.name, TESTS_DIR))
        return 2
    p = Pass(args)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        for fut in concurrent.futures.as_completed([ex.submit(p.run_file, f) for f in files]):
            fut.result()
    s = p.write()
    c = s["counts"]
    print("[%s] %d tests: %d passed, %d failed, %d errors, %d skipped in %.0fs (libzmq %s from %s)" % (
        args.name, len(s["tests"]), c["passed"], c["failed"], c["error"], c["skipped"],
        time.monotonic() - t0, ",".join(s["zmq_versions"]),
        ",".join(l for ls in s["libs_seen"] for l in ls)), flush=True)
    if s["fatal"]:
        print("[%s] FATAL: %s" % (args.name, s["fatal"]), flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
