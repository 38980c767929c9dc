"""The tutorial's chapters and the project each one leaves behind, from one source of truth.

``example/chapters.toml`` lists the chapters. What the reader's project holds after
each chapter (its *state*) is made from two kinds of file, the only ones written
by hand:

- ``example/chapter1/``: chapter 1's project, exactly what ``aiopyramid-init
  aio_websocket aiotutorial`` creates;
- ``example/NAME.diff`` for every later chapter: its change to the project before
  it, a git-style diff (:mod:`testkit.changes`), which is also what the chapter's
  page shows in "Changes in this chapter".

Every other state is written out from those (:func:`write_states`, the ``python -m
tools.chapters`` command): the last chapter's to the top-level ``aiotutorial/``,
the others' to ``example/NAME/``, and chapter 1's also into aiopyramid's
``aio_websocket`` template. :func:`check` compares what is on disk with what the
sources make, naming every file that differs.

Only the standard library is used, so ``noxfile.py`` and the docs build can import
this module too.
"""

from __future__ import annotations

import fnmatch
import io
import json
import re
import tomllib
import zipfile
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from testkit.changes import ChangeError, Files, apply_change, make_change

__all__ = [
    "PROJECT",
    "REGISTRY",
    "ROOT",
    "TEMPLATE",
    "ChangeError",
    "Chapter",
    "archive",
    "chapter",
    "chapters",
    "check",
    "installed",
    "latest",
    "read_project",
    "state",
    "template_files",
    "write_project",
]

ROOT = Path(__file__).resolve().parents[1]
"""The repository's top directory."""

REGISTRY = ROOT / "example" / "chapters.toml"
"""The list of chapters."""

PROJECT = "aiotutorial"
"""The name of the reader's project: its directory, package and distribution."""

TEMPLATE = ROOT / "aiopyramid" / "scaffolds" / "aio_websocket"
"""The template that creates chapter 1's project (see :func:`template_files`)."""

PLACEHOLDER = "+project+"
RENDERED_SUFFIX = "_tmpl"
# The template's conventions (aiopyramid.scaffolds), repeated rather than imported so
# that this module needs nothing but the standard library; a test checks they agree.

IGNORED = (
    ".git",
    "__pycache__",
    "*.pyc",
    "*.egg-info",
    ".venv",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".hypothesis",
    ".coverage",
    ".coverage.*",
    "htmlcov",
    "build",
    "dist",
    "*.sqlite",
    "*.sqlite-journal",
    "*.sqlite-shm",
    "*.sqlite-wal",
)
"""What a project directory may hold besides its files: what installing, testing and
serving it leave behind. A test checks that git ignores exactly these."""

_NAME = re.compile(r"chapter[1-9][0-9]*")


@dataclass(frozen=True)
class Chapter:
    """One chapter of the tutorial and where its project state lives."""

    number: int
    name: str
    title: str
    python: str
    """The Python its own nox session runs on."""
    latest: bool
    """Whether it is the last chapter, whose project is the top-level ``aiotutorial/``."""

    @property
    def directory(self) -> Path:
        """Where its project state is written out."""
        return ROOT / PROJECT if self.latest else ROOT / "example" / self.name

    @property
    def change(self) -> Path | None:
        """Its change to the previous chapter's project; None for chapter 1."""
        return None if self.number == 1 else ROOT / "example" / f"{self.name}.diff"

    @property
    def page(self) -> Path:
        """The chapter's page of the docs."""
        return ROOT / "docs" / "tutorial" / f"{self.name}.rst"

    @property
    def archive_name(self) -> str:
        """The file name of its project's archive on the site."""
        return f"{PROJECT}-{self.name}.zip"

    @property
    def label(self) -> str:
        """Its project directory relative to the repository, as README and errors say it."""
        return self.directory.relative_to(ROOT).as_posix() + "/"


@cache
def chapters() -> tuple[Chapter, ...]:
    """The chapters in reading order, as ``example/chapters.toml`` lists them."""
    with REGISTRY.open("rb") as registry:
        entries = tomllib.load(registry)["chapters"]
    found = []
    for number, entry in enumerate(entries, start=1):
        name = entry["name"]
        if _NAME.fullmatch(name) is None or name != f"chapter{number}":
            raise ValueError(f"{REGISTRY}: chapter {number} must be named chapter{number}")
        found.append(Chapter(number, name, entry["title"], entry["python"], number == len(entries)))
    return tuple(found)


