"""Changes between two versions of a project's files, as git-style unified diffs.

A project is a :data:`Files` mapping: POSIX path to content. :func:`make_change`
writes the difference between two of them in the format ``git diff`` writes (file
headers ``diff --git a/PATH b/PATH``, ``new file mode`` / ``deleted file mode`` for
added and removed files, three lines of context), which ``git apply`` and GNU
``patch -p1`` read too. :func:`apply_change` applies such a change and refuses, with
a :class:`ChangeError` naming the file and the hunk, anything that does not fit:
hunks are placed where their context matches exactly, never approximately.
:func:`parse_change` splits a change into its files, for showing it file by file.

Only UTF-8 text files are supported: a chapter of the tutorial holds nothing else.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["ChangeError", "FileChange", "Files", "apply_change", "make_change", "parse_change"]

Files = Mapping[str, bytes]
"""A project's files: POSIX path relative to its top directory -> content."""

NO_NEWLINE = "\\ No newline at end of file\n"
CONTEXT = 3
MODE = "100644"

_HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_FILE = re.compile(r"diff --git a/(\S+) b/(\S+)\n")


class ChangeError(ValueError):
    """A change that cannot be made or applied; the message names the file."""


@dataclass
class Hunk:
    """One ``@@`` section of a file's diff."""

    old_start: int
    new_start: int
    lines: list[str]
    """The hunk's lines as written, each starting with " ", "-", "+" or "\\"."""

    def old(self) -> list[str]:
        """The lines this hunk expects to find, newline-terminated unless marked."""
        return _side(self.lines, "+")

    def new(self) -> list[str]:
        """The lines this hunk puts in their place."""
        return _side(self.lines, "-")


@dataclass
class FileChange:
    """What a change does to one file."""

    path: str
    kind: Literal["added", "removed", "changed"]
    hunks: list[Hunk] = field(default_factory=list)
    text: str = ""
    """This file's part of the change, headers included, exactly as in the change."""


def _side(lines: list[str], dropped: str) -> list[str]:
    """The old (``dropped="+"``) or the new (``dropped="-"``) side of a hunk's lines."""
    side: list[str] = []
    kept = False
    for line in lines:
        if line.startswith("\\"):
            if kept and side:
                side[-1] = side[-1].removesuffix("\n")
            continue
        kept = not line.startswith(dropped)
        if kept:
            side.append(line[1:])
    return side


def _text(path: str, content: bytes) -> list[str]:
    """``content`` as lines that keep their line ends; refuses what is not UTF-8 text."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise ChangeError(f"{path}: not a UTF-8 text file") from None
    if "\0" in text:
        raise ChangeError(f"{path}: not a text file (it holds NUL bytes)")
    return text.splitlines(keepends=True)


def _range(start: int, length: int) -> str:
    """A hunk header's range, as git writes it (``difflib``'s unified format)."""
    first = start + 1
    if length == 1:
        return f"{first}"
    if not length:
        first -= 1
    return f"{first},{length}"


def _lines(prefix: str, lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        if line.endswith("\n"):
            yield prefix + line
        else:
            yield prefix + line + "\n"
            yield NO_NEWLINE


def _file_diff(path: str, old: list[str] | None, new: list[str] | None) -> str:
    header = [f"diff --git a/{path} b/{path}\n"]
    if old is None:
        header.append(f"new file mode {MODE}\n")
    elif new is None:
        header.append(f"deleted file mode {MODE}\n")
    before, after = old or [], new or []
    if not before and not after:
        return "".join(header)
    header += [
        f"--- {'a/' + path if old is not None else '/dev/null'}\n",
        f"+++ {'b/' + path if new is not None else '/dev/null'}\n",
    ]
    body: list[str] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for group in matcher.get_grouped_opcodes(CONTEXT):
        first, last = group[0], group[-1]
        old_range = _range(first[1], last[2] - first[1])
        new_range = _range(first[3], last[4] - first[3])
        body.append(f"@@ -{old_range} +{new_range} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                body += _lines(" ", before[i1:i2])
                continue
            body += _lines("-", before[i1:i2])
            body += _lines("+", after[j1:j2])
    return "".join(header + body)


def make_change(old: Files, new: Files) -> str:
    """The change that turns ``old`` into ``new``: every file added, removed or changed."""
    parts = []
    for path in sorted(old.keys() | new.keys()):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        parts.append(
            _file_diff(
                path,
                None if before is None else _text(path, before),
                None if after is None else _text(path, after),
            )
        )
    return "".join(parts)


def _hunks(path: str, lines: list[str]) -> list[Hunk]:
    """Parse the hunks of one file's diff, checking their line counts."""
    hunks: list[Hunk] = []
    index = 0
    while index < len(lines):
        header = _HUNK.match(lines[index])
        if header is None:
            raise ChangeError(f"{path}: expected a hunk header, found {lines[index]!r}")
        old_count = int(header[2] or 1)
        new_count = int(header[4] or 1)
        index += 1
        body: list[str] = []
        while index < len(lines) and (old_count or new_count or lines[index].startswith("\\")):
            line = lines[index]
            if line.startswith("\\"):
                body.append(line)
            elif line[:1] in (" ", "-", "+") or line == "\n":
                line = line if line != "\n" else " \n"
                body.append(line)
                old_count -= line[0] in " -"
                new_count -= line[0] in " +"
            else:
                break
            index += 1
        if old_count or new_count:
            raise ChangeError(f"{path}: hunk {header[0]} has the wrong number of lines")
        hunks.append(Hunk(int(header[1]), int(header[3]), body))
    return hunks


