"""Find the code blocks of an rst document and the marker comments that annotate them.

A marker is an rst comment (invisible in the built page) on the last non-blank line
before a ``.. code-block::``, naming what the block promises and where to check it:

``.. console-server: URL``
    the block's last command starts a server that keeps running and answers at URL;
``.. console-error:``
    the block shows commands meeting an error: their output is compared, their
    exit status may be anything;
``.. server-output: URL``
    the block holds lines that the server at URL printed;
``.. page-output: URL``
    the block holds the lines a browser shows at URL;
``.. project-tree:``
    the block is a listing of the repository's files; ``.. project-tree: TEMPLATE``,
    of the project that ``aiopyramid-init TEMPLATE NAME`` generates.
"""

import itertools
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

MARKERS = {"console-server", "console-error", "page-output", "project-tree", "server-output"}

_DIRECTIVE = re.compile(r"(?P<indent>[ \t]*)\.\. code-block::[ \t]*(?P<language>\S+)[ \t]*")
_MARKER = re.compile(r"[ \t]*\.\. (?P<name>[a-z-]+):[ \t]*(?P<argument>\S*)[ \t]*")


@dataclass
class CodeBlock:
    """A ``code-block`` directive: its language, body, place, and marker if any."""

    language: str
    body: str
    """The dedented content, options and surrounding blank lines removed."""
    start: int
    """Offset of the directive's first character in the document."""
    end: int
    """Offset just past the last line of the body."""
    marker: str = ""
    argument: str = ""


def code_blocks(text: str) -> Iterator[CodeBlock]:
    """Yield every ``.. code-block::`` of ``text`` in document order."""
    lines = text.splitlines(keepends=True)
    offsets = list(itertools.accumulate((len(line) for line in lines), initial=0))
    for number, line in enumerate(lines):
        directive = _DIRECTIVE.fullmatch(line.rstrip("\r\n"))
        if directive is None:
            continue
        indent = len(directive["indent"])
        last = number
        for later in range(number + 1, len(lines)):
            content = lines[later]
            if content.strip() and len(content) - len(content.lstrip()) <= indent:
                break
            if content.strip():
                last = later
        inside = lines[number + 1 : last + 1]
        options = next(
            (i for i, text in enumerate(inside) if not text.lstrip().startswith(":")), len(inside)
        )
        block = CodeBlock(
            language=directive["language"],
            body=textwrap.dedent("".join(inside[options:])).strip("\n"),
            start=offsets[number],
            end=offsets[last + 1],
        )
        before = next((text for text in reversed(lines[:number]) if text.strip()), "")
        marker = _MARKER.fullmatch(before.rstrip("\r\n"))
        if marker and marker["name"] in MARKERS:
            block.marker, block.argument = marker["name"], marker["argument"]
        yield block


def marked_blocks(text: str, marker: str) -> list[CodeBlock]:
    """The code blocks of ``text`` annotated with ``marker``."""
    return [block for block in code_blocks(text) if block.marker == marker]
