"""Refresh the intersphinx inventories cached beside this script.

The docs build runs with ``-W -n`` and without network access, so ``docs/conf.py``
reads the Python, Pyramid, SQLAlchemy and Alembic inventories from this folder
instead of fetching them. Run this script (with network access to Debian's and
PyPI's package archives) when you want newer ones::

    $ apt-get install python3-doc
    $ python docs/_inventories/refresh.py
    $ python docs/_inventories/refresh.py --only sqlalchemy --only alembic

``python.inv``
    Copied from Debian's ``python3-doc`` package, which ships the ``objects.inv``
    of the documentation it installs under ``/usr/share/doc/python3*/html/``.

``pyramid.inv``, ``sqlalchemy.inv``, ``alembic.inv``
    Built from each project's sdist on PyPI, which contains its documentation
    sources (Pyramid's in ``docs/``, SQLAlchemy's in ``doc/build/``, Alembic's in
    ``docs/build/``). For each, the script downloads the sdist into a temporary
    folder, installs the project and the Sphinx extensions and theme its
    ``conf.py`` loads into a throwaway virtual environment, switches off that
    build's own intersphinx look-ups (they would need the network and only add
    links we do not use), builds the full HTML and keeps the ``objects.inv`` it
    writes. Each version is the installed one (Pyramid with the library,
    SQLAlchemy and Alembic with the tutorial's project, ``aiotutorial/``) unless
    ``--pyramid-version``, ``--sqlalchemy-version`` or ``--alembic-version`` says
    otherwise. A full refresh took about five minutes on two cores, most of it
    SQLAlchemy's build.

    SQLAlchemy's ``conf.py`` asks for zzzeeksphinx 1.6.4, which its
    ``requirements.txt`` installs from GitHub; PyPI's newest was 1.6.2 when this
    was written, so the build uses that one and lifts the minimum
    (``needs_extensions``). The inventory it makes holds every name the tutorial
    relies on (``docs/test_inventories.py`` checks).

``docs/conf.py`` links to SQLAlchemy's documentation of one minor version
(``https://docs.sqlalchemy.org/en/21/`` for 2.1): after moving to another minor
version, change that address too. ``docs/test_inventories.py`` checks that it
matches the inventory's version.
"""

from __future__ import annotations

import argparse
import glob
import importlib.metadata
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Appended to the temporary copy of a project's conf.py: build offline.
OFFLINE_OVERRIDE = "\n# Added by refresh.py: build offline.\nintersphinx_mapping = {}\n"


@dataclass(frozen=True)
class SdistDocs:
    """A project whose inventory is built from the Sphinx sources in its sdist."""

    name: str
    """The distribution's name on PyPI, and the inventory's file name (``NAME.inv``)."""
    requirement: str
    """What the throwaway environment installs of the project itself, ``{version}``
    standing for the version built (extras bring what its autodoc imports)."""
    docs: str
    """The folder of the Sphinx sources (holding ``conf.py``) inside the sdist's top folder."""
    extensions: tuple[str, ...]
    """The Sphinx extensions and theme its ``conf.py`` loads, from PyPI."""
    override: str = OFFLINE_OVERRIDE
    """Appended to its ``conf.py`` before the build."""
    installed_by: str = "the tutorial's project (pip install -e aiotutorial)"
    """What installs the project here, for the error message when it is missing."""


