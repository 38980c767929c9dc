"""The original aiopyramid 0.4.1 on its 2017 stack, as a contender for the benchmarks.

The 2015 tutorial's app (``bench/legacy_app/``, kept as the chapter wrote it) only
runs on the stack it was written for: ``@asyncio.coroutine`` is gone from Python
3.11, and aiopyramid 0.4.1's worker needs aiohttp 2. :func:`prepare_legacy_server`
builds that stack in a CPython 3.6 virtualenv from the pinned
``bench/legacy_app/requirements.txt`` (``pip install --no-deps -r``: unpinned
resolution would pull in releases that no longer support 3.6), installs the app,
and returns the command that serves it with aiopyramid's own gunicorn worker.

Building the virtualenv takes a while, so it is cached under the caller's
``cache_dir`` in a directory named after a hash of the requirements file: a new
pin set gets a new virtualenv, an unchanged one is reused. A file lock makes
concurrent callers build it once. Where no Python 3.6 can be found, or the install
fails, :class:`LegacyUnavailable` says why, so the caller can report the contender
as skipped rather than crash.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LegacyServer", "LegacyUnavailable", "count_logged_errors", "prepare_legacy_server"]

LEGACY_APP = Path(__file__).resolve().with_name("legacy_app")
REQUIREMENTS = LEGACY_APP / "requirements.txt"
INI = LEGACY_APP / "development.ini"
# What the virtualenv is built with: the newest 3.6 found (the stack's last Python).
PYTHON_NAME = "python3.6"
# Generous bounds for one step: a cold pip cache downloads 24 packages and compiles two.
VENV_TIMEOUT = 120.0
PIP_TIMEOUT = 900.0
PIP_ERROR_TAIL = 25  # lines of pip's output quoted when an install fails
# Environment variables of the calling process that would mislead Python 3.6 or gunicorn.
FOREIGN_ENV = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "GUNICORN_CMD_ARGS")


class LegacyUnavailable(Exception):
    """The legacy contender cannot run here; ``str(error)`` says why."""


@dataclass
class LegacyServer:
    """The command that serves the 2015 app, and where and how to run it."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]


def prepare_legacy_server(port: int, cache_dir: Path, log: Callable[[str], None]) -> LegacyServer:
    """Build (or reuse) the Python 3.6 stack and return the command serving the 2015 app.

    The server is gunicorn 19.7 with aiopyramid 0.4.1's ``AsyncGunicornWorker`` (from
    the app's ``development.ini``), one worker, bound to ``127.0.0.1:port``: ``GET
    /?sleep=X`` renders the home page after X seconds, ``/echo`` is the websocket echo.
    ``log`` receives one line per step. Raises :class:`LegacyUnavailable` when no
    Python 3.6 is found or the install fails.
    """
    python = _find_python36()
    venv = _ensure_venv(python, Path(cache_dir).resolve(), log)
    _ensure_app(venv, log)
    env = {name: value for name, value in os.environ.items() if name not in FOREIGN_ENV}
    # The app runs from its source directory (gunicorn puts the working directory first
    # on sys.path, as for the chapter's reader): keep bytecode out of the repository.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    argv = [
        str(venv / "bin" / "gunicorn"),
        "--paste",
        str(INI),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
    ]
    return LegacyServer(argv=argv, cwd=LEGACY_APP, env=env)


# Records at ERROR or above, in the ini's format ("2026-11-25 10:00:00,000 ERROR [asyncio]...")
# or in gunicorn's own ("[2026-11-25 10:00:00 +0000] [123] [ERROR] ...").
_ERROR_RECORD = re.compile(
    r"^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (?:ERROR|CRITI)\b"
    r"|\[\d{4}-\d\d-\d\d [^\]]*\] \[\d+\] \[(?:ERROR|CRITICAL)\])"
)
# asyncio's complaints, also when they reach stderr without a formatter.
_ASYNCIO_COMPLAINTS = (
    "Task exception was never retrieved",
    "Task was destroyed but it is pending",
    "Exception in callback",
)


def count_logged_errors(server_log: str) -> int:
    """How many errors the legacy server logged: one per error record, not per line.

    An error record is a line starting a record at level ERROR or CRITICAL, or one of
    asyncio's complaints about a task or callback (aiopyramid 0.4.1 logs "Task
    exception was never retrieved ... CancelledError" for every closed websocket).
    The traceback lines that follow a record are not counted again.
    """
    return sum(
        1
        for line in server_log.splitlines()
        if _ERROR_RECORD.match(line) or any(text in line for text in _ASYNCIO_COMPLAINTS)
    )


# -- finding Python 3.6 -------------------------------------------------------------


