"""Headless Chromium (Debian's build) driven by Playwright: what does a page show?

Playwright may not download browsers here, so it is pointed at ``/usr/bin/chromium``.
"""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from testkit.availability import unavailable

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

_COUNT_LINES = "n => document.body.innerText.split('\\n').filter(l => l.trim()).length >= n"


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser; skips (fails under CI) if it is not installed."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is missing: pip install playwright")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def shown_lines(page: Any, expected: int, timeout: float = 15.0) -> list[str]:
    """The non-blank lines of the page's text, once it shows ``expected`` of them.

    Gives up waiting after ``timeout`` seconds and returns what is there, then waits a
    little longer so that a line too many would show up too.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    # On a timeout, the caller's comparison reports what the page shows instead.
    with suppress(PlaywrightTimeout):
        page.wait_for_function(_COUNT_LINES, arg=expected, timeout=timeout * 1000)
    page.wait_for_timeout(500)
    text: str = page.inner_text("body")
    return [line.strip() for line in text.splitlines() if line.strip()]


def page_lines(url: str, expected: int) -> list[str]:
    """Open ``url`` in a fresh headless Chromium and return :func:`shown_lines`."""
    with chromium() as browser:
        page = browser.new_page()
        page.goto(url)
        return shown_lines(page, expected)