PROJECTS = {
    project.name: project
    for project in (
        SdistDocs(
            name="pyramid",
            requirement="pyramid=={version}",
            docs="docs",
            extensions=(
                "sphinx",
                "pylons-sphinx-themes",
                "repoze.sphinx.autointerface",
                "sphinxcontrib-autoprogram",
                "sphinx-copybutton",
            ),
            installed_by="the library (pip install -e .)",
        ),
        SdistDocs(
            # Its conf.py imports the package from the sdist's lib/; the asyncio
            # extra brings greenlet, which the asyncio extension's modules import.
            name="sqlalchemy",
            requirement="sqlalchemy[asyncio]=={version}",
            docs="doc/build",
            extensions=(
                "sphinx",
                "zzzeeksphinx",
                "changelog",
                "sphinx-paramlinks",
                "sphinx-copybutton",
            ),
            # PyPI's zzzeeksphinx is older than the one the conf.py asks for (see
            # the module's docstring).
            override=OFFLINE_OVERRIDE + "needs_extensions = {}\n",
        ),
        SdistDocs(
            # Its conf.py imports the package from the sdist's top folder; the
            # installed one brings SQLAlchemy and Mako.
            name="alembic",
            requirement="alembic=={version}",
            docs="docs/build",
            extensions=(
                "sphinx",
                "changelog",
                "sphinx-paramlinks",
                "sphinx-copybutton",
                "sphinx-book-theme",
            ),
        ),
    )
}


def run(*args: str | Path) -> None:
    """Run a command, echoed first, and stop the script if it fails."""
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True)


def refresh_python() -> None:
    """Copy Debian's ``objects.inv`` of the Python documentation to ``python.inv``."""
    # python3-doc's own folder documents Debian's default Python 3.
    candidates = ["/usr/share/doc/python3-doc/html/objects.inv"]
    candidates += sorted(glob.glob("/usr/share/doc/python3*/html/objects.inv"))
    candidates = [c for c in candidates if Path(c).is_file()]
    if not candidates:
        sys.exit("no objects.inv under /usr/share/doc/python3*/html/: apt-get install python3-doc")
    source = Path(candidates[0]).resolve()
    shutil.copyfile(source, HERE / "python.inv")
    print(f"python.inv <- {source}")


def installed_version(project: SdistDocs) -> str:
    """The version of ``project`` installed beside this script's Python, the default."""
    try:
        return importlib.metadata.version(project.name)
    except importlib.metadata.PackageNotFoundError:
        sys.exit(
            f"{project.name} is not installed here: install {project.installed_by} "
            f"or pass --{project.name}-version"
        )


def refresh_from_sdist(project: SdistDocs, version: str) -> None:
    """Build ``project``'s documentation from its sdist; keep its inventory as ``NAME.inv``."""
    with tempfile.TemporaryDirectory(prefix=f"{project.name}-inv-") as tmp:
        work = Path(tmp)
        venv = work / "venv"
        run(sys.executable, "-m", "venv", venv)
        python = venv / "bin" / "python"
        run(
            python, "-m", "pip", "install", "-q",
            project.requirement.format(version=version), *project.extensions,
        )  # fmt: skip
        run(
            python, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
            f"{project.name}=={version}", "-d", work,
        )  # fmt: skip
        (sdist,) = work.glob("*.tar.gz")
        unpacked = work / "sdist"
        with tarfile.open(sdist) as archive:
            archive.extractall(unpacked, filter="data")
        (top,) = unpacked.iterdir()
        docs = top / project.docs
        with (docs / "conf.py").open("a") as conf:
            conf.write(project.override)
        out = work / "html"
        # Warnings are expected (links into projects we do not fetch); only the
        # inventory matters, and it is written whatever they say.
        run(python, "-m", "sphinx", "-q", "-j", "auto", "-b", "html", docs, out)
        shutil.copyfile(out / "objects.inv", HERE / f"{project.name}.inv")
    print(f"{project.name}.inv <- {project.name} {version} docs")


def main() -> None:
    """Refresh every inventory, or those named with ``--only``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in PROJECTS:
        parser.add_argument(
            f"--{name}-version", metavar="VERSION", help="default: the installed one"
        )
    parser.add_argument(
        "--only",
        action="append",
        choices=["python", *PROJECTS],
        help="refresh only this inventory (repeat for several)",
    )
    args = parser.parse_args()
    chosen = args.only or ["python", *PROJECTS]
    if "python" in chosen:
        refresh_python()
    for name, project in PROJECTS.items():
        if name in chosen:
            version = getattr(args, f"{name}_version") or installed_version(project)
            refresh_from_sdist(project, version)


if __name__ == "__main__":
    main()