def _find_python36() -> Path:
    """A working Python 3.6: ``python3.6`` on PATH first, then pyenv's 3.6 versions."""
    candidates: list[Path] = []
    if on_path := shutil.which(PYTHON_NAME):
        candidates.append(Path(on_path))
    candidates += [root / PYTHON_NAME for root in _pyenv_python36_bins()]
    for candidate in candidates:
        # A pyenv shim is on PATH even where the active pyenv versions lack 3.6: run it.
        if executable := _python36_executable(candidate):
            return executable
    looked = ", ".join(str(candidate) for candidate in candidates) or "none found"
    raise LegacyUnavailable(
        f"no {PYTHON_NAME} interpreter found (looked on PATH and in pyenv's versions; "
        f"candidates tried: {looked})"
    )


def _pyenv_roots() -> list[Path]:
    """Where pyenv may keep its versions: ``pyenv root``, $PYENV_ROOT, ~/.pyenv."""
    roots = []
    if pyenv := shutil.which("pyenv"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            answer = subprocess.run(
                [pyenv, "root"], capture_output=True, text=True, timeout=30, check=True
            )
            roots.append(Path(answer.stdout.strip()))
    if root := os.environ.get("PYENV_ROOT"):
        roots.append(Path(root))
    roots.append(Path.home() / ".pyenv")
    return list(dict.fromkeys(roots))  # in order, without repeats


def _pyenv_python36_bins() -> list[Path]:
    """The ``bin`` directories of pyenv's 3.6.* versions, newest first."""

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in path.name.split("."))

    found = []
    for root in _pyenv_roots():
        versions = [
            path
            for path in (root / "versions").glob("3.6.*")
            if re.fullmatch(r"3\.6\.\d+", path.name)
        ]
        found += [path / "bin" for path in sorted(versions, key=version, reverse=True)]
    return found


def _python36_executable(python: Path) -> Path | None:
    """The interpreter that ``python`` runs (a shim's target), if it is CPython 3.6."""
    try:
        answer = subprocess.run(
            [
                str(python),
                "-c",
                "import sys; sys.version_info[:2] == (3, 6) and print(sys.executable)",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    executable = answer.stdout.strip()
    return Path(executable) if answer.returncode == 0 and executable else None


# -- building the virtualenv --------------------------------------------------------


def _digest(*paths: Path) -> str:
    """A short hash of the files' paths (inside the legacy app) and contents."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{path.relative_to(LEGACY_APP)}\0".encode() + path.read_bytes())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_step(argv: list[str], what: str, timeout: float) -> None:
    """Run one build step; turn its failure into :class:`LegacyUnavailable` with its output."""
    try:
        result = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise LegacyUnavailable(f"{what} did not finish within {timeout:.0f} s") from None
    except OSError as error:
        raise LegacyUnavailable(f"{what} could not start: {error}") from None
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-PIP_ERROR_TAIL:])
        raise LegacyUnavailable(f"{what} failed (exit code {result.returncode}):\n{tail}")


def _pip(venv: Path, *args: str) -> list[str]:
    return [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-input",
        "--disable-pip-version-check",
        *args,
    ]


def _ensure_venv(python: Path, cache_dir: Path, log: Callable[[str], None]) -> Path:
    """The virtualenv holding the pinned stack, built now unless a complete one exists.

    A virtualenv is complete once its marker file names the interpreter it was built
    with; a half-built one (an interrupted run) is removed and built again.
    """
    venv = cache_dir / f"legacy-venv-{_digest(REQUIREMENTS)}"
    marker = venv / "complete"
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _locked(venv.with_name(venv.name + ".lock")):
        if marker.is_file() and marker.read_text() == str(python):
            log(f"legacy: reusing {venv}")
            return venv
        started = time.monotonic()
        log(f"legacy: building a Python 3.6 virtualenv at {venv} with {python}")
        shutil.rmtree(venv, ignore_errors=True)
        _run_step([str(python), "-m", "venv", str(venv)], "creating the virtualenv", VENV_TIMEOUT)
        pins = [
            line
            for line in REQUIREMENTS.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        plural = "" if len(pins) == 1 else "s"
        log(f"legacy: installing {len(pins)} pinned package{plural} from {REQUIREMENTS.name}")
        _run_step(
            _pip(venv, "-r", str(REQUIREMENTS)),
            f"pip install --no-deps -r {REQUIREMENTS}",
            PIP_TIMEOUT,
        )
        marker.write_text(str(python))
        log(f"legacy: virtualenv done in {time.monotonic() - started:.1f} s")
    return venv


def _ensure_app(venv: Path, log: Callable[[str], None]) -> None:
    """Install the 2015 app into ``venv`` unless this version of it already is."""
    package = sorted(
        path
        for path in (LEGACY_APP / "aiotutorial").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )
    sources = [LEGACY_APP / "setup.py", *package]
    stamp = venv / f"app-{_digest(*sources)}"
    with _locked(venv / "app.lock"):
        if stamp.is_file():
            return
        log("legacy: installing the 2015 app (bench/legacy_app)")
        _run_step(
            _pip(venv, "--force-reinstall", str(LEGACY_APP)),
            "pip install of the 2015 app",
            PIP_TIMEOUT,
        )
        for old in venv.glob("app-*"):
            old.unlink()
        stamp.touch()
