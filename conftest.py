"""pytest configuration shared by the whole repository.

The rst files under ``docs/`` are collected by sybil, configured in
``testkit/sybil_config.py``: every block they show is executed or checked there.

Each chapter's project is a distribution named ``aiotutorial``, so only one can be
installed in an environment. A chapter's docs tests (``docs/tutorial/test_NAME*.py``
and ``docs/tutorial/NAME/test_*.py``) import or serve it, so they run where its project is
installed (``nox -s chapters`` installs each in turn) and are left out elsewhere.
The chapters' pages (and their exercises' solutions) run everywhere: their commands
make a virtualenv of their own, as a reader's do. The projects' directories are
left out too: their tests run inside them, as a reader runs them.

pytest offers every file of a directory it walks to this hook, also when only one
test file of that directory was asked for. So a virtualenv without sybil, such as a
reader's with only pytest in it, must still be able to run a single test file under
``docs/``: there, an rst file becomes a placeholder that fails only if it is really
collected.
"""

from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any, NoReturn

import pytest

from testkit import chapters
from testkit.availability import postgres_binaries
from testkit.postgres import TemporaryCluster

DOCS = Path(__file__).parent / "docs"

collect_ignore = ["example", chapters.PROJECT]
collect_ignore_glob = [
    pattern
    for each in chapters.chapters()
    if each != chapters.installed()
    for pattern in (f"docs/tutorial/test_{each.name}*.py", f"docs/tutorial/{each.name}/test_*.py")
]


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
    from testkit.sybil_config import collect_rst

    return collect_rst(file_path, parent)


@pytest.fixture(scope="session")
def tutorial_downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding what the site offers for download, made as the docs build
    makes it: where a reader's work starts in the chapters (``.. console-start:``)."""
    from testkit.downloads import write_downloads

    directory = tmp_path_factory.mktemp("downloads")
    write_downloads(directory)
    return directory


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[TemporaryCluster]:
    """A throwaway PostgreSQL server for the whole test run; tests make databases in it."""
    with TemporaryCluster(postgres_binaries()) as cluster:
        yield cluster
