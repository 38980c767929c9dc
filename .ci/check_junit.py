"""Fail unless the given pytest JUnit XML reports show tests run and none skipped.

Usage: python .ci/check_junit.py REPORT.xml [REPORT.xml ...]

The project's rule: a run that skips a browser or live-server test is not
green, so in CI no test may be skipped at all (an xfail counts as a skip: the
test did not show that the thing works). Every report named must exist, and
together they must hold at least one test that ran. Prints each skipped,
failed or erroring test, then one summary line, and exits 1 on any problem.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def test_id(case: ET.Element) -> str:
    name = case.get("name", "?")
    prefix = case.get("classname") or case.get("file")
    return f"{prefix}::{name}" if prefix else name


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    passed, failed, skipped, problems = 0, 0, 0, []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            problems.append(f"missing report: {path} (did that session run?)")
            continue
        for case in ET.parse(path).getroot().iter("testcase"):
            label = f"[{path.name}] {test_id(case)}"
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                problems.append(f"FAILED   {label}")
            elif (skip := case.find("skipped")) is not None:
                skipped += 1
                reason = skip.get("message") or skip.get("type") or ""
                problems.append(f"SKIPPED  {label}: {reason}")
            else:
                passed += 1
    if passed == 0:
        problems.append("no test ran")
    for line in problems:
        print(line)
    verdict = "FAIL" if problems else "OK"
    print(f"{verdict}: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
