"""Chapter 4's promises, checked in headless Chromium against a live server.

The server is chapter 4's project, migrated and started with the command the chapter
gives the reader (:func:`testkit.served.serve_chapter`), on a SQLite file and on a
database in a throwaway PostgreSQL server. In the browser:

- a player signs up through the form, and the home page greets them and its echo
  test answers with their name; signing out brings the sign-in form back, and the
  echo refuses the page's websocket, until the player signs in again;
- signing out in one tab closes the socket another tab holds, with the close code
  that says *signed out*;
- a page of another origin cannot open the echo, although the browser sends the
  signed-in player's cookie with the handshake; the same script on the site's own
  page can.

Expected texts come from the project's templates and code, and from the chapter.
Waits are bounded; nothing depends on how long anything takes.

Runs where chapter 4's project is installed (``nox -s chapters``).
"""

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pyramid.request import Request

from aiopyramid.exceptions import ScopeError
from aiotutorial.security import SecurityPolicy
from aiotutorial.sockets import SIGNED_OUT
from testkit.browser import chromium, shown_lines
from testkit.chapters import chapter
from testkit.rst import marked_blocks
from testkit.served import Database, serve_chapter
from testkit.server import LOOPBACK, ServerProcess

CHAPTER = chapter("chapter4")
TEMPLATES = CHAPTER.directory / "aiotutorial" / "templates"
PASSWORD = "a password for the browser"
WAIT_MS = 15_000
"""The longest wait for anything a page should show, in milliseconds."""


def template(name: str) -> str:
    return (TEMPLATES / name).read_text()


def found(pattern: str, text: str) -> str:
    """What the first group of ``pattern`` matches in ``text``, which must hold it."""
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"no {pattern!r} in the text"
    return match[1]


def button(name: str) -> str:
    """The label of the one button of the template ``name``."""
    (label,) = re.findall(r"<button>([^<]+)</button>", template(name))
    return label


HOME = template("home.jinja2")
MESSAGE = found(r'const message = "([^"]+)";', HOME)
"""The line the home page's script sends to the echo."""
SHOWN = re.findall(r'show\("([^"]*)"(?: \+ ([\w.]+))?\)', HOME)
"""The script's ``show()`` calls, in order: a label, and the value that follows it."""
GREETING = found(r"<p>(Signed in as \{\{ player\.username \}\}\.)</p>", HOME)
"""The home page's greeting of a signed-in player, with the template's placeholder."""
SIGN_UP, SIGN_IN = button("sign_up.jinja2"), button("sign_in_form.jinja2")
SIGN_OUT = button("sign_out_form.jinja2")

TRY_ECHO = """
async ([url, message]) => {
  // Open a websocket, send one message, close after the answer: what happened, in order.
  const events = [];
  const socket = new WebSocket(url);
  return await new Promise((resolve) => {
    const timer = setTimeout(() => resolve([...events, "gave up waiting"]), 10000);
    socket.onopen = () => { events.push("open"); socket.send(message); };
    socket.onmessage = (event) => { events.push("message " + event.data); socket.close(); };
    socket.onerror = () => events.push("error");
    socket.onclose = (event) => {
      events.push("close " + event.code);
      clearTimeout(timer);
      resolve(events);
    };
  });
}
"""
REFUSED = ["error", "close 1006"]
"""What a page sees of a refused handshake: the socket never opens."""


def promised_echo_line() -> str:
    """The chapter's example of what the echo test shows, such as ``RESPONSE: alice: ...``."""
    return found(r"``(RESPONSE: [^`]+)``", CHAPTER.page.read_text())


def promised_sign_in_page() -> list[str]:
    """What the chapter says the home page shows to a visitor who is not signed in."""
    (block,) = marked_blocks(CHAPTER.page.read_text(), "page-output")
    return block.body.splitlines()


def echo_log(name: str) -> list[str]:
    """The lines the home page's script shows for the player ``name``: the echo sends
    each line back with its sender's name in front."""
    values = {"": "", "message": MESSAGE, "event.data": f"{name}: {MESSAGE}"}
    return [label + values[value] for label, value in SHOWN]


