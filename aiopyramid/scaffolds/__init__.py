"""Create a new project from a template shipped with aiopyramid: ``aiopyramid-init``.

Pyramid 2 removed ``pcreate`` and the scaffolds that aiopyramid 0.4 registered with
it. This module brings back its two templates as a small command that needs nothing
but the installed package, so it works offline::

    aiopyramid-init aio_websocket myproject
    python -m aiopyramid.scaffolds --list

A template is a directory next to this module. Rendering it is plain text
substitution, with no template engine, so the Jinja2 templates a project carries
can never be mistaken for the scaffold's own:

- ``+project+`` in a file or directory name becomes the project's name;
- a file whose name ends in ``_tmpl`` is rendered: every ``+project+`` in it becomes
  the project's name, and the suffix is dropped;
- every other file is copied byte for byte.

The project's name is also the name of its Python package and distribution, so
:func:`check_name` refuses anything that could not be imported, or would hide a
module the project needs. :func:`create` refuses a target directory that is not
empty; it checks everything, and renders every file in memory, before it writes
the first one, and it never replaces an existing file.
"""

from __future__ import annotations

import argparse
import keyword
import logging
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

__all__ = [
    "PLACEHOLDER",
    "RENDERED_SUFFIX",
    "RESERVED_NAMES",
    "TEMPLATES",
    "RenderedFile",
    "ScaffoldError",
    "check_name",
    "create",
    "main",
    "render",
]

_logger = logging.getLogger(__name__)

PLACEHOLDER = "+project+"
"""What becomes the project's name in rendered files and in file names.

``+`` is not valid in a Python name, nor part of Jinja2's or ``str.format()``'s
syntax, so the placeholder cannot collide with anything a project's files mean.
"""

RENDERED_SUFFIX = "_tmpl"
"""File name suffix of the template files whose contents are rendered."""

TEMPLATES = {
    "aio_starter": "a hello-world project: one coroutine view, its tests, an ini file",
    "aio_websocket": "the tutorial's chapter-1 project: a page that talks to a websocket",
}
"""The templates, by name, with a one-line description for ``--list``."""

RESERVED_NAMES = frozenset(
    {"aiopyramid", "pyramid", "pyramid_jinja2", "gunicorn", "greenlet", "pytest"}
)
"""Packages a generated project imports, which a project of the same name would hide.

Names of the standard library's modules are refused as well.
"""

_NAME = re.compile(r"[a-z][a-z0-9_]*")


class ScaffoldError(Exception):
    """A project cannot be created as asked; the message says why. Nothing was written."""


@dataclass(frozen=True)
class RenderedFile:
    """A file of the project to create: where it goes, relative to the project, and its bytes."""

    path: PurePosixPath
    content: bytes


def check_name(name: str) -> None:
    """Raise :exc:`ScaffoldError` unless ``name`` can name a new project and its package.

    A name is lowercase ASCII letters, digits and underscores, starting with a letter
    (a valid package name in the style of PEP 8, so also a valid distribution name).
    Python keywords are refused, and so are the names of standard library modules and
    of :data:`RESERVED_NAMES`, which the project's package would hide.
    """
    if not _NAME.fullmatch(name):
        raise ScaffoldError(f"{name!r} is not a valid project name: {_name_problem(name)}")
    if keyword.iskeyword(name):
        raise ScaffoldError(f"{name!r} is a Python keyword, so it cannot name a package")
    if name in sys.stdlib_module_names:
        raise ScaffoldError(
            f"{name!r} is a module of Python's standard library, which a package of the "
            "same name would hide; choose another name"
        )
    if name in RESERVED_NAMES:
        raise ScaffoldError(
            f"{name!r} is a package that the generated project imports, which a package "
            "of the same name would hide; choose another name"
        )


def _name_problem(name: str) -> str:
    """Say what is wrong with a name that does not match ``_NAME``."""
    if not name:
        return "it is empty"
    if not ("a" <= name[0] <= "z"):
        return f"it must start with a lowercase letter, not {name[0]!r}"
    wrong = sorted({char for char in name if not re.fullmatch(r"[a-z0-9_]", char)})
    return "it may contain only lowercase letters, digits and underscores, not " + ", ".join(
        repr(char) for char in wrong
    )


