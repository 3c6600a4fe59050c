#!/usr/bin/python3
"""rust-zmq (the `zmq` crate, 0.10.x from crates.io) built and tested on
Debian's libzmq and on ferrozmq's.

    driver.py --lib DIR [--work DIR] [--target-root DIR] [--keep]

1. Gets the crate's source with cargo: a throwaway project depending on
   zmq = "0.10", `cargo fetch`, and `cargo metadata` to find where cargo
   unpacked zmq and zmq-sys; both are copied to a temp dir.
2. zmq-sys 0.12.0's build script ignores pkg-config: it always builds a
   private static libzmq from source (the zeromq-src crate), which would
   test nothing of ours. The copy's build script is replaced with the
   pkg-config probe its own Cargo.toml declares ([package.metadata.system-deps]
   libzmq = "4.1", through the system-deps crate it already depends on), and
   the copy of zmq uses that zmq-sys through [patch.crates-io]. The code and
   tests of both crates are unchanged.
3. For each side: Debian's (no PKG_CONFIG_PATH, no LD_LIBRARY_PATH) and
   ferrozmq's (PKG_CONFIG_PATH=DIR/pkgconfig, LD_LIBRARY_PATH=DIR):
   `cargo test --no-run` with CARGO_TARGET_DIR under --target-root; checks
   that pkg-config resolves libzmq to that side's library, that every test
   binary imports zmq_* dynamically and defines none itself (no static
   copy), that ldd resolves libzmq.so.5 to that side's file, and that the
   dynamic loader really initialises that file (LD_DEBUG=libs); then runs
   every test of every test binary on its own (`--exact NAME`, under
   `timeout`, so each is bounded and a crash costs one test), and the doc
   tests with `cargo test --doc`.
4. Prints both sides' counts, the tests passing on Debian's libzmq that fail
   on ferrozmq (with the first line of the failure) and, last,
   `N passed, M failed`: the linkage checks of both sides plus one check per
   test passing on Debian's libzmq. Exits 1 if any check failed.

Heavy steps take /tmp/ferrozmq-cpu.lock (flock) unless
FERROZMQ_CPU_LOCK_HELD=1.
"""

import argparse
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SYSTEM_PREFIXES = ("/usr/lib/", "/lib/")
TEST_TIMEOUT = 60
BUILD_TIMEOUT = 1200


class Checks:
    def __init__(self):
        self.passed = self.failed = 0
        self.failures = []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append("%s: %s" % (name, detail.splitlines()[0] if detail else ""))
        print("  %s %s%s" % ("PASS" if ok else "FAIL", name, (": " + detail) if detail else ""), flush=True)
        return ok


@contextlib.contextmanager
def cpu_lock():
    if os.environ.get("FERROZMQ_CPU_LOCK_HELD") == "1":
        yield
        return
    with open("/tmp/ferrozmq-cpu.lock", "a") as f:
        t0 = time.monotonic()
        fcntl.flock(f, fcntl.LOCK_EX)
        waited = time.monotonic() - t0
        if waited > 1:
            print("  (waited %.0fs for /tmp/ferrozmq-cpu.lock)" % waited, flush=True)
        os.environ["FERROZMQ_CPU_LOCK_HELD"] = "1"
        try:
            yield
        finally:
            os.environ.pop("FERROZMQ_CPU_LOCK_HELD", None)
            fcntl.flock(f, fcntl.LOCK_UN)


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


def tail(text, n=20):
    return "\n".join("      | " + l for l in text.strip().splitlines()[-n:])


def signame(num):
    try:
        return signal.Signals(num).name
    except ValueError:
        return "signal %d" % num


# --------------------------------------------------------------------- source
FETCH_MANIFEST = """\
[package]
name = "ferrozmq-fetch-rust-zmq"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
zmq = "0.10"

[workspace]
"""

BUILD_SCRIPT = """\
// Replaced by ferrozmq's acceptance harness (crates/ferrozmq-capi/tests/
// bindings/rust-zmq): link the system's libzmq found by pkg-config, as this
// crate's [package.metadata.system-deps] declares, instead of building a
// private static copy with zeromq-src.
fn main() {
    println!("cargo:rerun-if-changed=build/main.rs");
    system_deps::Config::new()
        .probe()
        .expect("libzmq through pkg-config (PKG_CONFIG_PATH)");
}
"""


