#!/usr/bin/python3
"""Compares pyzmq test results on Debian's libzmq with those on ferrozmq's.

    compare.py --baseline A.xml --baseline B.xml --ours C.xml [--threshold 95]

Each .xml is the junit-xml runner.py wrote, with the runner's .json beside
it (library seen, what each file's processes did). A test counts as passing
on Debian's libzmq only if it passed in every baseline run; a test whose
outcome differs between baseline runs is flaky on Debian's own libzmq and is
listed apart, outside the percentage. Prints the tests that pass on Debian's
libzmq and fail on ours with the first line of each failure, and a last line
`N passed, M failed` counting the checks: that ours is the library loaded,
and one per test passing on Debian's libzmq. Exits 1 if the library check
fails or fewer than --threshold percent of those tests pass on ours.
"""

import argparse
import json
import os
import sys
import xml.etree.ElementTree as ET


def load(xml_path):
    tests = {}
    for tc in ET.parse(xml_path).getroot().iter("testcase"):
        nodeid = None
        for prop in tc.iter("property"):
            if prop.get("name") == "nodeid":
                nodeid = prop.get("value")
        if nodeid is None:
            nodeid = "%s::%s" % (tc.get("classname"), tc.get("name"))
        outcome, msg = "passed", ""
        for kind in ("failure", "error", "skipped"):
            el = tc.find(kind)
            if el is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[kind]
                msg = el.get("message") or (el.text or "")
                break
        tests[nodeid] = (outcome, (msg.strip().splitlines() or [""])[0])
    meta_path = xml_path[:-4] + ".json"
    meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
    return tests, meta


