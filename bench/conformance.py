"""Websocket protocol conformance: the Autobahn|Testsuite against the tutorial's echo.

The Autobahn|Testsuite (``wstest -m fuzzingclient``) opens hundreds of websockets to
an echo endpoint and checks, case by case, that the server follows RFC 6455: framing,
fragmentation, control frames, UTF-8 validation, closing handshakes. It runs on
Python 2.7 only (version 0.8.2, its last), which pyenv can provide; it is installed
once into ``.bench/autobahn/``. Where there is no Python 2.7, the results say
"skipped" and why.

The tutorial's echo (chapter 1's project) is served by every worker the library
supports, one at a time: aiopyramid's worker as a reader runs it, the same with
uvloop and the C HTTP parser, and uvicorn's gunicorn worker. Cases 1 to 7 and 10
run; cases 9 send messages of up to 16 MiB, over the 1 MiB the library accepts by
default, which it closes with 1009 by design. Writes ``.bench/conformance.json``;
``--publish`` also writes ``docs/performance/conformance.json`` and its table::

    python -m bench.conformance [--publish]

``nox -s conformance`` installs what it needs and runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.contenders import ApacheLauncher, LegacyLauncher, contenders, serve
from bench.profiles import DOCS_DATA_DIR, RESULTS_DIR
from bench.results import dump, skipped

SUITE = "autobahntestsuite==0.8.2"
CASES = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"]
WORKERS = ("aiopyramid", "aiopyramid_fast", "aiopyramid_uvicorn")
"""The contenders (:mod:`bench.contenders`) whose servers are tested."""
BEHAVIOURS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
"""What the suite says of a case, best first; only FAILED breaks the protocol."""
INSTALL_DIR = RESULTS_DIR / "autobahn"
OUTPUT = RESULTS_DIR / "conformance.json"
PUBLISHED = DOCS_DATA_DIR / "conformance.json"
TIMEOUT_S = 900


class NoPython27(Exception):
    """The suite can't run here; ``str(error)`` says why."""


def python27() -> str:
    """A Python 2.7 that runs: ``$AUTOBAHN_PYTHON``, pyenv's, or ``python2.7`` on the PATH
    (which may be a pyenv shim that refuses to run)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [
        os.environ.get("AUTOBAHN_PYTHON"),
        *(str(path) for path in sorted(pyenv.glob("2.7*/bin/python2.7"), reverse=True)),
        shutil.which("python2.7"),
    ]
    for candidate in filter(None, candidates):
        check = [candidate, "-c", "import sys; assert sys.version_info[:2] == (2, 7)"]
        if subprocess.run(check, capture_output=True, timeout=60).returncode == 0:
            return candidate
    raise NoPython27("no Python 2.7 (the Autobahn|Testsuite's) on this machine")


def wstest(python: str) -> list[str]:
    """The command that runs the suite's ``wstest``, installing it the first time."""
    marker = INSTALL_DIR / "installed.txt"
    if not marker.exists() or marker.read_text() != SUITE:
        shutil.rmtree(INSTALL_DIR, ignore_errors=True)
        print(f"installing {SUITE} for Python 2.7 into {INSTALL_DIR}", flush=True)
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "--target", str(INSTALL_DIR), SUITE],
            check=True,
            timeout=TIMEOUT_S,
        )
        marker.write_text(SUITE)
    # The namespace packages (zope) need a site directory, not just sys.path.
    start = (
        f"import site, sys; site.addsitedir({str(INSTALL_DIR)!r}); "
        "from autobahntestsuite.wstest import run; sys.argv[0] = 'wstest'; run()"
    )
    return [python, "-c", start]


def run_suite(command: list[str], key: str, url: str, work: Path) -> dict[str, dict[str, str]]:
    """Run the cases against ``url``; each case's behaviour and closing behaviour."""
    spec = work / f"{key}.json"
    out = work / key
    spec.write_text(
        json.dumps(
            {
                "outdir": str(out),
                "servers": [{"agent": key, "url": url}],
                "cases": CASES,
                "exclude-cases": [],
                "exclude-agent-cases": {},
            }
        )
    )
    subprocess.run(
        [*command, "-m", "fuzzingclient", "-s", str(spec)],
        cwd=work,
        check=True,
        timeout=TIMEOUT_S,
        stdout=subprocess.DEVNULL,
    )
    index = json.loads((out / "index.json").read_text())
    return {
        case: {"behavior": result["behavior"], "close": result["behaviorClose"]}
        for case, result in index[key].items()
    }


def summary(cases: dict[str, dict[str, str]]) -> dict[str, Any]:
    counts = Counter(result["behavior"] for result in cases.values())
    return {
        "cases": len(cases),
        **{behaviour.lower().replace("-", "_"): counts[behaviour] for behaviour in BEHAVIOURS},
        "failed_cases": sorted(case for case, r in cases.items() if r["behavior"] == "FAILED"),
    }


def measure() -> dict[str, Any]:
    results: dict[str, Any] = {"suite": SUITE, "cases": CASES, "workers": {}}
    try:
        command = wstest(python27())
    except NoPython27 as error:
        results["workers"] = skipped(str(error))
        return results
    legacy = LegacyLauncher(RESULTS_DIR, print, "not tested for conformance")
    every = contenders(legacy, ApacheLauncher(RESULTS_DIR))
    with tempfile.TemporaryDirectory(prefix="conformance-") as scratch:
        work = Path(scratch)
        for key in WORKERS:
            contender = every[key]
            print(f"conformance: {contender.label}", flush=True)
            with serve(contender, work, key) as server:
                cases = run_suite(command, key, server.ws_url("/echo"), work)
            results["workers"][key] = {
                "label": contender.label,
                "server": contender.server,
                **summary(cases),
            }
            print(f"  {results['workers'][key]}", flush=True)
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.conformance")
    parser.add_argument(
        "--publish", action="store_true", help=f"also write {PUBLISHED} and its table"
    )
    args = parser.parse_args(argv)
    results = measure()
    dump(results, OUTPUT)
    if args.publish:
        from bench import report

        dump(results, PUBLISHED)
        (DOCS_DATA_DIR / "conformance.csv").write_text(
            report.render_csv(report.conformance_table(results)), encoding="utf-8"
        )
    print(f"written to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