def chapter(name: str) -> Chapter:
    """The chapter called ``name``, such as ``"chapter2"``."""
    for candidate in chapters():
        if candidate.name == name:
            return candidate
    known = ", ".join(each.name for each in chapters())
    raise ValueError(f"there is no chapter {name!r}; the chapters are {known}")


def latest() -> Chapter:
    """The last chapter: its project is the top-level ``aiotutorial/``."""
    return chapters()[-1]


def installed() -> Chapter | None:
    """The chapter whose project is installed (editable) in this environment, if any.

    That is the one whose page and docs tests can run here: they serve and import the
    installed ``aiotutorial``.
    """
    try:
        found = distribution(PROJECT).read_text("direct_url.json")
    except PackageNotFoundError:
        return None
    if not found:
        return None
    where = Path(unquote(urlsplit(json.loads(found)["url"]).path)).resolve()
    return next((each for each in chapters() if each.directory.resolve() == where), None)


def _ignored(path: PurePosixPath) -> bool:
    return any(fnmatch.fnmatch(part, pattern) for part in path.parts for pattern in IGNORED)


def read_project(directory: Path) -> dict[str, bytes]:
    """The files of the project in ``directory``, leaving out :data:`IGNORED` ones."""
    files = {}
    for path in sorted(directory.rglob("*")):
        relative = PurePosixPath(path.relative_to(directory).as_posix())
        if path.is_file() and not _ignored(relative):
            files[str(relative)] = path.read_bytes()
    return files