def get_source(work, env):
    fetch = os.path.join(work, "fetch")
    os.makedirs(os.path.join(fetch, "src"))
    with open(os.path.join(fetch, "Cargo.toml"), "w") as f:
        f.write(FETCH_MANIFEST)
    with open(os.path.join(fetch, "src", "main.rs"), "w") as f:
        f.write("fn main() {}\n")
    r = run(["cargo", "fetch", "--quiet"], cwd=fetch, env=env, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("cargo fetch failed:\n" + tail(r.stderr))
    r = run(["cargo", "metadata", "--format-version", "1", "--quiet"], cwd=fetch, env=env, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("cargo metadata failed:\n" + tail(r.stderr))
    found = {}
    for p in json.loads(r.stdout)["packages"]:
        if p["name"] in ("zmq", "zmq-sys"):
            found[p["name"]] = (p["version"], os.path.dirname(p["manifest_path"]))
    if set(found) != {"zmq", "zmq-sys"}:
        raise RuntimeError("cargo metadata names no zmq/zmq-sys: %r" % found)
    for name, (version, path) in sorted(found.items()):
        print("  source: %s %s from %s" % (name, version, path), flush=True)
        shutil.copytree(path, os.path.join(work, name), symlinks=True)
    # zmq-sys: pkg-config instead of a vendored static libzmq
    sysdir = os.path.join(work, "zmq-sys")
    toml = open(os.path.join(sysdir, "Cargo.toml")).read()
    build = re.search(r'^build = "([^"]+)"', toml, re.M)
    if not build or "system-deps" not in toml or "[package.metadata.system-deps]" not in toml:
        raise RuntimeError("zmq-sys %s's Cargo.toml is not the shape this harness patches "
                           "(build script, system-deps)" % found["zmq-sys"][0])
    with open(os.path.join(sysdir, build.group(1)), "w") as f:
        f.write(BUILD_SCRIPT)
    toml = re.sub(r'\[build-dependencies\.zeromq-src\]\n(?:[a-z-]+ = [^\n]*\n)*', "", toml)
    with open(os.path.join(sysdir, "Cargo.toml"), "w") as f:
        f.write(toml)
    zdir = os.path.join(work, "zmq")
    with open(os.path.join(zdir, "Cargo.toml"), "a") as f:
        f.write('\n[patch.crates-io]\nzmq-sys = { path = "../zmq-sys" }\n\n[workspace]\n')
    return zdir, found


# ---------------------------------------------------------------------- sides
def side_env(lib):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith(("PKG_CONFIG", "SYSTEM_DEPS_", "LIBZMQ_")) or k in ("LD_LIBRARY_PATH", "LD_PRELOAD"):
            env.pop(k)
    if lib:
        env["PKG_CONFIG_PATH"] = os.path.join(lib, "pkgconfig")
        env["LD_LIBRARY_PATH"] = lib
    return env


def expected_file(lib):
    if lib:
        return os.path.realpath(os.path.join(lib, "libzmq.so.5"))
    return os.path.realpath("/usr/lib/x86_64-linux-gnu/libzmq.so.5")


def is_expected(path, lib):
    real = os.path.realpath(path)
    if lib:
        return real == expected_file(lib) and not real.startswith(SYSTEM_PREFIXES)
    return real.startswith(SYSTEM_PREFIXES)


def linkage(exe, lib, env):
    """(problems, number of zmq_* imports) for how one test binary links
    libzmq; (None, 0) for a binary that uses no zmq_* function at all (the
    linker's --as-needed then leaves libzmq out: the trybuild test, the
    library's empty unit-test binary)."""
    problems = []
    r = run(["nm", "-D", "--undefined-only", exe])
    undef = [l.split()[-1] for l in r.stdout.splitlines() if l.split() and l.split()[-1].startswith("zmq_")]
    r = run(["nm", "--defined-only", exe])
    defined = [l.split()[-1] for l in r.stdout.splitlines()
               if len(l.split()) == 3 and l.split()[1] in "TtWw" and l.split()[2].startswith("zmq_")]
    if defined:
        problems.append("defines %d zmq_* functions itself (a static libzmq inside), e.g. %s" % (
            len(defined), defined[0]))
    if not undef:
        return (problems or None), 0
    r = run(["ldd", exe], env=env)
    m = re.search(r"^\s*libzmq\.so\.5 => (\S+)", r.stdout, re.M)
    if not m:
        problems.append("ldd finds no libzmq.so.5: " + (r.stdout + r.stderr).strip()[:200])
    elif not is_expected(m.group(1), lib):
        problems.append("ldd resolves libzmq.so.5 to %s (= %s), expected %s" % (
            m.group(1), os.path.realpath(m.group(1)), expected_file(lib) if lib else "Debian's"))
    e2 = dict(env, LD_DEBUG="libs")
    r = run([exe, "--list"], env=e2, timeout=60)
    inits = re.findall(r"calling init: (\S*libzmq[^\s]*)", r.stderr)
    if not inits:
        problems.append("LD_DEBUG=libs shows no libzmq initialised (exit %d)" % r.returncode)
    for p in inits:
        if not is_expected(p, lib):
            problems.append("the loader initialised %s, expected %s" % (p, expected_file(lib) if lib else "Debian's"))
    return problems, len(undef)


def list_tests(exe, env):
    r = run([exe, "--list", "--format", "terse"], env=env, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("%s --list failed (%d): %s" % (exe, r.returncode, r.stderr.strip()[-300:]))
    tests = []
    for line in r.stdout.splitlines():
        if line.endswith(": test"):
            tests.append(line[: -len(": test")])
    return tests


def failure_line(output):
    """The first line of a failed test's panic, with its location."""
    m = re.search(r"panicked at ([^\n]*?):\n([^\n]*)", output)
    if m:
        return "%s (at %s)" % (m.group(2).strip(), m.group(1))
    m = re.search(r"panicked at '([^\n]*)', ([^\s]+)", output)  # older libtest
    if m:
        return "%s (at %s)" % (m.group(1), m.group(2))
    lines = [l for l in output.strip().splitlines() if l.strip()]
    return lines[-1][:200] if lines else "no output"


def run_one(exe, name, env, cwd):
    t0 = time.monotonic()
    try:
        r = subprocess.run(["timeout", "-k", "5", str(TEST_TIMEOUT), exe, "--exact", name,
                            "--test-threads=1", "-q"], env=env, cwd=cwd, capture_output=True,
                           text=True, errors="replace", timeout=TEST_TIMEOUT + 30)
        rc, out = r.returncode, r.stdout + r.stderr
    except subprocess.TimeoutExpired:
        rc, out = 124, ""
    dur = time.monotonic() - t0
    if rc == 0 and re.search(r"test result: ok\. 1 passed", out):
        return "passed", "", dur
    if rc == 0 and re.search(r"test result: ok\. 0 passed; 0 failed; 1 ignored", out):
        return "ignored", "", dur
    if rc in (124, 137):
        return "failed", "timed out after %ds" % TEST_TIMEOUT, dur
    if rc > 128:
        return "failed", "died of %s; %s" % (signame(rc - 128), failure_line(out)), dur
    if rc < 0:
        return "failed", "died of %s" % signame(-rc), dur
    return "failed", failure_line(out), dur


def run_side(label, lib, zdir, target_root, checks):
    print("== %s: %s" % (label, ("PKG_CONFIG_PATH=%s/pkgconfig LD_LIBRARY_PATH=%s" % (lib, lib)) if lib
                          else "Debian's libzmq (no PKG_CONFIG_PATH, no LD_LIBRARY_PATH)"), flush=True)
    env = side_env(lib)
    env["CARGO_TARGET_DIR"] = os.path.join(target_root, label)
    results = {}

    r = run(["pkg-config", "--modversion", "libzmq"], env=env)
    r2 = run(["pkg-config", "--variable=libdir", "libzmq"], env=env)
    libdir = r2.stdout.strip()
    if lib:
        ok = r.returncode == 0 and os.path.realpath(libdir) == os.path.realpath(lib)
    else:
        ok = r.returncode == 0 and libdir.startswith(SYSTEM_PREFIXES)
    checks.check("%s: pkg-config finds libzmq %s in %s" % (label, r.stdout.strip(), libdir), ok,
                 "" if ok else "pkg-config: exit %d %s; libdir %r, expected %s" % (
                     r.returncode, r.stderr.strip(), libdir, lib or "Debian's"))
    if not ok:
        return None

    t0 = time.monotonic()
    with cpu_lock():
        try:
            b = run(["cargo", "test", "--no-run", "--message-format=json-render-diagnostics"],
                    cwd=zdir, env=env, timeout=BUILD_TIMEOUT)
            build_rc, build_out, build_err = b.returncode, b.stdout, b.stderr
        except subprocess.TimeoutExpired:
            build_rc, build_out, build_err = 124, "", "cargo test --no-run: still building after %ds" % BUILD_TIMEOUT
        exes, linked_paths = [], None
        for line in build_out.splitlines():
            try:
                m = json.loads(line)
            except ValueError:
                continue
            if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
                exes.append((m["target"]["name"], m["executable"]))
            if m.get("reason") == "build-script-executed" and "zmq-sys" in m.get("package_id", ""):
                linked_paths = m.get("linked_paths", [])
        if not checks.check("%s: cargo test --no-run (build and link the tests, %.0fs)" % (label, time.monotonic() - t0),
                            build_rc == 0 and exes, "" if build_rc == 0 and exes else
                            "exit %d:\n%s" % (build_rc, tail(build_err, 30))):
            return None
        if lib:
            search = [p.split("=", 1)[-1] for p in (linked_paths or [])]
            ok = any(os.path.realpath(p) == os.path.realpath(lib) for p in search)
            checks.check("%s: zmq-sys's build script links from %s" % (label, lib), ok,
                         "" if ok else "link search paths %r" % (linked_paths,))

        # linkage of every test binary
        problems, users, others = [], 0, []
        for name, exe in exes:
            p, n = linkage(exe, lib, env)
            if p is None:
                others.append(name)
                continue
            users += 1
            problems += ["%s: %s" % (name, x) for x in p]
        if users == 0:
            problems.append("no test binary uses libzmq")
        checks.check("%s: all %d test binaries that call zmq_* (not: %s) load %s dynamically (nm, ldd, LD_DEBUG)" % (
            label, users, ", ".join(others) or "-", expected_file(lib)), not problems, "; ".join(problems))

        # every test on its own
        cargo_env = dict(env)
        cargo_env.update({
            "CARGO": shutil.which("cargo") or "cargo",
            "CARGO_MANIFEST_DIR": zdir,
            "CARGO_PKG_NAME": "zmq",
            "CARGO_CRATE_NAME": "zmq",
            "RUST_BACKTRACE": "0",
        })
        t0 = time.monotonic()
        for tname, exe in sorted(exes):
            try:
                names = list_tests(exe, cargo_env)
            except RuntimeError as e:
                results["%s::<list>" % tname] = ("failed", str(e), 0)
                continue
            for n in names:
                results["%s::%s" % (tname, n)] = run_one(exe, n, dict(cargo_env, CARGO_CRATE_NAME=tname.replace("-", "_")), zdir)
        # doc tests
        try:
            d = run(["timeout", "-k", "5", "600", "cargo", "test", "--doc", "--", "--test-threads=2"],
                    cwd=zdir, env=env, timeout=700)
            dout = d.stdout + d.stderr
        except subprocess.TimeoutExpired:
            dout = ""
        doc = re.findall(r"^test (src/\S+ - .*?) \.\.\. (ok|FAILED|ignored)$", dout, re.M)
        if not doc:
            results["doc::<all>"] = ("failed", "cargo test --doc ran no doc test: " + (dout.strip().splitlines() or ["?"])[-1], 0)
        for n, o in doc:
            msg = ""
            if o == "FAILED":
                m = re.search(r"---- %s stdout ----\n(.*?)(?:\n---- |\nfailures:\n)" % re.escape(n), dout, re.S)
                msg = failure_line(m.group(1)) if m else "FAILED"
            results["doc::" + n] = ({"ok": "passed", "FAILED": "failed", "ignored": "ignored"}[o], msg, 0)
    counts = {}
    for o, _, _ in results.values():
        counts[o] = counts.get(o, 0) + 1
    print("  %s: %d tests: %s (%.0fs)" % (label, len(results), ", ".join(
        "%d %s" % (v, k) for k, v in sorted(counts.items())), time.monotonic() - t0), flush=True)
    for n, (o, msg, _) in sorted(results.items()):
        if o == "failed":
            print("    failed on %s: %s: %s" % (label, n, msg), flush=True)
    slow = [(n, d) for n, (o, _, d) in results.items() if d >= 5]
    if slow:
        print("    slow (>= 5 s): " + ", ".join("%s %.0fs" % s for s in sorted(slow)), flush=True)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--work")
    ap.add_argument("--target-root", default="/tmp/ferrozmq-rustzmq-target")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    lib = os.path.realpath(args.lib)
    checks = Checks()
    t_all = time.monotonic()
    work = args.work or tempfile.mkdtemp(prefix="ferrozmq-rustzmq.")
    os.makedirs(work, exist_ok=True)
    print("rust-zmq: work dir %s, cargo target dirs under %s" % (work, args.target_root), flush=True)
    ok = False
    try:
        base_env = side_env(None)
        base_env.pop("CARGO_TARGET_DIR", None)
        try:
            zdir, found = get_source(work, base_env)
            checks.check("source of zmq %s / zmq-sys %s obtained with cargo, zmq-sys switched to pkg-config" % (
                found["zmq"][0], found["zmq-sys"][0]), True)
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
            checks.check("source of zmq 0.10 obtained with cargo", False, str(e))
            raise SystemExit(finish(checks, t_all))
        debian = run_side("debian", None, zdir, args.target_root, checks)
        ours = run_side("ferrozmq", lib, zdir, args.target_root, checks)
        print("== comparison")
        if debian is None:
            checks.check("baseline (Debian's libzmq) built and ran", False, "see above")
        else:
            base_pass = sorted(n for n, (o, _, _) in debian.items() if o == "passed")
            base_fail = sorted(n for n, (o, _, _) in debian.items() if o == "failed")
            if base_fail:
                print("  failing on Debian's libzmq too (not counted): " + ", ".join(
                    "%s (%s)" % (n, debian[n][1][:120]) for n in base_fail))
            if not base_pass:
                checks.check("baseline: some test passes on Debian's libzmq", False, "none did")
            failing = []
            for n in base_pass:
                o = (ours or {}).get(n)
                if o is None:
                    failing.append((n, "not run (the ferrozmq side did not build or list it)"))
                elif o[0] != "passed":
                    failing.append((n, o[1] or o[0]))
            checks.passed += len(base_pass) - len(failing)
            checks.failed += len(failing)
            for n, msg in failing[: 200 if ours else 1]:
                checks.failures.append("test %s: %s" % (n, msg) if ours else
                                       "%d tests not run on ferrozmq (no build)" % len(failing))
            print("  tests passing on Debian's libzmq: %d; of those passing on ferrozmq: %d (%.1f %%)" % (
                len(base_pass), len(base_pass) - len(failing),
                100.0 * (len(base_pass) - len(failing)) / len(base_pass) if base_pass else 0))
            if ours:
                for n, msg in failing:
                    print("    FAIL %s: %s" % (n, msg))
            elif failing:
                print("    FAIL all %d: not run (the ferrozmq side did not build; see above)" % len(failing))
        ok = True
    finally:
        if args.keep or checks.failed or not ok:
            print("rust-zmq: work dir kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return finish(checks, t_all)


def finish(checks, t_all):
    print()
    if checks.failures:
        print("rust-zmq: FAILED checks:")
        for f in checks.failures:
            print("  " + f)
    print("rust-zmq: %.0fs in all" % (time.monotonic() - t_all))
    print("%d passed, %d failed" % (checks.passed, checks.failed))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
