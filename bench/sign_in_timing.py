"""Does a failed sign-in take as long for an unknown name as for a wrong password?

If it did not, an attacker could time the answers to ``POST /api/session`` and learn
which usernames exist, although both answers say the same words. Chapter 4's
project checks an unknown name against a stand-in hash of the same cost; this
measures whether that is enough, end to end.

Chapter 4's application runs in-process (:class:`aiopyramid.testing.AppClient`) on
a migrated SQLite file, with the limit on failed sign-ins set out of reach. The two
kinds of failure alternate, ``--rounds`` of each, so that anything slowing the
machine meanwhile slows both alike. The medians go to ``.bench/sign_in.json``::

    {"sign_in.wrong_password.ms": ..., "sign_in.unknown_name.ms": ...,
     "sign_in.unknown_over_wrong": ...}

The run fails unless the ratio lies within ``--tolerance`` of 1 (``--smoke`` runs a
few rounds and judges nothing). Needs chapter 4's project installed, which cannot
share an environment with chapter 1's: ``nox -s bench_sign_in`` installs it.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from alembic import command
from alembic.config import Config

from aiopyramid.testing import AppClient
from testkit.chapters import ROOT, chapter

PROJECT = chapter("chapter4").directory
OUTPUT = ROOT / ".bench" / "sign_in.json"
PASSWORD = "a password long enough"


def migrated_database(directory: Path) -> str:
    """A SQLite file in ``directory`` with chapter 4's schema, made by its migrations."""
    url = f"sqlite+aiosqlite:///{directory / 'timing.sqlite'}"
    ini = (PROJECT / "development.ini").read_text()
    ini = re.sub(r"(?m)^sqlalchemy\.url = .*$", f"sqlalchemy.url = {url}", ini)
    (directory / "development.ini").write_text(ini)
    config = Config(str(directory / "development.ini"))
    config.set_main_option("script_location", str(PROJECT / "alembic"))
    command.upgrade(config, "head")
    return url


def application(url: str) -> AppClient:
    """Chapter 4's application on ``url``, failed sign-ins unlimited."""
    from aiotutorial import main  # chapter 4's project, installed by the nox session

    settings = {
        "pyramid.includes": "aiopyramid pyramid_jinja2",
        "aiotutorial.max_sleep": "10",
        "aiotutorial.session_secret": "a secret for timing sign-ins, nothing else",
        "aiotutorial.sign_in_attempts": str(10**9),
        "aiotutorial.sign_in_window": "1",
        "sqlalchemy.url": url,
    }
    return AppClient(main({}, **settings))


def failed_sign_in(client: AppClient, token: str, username: str) -> float:
    """Seconds one failed ``POST /api/session`` as ``username`` takes."""
    body = json.dumps({"username": username, "password": "not the password"}).encode()
    headers = {"content-type": "application/json", "x-csrf-token": token}
    started = time.perf_counter()
    response = client.request("POST", "/api/session", body=body, headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status == 401, response.text
    return elapsed


def measure(rounds: int) -> dict[str, float]:
    """The medians of ``rounds`` failures of each kind, alternating, in milliseconds."""
    with (
        tempfile.TemporaryDirectory() as directory,
        application(migrated_database(Path(directory))) as client,
    ):
        token = client.get("/api/session").json()["csrf_token"]
        body = json.dumps({"username": "existing", "password": PASSWORD}).encode()
        headers = {"content-type": "application/json", "x-csrf-token": token}
        registered = client.request("POST", "/api/users", body=body, headers=headers)
        assert registered.status == 201, registered.text
        wrong, unknown = [], []
        for number in range(rounds):
            wrong.append(failed_sign_in(client, token, "existing"))
            unknown.append(failed_sign_in(client, token, f"nobody{number}"))
    wrong_ms, unknown_ms = statistics.median(wrong) * 1000, statistics.median(unknown) * 1000
    return {
        "sign_in.wrong_password.ms": round(wrong_ms, 2),
        "sign_in.unknown_name.ms": round(unknown_ms, 2),
        "sign_in.unknown_over_wrong": round(unknown_ms / wrong_ms, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=200, help="failures of each kind")
    parser.add_argument(
        "--tolerance", type=float, default=0.1, help="how far from 1 the ratio may be"
    )
    parser.add_argument("--smoke", action="store_true", help="10 rounds; judge nothing")
    args = parser.parse_args()
    rounds = 10 if args.smoke else args.rounds
    print(f"sign-in timing: {rounds} failed sign-ins of each kind, alternating", flush=True)
    result = measure(rounds)
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"  {key}: {value}")
    ratio = result["sign_in.unknown_over_wrong"]
    if args.smoke or abs(ratio - 1) <= args.tolerance:
        return 0
    print(f"an unknown name takes {ratio:.2f} times as long as a wrong password", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
