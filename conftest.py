"""pytest configuration shared by the whole repository.

The rst files under ``docs/`` are collected by sybil, configured in
``docs/_testing/parsers.py``: every block they show is executed or checked there.

pytest offers every file of a directory it walks to this hook, also when only one
test file of that directory was asked for. So a virtualenv without sybil, such as a
reader's with only pytest in it, must still be able to run a single test file under
``docs/``: there, an rst file becomes a placeholder that fails only if it is really
collected.
"""

from importlib.util import find_spec
from pathlib import Path
from typing import Any, NoReturn

import pytest

DOCS = Path(__file__).parent / "docs"

# Chapter 2's project is a distribution named aiotutorial too, so it cannot be
# installed beside chapter 1's: its tests and live tests run in a session of their
# own (nox -s chapter2), which names these paths on the command line. pytest never
# ignores a path it was given explicitly. Chapter 2's page is collected here: its
# commands make their own virtualenv, as the reader's do.
collect_ignore = ["example/chapter2", "docs/test_chapter2.py"]


class RstWithoutSybil(pytest.File):
    """An rst file of the docs in a virtualenv without sybil."""

    def collect(self) -> NoReturn:
        raise ImportError(
            f"{self.path.name} is tested by sybil, which is not installed: "
            "install the project with its docs and test extras"
        )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Any:
    """Hand the docs' rst files to sybil."""
    if file_path.suffix != ".rst" or DOCS not in file_path.parents:
        return None
    if find_spec("sybil") is None:
        return RstWithoutSybil.from_parent(parent, path=file_path)
    from docs._testing.parsers import collect_rst

    return collect_rst(file_path, parent)