def parse_change(change: str) -> list[FileChange]:
    """Split a change into its files, in the order it lists them."""
    starts = [match.start() for match in _FILE.finditer(change)]
    if change.strip() and (not starts or change[: starts[0]].strip()):
        raise ChangeError("a change must start with a 'diff --git a/PATH b/PATH' line")
    files: list[FileChange] = []
    if not starts:
        return files
    for begin, end in zip(starts, [*starts[1:], len(change)], strict=True):
        text = change[begin:end]
        lines = text.splitlines(keepends=True)
        header = _FILE.match(lines[0])
        assert header is not None
        path = header[1]
        if header[2] != path:
            raise ChangeError(f"{path}: renames are not supported (it becomes {header[2]})")
        kind: Literal["added", "removed", "changed"] = "changed"
        index = 1
        if index < len(lines) and lines[index].startswith(("new file mode", "deleted file mode")):
            kind = "added" if lines[index].startswith("new") else "removed"
            index += 1
        if index < len(lines) and lines[index].startswith("--- "):
            expected = (
                ("/dev/null" if kind == "added" else f"a/{path}"),
                ("/dev/null" if kind == "removed" else f"b/{path}"),
            )
            found = (lines[index][4:].rstrip("\n"), lines[index + 1][4:].rstrip("\n"))
            if found != expected:
                raise ChangeError(f"{path}: file header lines {found} should be {expected}")
            index += 2
        elif kind == "changed":
            raise ChangeError(f"{path}: a changed file needs '---' and '+++' lines")
        files.append(FileChange(path, kind, _hunks(path, lines[index:]), text))
    return files


def _find(lines: list[str], block: list[str], around: int) -> int:
    """Where ``block`` occurs in ``lines``, nearest to ``around``; -1 if nowhere."""
    for distance in range(len(lines) + 1):
        for start in (around - distance, around + distance):
            if 0 <= start <= len(lines) - len(block) and lines[start : start + len(block)] == block:
                return start
    return -1


def _apply_hunks(path: str, content: bytes, hunks: list[Hunk]) -> bytes:
    lines = _text(path, content)
    shift = 0
    for hunk in hunks:
        old, replacement = hunk.old(), hunk.new()
        # A hunk's start is the line number of its first old line, or, when it
        # only inserts, of the line after which it inserts.
        base = hunk.old_start - 1 if old else hunk.old_start
        start = _find(lines, old, base + shift)
        if start < 0:
            raise ChangeError(
                f"{path}: the hunk at line {hunk.old_start} does not fit; it expects:\n"
                + "".join(old)
            )
        lines[start : start + len(old)] = replacement
        shift = start - base + len(replacement) - len(old)
    return "".join(lines).encode("utf-8")


def apply_change(old: Files, change: str) -> dict[str, bytes]:
    """``old`` with ``change`` applied; raises :class:`ChangeError` if it does not fit."""
    new = dict(old)
    for file in parse_change(change):
        exists = file.path in new
        if file.kind == "added":
            if exists:
                raise ChangeError(f"{file.path}: added by the change, but it already exists")
            new[file.path] = _apply_hunks(file.path, b"", file.hunks)
        elif not exists:
            raise ChangeError(f"{file.path}: {file.kind} by the change, but there is no such file")
        elif file.kind == "removed":
            if _apply_hunks(file.path, new[file.path], file.hunks) != b"":
                raise ChangeError(f"{file.path}: removed by the change, but its content differs")
            del new[file.path]
        else:
            new[file.path] = _apply_hunks(file.path, new[file.path], file.hunks)
    return new
