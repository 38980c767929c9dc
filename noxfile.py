"""Developer and CI tasks: ``nox -s lint docs tests`` is the full check (see README)."""

from __future__ import annotations

import os
import shutil

import nox

PYTHONS = ["3.11", "3.12", "3.13"]

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
    session.install("-e", ".[test,docs]")
    session.run(
        "pytest",
        "--cov=aiotutorial",
        "--cov-report=term-missing",
        "--cov-fail-under=100",
        f"--junitxml=.nox-reports/junit-{session.python}.xml",
        *session.posargs,
    )


@nox.session(python=PYTHONS[0])
def serve(session: nox.Session) -> None:
    session.install("-e", ".")
    session.run("pserve", "--reload", "example/development.ini", *session.posargs)


@nox.session(python=PYTHONS[0])
def bench(session: nox.Session) -> None:
    """Speed and memory of the request path, as ratios to baselines run alongside."""
    session.install("-e", ".")
    session.run("python", "bench/bench_asgi.py", *session.posargs)
