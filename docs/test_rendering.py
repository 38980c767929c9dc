"""The built site in a browser, as a reader uses it: copy buttons, and code that fits.

The site is the one Read the Docs builds (the ``built_site`` fixture, ``conftest.py``),
served over HTTP on a loopback port (the clipboard needs a web origin, not ``file://``)
and opened, page by page, in headless Chromium (Debian's, driven by Playwright) in a
1280 x 900 window, the width the writing guide designs the code column for.

- Copy buttons: clicking one must put on the clipboard exactly what the reader has to
  type. For a console block that is its commands, the text after ``$ `` of each line
  that starts with it, and no output, not even elided output (``...``). For a ``>>>``
  session it is the Python source: the text after ``>>> `` and after the ``...``
  continuation prompts of the same statement (as doctest reads a session), and no
  output. Any other block is copied as it is shown. The expectation is read from the
  rendered text, so a new page needs nothing here.
- Width: no code block may be wider than its column, which would make the reader
  scroll sideways; a failure names the block's first line and its overflow in px.
  The library's highlighted source (``_modules/``, from ``sphinx.ext.viewcode``) is
  left out: it shows each module whole, as written at the library's line length,
  and is read as a source browser, not as a listing of the tutorial.

Blocks inside ``<details>`` (a chapter's changes) are opened first, as a reader who
expands them sees them. Runs with the rest of ``pytest docs/``, and alone in
``nox -s site``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sphinx.util.matching import get_matching_files

from docs import conf
from testkit.browser import chromium
from testkit.server import LOOPBACK, ServerProcess, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

DOCS = Path(__file__).parent

SOURCE_PAGES = sorted(
    name.removesuffix(".rst") + ".html"
    for name in get_matching_files(DOCS, exclude_patterns=conf.exclude_patterns)
    if name.endswith(".rst")
)
"""The pages made from the docs' rst files, as paths in the site."""

GENERATED = "generated"
"""Stands, in the tests' parameters, for every page Sphinx makes without an rst file:
the library's highlighted source (``_modules/``), the indexes and the search page."""

VIEWPORT = {"width": 1280, "height": 900}
"""The window the writing guide sets the code column's width for."""

TIMEOUT_MS = 15_000
"""How long one browser action (loading a page, a click, a script) may take."""

BLOCKS = "div.highlight pre, pre.literal-block"
"""Every code block a page shows: highlighted ones, and unhighlighted literal blocks."""

OPEN_DETAILS = "() => document.querySelectorAll('details').forEach(each => { each.open = true; })"

READ_BLOCKS = """() => Array.from(document.querySelectorAll('div.highlight pre'), pre => {
    const wrapper = pre.closest('div[class*="highlight-"]');
    const shown = pre.cloneNode(true);
    shown.querySelectorAll('.linenos').forEach(number => number.remove());
    return {classes: wrapper ? Array.from(wrapper.classList) : [], text: shown.textContent};
})"""
"""The highlighted blocks of a page in document order: their wrapper's classes (which
name the language) and their text, line numbers left out as the copy button does."""

MEASURE_BLOCKS = f"""() => Array.from(document.querySelectorAll({BLOCKS!r}), block => ({{
    text: block.textContent, scroll: block.scrollWidth, client: block.clientWidth,
    file: block.closest('details[data-path]')?.dataset.path ?? null,
}}))"""
"""The width of every code block's content (``scrollWidth``) and of its box, and the
file it belongs to when it is part of a chapter's changes."""

BUTTONS = "div.highlight pre + button.copybtn"
"""The copy buttons, which sphinx-copybutton adds right after each highlighted block."""

NOT_COPIED = "(the clipboard before the click)"
"""Put on the clipboard before each click, to tell a button that copies nothing."""

SESSION_CLASSES = {"highlight-pycon", "highlight-pycon3", "doctest"}
"""Wrapper classes of ``>>>`` sessions: ``pycon`` code blocks and rst doctest blocks."""


def pages_of(site: Path, which: str) -> list[str]:
    """The pages (paths in the site) that the test parameter ``which`` stands for."""
    if which != GENERATED:
        return [which]
    built = sorted(path.relative_to(site).as_posix() for path in site.rglob("*.html"))
    return [page for page in built if page not in SOURCE_PAGES]


def console_commands(text: str) -> str:
    """What a reader must copy from a console block: each command, without its ``$ ``.

    Output lines, including elided output (``...``), are not commands.
    """
    return "\n".join(line[2:] for line in text.splitlines() if line.startswith("$ "))


def session_source(text: str) -> str:
    """What a reader must copy from a ``>>>`` session: its statements, without prompts.

    As doctest reads a session, a statement starts on a ``>>>`` line and goes on over
    the ``...`` lines right after it (a bare ``...`` is a blank line of the statement,
    which ends a compound statement when pasted into the interpreter). Any other line,
    a ``...`` among the output included, is output.
    """
    source: list[str] = []
    in_statement = False
    for line in text.splitlines():
        if line.startswith(">>> ") or line == ">>>":
            source.append(line[4:])
            in_statement = True
        elif in_statement and (line.startswith("... ") or line == "..."):
            source.append(line[4:])
        else:
            in_statement = False
    return "\n".join(source)


