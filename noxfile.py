"""Developer and CI tasks. Plain ``nox`` runs what CI runs; README lists every session.

The chapters come from ``example/chapters.toml``: a new chapter there gets its
``chapters`` session, its JUnit report and CI's check of that report without any
change here.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path
from typing import NamedTuple

import nox


class Chapter(NamedTuple):
    """What the sessions need to know of a chapter (testkit.chapters has the rest).

    nox does not put this folder on ``sys.path``, so this file reads the chapters'
    list itself; ``testkit/tests/test_chapters.py`` checks that both agree.
    """

    name: str
    python: str
    latest: bool

    @property
    def label(self) -> str:
        """Its project's directory: the last chapter's is the top-level one."""
        return "aiotutorial/" if self.latest else f"example/{self.name}/"


def read_chapters() -> list[Chapter]:
    with open("example/chapters.toml", "rb") as registry:
        entries = tomllib.load(registry)["chapters"]
    return [
        Chapter(entry["name"], entry["python"], number == len(entries))
        for number, entry in enumerate(entries, start=1)
    ]


CHAPTERS = read_chapters()
LATEST = CHAPTERS[-1]

PYTHONS = ["3.11", "3.12", "3.13"]
REPORTS = Path(".nox-reports")
"""Where every pytest session writes its JUnit report, which CI checks for skips."""

PRERELEASE_WATCHED = ["pyramid", "greenlet", "gunicorn", "webob"]
"""The projects whose internals aiopyramid touches (see the prerelease session)."""

CI_SESSIONS = ["lint", "docs", "tests", "tests_fast", "chapters", "docs_tests", "bench_smoke"]
"""What CI runs: plain ``nox`` runs the same (README shows it; a test checks)."""

nox.options.sessions = CI_SESSIONS
# Fresh environments in CI, reused ones on a developer's machine. Outside CI nox
# skips a session whose Python is missing; with CI set it fails it instead.
nox.options.reuse_venv = "no" if "CI" in os.environ else "yes"
nox.options.error_on_missing_interpreters = "CI" in os.environ

CHAPTER_RUNS = [
    (python, each.name)
    for each in CHAPTERS
    for python in (PYTHONS if each.latest else [each.python])
]
"""Every chapter's project on its own Python; the last chapter's, the one readers
end with, on every Python."""


def chapter_docs_tests(name: str) -> list[str]:
    """A chapter's docs test modules, which import or serve its project (its page and
    its exercises' solutions run in the docs_tests session, with every other page)."""
    tutorial = Path("docs/tutorial")
    found = [*tutorial.glob(f"test_{name}*.py"), *tutorial.glob(f"{name}/test_*.py")]
    return [str(path) for path in sorted(found)]


def chapter_reports(python: str, name: str) -> list[str]:
    """The kinds of JUnit report a chapter's run leaves: its project's tests always;
    its docs tests on the chapter's own Python only (they test the site's promises,
    which do not change with the Python of the project under them), and not for the
    last chapter, whose project the docs_tests session installs and tests."""
    (this,) = (each for each in CHAPTERS if each.name == name)
    own = python == this.python and not this.latest and chapter_docs_tests(name)
    return ["project", "docs"] if own else ["project"]


def report(name: str) -> str:
    """The JUnit report path of the session (or run) called ``name``."""
    return str(REPORTS / f"junit-{name}.xml")


def junit_reports(sessions: list[str]) -> list[str]:
    """The JUnit reports that running ``sessions`` must leave, for CI to check."""
    expected = {
        "tests": [report(f"tests-{python}") for python in PYTHONS],
        "tests_fast": [report(f"tests_fast-{PYTHONS[-1]}")],
        "chapters": [
            report(f"{name}-{python}-{kind}")
            for python, name in CHAPTER_RUNS
            for kind in chapter_reports(python, name)
        ],
        "docs_tests": [report("docs_tests")],
        "site": [report("site")],
        "bench_smoke": [report("bench")],
    }
    return [path for session in sessions for path in expected.get(session, [])]


def install_project(session: nox.Session, directory: str, extras: str = "") -> None:
    """Install a chapter's project in editable mode, as a plain path on ``sys.path``.

    The top-level ``aiotutorial/`` directory has no ``__init__.py``: with the repository
    on ``sys.path`` (pytest's rootdir, ``python -m``) Python would import it as an
    empty namespace package, ahead of setuptools' default editable finder. The
    ``compat`` mode puts the project's directory on ``sys.path`` instead, where the
    real package wins.
    """
    session.install("--config-settings", "editable_mode=compat", "-e", f"{directory}{extras}")


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    session.install("-e", ".", "ruff", "mypy")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "--strict", "-p", "aiopyramid")


