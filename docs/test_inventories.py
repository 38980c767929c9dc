"""The intersphinx inventories cached in ``docs/_inventories/`` hold what the site links to.

The docs build never fetches an inventory: ``docs/conf.py`` maps each project to a
file that ``docs/_inventories/refresh.py`` made. A refresh from another version
could drop or move a name the pages link to, and the ``-n`` build would then fail
only once a page uses it. These tests read each inventory with Sphinx's own reader
and look for the names the tutorial links to, check that ``conf.py`` points each
project at the documentation of the version its inventory describes, and build a
one-page site with ``conf.py``'s mapping under ``-W -n``, to show that references
resolve, offline, to the projects' real addresses.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sphinx.util.inventory import InventoryFile

from docs import conf
from testkit.chapters import ROOT

DOCS = Path(__file__).parent
INVENTORIES = DOCS / "_inventories"

LINKED: dict[str, dict[str, set[str]]] = {
    "sqlalchemy": {
        "py:class": {
            "sqlalchemy.orm.Mapped",
            "sqlalchemy.orm.DeclarativeBase",
            "sqlalchemy.ext.asyncio.AsyncEngine",
            "sqlalchemy.ext.asyncio.AsyncSession",
            "sqlalchemy.ext.asyncio.async_sessionmaker",
            "sqlalchemy.schema.ForeignKey",
        },
        "py:exception": {"sqlalchemy.exc.IntegrityError"},
        "py:function": {
            "sqlalchemy.orm.mapped_column",
            "sqlalchemy.ext.asyncio.create_async_engine",
            "sqlalchemy.sql.expression.select",
        },
    },
    "alembic": {
        "py:function": {
            "alembic.command.upgrade",
            "alembic.command.revision",
            "alembic.command.check",
        },
        "py:class": {
            "alembic.config.Config",
            "alembic.operations.Operations",
            "alembic.runtime.environment.EnvironmentContext",
        },
        # The page about autogenerate, and the tutorial's section on new revisions.
        "std:doc": {"autogenerate", "tutorial"},
        "std:label": {"create_migration", "autogenerate_detects"},
    },
}
"""By project, the names the tutorial links to (or will), by type of object."""

PROJECT_NAMES = {"sqlalchemy": "SQLAlchemy", "alembic": "Alembic"}
"""The name each project's inventory gives itself, to catch a file swapped for another."""


def inventory_file(project: str) -> Path:
    """The inventory file that ``conf.py`` maps ``project`` to."""
    _, location = conf.intersphinx_mapping[project]
    return DOCS / location


def header(project: str) -> dict[str, str]:
    """The project name and version an inventory's first lines state."""
    with inventory_file(project).open("rb") as stream:
        lines = [stream.readline().decode().rstrip("\n") for _ in range(3)]
    fields = dict(line.removeprefix("# ").split(": ", 1) for line in lines[1:])
    return {"project": fields["Project"], "version": fields["Version"]}


@pytest.mark.parametrize("project", LINKED)
def test_the_inventory_holds_every_name_the_tutorial_links_to(project: str) -> None:
    url, _ = conf.intersphinx_mapping[project]
    with inventory_file(project).open("rb") as stream:
        inventory = InventoryFile.load(stream, url, posixpath.join)
    missing = {
        f"{kind} {name}"
        for kind, names in LINKED[project].items()
        for name in names
        if name not in inventory.get(kind, {})
    }
    assert not missing, f"{project}.inv lacks these: run docs/_inventories/refresh.py"


@pytest.mark.parametrize("project", LINKED)
def test_the_inventory_is_the_project_s(project: str) -> None:
    assert header(project)["project"] == PROJECT_NAMES[project]


def test_sqlalchemy_links_go_to_the_inventory_s_version() -> None:
    """SQLAlchemy publishes each minor version's docs apart (``/en/21/`` for 2.1)."""
    major, minor = header("sqlalchemy")["version"].split(".")[:2]
    url, _ = conf.intersphinx_mapping["sqlalchemy"]
    assert url == f"https://docs.sqlalchemy.org/en/{major}{minor}/"


def build(tmp_path: Path, page: str) -> tuple[int, str, str]:
    """Build ``page`` with ``conf.py``'s intersphinx mapping, as the site is built.

    Return the exit status, the warnings and the HTML. The page's ``conf.py`` holds
    the site's mapping with absolute paths to the cached inventories, and nothing
    else the site's build loads, so only intersphinx resolves the references.
    """
    source, output = tmp_path / "source", tmp_path / "html"
    source.mkdir()
    mapping = {
        name: (url, str((DOCS / location).resolve()))
        for name, (url, location) in conf.intersphinx_mapping.items()
    }
    (source / "conf.py").write_text(
        f'extensions = ["sphinx.ext.intersphinx"]\nintersphinx_mapping = {mapping!r}\n'
    )
    (source / "index.rst").write_text(textwrap.dedent(page))
    argv = [sys.executable, "-m", "sphinx", "-q", "-W", "--keep-going", "-n", "-b", "html"]
    done = subprocess.run(
        [*argv, str(source), str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    html = (output / "index.html").read_text() if (output / "index.html").exists() else ""
    return done.returncode, done.stderr, html


REFERENCES = [
    (":class:`sqlalchemy.orm.Mapped`", "sqlalchemy", "#sqlalchemy.orm.Mapped"),
    (":func:`sqlalchemy.orm.mapped_column`", "sqlalchemy", "#sqlalchemy.orm.mapped_column"),
    (
        ":class:`sqlalchemy.ext.asyncio.AsyncSession`",
        "sqlalchemy",
        "#sqlalchemy.ext.asyncio.AsyncSession",
    ),
    (":func:`alembic.command.upgrade`", "alembic", "#alembic.command.upgrade"),
    (":doc:`alembic:autogenerate`", "alembic", "autogenerate.html"),
    (":ref:`alembic:create_migration`", "alembic", "#create-migration"),
]
"""References a page may make, the project each resolves into, and how the address ends."""


def test_references_resolve_offline_to_the_projects_pages(tmp_path: Path) -> None:
    items = "\n".join(f"* {role}" for role, _, _ in REFERENCES)
    status, warnings, html = build(tmp_path, f"Page\n====\n\n{items}\n")
    assert status == 0, warnings
    for role, project, ending in REFERENCES:
        url, _ = conf.intersphinx_mapping[project]
        pattern = f'href="{re.escape(url)}[^"#]*{re.escape(ending)}"'
        assert re.search(pattern, html), f"{role} does not link into {url}"


def test_a_name_missing_from_the_inventory_fails_the_build(tmp_path: Path) -> None:
    """The check above is not vacuous: ``-n`` turns an unknown name into an error."""
    status, warnings, _ = build(tmp_path, "Page\n====\n\n:class:`sqlalchemy.orm.NoSuchThing`\n")
    assert status != 0
    assert "sqlalchemy.orm.NoSuchThing" in warnings
