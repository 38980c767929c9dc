"""A mark under every block the site shows, saying how it is checked; no mark, no build.

The rules are those of the project's docs-truth count (and of the sybil
configuration, :mod:`testkit.sybil_config`, that runs the pages):

- a ``literalinclude`` shows a file of the repository; the mark names the file and
  what tests it: a chapter's project is tested by its own tests, the library and the
  test suite by ``nox -s tests``, the guide's examples by the docs' tests that import
  them (found by searching the test modules; none found is an error);
- a ``console`` block is run as written, its shown output compared;
- a ``python`` block and a ``>>>`` session are executed, their output compared;
- a ``text`` block marked ``.. page-output: URL`` is compared with what headless
  Chromium shows, one marked ``.. project-tree:`` with the project's files;
- a block made by ``.. chapter-changes::`` is read back from the page and applied by
  a test.

Anything else (a block skipped with ``.. skip:``, a plain ``::`` block, a code
block of another language) has no way of being checked: it is reported as an error,
which fails the ``-W`` build. Only blocks written in the docs' own pages count;
docstrings shown by autodoc are the API reference's, not listings.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

from testkit.chapters import ROOT, chapters
from testkit.console import PROMPT

logger = logging.getLogger(__name__)

TEST_FOLDERS = ("tests", "testkit", "docs", "bench")
"""Where test modules live."""

_MARKER = re.compile(r"(?P<name>[a-z-]+):\s*(?P<argument>\S*)")
"""An rst comment that marks the block after it (see :mod:`testkit.rst`)."""


class Unverified(Exception):
    """A shown block that nothing checks; the message says what it is."""


@cache
def _test_modules() -> dict[str, str]:
    """The repository's test modules, by path relative to it, with their text."""
    found = {}
    for folder in TEST_FOLDERS:
        for path in sorted((ROOT / folder).rglob("test_*.py")):
            if "_build" not in path.parts:
                found[path.relative_to(ROOT).as_posix()] = path.read_text()
    return found


def _testers(path: Path) -> list[str]:
    """The test modules that import ``path`` (a module) or name it (any other file)."""
    relative = path.relative_to(ROOT)
    needles = {path.name} if path.suffix != ".py" else set()
    if path.suffix == ".py":
        dotted = ".".join(relative.with_suffix("").parts)
        needles |= {f"import {dotted}", f"from {dotted} import"}
        package, module = dotted.rsplit(".", 1)
        needles.add(f"from {package} import {module}")
    return [name for name, text in _test_modules().items() if any(n in text for n in needles)]


def file_mark(path: Path) -> tuple[str, str]:
    """The mark of a listing of the file at ``path``: a short label and the details."""
    path = path.resolve()
    relative = path.relative_to(ROOT).as_posix()
    for each in chapters():
        if each.directory in path.parents:
            inside = path.relative_to(each.directory).as_posix()
            return (
                f"{inside}, from chapter {each.number}'s project",
                f"A file of the project as {each.name} leaves it ({relative}). The project's "
                f"own tests (`nox -s chapters`) and the checks of the chapter's page "
                f"(`pytest docs/`) run it.",
            )
    if path.name.startswith("test_"):
        return (relative, "A test module of this repository, run by `nox -s tests`.")
    top = path.relative_to(ROOT).parts[0]
    if top == "aiopyramid":
        return (relative, "aiopyramid's own source, tested by its tests (`nox -s tests`).")
    if top in ("tests", "testkit"):
        return (relative, "Part of the test suite, run by every live test (`nox -s tests`).")
    testers = _testers(path)
    if not testers:
        raise Unverified(f"a listing of {relative}, which no test module imports or names")
    return (relative, f"Run by {', '.join(testers)}.")


def _preceding_comment(node: nodes.Element) -> str:
    """The text of the rst comment just before ``node``, if there is one."""
    parent = node.parent
    if parent is None:
        return ""
    index = parent.index(node)
    for sibling in reversed(parent.children[:index]):
        if isinstance(sibling, nodes.comment):
            return sibling.astext().strip()
        if not isinstance(sibling, nodes.target | nodes.system_message):
            return ""
    return ""


def classify(node: nodes.Element) -> tuple[str, str]:
    """How ``node`` is checked: a short label and the details; :class:`Unverified` if not."""
    if "verified" in node.attributes:
        return ("checked by a test", node["verified"])
    if isinstance(node, nodes.doctest_block):
        return ("run by the docs' tests", "Executed as a doctest; its output is compared.")
    comment = _preceding_comment(node)
    marker = _MARKER.fullmatch(comment)
    if "source" in node.attributes and comment == "reader-applies:":
        return (
            "applied and run by the docs' tests",
            "The docs' tests make this change to the project, in a fresh directory, and "
            "run the commands that follow it.",
        )
    if "source" in node.attributes:
        return file_mark(Path(node["source"]))
    language = node.get("language", "")
    if comment.startswith("skip:"):
        raise Unverified(f"a {language or 'literal'} block skipped by its tests ({comment})")
    if language == "console" and marker and marker["name"] == "console-error":
        return (
            "run as written, error compared",
            "The docs' tests run these commands as a reader would and compare the error "
            "they print with what is shown.",
        )
    if language == "console":
        lines = [line for line in node.astext().splitlines() if line.strip()]
        compared = any(not line.startswith(PROMPT) and line.strip() != "..." for line in lines)
        return (
            "run as written" + (", output compared" if compared else ""),
            "The docs' tests type every command into a shell, in a fresh directory, as a "
            "reader would"
            + (", and compare what it prints with what is shown." if compared else "."),
        )
    if language == "python":
        return ("run by the docs' tests", "Executed by the docs' tests.")
    if language == "text" and marker and marker["name"] == "page-output":
        return (
            "compared with the browser",
            f"Compared with what headless Chromium shows at {marker['argument']}.",
        )
    if language == "text" and marker and marker["name"] == "server-output":
        return (
            "compared with the server's output",
            f"Compared with what the server at {marker['argument']} printed.",
        )
    if language == "text" and marker and marker["name"] == "project-tree":
        return ("compared with the files", "Compared with the project's real files.")
    raise Unverified(f"a {language or 'literal'} block that no test runs or compares")


def _in_own_pages(node: nodes.Element) -> bool:
    """Whether ``node`` comes from an rst page of the docs, not from a docstring."""
    source = node.source or ""
    return source.endswith(".rst") and ":docstring of " not in source


def mark_blocks(app: Sphinx, doctree: nodes.document) -> None:
    """Add a mark after every shown block of the page; report the ones nothing checks."""
    blocks = [
        node
        for node in doctree.findall(
            lambda n: isinstance(n, nodes.literal_block | nodes.doctest_block)
        )
        if _in_own_pages(node) or "verified" in node.attributes
    ]
    for node in blocks:
        try:
            label, details = classify(node)
        except Unverified as problem:
            logger.warning(
                "shown block without a check: %s", problem, location=node, type="verified"
            )
            continue
        anchor: nodes.Element = node
        if (
            isinstance(node.parent, nodes.container)
            and "literal-block-wrapper" in node.parent["classes"]
        ):
            anchor = node.parent
        mark = nodes.raw(
            "",
            f'<p class="verified-mark" title="{html.escape(details)}">'
            f"<span>&#10003; {html.escape(label)}</span></p>",
            format="html",
        )
        parent = anchor.parent
        assert parent is not None
        parent.insert(parent.index(anchor) + 1, mark)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-read", mark_blocks)
    app.add_css_file("verified.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