@nox.session(python=PYTHONS[0])
def docs(session: nox.Session) -> None:
    """Build the site into docs/_build/html, failing on any warning."""
    # A full rebuild every time: an incremental one would not repeat the
    # warnings of unchanged pages, and -W would pass where a clean build fails.
    shutil.rmtree("docs/_build/html", ignore_errors=True)
    session.install(".[docs]")
    session.run(
        "python", "-m", "sphinx", "-W", "--keep-going", "-n", "-b", "html",
        "docs", "docs/_build/html",
    )  # fmt: skip
    session.log("HTML written to docs/_build/html/index.html")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The library's tests and the docs' pages other than the chapters, beside the
    last chapter's project; fails below the library's coverage floor."""
    session.install("-e", ".[test,docs]")
    install_project(session, LATEST.label)
    session.run(
        "pytest",
        "--ignore=docs/tutorial",
        "--ignore=docs/test_site.py",
        "--ignore=docs/test_rendering.py",
        "--cov=aiopyramid",
        "--cov-report=term-missing:skip-covered",
        f"--junitxml={report(f'tests-{session.python}')}",
        *session.posargs,
    )


@nox.session(python=PYTHONS[-1])
def tests_fast(session: nox.Session) -> None:
    """The library's live tests with aiopyramid's worker on uvloop and gunicorn_h1c's
    HTTP parser (``aiopyramid[fast]``): every behaviour the library promises, again."""
    session.install("-e", ".[test,fast]")
    session.run(
        "pytest",
        "tests/test_live_server.py",
        "tests/test_live_http.py",
        "tests/test_live_websocket.py",
        "tests/test_live_servers.py",
        "tests/test_live_faults.py",
        "tests/test_worker.py",
        "tests/test_environ_reference.py",
        f"--junitxml={report(f'tests_fast-{session.python}')}",
        *session.posargs,
        env={"AIOPYRAMID_TEST_RUNTIME": "fast"},
    )


@nox.session(python=PYTHONS)
def prerelease(session: nox.Session) -> None:
    """The library's tests against the next releases of the projects whose internals
    aiopyramid relies on: Pyramid, greenlet, gunicorn and WebOb, pre-releases
    included. Not part of plain nox: a failure here is news, not a broken build."""
    session.install("-e", ".[test]")
    session.install("--pre", "--upgrade", *PRERELEASE_WATCHED)
    show = "import sys, importlib.metadata as m; [print(n, m.version(n)) for n in sys.argv[1:]]"
    session.run("python", "-c", show, *PRERELEASE_WATCHED)
    session.run("pytest", "tests", *session.posargs)


@nox.session
@nox.parametrize(
    "python,chapter", CHAPTER_RUNS, ids=[f"{name}-{python}" for python, name in CHAPTER_RUNS]
)
def chapters(session: nox.Session, chapter: str) -> None:
    """One chapter: its project's own tests, run as a reader runs them (beside
    throwaway PostgreSQL and Redis servers), then its docs tests. Every chapter gets
    both servers; a project that needs neither ignores them. Its page runs in the
    docs_tests session, with every other page.

    The project must be fully covered, measured once, on the chapter's own Python
    (chapters.toml), where its docs tests run too (the last chapter's in docs_tests,
    on that same Python); the last chapter's runs on the other Pythons run its
    project's tests only. One measure is enough,
    and Python 3.11's line tracing misses lines after an exception leaves
    ``asyncio.timeout()`` (which redis-py connects in): lines that do run.
    """
    (this,) = (each for each in CHAPTERS if each.name == chapter)
    session.install("-e", ".[test,docs]")
    install_project(session, this.label, "[test]")
    run = f"{chapter}-{session.python}"
    coverage = [
        # The repository's coverage settings: greenlet support, branches.
        "--cov=aiotutorial", f"--cov-config={Path.cwd() / 'pyproject.toml'}",
        "--cov-report=term-missing", "--cov-fail-under=100",
    ] if session.python == this.python else []  # fmt: skip
    session.run(
        "python", "-m", "testkit.services", "--postgresql", "--redis", "--directory", this.label,
        "python", "-m", "pytest", "-p", "no:cacheprovider", *coverage,
        f"--junitxml={Path.cwd() / report(f'{run}-project')}",
        *session.posargs,
    )  # fmt: skip
    if "docs" not in chapter_reports(session.python, chapter):
        return
    session.run(
        "pytest", *chapter_docs_tests(chapter), f"--junitxml={report(f'{run}-docs')}",
        *session.posargs,
    )  # fmt: skip


@nox.session(python=LATEST.python)
def docs_tests(session: nox.Session) -> None:
    """README's lines for running ``pytest docs/`` without nox, run as written in a
    fresh virtualenv and a fresh copy of the repository
    (``testkit/tests/readme_docs_tests.py``): every page's examples and commands, the
    built site, the last chapter's docs tests (on its own Python)."""
    session.install("-e", ".[test]")
    session.run(
        "pytest", "-s", "testkit/tests/readme_docs_tests.py",
        f"--junitxml={report('docs_tests')}", *session.posargs,
    )  # fmt: skip