def not_run_reason(nodeid, meta):
    f = nodeid.split("::")[0]
    notes = (meta.get("files") or {}).get(f)
    if not notes:
        return "not run (file %s never started)" % f
    bits = []
    if notes.get("collect_errors"):
        bits.append("collection error: " + notes["collect_errors"][0])
    if notes.get("died_outside_tests"):
        bits.append("pytest process died outside a test: " + notes["died_outside_tests"])
    if notes.get("attempts"):
        bits.append("last process: " + str(notes["attempts"][-1].get("result")))
    return "not run/not collected on ours (" + "; ".join(bits) + ")"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", action="append", required=True)
    ap.add_argument("--ours", required=True)
    ap.add_argument("--threshold", type=float, default=95.0)
    args = ap.parse_args()

    bases = [load(p) for p in args.baseline]
    ours, ours_meta = load(args.ours)
    checks_passed = checks_failed = 0
    bad = False

    print("== pyzmq on Debian's libzmq (baseline, %d runs)" % len(bases))
    for (tests, meta), path in zip(bases, args.baseline):
        counts = {}
        for o, _ in tests.values():
            counts[o] = counts.get(o, 0) + 1
        print("   %s: %d tests, %s; libzmq %s from %s" % (
            os.path.basename(path), len(tests),
            ", ".join("%d %s" % (v, k) for k, v in sorted(counts.items())),
            ",".join(meta.get("zmq_versions", [])),
            ",".join(l for ls in meta.get("libs_seen", []) for l in ls)))
        if meta.get("fatal"):
            print("   FATAL in baseline: %s" % meta["fatal"])
            bad = True

    all_ids = set()
    for tests, _ in bases:
        all_ids |= set(tests)
    stable_pass, flaky, base_fail = [], [], []
    for nodeid in sorted(all_ids):
        outcomes = [t.get(nodeid, ("missing", ""))[0] for t, _ in bases]
        if len(set(outcomes)) > 1:
            flaky.append((nodeid, outcomes))
        elif outcomes[0] == "passed":
            stable_pass.append(nodeid)
        elif outcomes[0] in ("failed", "error", "missing"):
            base_fail.append((nodeid, bases[0][0].get(nodeid, ("missing", ""))[1]))

    if base_fail:
        print("   failing on Debian's libzmq in every baseline run (not counted): %d" % len(base_fail))
        for nodeid, msg in base_fail:
            print("     %s: %s" % (nodeid, msg))
    if flaky:
        print("   FLAKY on Debian's libzmq (outcome differs between baseline runs; not counted): %d" % len(flaky))
        for nodeid, outcomes in flaky:
            o = ours.get(nodeid, ("missing", ""))
            print("     %s: baseline %s; on ours: %s%s" % (
                nodeid, "/".join(outcomes), o[0], (" (" + o[1] + ")") if o[1] and o[0] != "passed" else ""))

    print()
    print("== pyzmq on ferrozmq (%s)" % (ours_meta.get("lib_dir") or "?"))
    libs = ours_meta.get("libs_seen", [])
    lib_ok = (not ours_meta.get("fatal") and not ours_meta.get("lib_problems")
              and ours_meta.get("lib_checks", 0) > 0 and len(libs) == 1 and len(libs[0]) == 1)
    if lib_ok:
        checks_passed += 1
        print("   PASS library check: every pytest process (%d) mapped exactly %s (zmq_version() %s)" % (
            ours_meta["lib_checks"], libs[0][0], ",".join(ours_meta.get("zmq_versions", []))))
    else:
        checks_failed += 1
        bad = True
        print("   FAIL library check: fatal=%r, libraries seen %r, problems %r" % (
            ours_meta.get("fatal"), libs, [p.get("problems") for p in ours_meta.get("lib_problems", [])]))

    passing, failing = [], []
    for nodeid in stable_pass:
        o = ours.get(nodeid)
        if o is None:
            failing.append((nodeid, "missing", not_run_reason(nodeid, ours_meta)))
        elif o[0] == "passed":
            passing.append(nodeid)
        else:
            failing.append((nodeid, o[0], o[1]))
    checks_passed += len(passing)
    checks_failed += len(failing)

    for f, notes in sorted((ours_meta.get("files") or {}).items()):
        if notes.get("exit_hang"):
            print("   NOTE %s: the pytest process did not exit after its last test (killed): "
                  "a hang at interpreter exit (context termination?)" % f)
        if notes.get("died_outside_tests"):
            print("   NOTE %s: pytest process died outside any test: %s" % (f, notes["died_outside_tests"]))
        for e in notes.get("collect_errors", []):
            print("   NOTE %s: collection error: %s" % (f, e))
        crashes = [a["result"] for a in notes.get("attempts", []) if a.get("result") not in (None, "finished")]
        if crashes:
            print("   NOTE %s: %d pytest process(es) ended early: %s" % (f, len(crashes), "; ".join(sorted(set(crashes)))))

    extra = sorted(n for n, (o, _) in ours.items() if o == "passed" and n not in stable_pass)
    if extra:
        print("   passing on ours but not (stably) on Debian's libzmq: %d: %s" % (len(extra), ", ".join(extra)))

    skipped_there = []
    for nodeid, (o, msg) in sorted(ours.items()):
        if o in ("failed", "error") and all(t.get(nodeid, ("missing", ""))[0] == "skipped" for t, _ in bases):
            skipped_there.append((nodeid, msg, bases[0][0][nodeid][1]))
    if skipped_there:
        print("   skipped on Debian's libzmq, but run and FAILING on ferrozmq (not counted): %d" % len(skipped_there))
        for nodeid, msg, why in skipped_there:
            print("     %s: %s (skipped on Debian: %s)" % (nodeid, msg, why))

    if failing:
        print("   pass on Debian's libzmq, FAIL on ferrozmq: %d" % len(failing))
        for nodeid, kind, msg in failing:
            print("     FAIL %s [%s]: %s" % (nodeid, kind, msg))

    slow = []
    for tests_meta in [m for _, m in bases] + [ours_meta]:
        for f, notes in (tests_meta.get("files") or {}).items():
            if notes.get("seconds", 0) >= 10:
                slow.append((tests_meta.get("name"), f, notes["seconds"]))
    if slow:
        print("   slow test files (>= 10 s): " + ", ".join("%s %s %.0fs" % s for s in sorted(slow)))

    total = len(stable_pass)
    pct = 100.0 * len(passing) / total if total else 0.0
    print()
    print("tests passing on Debian's libzmq (every baseline run): %d" % total)
    print("of those, passing on ferrozmq: %d (%.1f %%, threshold %.0f %%)" % (len(passing), pct, args.threshold))
    if total == 0:
        print("FAIL: no test passed on Debian's libzmq: the baseline is broken")
        bad = True
    elif pct < args.threshold:
        print("FAIL: below the threshold")
        bad = True
    print("RESULT: %s" % ("FAIL" if bad else "PASS"))
    print("%d passed, %d failed" % (checks_passed, checks_failed))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
