"""What the site offers for download, made from the repository without network access.

- the library as a wheel, ``aiopyramid-VERSION-py3-none-any.whl``, built by
  setuptools from a copy of the library's sources (the build runs in a scratch
  directory, so nothing is written into the repository);
- every chapter's complete project as ``aiotutorial-NAME.zip`` (:func:`testkit.chapters.archive`);
- every chapter's change after the first as ``aiotutorial-NAME.diff``, ready for
  ``patch -p1`` in the previous chapter's project.

The docs build writes them into the site (``docs/_ext/tutorial.py``) and the docs'
tests into the reader's work directory, with the same function, :func:`write_downloads`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from testkit.chapters import PROJECT, ROOT, archive, chapters

__all__ = ["download_names", "library_version", "wheel_name", "write_downloads"]

LIBRARY_FILES = ("pyproject.toml", "README.rst")
"""The files beside the package that building the library's wheel reads."""

SOURCE_DATE = "315532800"
"""1980-01-01, the date written into the wheel's entries, so that a build is repeatable."""


def library_version() -> str:
    """The library's version, as its ``pyproject.toml`` declares it."""
    with (ROOT / "pyproject.toml").open("rb") as pyproject:
        version: str = tomllib.load(pyproject)["project"]["version"]
    return version


def wheel_name() -> str:
    """The file name of the library's wheel."""
    return f"aiopyramid-{library_version()}-py3-none-any.whl"


def download_names() -> dict[str, str]:
    """The downloads by key: ``wheel``, ``NAME`` (a chapter's archive), ``NAME.diff``."""
    names = {"wheel": wheel_name()}
    for each in chapters():
        names[each.name] = each.archive_name
        if each.change is not None:
            names[f"{each.name}.diff"] = f"{PROJECT}-{each.name}.diff"
    return names


def _build_wheel(destination: Path) -> Path:
    """Build the library's wheel into ``destination`` with the running Python's setuptools."""
    with tempfile.TemporaryDirectory(prefix="aiopyramid-wheel-") as scratch:
        source = Path(scratch) / "source"
        shutil.copytree(
            ROOT / "aiopyramid",
            source / "aiopyramid",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        for name in LIBRARY_FILES:
            shutil.copy2(ROOT / name, source / name)
        build = (
            "import sys; from setuptools import build_meta; "
            "print(build_meta.build_wheel(sys.argv[1]))"
        )
        done = subprocess.run(
            [sys.executable, "-c", build, str(destination)],
            cwd=source,
            env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode:
            raise RuntimeError(f"building the library's wheel failed:\n{done.stdout}{done.stderr}")
    built = destination / done.stdout.strip().splitlines()[-1]
    if built.name != wheel_name():
        raise RuntimeError(f"setuptools built {built.name}, expected {wheel_name()}")
    return built


def write_downloads(destination: Path) -> list[Path]:
    """Write every download into ``destination`` (created if needed); return their paths."""
    destination.mkdir(parents=True, exist_ok=True)
    written = [_build_wheel(destination)]
    for each in chapters():
        path = destination / each.archive_name
        path.write_bytes(archive(each.name))
        written.append(path)
        if each.change is not None:
            change = destination / f"{PROJECT}-{each.name}.diff"
            shutil.copyfile(each.change, change)
            written.append(change)
    return written