def expected_copy(classes: list[str], text: str) -> str:
    """What the copy button of a block with these wrapper ``classes`` and ``text`` must copy."""
    if "highlight-console" in classes:
        return console_commands(text)
    if SESSION_CLASSES & set(classes) or text.startswith(">>>"):
        return session_source(text)
    return text.removesuffix("\n")


def shortened(line: str) -> str:
    """``line``, cut to fit a failure message."""
    return line if len(line) <= 80 else line[:77] + "..."


def first_line(text: str) -> str:
    """A block's first line, shortened for a failure message."""
    return shortened(text.split("\n", 1)[0])


def overflow_report(block: dict[str, Any]) -> str:
    """What a failure says of a block too wide: by how much, where, and its longest line
    (the widest, in a monospace font), which is the one to shorten."""
    longest = max(block["text"].splitlines(), key=len, default="")
    where = f" (in the changes to {block['file']})" if block["file"] else ""
    return (
        f"{block['scroll'] - block['client']} px too wide{where}: {first_line(block['text'])!r}"
        f"\n    its longest line, {len(longest)} characters: {shortened(longest)!r}"
    )


def test_what_a_reader_must_copy_is_read_from_the_prompts() -> None:
    console = "$ alembic upgrade head\n...\n... INFO  Running upgrade\n$ pserve dev.ini\nok\n"
    assert console_commands(console) == "alembic upgrade head\npserve dev.ini"
    session = ">>> def f():\n...     return 1\n...\n>>> f()\n1\n...\n... 2\n"
    assert session_source(session) == "def f():\n    return 1\n\nf()"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the module; skips (fails under CI) where it is missing."""
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def site_url(built_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The built site, served by Python's ``http.server`` on a free loopback port."""
    port = free_port()
    argv = [sys.executable, "-m", "http.server", "--bind", LOOPBACK, "--directory"]
    log = tmp_path_factory.mktemp("site-server") / "server.log"
    with ServerProcess([*argv, str(built_site), str(port)], port=port, log_path=log) as server:
        yield server.base_url


@pytest.fixture
def reader(browser: Browser, site_url: str) -> Iterator[Page]:
    """A tab of a fresh 1280 x 900 browser window that may read and write the clipboard."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url)
        context.set_default_timeout(TIMEOUT_MS)
        yield context.new_page()
    finally:
        context.close()


def open_page(reader: Page, url: str) -> None:
    """Load ``url`` (it must exist) and open its ``<details>``, as a curious reader does."""
    response = reader.goto(url)
    assert response is not None and response.ok, f"{url} did not load"
    reader.evaluate(OPEN_DETAILS)


def copy_failures(reader: Page, url: str) -> list[str]:
    """Click every copy button of the page at ``url``; describe each wrong copy."""
    open_page(reader, url)
    blocks: list[dict[str, Any]] = reader.evaluate(READ_BLOCKS)
    if not blocks:
        return []
    # sphinx-copybutton adds the buttons once ClipboardJS has loaded, asynchronously.
    reader.wait_for_function(
        "([selector, count]) => document.querySelectorAll(selector).length === count",
        arg=[BUTTONS, len(blocks)],
    )
    buttons = reader.locator(BUTTONS)
    failures = []
    for index, block in enumerate(blocks):
        reader.evaluate("text => navigator.clipboard.writeText(text)", NOT_COPIED)
        buttons.nth(index).click()
        copied: str = reader.evaluate("() => navigator.clipboard.readText()")
        expected = expected_copy(block["classes"], block["text"])
        if copied != expected:
            failures.append(
                f"block {index + 1}, {first_line(block['text'])!r}:\n"
                f"    a reader must get {expected!r}\n"
                f"    the button copies {copied!r}"
            )
    return failures


def overflows(reader: Page, url: str) -> list[str]:
    """Describe every code block of the page at ``url`` that is wider than its column."""
    open_page(reader, url)
    measured: list[dict[str, Any]] = reader.evaluate(MEASURE_BLOCKS)
    return [overflow_report(block) for block in measured if block["scroll"] > block["client"]]


@pytest.mark.parametrize("which", [*SOURCE_PAGES, GENERATED])
def test_copy_buttons_copy_what_the_reader_types(
    which: str, reader: Page, site_url: str, built_site: Path
) -> None:
    problems = [
        f"{page}, {failure}"
        for page in pages_of(built_site, which)
        for failure in copy_failures(reader, f"{site_url}/{page}")
    ]
    if problems:
        pytest.fail("\n".join(["copy buttons that copy the wrong text:", *problems]), pytrace=False)


@pytest.mark.parametrize("which", [*SOURCE_PAGES, GENERATED])
def test_no_code_block_is_wider_than_its_column(
    which: str, reader: Page, site_url: str, built_site: Path
) -> None:
    problems = [
        f"{page}: {overflow}"
        for page in pages_of(built_site, which)
        if not page.startswith("_modules/")
        for overflow in overflows(reader, f"{site_url}/{page}")
    ]
    if problems:
        heading = f"code blocks that scroll sideways at {VIEWPORT['width']} px:"
        pytest.fail("\n".join([heading, *problems]), pytrace=False)
