"""Chapter 1's app against hostile input: ``sleep`` values, markup.

The reader's own tests (``aiotutorial/tests.py``) check the cases chapter 1 talks
about; these go further, in-process through aiopyramid's ASGI adapter: every bad
``sleep`` the hardening issue lists, in the query string and in a form body,
arbitrary query strings and bodies drawn by hypothesis (the answer is always 200 or
400, never 500), and a script payload where the page reflects the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiotutorial.views
from aiopyramid.asgi import ASGIApplication, Message
from aiopyramid.testing import AppClient
from aiotutorial import main
from testkit.browser import chromium, shown_lines

MAX_SLEEP = "0.02"  # short, so that the good values drawn by hypothesis sleep briefly
REFUSAL = "sleep must be a number of seconds from 0 to 0.02\n"


@pytest.fixture(scope="module")
def client() -> Iterator[AppClient]:
    """The tutorial's app, with a short cap and no default wait."""
    settings = {"pyramid.includes": "aiopyramid pyramid_jinja2", "aiotutorial.max_sleep": MAX_SLEEP}
    with pytest.MonkeyPatch.context() as patch, AppClient(main({}, **settings)) as client:
        patch.setattr(aiotutorial.views, "DEFAULT_SLEEP", 0.0)
        yield client


BAD_SLEEPS = {
    "abc": "abc",
    "empty": "",
    "nan": "nan",
    "inf": "inf",
    "-inf": "-inf",
    "-1": "-1",
    "1e308": "1e308",
    "0x10": "0x10",
    "over the cap": "0.03",
    "exponent": "1e-3",
    "sign": "+0",
    "spaces": " 0 ",
    "underscore": "0_0",
    "arabic-indic zero": "\u0660",
    "10 kB of letters": "x" * 10_240,
    "10 kB of digits": "1" * 10_240,
    "10 kB of zeros": "0" * 10_240,
}


@pytest.mark.parametrize("value", BAD_SLEEPS.values(), ids=BAD_SLEEPS.keys())
@pytest.mark.parametrize("where", ["query", "body"])
def test_bad_sleep_values_get_400_naming_the_parameter_and_range(
    client: AppClient, value: str, where: str
) -> None:
    encoded = "sleep=" + quote(value)
    if where == "query":
        response = client.get("/?" + encoded)
    else:
        response = client.post("/", encoded.encode(), headers=FORM)
    assert (response.status, response.text) == (400, REFUSAL)


FORM = {"content-type": "application/x-www-form-urlencoded"}
MALFORMED_QUERIES = {
    "repeated": "sleep=0&sleep=0",
    "repeated, one empty": "sleep=0&sleep=",
    "in query and body": "sleep=0",  # the body below says sleep=0 too
    "not UTF-8": "sleep=%FF",
    "truncated UTF-8": "sleep=%C3",
    "another parameter not UTF-8": "x=%FF&sleep=0",
}


@pytest.mark.parametrize("query", MALFORMED_QUERIES.values(), ids=MALFORMED_QUERIES.keys())
def test_repeated_or_undecodable_parameters_get_400(client: AppClient, query: str) -> None:
    if query == MALFORMED_QUERIES["in query and body"]:
        response = client.post("/?" + query, b"sleep=0", headers=FORM)
    else:
        response = client.get("/?" + query)
    assert (response.status, response.text) == (400, REFUSAL)


def test_a_body_that_is_not_utf8_gets_400(client: AppClient) -> None:
    response = client.post("/", b"sleep=\xff", headers=FORM)
    assert (response.status, response.text) == (400, REFUSAL)


@pytest.mark.parametrize("value", ["0", "0.0", "0.02", "00.010", "0.0000000001"])
def test_good_sleep_values_are_served(client: AppClient, value: str) -> None:
    assert client.get("/?sleep=" + value).status == 200


# -- property-based: any query string, any body ------------------------------------

query_byte = st.one_of(
    st.sampled_from(list(b"sleep=&%+;0123456789.-eEinfatxX ")),
    st.integers(0, 255),
)
raw_query = st.lists(query_byte, max_size=40).map(lambda codes: bytes(codes).decode("latin-1"))
sleep_value = st.one_of(
    st.text(max_size=12),
    st.floats().map(str),
    st.decimals(allow_nan=True).map(str),
    st.integers(-(10**30), 10**30).map(str),
)
sleep_pair = st.tuples(st.sampled_from(["sleep", "Sleep", "sleep ", "x", ""]), sleep_value).map(
    lambda pair: f"{quote(pair[0])}={quote(pair[1])}"
)
structured_query = st.lists(sleep_pair, max_size=3).map("&".join)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.one_of(raw_query, structured_query), body=st.none() | st.binary(max_size=40))
def test_any_query_and_body_get_200_or_400_never_500(
    client: AppClient, query: str, body: bytes | None
) -> None:
    if body is None:
        response = client.get("/?" + query.replace("#", "%23"))
    else:
        response = client.post("/?" + query.replace("#", "%23"), body, headers=FORM)
    assert response.status in {200, 400}, (response.status, response.text[:200])
    if response.status == 400:
        assert response.text == REFUSAL


# -- markup: what the page reflects is escaped --------------------------------------

PAYLOAD = "/`+alert(2)+`</script><script>alert(1)</script>'\"&"
"""A SCRIPT_NAME that would leave a JS template string, or close the script element."""


def page_under(client: AppClient, root_path: str) -> tuple[int, str]:
    """GET / from the app mounted at ``root_path`` (an ASGI root_path, WSGI's SCRIPT_NAME)."""
    scope = client._scope("http", "/", {"accept": "text/html"})
    scope.update(method="GET", root_path=root_path, query_string=b"sleep=0")
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    assert isinstance(client.app, ASGIApplication)
    client.run(client.app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]).decode()


def test_the_page_escapes_a_script_in_its_path(client: AppClient) -> None:
    status, html = page_under(client, PAYLOAD)
    assert status == 200
    assert "alert(1)" in html  # the payload is there, but it cannot close or open an element
    assert html.count("</script>") == 1 and "<script>alert" not in html
    # ...nor end the JavaScript string that holds it: the line is one JSON string.
    (line,) = [line for line in html.splitlines() if "const path =" in line]
    assert re.fullmatch(r'\s*const path = "([^"\\]|\\.)*";', line), line


def test_a_script_in_the_path_does_not_run_in_a_browser(client: AppClient) -> None:
    """The page, served with the payload in its path, runs its echo test and nothing else."""
    _, html = page_under(client, PAYLOAD)
    with chromium() as browser:
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.route(
            "http://aiotutorial.test/",
            lambda route: route.fulfill(body=html, content_type="text/html"),
        )
        page.route_web_socket(
            re.compile(r"ws://aiotutorial\.test/.*"),
            lambda ws: ws.on_message(lambda message: ws.send(message)),
        )
        page.goto("http://aiotutorial.test/")
        lines = shown_lines(page, 5)
    assert dialogs == []
    assert lines == [
        "aiotutorial websocket test",
        "CONNECTED",
        "SENT: Aiopyramid echo test.",
        "RESPONSE: Aiopyramid echo test.",
        "DISCONNECTED",
    ]


def test_not_found_pages_escape_the_path(client: AppClient) -> None:
    response = client.get("/<script>alert(1)</script>", headers={"accept": "text/html"})
    assert response.status == 404
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<script>" not in response.text
