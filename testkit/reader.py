"""A chapter's reader, simulated: the files they write, and the project they end with.

A chapter tells the reader to create or edit files, showing each one in a listing.
Two rst comments let the docs' tests follow along in the page's bash session:

``.. reader-writes: PATH``
    right before the ``literalinclude`` of a file of the chapter's project: the
    reader now makes ``PATH`` (relative to the project, which is the session's
    current directory) look like that file. The test writes the chapter's version of
    it there. A listing that shows part of the file leaves the rest to the
    chapter's "Changes in this chapter", which shows every file whole, and a comment
    followed by anything but a ``literalinclude`` (another comment, prose, a title)
    stands for a file the page shows only there. A listing of
    the whole file may emphasise lines (``:emphasize-lines:``): those must be
    exactly the lines that are new or changed compared with the reader's file as it
    was, so the emphasis cannot mislead.

``.. reader-applies:``
    right before the ``literalinclude`` of a change (a ``.diff`` file, as
    :mod:`testkit.changes` reads them): the reader makes that change to their
    project, as an exercise's solution does.

``.. reader-has: chapterN [except PATH ...]``
    the reader's project is now byte for byte chapter N's project, except the
    contents of the files named, which a tool generated and may differ between
    versions of that tool (they must still exist).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from testkit.chapters import Chapter, chapter, chapters, read_project, state

__all__ = [
    "AppliedChange",
    "EndState",
    "WrittenFile",
    "applied_changes",
    "compare_project",
    "emphasis_problems",
    "end_states",
    "parse_line_spec",
    "written_files",
]

_WRITES = re.compile(
    r"(?m)^\.\. reader-writes:[ \t]*(?P<path>\S+)[ \t]*\n"
    # What follows, looked at but not taken: the next comment may be a marker too.
    r"(?=(?:[ \t]*\n)*(?P<directive>[^\n]*)\n(?P<options>(?:[ \t]+:[^\n]*\n)*))"
)
_APPLIES = re.compile(
    r"(?m)^\.\. reader-applies:[ \t]*\n(?:[ \t]*\n)*\.\. literalinclude::[ \t]*(?P<include>\S+)"
)
_INCLUDE = re.compile(r"\.\. literalinclude::[ \t]*(?P<include>\S+)[ \t]*")
_OPTION = re.compile(r"[ \t]+:(?P<name>[\w-]+):[ \t]*(?P<value>[^\n]*)")
_HAS = re.compile(
    r"(?m)^\.\. reader-has:[ \t]*(?P<chapter>chapter\d+)(?:[ \t]+except(?P<except>[^\n]*))?$"
)
SELECTING = {"pyobject", "lines", "start-at", "start-after", "end-at", "end-before"}
"""literalinclude options that show part of a file."""


@dataclass
class WrittenFile:
    """A ``.. reader-writes:`` comment and the listing under it."""

    start: int
    end: int
    path: str
    """The file, relative to the project."""
    emphasized: set[int] | None
    """The listing's emphasised line numbers (from 1), or None if it emphasises none."""


@dataclass
class EndState:
    """A ``.. reader-has:`` comment."""

    start: int
    end: int
    chapter: Chapter
    generated: set[str]
    """Files compared by name only."""


@dataclass
class AppliedChange:
    """A ``.. reader-applies:`` comment and the change it shows."""

    start: int
    end: int
    change: Path


def applied_changes(text: str, document: Path) -> list[AppliedChange]:
    """The ``.. reader-applies:`` comments of a page."""
    return [
        AppliedChange(match.start(), match.end(), (document.parent / match["include"]).resolve())
        for match in _APPLIES.finditer(text)
    ]


def chapter_of(document: Path) -> Chapter:
    """The chapter a page of ``docs/tutorial/`` teaches."""
    return chapter(document.stem)


