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

The site as Read the Docs builds it (``built_site``) is built once per test run and
shared by the tests of the built site, ``docs/test_site.py`` and
``docs/test_rendering.py`` (also alone: ``nox -s site``).

``pytest -n auto docs/`` (pytest-xdist, as README shows) runs files side by side,
each file whole on one worker; files that would collide or share a build stay
together (:func:`parallel_group`).
"""

import functools
import shlex
import shutil
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any, NoReturn

import pytest

from testkit import chapters
from testkit.availability import postgres_binaries, redis_binary, unavailable
from testkit.postgres import TemporaryCluster
from testkit.projects import copy_sources
from testkit.redis import TemporaryRedis
from testkit.rst import marked_blocks
from testkit.venv import INSTALL_TIMEOUT, Venv

ROOT = Path(__file__).parent
DOCS = ROOT / "docs"

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


@functools.cache  # asked once per test, read once per file
def parallel_group(path: Path) -> str:
    """The group of tests that one pytest-xdist worker must run together, in order.

    A document's examples build on each other, and a module's tests may share its
    fixtures, so each file is a group. Documents whose commands start servers
    (``.. console-server: URL``) do so on fixed ports, the tutorial's 6543 among them,
    and would collide, so they form one group; so do the test modules of the built
    site, which share one build (``built_site``).
    """
    text = path.read_text()
    if path.suffix == ".rst" and marked_blocks(text, "console-server"):
        return "documents that serve on fixed ports"
    if path.suffix == ".py" and "built_site" in text:
        return "the built site"
    return str(path)


@pytest.hookimpl(optionalhook=True)  # a virtualenv without pytest-xdist has no such hook
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With pytest-xdist (``pytest -n``), give each worker whole groups
    (:func:`parallel_group`), in the order they were collected."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return parallel_group(config.rootpath / nodeid.split("::")[0])

    return GroupScheduling(config, log)


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


@pytest.fixture(scope="session")
def redis_server() -> Iterator[TemporaryRedis]:
    """A throwaway Redis server for the whole test run, shared: use keys and channels of
    the test's own. A test that stops or restarts Redis makes a ``TemporaryRedis`` of
    its own, so that the others keep theirs."""
    with TemporaryRedis(redis_binary()) as server:
        yield server


def readthedocs_config() -> dict[str, Any]:
    """``.readthedocs.yaml``, read here (not on import) so that a virtualenv without
    PyYAML can still run the tests that don't build the site."""
    import yaml

    config: dict[str, Any] = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text())
    return config


def declared_python(config: dict[str, Any]) -> str:
    """The interpreter for the Python version that ``build.tools.python`` names."""
    version = config["build"]["tools"]["python"]
    found = shutil.which(f"python{version}")
    if found is None:
        unavailable(f"Read the Docs builds with Python {version}, which is not installed here")
    return found


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built by the steps of ``.readthedocs.yaml``: install, then build.

    Built once per test run, in a fresh virtualenv from a fresh copy of the repository,
    and shared by every test of the built site (``docs/test_site.py``,
    ``docs/test_rendering.py``): the build takes minutes.
    """
    config = readthedocs_config()
    base = tmp_path_factory.mktemp("readthedocs")
    checkout, output = base / "checkout", base / "output"
    copy_sources(checkout)
    venv = Venv.create(base / "venv", declared_python(config))
    for install in config["python"]["install"]:
        extras = ",".join(install["extra_requirements"])
        target = f"{install['path']}[{extras}]"
        venv.run("python", "-m", "pip", "install", target, cwd=checkout, timeout=INSTALL_TIMEOUT)
    for command in config["build"]["jobs"]["build"]["html"]:
        argv = shlex.split(command.replace("$READTHEDOCS_OUTPUT", str(output)))
        venv.run(*argv, cwd=checkout, env={"READTHEDOCS": "True"}, timeout=600)
    return output / "html"
