"""The ASGI adapter remembers header names and status lines; what it translates stays right."""

import asyncio

from aiopyramid import asgi, environ
from aiopyramid.asgi import ASGIApplication
from aiopyramid.environ import build_environ


def scope_with(headers):
    return {"type": "http", "method": "GET", "path": "/", "headers": headers}


def test_every_request_gets_its_own_header_values_under_the_right_keys():
    first = build_environ(scope_with([(b"x-token", b"a"), (b"content-type", b"text/plain")]), None)
    second = build_environ(scope_with([(b"x-token", b"b"), (b"X-Token", b"c")]), None)
    assert (first["HTTP_X_TOKEN"], first["CONTENT_TYPE"]) == ("a", "text/plain")
    assert second["HTTP_X_TOKEN"] == "b, c"
    assert "CONTENT_TYPE" not in second


def test_header_names_beyond_those_remembered_are_still_translated():
    names = [f"x-odd-{n}".encode() for n in range(environ._HEADER_KEYS_LIMIT + 50)]
    translated = build_environ(scope_with([(name, b"1") for name in names]), None)
    assert all(translated[f"HTTP_X_ODD_{n}"] == "1" for n in range(len(names)))
    assert len(environ._HEADER_KEYS) <= environ._HEADER_KEYS_LIMIT
    dropped = build_environ(scope_with([(b"x_odd", b"1"), (b"x_odd", b"2")]), None)
    assert "HTTP_X_ODD" not in dropped  # a dropped name stays dropped, remembered or not


def serve(status, headers):
    def app(environ, start_response):
        start_response(status, headers)
        return [b"ok"]

    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    asyncio.run(ASGIApplication(app)(scope_with([]), receive, send))
    return sent[0]["status"], sent[0]["headers"]


def test_status_lines_and_response_header_names_are_translated_every_time():
    assert serve("200 OK", [("X-Mixed-Case", "1")]) == (200, [(b"x-mixed-case", b"1")])
    assert serve("404 Not Found", [("x-mixed-case", "2")]) == (404, [(b"x-mixed-case", b"2")])
    assert serve("200 OK", [("X-Other", "3")]) == (200, [(b"x-other", b"3")])
    for n in range(asgi._REMEMBERED + 5):
        assert serve(f"{200 + n % 300} Status {n}", [(f"X-N{n}", "v")]) == (
            200 + n % 300,
            [(f"x-n{n}".encode(), b"v")],
        )
    assert len(asgi._STATUS_CODES) <= asgi._REMEMBERED
    assert len(asgi._HEADER_NAMES) <= asgi._REMEMBERED