def parse_line_spec(spec: str) -> set[int]:
    """``"3, 9-14"`` as {3, 9, 10, 11, 12, 13, 14}, as ``:emphasize-lines:`` reads it."""
    numbers: set[int] = set()
    for part in (piece.strip() for piece in spec.split(",")):
        if not part:
            continue
        first, _, last = part.partition("-")
        numbers |= set(range(int(first), int(last or first) + 1))
    return numbers


def written_files(text: str, document: Path) -> list[WrittenFile]:
    """The ``.. reader-writes:`` comments of a page, checked against their listings.

    A comment that no listing follows stands for a file that the page shows only in
    its "Changes in this chapter".
    """
    found = []
    this = chapter_of(document)
    for match in _WRITES.finditer(text):
        end = match.end()
        include = _INCLUDE.fullmatch(match["directive"])
        where = f"{document.name}: .. reader-writes: {match['path']}"
        if include is None:
            found.append(WrittenFile(match.start(), end, match["path"], None))
            continue
        included = (document.parent / include["include"]).resolve()
        if included != (this.directory / match["path"]).resolve():
            raise ValueError(f"{where} lists {include['include']}, not {this.label}{match['path']}")
        options = {
            option["name"]: option["value"]
            for option in map(_OPTION.fullmatch, match["options"].splitlines())
            if option
        }
        emphasized = options.get("emphasize-lines")
        if emphasized is not None and SELECTING & options.keys():
            raise ValueError(f"{where}: only a listing of the whole file may emphasise lines")
        found.append(
            WrittenFile(
                match.start(),
                end,
                match["path"],
                None if emphasized is None else parse_line_spec(emphasized),
            )
        )
    return found


def end_states(text: str) -> list[EndState]:
    """The ``.. reader-has:`` comments of a page."""
    return [
        EndState(
            match.start(),
            match.end(),
            chapter(match["chapter"]),
            set((match["except"] or "").split()),
        )
        for match in _HAS.finditer(text)
    ]


_TOOL_STAMP = re.compile(r"(?m)^Create Date: .*$")
"""A line that a tool writes differently on every run: Alembic's time of generation."""


def changed_lines(before: str, after: str) -> set[int]:
    """The line numbers (from 1) of ``after`` that are new or changed since ``before``.

    A generated migration's ``Create Date:`` line does not count: Alembic writes the
    time it ran, which is never the same twice.
    """
    before = _TOOL_STAMP.sub("Create Date:", before)
    after = _TOOL_STAMP.sub("Create Date:", after)
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
    return {
        number + 1
        for tag, _, _, first, last in matcher.get_opcodes()
        if tag in ("replace", "insert")
        for number in range(first, last)
    }


def emphasis_problems(written: WrittenFile, before: str | None, after: str) -> str:
    """What is wrong with a listing's emphasis, given the reader's file before; "" if nothing."""
    if written.emphasized is None:
        return ""
    if before is None:
        return f"{written.path} is new: its listing should not emphasise lines"
    changed = changed_lines(before, after)
    if written.emphasized == changed:
        return ""
    return (
        f"{written.path}: the listing emphasises lines {sorted(written.emphasized)}, "
        f"but the lines the reader adds or changes are {sorted(changed)}"
    )


def compare_project(project: Path, end: EndState) -> list[str]:
    """How the reader's ``project`` differs from the chapter's; [] if it does not."""
    expected = state(end.chapter.name)
    actual = read_project(project)
    problems = [f"missing: {name}" for name in sorted(expected.keys() - actual.keys())]
    extra = sorted(actual.keys() - expected.keys())
    problems += [f"not in {end.chapter.name}: {name}" for name in extra]
    problems += [
        f"different: {name}"
        for name in sorted(expected.keys() & actual.keys())
        if name not in end.generated and expected[name] != actual[name]
    ]
    return problems


def is_chapter_page(document: Path) -> bool:
    """Whether ``document`` is a chapter's page (``docs/tutorial/chapterN.rst``)."""
    return document.parent.name == "tutorial" and document.stem in {c.name for c in chapters()}
