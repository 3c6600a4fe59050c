"""pytest plugin loaded (-p ferrozmq_pytest_plugin) into every pytest process
that runner.py starts on pyzmq's test suite.

It does three things, all driven by environment variables that runner.py sets:

* FERROZMQ_PROGRESS=FILE: appends one JSON object per line to FILE, flushed
  at once, so that the parent still knows which test was running (and what
  had already finished) when this process crashes, is killed by the
  watchdog, or is ended by pytest-timeout (its `thread` method calls
  os._exit, so pytest's own junit-xml is never written then):
    {"ev": "lib", ...}                 which libzmq this process mapped
    {"ev": "start", "id": NODEID, "t": T}
    {"ev": "report", "id", "when", "outcome", "msg", "dur"}
    {"ev": "collect_error", "id", "msg"}
    {"ev": "finish", "t": T}           pytest_sessionfinish reached
* FERROZMQ_DESELECT=FILE: node ids (one a line) not to run again (the ones a
  crashed earlier process of the same file already ran, or crashed in).
* FERROZMQ_EXPECT_LIB_DIR=DIR or FERROZMQ_EXPECT_SYSTEM_LIB=1: checks, before
  any test runs, that exactly one libzmq is mapped into this process and that
  it is the file DIR/libzmq.so.5 resolves to, and not Debian's (or, with
  the other variable, that it is Debian's); otherwise the session is aborted
  (exit code 3), so a run that silently used another library cannot pass.
"""

import json
import os
import time

import pytest

_progress = None


def _emit(obj):
    if _progress is None:
        return
    _progress.write(json.dumps(obj) + "\n")
    _progress.flush()


def mapped_libzmq():
    """Real paths of every mapped file whose name starts with libzmq."""
    paths = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6:
                path = parts[5].strip()
                if os.path.basename(path).startswith("libzmq"):
                    paths.add(os.path.realpath(path))
    return sorted(paths)


def is_system(path):
    return path.startswith(SYSTEM_DIRS)


SYSTEM_DIRS = ("/usr/lib/x86_64-linux-gnu/", "/lib/x86_64-linux-gnu/", "/usr/lib/", "/lib/")


def check_library():
    """Returns (ok, description)."""
    import zmq

    libs = mapped_libzmq()
    info = {
        "ev": "lib",
        "libs": libs,
        "zmq_version": zmq.zmq_version(),
        "pyzmq_version": zmq.pyzmq_version(),
        "pyzmq_file": zmq.__file__,
        "backend": getattr(zmq, "backend", None) and zmq.backend.__name__,
    }
    problems = []
    if not zmq.__file__.startswith("/usr/lib/python3/dist-packages/"):
        problems.append("pyzmq is not Debian's: %s" % zmq.__file__)
    if len(libs) != 1:
        problems.append("expected exactly one mapped libzmq, found %r" % (libs,))
    expect_dir = os.environ.get("FERROZMQ_EXPECT_LIB_DIR")
    if expect_dir:
        # The file the dynamic loader finds as DIR/libzmq.so.5 (it may be a
        # symlink to a file elsewhere), and never Debian's.
        want = os.path.realpath(os.path.join(expect_dir, "libzmq.so.5"))
        for lib in libs:
            if lib != want:
                problems.append("mapped %s, not %s/libzmq.so.5 (= %s)" % (lib, expect_dir, want))
            if is_system(lib):
                problems.append("mapped %s, which is Debian's libzmq" % lib)
    elif os.environ.get("FERROZMQ_EXPECT_SYSTEM_LIB") == "1":
        for lib in libs:
            if not is_system(lib):
                problems.append("mapped %s, which is not Debian's libzmq" % lib)
    info["problems"] = problems
    _emit(info)
    return not problems, "; ".join(problems) or "libzmq %s from %s" % (
        info["zmq_version"],
        libs[0] if libs else "?",
    )


def pytest_configure(config):
    global _progress
    path = os.environ.get("FERROZMQ_PROGRESS")
    if path:
        _progress = open(path, "a", buffering=1)
    ok, desc = check_library()
    if not ok:
        pytest.exit("ferrozmq harness: wrong libzmq: " + desc, returncode=3)


def pytest_collection_modifyitems(session, config, items):
    path = os.environ.get("FERROZMQ_DESELECT")
    if not path or not os.path.exists(path):
        return
    with open(path) as f:
        skip = {line.rstrip("\n") for line in f if line.strip()}
    keep, drop = [], []
    for item in items:
        (drop if item.nodeid in skip else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _first_line(report):
    crash = getattr(report.longrepr, "reprcrash", None)
    msg = getattr(crash, "message", None)
    if not msg:
        if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
            msg = str(report.longrepr[2])  # skip: (file, line, reason)
        else:
            text = (getattr(report, "longreprtext", "") or "").strip()
            lines = [l for l in text.splitlines() if l.startswith("E ")]
            msg = (lines[0][1:] if lines else (text.splitlines() or [""])[-1]).strip()
    # The first line, or, when it only introduces what follows (pytest's
    # "AssertionError:" before a multi-line message), the first lines joined.
    lines = [l.strip() for l in msg.strip().splitlines() if l.strip()]
    out = lines[0] if lines else ""
    if out.endswith(":") and len(lines) > 1:
        out += " " + " | ".join(lines[1:])
    return out if len(out) <= 300 else out[:297] + "..."


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logstart(nodeid, location):
    _emit({"ev": "start", "id": nodeid, "t": time.time()})


def pytest_runtest_logreport(report):
    outcome = report.outcome
    if hasattr(report, "wasxfail"):
        outcome = "xfailed" if report.skipped else "xpassed"
    msg = "" if report.passed and outcome != "xpassed" else _first_line(report)
    _emit(
        {
            "ev": "report",
            "id": report.nodeid,
            "when": report.when,
            "outcome": outcome,
            "msg": msg,
            "dur": round(report.duration, 3),
        }
    )


def pytest_collectreport(report):
    if report.failed:
        _emit({"ev": "collect_error", "id": report.nodeid, "msg": _first_line(report)})


def pytest_sessionfinish(session, exitstatus):
    _emit({"ev": "finish", "t": time.time(), "status": int(exitstatus)})
