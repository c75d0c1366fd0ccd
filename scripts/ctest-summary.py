#!/usr/bin/env python3
"""Summarise a ctest JUnit file: passed / failed / skipped ctest tests, plus the cmocka tests
that skipped inside a passing executable, and fail when a required group skipped.

usage: ctest-summary.py JUNIT.xml [REQUIRED ...]
REQUIRED entries: "ctest:<test name>" (that ctest test must not be skipped) or
"output:<group>:<test name>:<text>" (that text in the test's output means the group skipped).
Prints one line "counts <passed> <failed> <skipped>" last; exit status 3 when a required group
skipped, else 0."""
import re
import sys
import xml.etree.ElementTree as ET


def main():
    tree = ET.parse(sys.argv[1])
    required = sys.argv[2:]
    passed = failed = skipped = 0
    skipped_tests = []
    inner = []  # (ctest test, cmocka test) skipped inside a passing executable
    outputs = {}
    for tc in tree.getroot().iter("testcase"):
        name = tc.get("name")
        status = tc.get("status", "")
        out = "".join(e.text or "" for e in tc.iter("system-out"))
        outputs[name] = out
        if tc.find("skipped") is not None or status in ("notrun", "disabled"):
            skipped += 1
            msg = tc.find("skipped")
            skipped_tests.append((name, (msg.get("message") if msg is not None else status) or ""))
        elif tc.find("failure") is not None or status == "fail":
            failed += 1
        else:
            passed += 1
        for m in re.finditer(r"^\[  SKIPPED \] (\S+)\s*$", out, re.M):
            if (name, m.group(1)) not in inner:
                inner.append((name, m.group(1)))
    if skipped_tests:
        print("skipped ctest tests:")
        for n, why in skipped_tests:
            print(f"  SKIPPED {n} {why}".rstrip())
    if inner:
        print("cmocka tests skipped inside passing executables:")
        for n, t in inner:
            print(f"  SKIPPED {n}: {t}")
    bad = []
    skipped_names = {n for n, _ in skipped_tests}
    for r in required:
        kind, _, rest = r.partition(":")
        if kind == "ctest" and rest in skipped_names:
            bad.append(f"required test {rest} was skipped")
        elif kind == "output":
            group, test, text = rest.split(":", 2)
            if test in skipped_names:
                bad.append(f"required group {group} ({test}) was skipped")
            elif text in outputs.get(test, ""):
                bad.append(f"required group {group} skipped in {test}: '{text}'")
    for b in bad:
        print(f"FAIL: {b}")
    print(f"counts {passed} {failed} {skipped}")
    return 3 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
