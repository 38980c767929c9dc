"""Fresh virtualenvs, and commands run inside them as a reader's terminal would run them.

The test run's own virtualenv, coverage hooks and Python path are left out of a
command's environment, so it sees only what was installed into the virtualenv.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["INSTALL_TIMEOUT", "Venv", "clean_environment"]

INSTALL_TIMEOUT = 900
"""Seconds pip may take to install; generous for a cold cache on a slow CI runner."""


def clean_environment(first_on_path: Path) -> dict[str, str]:
    """This process's environment, minus every virtualenv, coverage, Python path and
    test server (``AIOTUTORIAL_TEST_*``), with ``first_on_path`` first on ``PATH``.

    Any virtualenv's ``bin`` is dropped from ``PATH``, not just this process's: a
    maintainer's activated venv must not answer for a command the reader's
    environment lacks.
    """
    dropped = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTEST_ADDOPTS"}
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in dropped and not name.startswith(("COV_CORE_", "AIOTUTORIAL_TEST_"))
    }
    path = [
        entry
        for entry in env.get("PATH", "").split(os.pathsep)
        if entry and not _is_virtualenv_bin(Path(entry))
    ]
    env["PATH"] = os.pathsep.join([str(first_on_path), *path])
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PIP_PROGRESS_BAR="off")
    return env


def _is_virtualenv_bin(directory: Path) -> bool:
    """Whether ``directory`` is the scripts folder of a virtualenv."""
    return (directory.parent / "pyvenv.cfg").is_file()


@dataclass
class Venv:
    """A virtualenv made with ``python -m venv``, and commands run inside it."""

    path: Path

    @classmethod
    def create(cls, path: Path, python: str = sys.executable) -> Venv:
        """Make a new virtualenv at ``path`` with the interpreter ``python``."""
        subprocess.run([python, "-m", "venv", str(path)], check=True, timeout=120)
        return cls(path)

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    def environment(self) -> dict[str, str]:
        """The environment of a terminal where this virtualenv is active."""
        return clean_environment(self.bin) | {"VIRTUAL_ENV": str(self.path)}

    def run(
        self,
        *args: str,
        cwd: Path,
        timeout: float = 300,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command of the virtualenv (``args[0]`` is looked up in its ``bin``).

        ``env`` adds to the virtualenv's environment. With ``check``, a failure
        raises an AssertionError holding everything the command printed.
        """
        done = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=cwd,
            env=self.environment() | (env or {}),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and done.returncode:
            raise AssertionError(
                f"{' '.join(args)} exited with {done.returncode} in {cwd}:\n"
                f"{done.stdout}\n{done.stderr}"
            )
        return done
