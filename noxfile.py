"""Developer and CI tasks: ``nox -s lint docs tests`` is the full check (see README)."""

from __future__ import annotations

import os
import shutil

import nox

PYTHONS = ["3.11", "3.12", "3.13"]
CHAPTER1 = "example/chapter1"
"""The tutorial's project, a distribution of its own beside the library."""
CHAPTER2 = "example/chapter2"
"""The project as chapter 2 leaves it: a snapshot, also named aiotutorial (see chapter2)."""

nox.options.sessions = ["lint", "docs", "tests"]
# Fresh environments in CI, reused ones on a developer's machine. Outside CI nox
# skips a session whose Python is missing; with CI set it fails it instead.
nox.options.reuse_venv = "no" if "CI" in os.environ else "yes"


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    session.install("-e", ".", "ruff", "mypy")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "--strict", "-p", "aiopyramid")


@nox.session(python=PYTHONS[0])
def docs(session: nox.Session) -> None:
    # A full rebuild every time: an incremental one would not repeat the
    # warnings of unchanged pages, and -W would pass where a clean build fails.
    shutil.rmtree("docs/_build/html", ignore_errors=True)
    session.install(".[docs]")
    session.run(
        "sphinx-build", "-W", "--keep-going", "-n", "-b", "html", "docs", "docs/_build/html"
    )
    session.log("HTML written to docs/_build/html/index.html")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test,docs]", "-e", CHAPTER1)
    session.run(
        "pytest",
        "--cov=aiotutorial",
        "--cov-report=term-missing",
        "--cov-fail-under=100",
        f"--junitxml=.nox-reports/junit-{session.python}.xml",
        *session.posargs,
    )


@nox.session(python=PYTHONS)
def chapter2(session: nox.Session) -> None:
    """Chapter 2's project, its page and its live tests, beside PostgreSQL.

    Its distribution is named aiotutorial like chapter 1's, so the two cannot share
    an environment: the ``tests`` session leaves these paths out (see conftest.py).
    The chapter's page is tested by the ``tests`` session: its commands build their
    own virtualenv, as a reader's would.
    """
    session.install("-e", ".[test,docs]", "-e", f"{CHAPTER2}[test]")
    session.run(
        "pytest",
        CHAPTER2,
        "docs/test_chapter2.py",
        "--cov=aiotutorial",
        "--cov-report=term-missing",
        "--cov-fail-under=100",
        f"--junitxml=.nox-reports/junit-chapter2-{session.python}.xml",
        *session.posargs,
    )


@nox.session(python=PYTHONS[0])
def serve(session: nox.Session) -> None:
    session.install("-e", ".", "-e", CHAPTER1)
    session.run("pserve", "--reload", f"{CHAPTER1}/development.ini", *session.posargs)


def _bench(session: nox.Session, *mode: str) -> None:
    session.install("-e", ".", "-e", CHAPTER1, "-r", "bench/requirements.txt")
    # The results file records the command that made it, as typed.
    typed = ["nox", "-s", session.name, *(["--", *session.posargs] if session.posargs else [])]
    command = " ".join(typed)
    session.run("python", "-m", "bench", *mode, *session.posargs, "--command", command)


@nox.session(python=PYTHONS[0])
def bench(session: nox.Session) -> None:
    """Real servers side by side (see docs/performance.rst); -- --quick or -- --smoke: shorter.

    A full run (under 10 minutes) also rewrites docs/performance/, the page's data.
    Chapter 2's database endpoint follows in its own session (see bench_db).
    """
    _bench(session)
    quick = "--quick" in session.posargs or "--smoke" in session.posargs
    session.notify("bench_db", ["--seconds", "3"] if quick else [])


@nox.session(python=PYTHONS[0])
def bench_db(session: nox.Session) -> None:
    """Chapter 2's database-backed endpoint on SQLite and PostgreSQL, side by side.

    Chapter 2's project cannot share the bench session's environment with chapter
    1's (both are named aiotutorial), hence a session of its own; .bench/db.json.
    """
    session.install("-e", ".[test]", "-e", f"{CHAPTER2}[test]")
    session.run("python", "bench/db_endpoint.py", *session.posargs)


@nox.session(python=PYTHONS[0])
def soak(session: nox.Session) -> None:
    """Mixed load at one worker, 5 minutes (-- --seconds N): errors and memory, .bench/soak.json."""
    session.install("-e", ".", "-e", CHAPTER1, "websockets")
    session.run("python", "-m", "bench.soak", *session.posargs)


@nox.session(python=PYTHONS[0])
def bench_smoke(session: nox.Session) -> None:
    """The benchmarks in 30 seconds, for CI: every scenario still runs and writes every key."""
    _bench(session, "--smoke")