def write_project(directory: Path, files: Files) -> list[str]:
    """Make the project in ``directory`` hold exactly ``files``; return what changed.

    Files that :data:`IGNORED` matches (virtualenvs, caches, databases) are left alone.
    """
    present = read_project(directory) if directory.exists() else {}
    changes = []
    for name in sorted(present.keys() - files.keys()):
        (directory / name).unlink()
        changes.append(f"removed {name}")
    for name, content in sorted(files.items()):
        if present.get(name) != content:
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_bytes(content)
            changes.append(f"{'changed' if name in present else 'added'} {name}")
    for folder in sorted(directory.rglob("*"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return changes


def state(name: str) -> dict[str, bytes]:
    """The project as chapter ``name`` leaves it, made from the sources of truth."""
    wanted = chapter(name)
    files = read_project(chapters()[0].directory)
    for each in chapters()[1 : wanted.number]:
        assert each.change is not None
        try:
            files = apply_change(files, each.change.read_text())
        except ChangeError as error:
            raise ChangeError(f"{each.change.relative_to(ROOT)}: {error}") from None
    return files


def template_files(chapter1: Files) -> dict[str, bytes]:
    """The ``aio_websocket`` template's files that create ``chapter1``'s files.

    The project's name becomes the placeholder in file names and contents; a file
    that contains the name becomes a rendered (``_tmpl``) file, any other is copied.
    """
    template = {}
    for name, content in chapter1.items():
        if PLACEHOLDER in name or PLACEHOLDER.encode() in content:
            raise ChangeError(f"{name} contains {PLACEHOLDER!r}, the template placeholder")
        target = name.replace(PROJECT, PLACEHOLDER)
        if PROJECT.encode() in content:
            target += RENDERED_SUFFIX
            content = content.replace(PROJECT.encode(), PLACEHOLDER.encode())
        template[target] = content
    return template


def _differences(where: str, expected: Files, actual: Files) -> list[str]:
    problems = [f"{where}: {name} is missing" for name in sorted(expected.keys() - actual.keys())]
    problems += [
        f"{where}: {name} should not be there" for name in sorted(actual.keys() - expected.keys())
    ]
    problems += [
        f"{where}: {name} differs"
        for name in sorted(expected.keys() & actual.keys())
        if expected[name] != actual[name]
    ]
    return problems


def check() -> list[str]:
    """How the files on disk differ from what the sources of truth make; [] if not at all.

    Covers every chapter's project directory, the ``aio_websocket`` template, and stale
    directories of chapters that are no longer there or no longer written out.
    """
    problems = []
    previous: dict[str, bytes] | None = None
    for each in chapters():
        if previous is None:
            current = read_project(each.directory)
            template = {
                PurePosixPath(path.relative_to(TEMPLATE).as_posix()).as_posix(): path.read_bytes()
                for path in sorted(TEMPLATE.rglob("*"))
                if path.is_file()
            }
            where = TEMPLATE.relative_to(ROOT).as_posix() + "/"
            problems += _differences(where, template_files(current), template)
        else:
            assert each.change is not None
            if not each.change.exists():
                problems.append(f"{each.change.relative_to(ROOT)} is missing")
                break
            try:
                current = apply_change(previous, each.change.read_text())
            except ChangeError as error:
                problems.append(f"{each.change.relative_to(ROOT)}: {error}")
                break
            problems += _differences(each.label, current, read_project(each.directory))
            if each.change.read_text() != make_change(previous, current):
                problems.append(
                    f"{each.change.relative_to(ROOT)}: its hunks do not start where the "
                    f"previous project's lines are (`patch` would apply it with offsets): "
                    f"python -m tools.chapters record {each.name}"
                )
        previous = current
    names = {each.name for each in chapters() if not each.latest}
    for folder in sorted((ROOT / "example").iterdir()):
        if folder.is_dir() and folder.name not in names:
            problems.append(f"example/{folder.name}/ is no chapter's project: remove it")
    return problems


def write_states(start: int = 2) -> dict[str, list[str]]:
    """Write out the projects of the chapters from number ``start`` on, and the template.

    Each is the previous chapter's project (as on disk) with the chapter's change
    applied; a change whose hunks an earlier chapter's edit moved is recorded again,
    so that ``patch`` applies each download exactly. Returns what changed, by
    directory. Stops with :class:`ChangeError` at the first change that does not
    fit, having written the chapters before it.
    """
    written: dict[str, list[str]] = {}
    first = chapters()[0]
    if start <= 1:
        start = 2
    if start == 2:
        files = template_files(read_project(first.directory))
        where = TEMPLATE.relative_to(ROOT).as_posix() + "/"
        written[where] = write_project(TEMPLATE, files)
    previous = read_project(chapters()[start - 2].directory)
    for each in chapters()[start - 1 :]:
        assert each.change is not None
        try:
            current = apply_change(previous, each.change.read_text())
        except ChangeError as error:
            raise ChangeError(f"{each.change.relative_to(ROOT)}: {error}") from None
        written[each.label] = write_project(each.directory, current)
        exact = make_change(previous, current)
        if each.change.read_text() != exact:
            each.change.write_text(exact)
            written[each.change.relative_to(ROOT).as_posix()] = ["recorded again"]
        previous = current
    return written


def record(name: str) -> dict[str, list[str]]:
    """Record chapter ``name``'s change from its directory, then write out the later ones.

    The change becomes the difference between the previous chapter's project and
    this chapter's, both as they are on disk.
    """
    this = chapter(name)
    if this.change is None:
        raise ValueError(
            "chapter 1 has no change to record: its directory is the source itself; "
            "run `python -m tools.chapters` to carry its edits forward"
        )
    before = read_project(chapters()[this.number - 2].directory)
    after = read_project(this.directory)
    text = make_change(before, after)
    written = {}
    if not this.change.exists() or this.change.read_text() != text:
        this.change.write_text(text)
        written[this.change.relative_to(ROOT).as_posix()] = ["recorded"]
    if this.number < len(chapters()):
        written |= write_states(this.number + 1)
    return written


def archive(name: str) -> bytes:
    """Chapter ``name``'s project as a zip archive with one top directory, ``aiotutorial/``.

    The same files always give the same bytes: entries are sorted and dated 1980-01-01.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path, content in sorted(state(name).items()):
            entry = zipfile.ZipInfo(f"{PROJECT}/{path}", date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            zipped.writestr(entry, content)
    return buffer.getvalue()