def _template_root(template: str) -> Traversable:
    """The directory of ``template`` in the installed package."""
    if template not in TEMPLATES:
        known = ", ".join(sorted(TEMPLATES))
        raise ScaffoldError(f"there is no template {template!r}; the templates are {known}")
    return files(__name__) / template


def _walk(directory: Traversable, prefix: PurePosixPath) -> Iterator[tuple[PurePosixPath, bytes]]:
    """Every file under ``directory``, by path relative to the template, with its bytes."""
    for entry in directory.iterdir():
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            yield from _walk(entry, prefix / entry.name)
        else:
            yield prefix / entry.name, entry.read_bytes()


def render(template: str, name: str) -> list[RenderedFile]:
    """The files of a new project ``name`` made from ``template``, sorted by path.

    Validates the template and the name (:exc:`ScaffoldError`) but writes nothing.
    """
    root = _template_root(template)
    check_name(name)
    rendered = []
    for path, content in _walk(root, PurePosixPath()):
        target = PurePosixPath(str(path).replace(PLACEHOLDER, name))
        if target.name.endswith(RENDERED_SUFFIX):
            target = target.with_name(target.name.removesuffix(RENDERED_SUFFIX))
            content = content.replace(PLACEHOLDER.encode(), name.encode())
        rendered.append(RenderedFile(target, content))
    return sorted(rendered, key=lambda file: file.path)


def create(template: str, name: str, directory: Path | None = None) -> list[Path]:
    """Create project ``name`` from ``template`` in ``directory`` (default: ``./name``).

    Returns the paths of the files created. Raises :exc:`ScaffoldError`, having
    written nothing, if the template or the name is unknown or invalid, or if
    ``directory`` exists and is not an empty directory.
    """
    project = Path(name) if directory is None else Path(directory)
    rendered = render(template, name)
    if project.is_dir() and any(project.iterdir()):
        raise ScaffoldError(f"{project}/ already exists and is not empty; nothing was written")
    if project.exists() and not project.is_dir():
        raise ScaffoldError(f"{project} already exists and is not a directory; nothing was written")
    _logger.info("Creating %s from the %s template in %s/", name, template, project)
    created = []
    for file in rendered:
        path = project.joinpath(*file.path.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("xb") as output:  # "x": fail rather than replace a file
            output.write(file.content)
        _logger.info("  created %s", path)
        created.append(path)
    return created


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiopyramid-init",
        description="Create a new aiopyramid project from one of aiopyramid's templates.",
        epilog="NAME is also the name of the project's Python package and distribution.",
    )
    parser.add_argument("template", nargs="?", metavar="TEMPLATE", help="see --list")
    parser.add_argument("name", nargs="?", metavar="NAME", help="for example myproject")
    parser.add_argument(
        "--directory",
        type=Path,
        metavar="DIR",
        help="create the project in DIR, which must be empty or absent (default: ./NAME)",
    )
    parser.add_argument("--list", action="store_true", help="list the templates and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``aiopyramid-init``: 0 on success, 2 if the project cannot be created as asked.

    Errors are printed to standard error; what was created is logged to standard
    output. Wrong arguments exit through :mod:`argparse`, with status 2 as well.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.list:
        for template, description in TEMPLATES.items():
            print(f"{template:<15}{description}")
        return 0
    if args.template is None or args.name is None:
        parser.error("give a TEMPLATE and a project NAME, or --list")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    _logger.addHandler(handler)
    level = _logger.level
    _logger.setLevel(logging.INFO)
    try:
        created = create(args.template, args.name, args.directory)
    except ScaffoldError as error:
        print(f"aiopyramid-init: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"aiopyramid-init: error: writing the project failed: {error}", file=sys.stderr)
        return 1
    finally:
        _logger.removeHandler(handler)
        _logger.setLevel(level)
    project = args.directory or Path(args.name)
    print(f"Created {len(created)} files. Next: cd {project}, then python -m pip install -e .")
    return 0