# -- the server, the browser, what pages do --------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """Chapter 4's project served by the chapter's command, on each database."""
    work = tmp_path_factory.mktemp(request.param)
    cluster = request.getfixturevalue("postgres_cluster") if request.param != "sqlite" else None
    with serve_chapter(CHAPTER, Database.new(request.param, work, cluster), work) as process:
        yield process


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A new browser profile: its own cookies, its tabs."""
    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    yield context
    context.close()


def sign_up(page: Any, server: ServerProcess, name: str) -> list[str]:
    """Sign up as ``name`` through the sign-up form, which leads to the home page.

    Returns the home page's echo log, once its script is done.
    """
    page.goto(server.url("/sign-up"))
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name=SIGN_UP).click()
    assert page.url == server.url("/"), page.content()
    return echo_lines(page, len(SHOWN))


def echo_lines(page: Any, count: int) -> list[str]:
    """The lines of the home page's echo log, once there are ``count`` of them."""
    page.locator("#log p").nth(count - 1).wait_for()
    lines: list[str] = page.locator("#log p").all_inner_texts()
    return lines


def try_echo(page: Any, server: ServerProcess, message: str) -> list[str]:
    """Run :data:`TRY_ECHO` in ``page``: what happened to its socket."""
    events: list[str] = page.evaluate(TRY_ECHO, [server.ws_url("/echo"), message])
    return events


HOLD_A_SOCKET = """
async (url) => {
  // Open a websocket and keep it: window.held resolves to its close code, once closed.
  const socket = new WebSocket(url);
  window.held = new Promise((resolve) => { socket.onclose = (event) => resolve(event.code); });
  await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = reject; });
  const answer = new Promise((resolve) => { socket.onmessage = (event) => resolve(event.data); });
  socket.send("still here?");
  return await answer;
}
"""
CLOSE_CODE = """
() => Promise.race([window.held, new Promise((resolve) => setTimeout(resolve, 10000, null))])
"""


@contextmanager
def page_elsewhere(html: str) -> Iterator[tuple[str, list[str]]]:
    """Serve ``html`` at ``/`` of another origin, from a thread.

    Yields its URL, and a list of the ``Cookie`` headers its requests carry.
    """
    body = html.encode()
    cookies: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            cookies.append(self.headers.get("Cookie", ""))
            if self.path != "/":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test's output quiet

    http = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{http.server_address[1]}/", cookies
    finally:
        http.shutdown()
        http.server_close()
        thread.join(timeout=10)


def probe_script(url: str, message: str) -> str:
    """A script that runs :data:`TRY_ECHO` and writes what happened in ``#outcome``."""
    arguments = json.dumps([url, message])
    return f"""
      ({TRY_ECHO})({arguments}).then((events) => {{
        const outcome = document.createElement("pre");
        outcome.id = "outcome";
        outcome.textContent = JSON.stringify(events);
        document.body.appendChild(outcome);
      }});
    """


def outcome(page: Any) -> list[str]:
    events: list[str] = json.loads(page.locator("#outcome").inner_text())
    return events


class Handshakes:
    """The websocket handshakes a page sends, as Chromium's DevTools report them:
    each one's ``Origin`` header, and why it failed, if it did."""

    def __init__(self, context: Any, page: Any) -> None:
        self.page = page
        self.origins: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        devtools = context.new_cdp_session(page)
        devtools.on("Network.webSocketWillSendHandshakeRequest", self._sent)
        devtools.on("Network.webSocketFrameError", self._failed)
        devtools.send("Network.enable")

    def _sent(self, event: dict[str, Any]) -> None:
        headers = {name.lower(): value for name, value in event["request"]["headers"].items()}
        self.origins[event["requestId"]] = headers.get("origin", "")

    def _failed(self, event: dict[str, Any]) -> None:
        self.errors[event["requestId"]] = event["errorMessage"]

    def refused(self, count: int) -> list[tuple[str, str]]:
        """Each handshake's origin and error, once ``count`` of them have failed."""
        for _ in range(100):  # the events may trail the page's own by a moment
            if len(self.errors) >= count:
                break
            self.page.wait_for_timeout(100)
        return [(self.origins.get(id, ""), error) for id, error in self.errors.items()]