@nox.session(python=PYTHONS[1])
def site(session: nox.Session) -> None:
    """The built site as a reader meets it: the Read the Docs build, its downloads, its
    pages in a browser (copy buttons, code that fits); one build for both modules."""
    session.install("-e", ".[test,docs]")
    session.run(
        "pytest",
        "docs/test_site.py",
        "docs/test_rendering.py",
        f"--junitxml={report('site')}",
        *session.posargs,
    )


@nox.session(python=PYTHONS[0])
def serve(session: nox.Session) -> None:
    """Serve the tutorial's project (the last chapter's) and restart on changes."""
    session.install("-e", ".")
    install_project(session, LATEST.label)
    with session.chdir(LATEST.label):
        session.run("alembic", "-c", "development.ini", "upgrade", "head")
        session.run("pserve", "--reload", "development.ini", *session.posargs)


def _bench(session: nox.Session, *mode: str) -> None:
    session.install("-e", ".[test]", "-r", "bench/requirements.txt")
    install_project(session, CHAPTERS[0].label)
    # The results file records the command that made it, as typed.
    typed = ["nox", "-s", session.name, *(["--", *session.posargs] if session.posargs else [])]
    command = " ".join(typed)
    session.run("python", "-m", "bench", *mode, *session.posargs, "--command", command)


@nox.session(python=PYTHONS[0])
def bench(session: nox.Session) -> None:
    """Real servers side by side (see docs/performance.rst); -- --quick or -- --smoke: shorter.

    A full run (under 10 minutes) also rewrites docs/performance/, the page's data.
    The database endpoint, sign-in timing and the chat's fan-out follow in sessions of
    their own (see bench_db, bench_sign_in, bench_chat).
    """
    _bench(session)
    quick = "--quick" in session.posargs or "--smoke" in session.posargs
    session.notify("bench_db", ["--seconds", "3"] if quick else ["--publish"])
    session.notify("bench_sign_in", ["--smoke"] if quick else [])
    session.notify("bench_chat", ["--smoke"] if quick else [])


@nox.session(python=PYTHONS[0])
def bench_db(session: nox.Session) -> None:
    """The database-backed endpoint on SQLite and PostgreSQL, side by side, and the
    same endpoint in Starlette on each.

    It needs the project of the chapter that adds the JSON API, which cannot share
    the bench session's environment (both are named aiotutorial); .bench/db.json.
    """
    session.install("-e", ".[test]", "starlette", "matplotlib")  # matplotlib: --publish
    (api,) = (each for each in CHAPTERS if each.name == "chapter3")  # the JSON API's
    install_project(session, api.label)
    session.run("python", "-m", "bench.db_endpoint", *session.posargs)


@nox.session(python=PYTHONS[0])
def soak(session: nox.Session) -> None:
    """Mixed load at one worker, 5 minutes (-- --seconds N): errors and memory, .bench/soak.json."""
    session.install("-e", ".", "websockets")
    install_project(session, CHAPTERS[0].label)
    session.run("python", "-m", "bench.soak", *session.posargs)


@nox.session(python=PYTHONS[0])
def bench_sign_in(session: nox.Session) -> None:
    """Failed sign-ins: an unknown name must take as long as a wrong password.

    Needs the project of the chapter that adds signing in; .bench/sign_in.json.
    """
    session.install("-e", ".[test]")
    (sign_in,) = (each for each in CHAPTERS if each.name == "chapter4")
    install_project(session, sign_in.label)
    session.run("python", "-m", "bench.sign_in_timing", *session.posargs)


@nox.session(python=PYTHONS[0])
def bench_chat(session: nox.Session) -> None:
    """The chat's fan-out, 1,000 websockets in 10 channels: two workers through Redis
    against one worker with its broker in process, side by side; .bench/chat.json.

    Needs the project of the chapter that adds the chat, and Debian's postgresql and
    redis-server (the benchmark starts throwaway servers of its own).
    """
    session.install("-e", ".[test]")
    (chat,) = (each for each in CHAPTERS if each.name == "chapter5")
    install_project(session, chat.label)
    session.run("python", "-m", "bench.chat", *session.posargs)


@nox.session(python=PYTHONS[0])
def conformance(session: nox.Session) -> None:
    """The Autobahn|Testsuite against the tutorial's echo on every worker the library
    supports; -- --publish puts its table on the performance page. Needs Python 2.7
    (pyenv's will do), reported as skipped without it; .bench/conformance.json."""
    session.install("-e", ".[test]", "-r", "bench/requirements.txt")
    install_project(session, CHAPTERS[0].label)
    session.run("python", "-m", "bench.conformance", *session.posargs)


@nox.session(python=PYTHONS[0])
def bench_smoke(session: nox.Session) -> None:
    """The benchmarks' own tests, then every scenario in 30 seconds (for CI): each still
    runs and writes every key; no speed is judged."""
    _bench(session, "--smoke")
    session.run("pytest", "bench", f"--junitxml={report('bench')}")