def refused_with_403(origin: str) -> tuple[str, str]:
    """A handshake from ``origin`` that the server answered with 403 (Chromium's words)."""
    return (origin, "Error during WebSocket handshake: Unexpected response code: 403")


# -- the tests --------------------------------------------------------------------------


def test_sign_up_echo_sign_out_sign_in(server: ServerProcess, context: Any) -> None:
    promised = promised_echo_line()
    player = found(r"^RESPONSE: (\w+): ", promised)  # the chapter's example's player
    expected = echo_log(player)
    assert promised in expected
    page = context.new_page()
    assert sign_up(page, server, player) == expected
    greeting = GREETING.replace("{{ player.username }}", player)
    page.get_by_text(greeting, exact=True).wait_for()

    with page.expect_navigation():
        page.get_by_role("button", name=SIGN_OUT).click()
    assert page.url == server.url("/")
    sign_in_page = promised_sign_in_page()
    assert shown_lines(page, len(sign_in_page)) == sign_in_page
    handshakes = Handshakes(context, page)
    assert try_echo(page, server, "anyone there?") == REFUSED
    assert handshakes.refused(1) == [refused_with_403(server.base_url)]

    page.fill("input[name=username]", player)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name=SIGN_IN).click()
    assert page.url == server.url("/")
    page.get_by_text(greeting, exact=True).wait_for()
    assert echo_lines(page, len(expected)) == expected
    assert try_echo(page, server, "back again")[:2] == ["open", f"message {player}: back again"]


def test_signing_out_in_one_tab_closes_the_socket_of_another(
    server: ServerProcess, context: Any
) -> None:
    name = "two_tabs"
    first = context.new_page()
    assert sign_up(first, server, name) == echo_log(name)
    assert first.evaluate(HOLD_A_SOCKET, server.ws_url("/echo")) == f"{name}: still here?"
    second = context.new_page()
    second.goto(server.url("/account"))
    with second.expect_navigation():
        second.get_by_role("button", name=SIGN_OUT).click()
    assert first.evaluate(CLOSE_CODE) == SIGNED_OUT


def test_a_page_of_another_origin_cannot_open_the_echo(server: ServerProcess, context: Any) -> None:
    name = "other_origin"
    page = context.new_page()
    assert sign_up(page, server, name) == echo_log(name)
    (session,) = (cookie["value"] for cookie in context.cookies(server.url("/echo")))
    script = probe_script(server.ws_url("/echo"), "from another page")
    html = f"<!DOCTYPE html><title>Another site</title><script>{script}</script>"
    handshakes = Handshakes(context, page)
    with page_elsewhere(html) as (elsewhere, cookies):
        assert elsewhere != server.url("/")
        page.goto(elsewhere)
        assert outcome(page) == REFUSED
    # The browser sends the player's cookie to every port of the host, the other
    # origin's included: the refusal is the Origin check's, not for want of a cookie.
    assert any(session in cookie for cookie in cookies), cookies
    assert handshakes.refused(1) == [refused_with_403(elsewhere.rstrip("/"))]
    # The same script on the site's own page, in the same browser, opens the socket:
    page.goto(server.url("/account"))
    page.add_script_tag(content=script)
    assert outcome(page)[:2] == ["open", f"message {name}: from another page"]
    assert list(handshakes.origins.values()) == [elsewhere.rstrip("/"), server.base_url]
    assert len(handshakes.errors) == 1


def test_troubleshooting_quotes_the_library_s_scope_error() -> None:
    """The page names the error a coroutine view gets for ``request.identity``: it
    must be the one aiopyramid raises."""
    quoted = found(r"^\*\*ScopeError: ([^*]+)\.\*\*", CHAPTER.page.read_text())
    with pytest.raises(ScopeError) as raised:
        SecurityPolicy().identity(Request.blank("/"))  # outside any request greenlet
    assert str(raised.value).startswith(quoted)
