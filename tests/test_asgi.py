"""The ASGI adapter: environ, request bodies, streamed responses, errors, lifespan."""

import asyncio
import logging
import sys

import pytest

from aiopyramid.asgi import ASGIApplication, app_from_config, app_from_environ, is_asgi_app
from aiopyramid.environ import build_environ
from aiopyramid.settings import AiopyramidSettings


def scope_for(path="/", **overrides):
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "server": ("127.0.0.1", 6543),
        "client": ("10.0.0.7", 4242),
    }
    scope.update(overrides)
    return scope


def test_environ_has_every_pep_3333_key():
    scope = scope_for(
        "/shop/caf\u00e9",
        raw_path=b"/shop/caf%C3%A9",
        root_path="/shop",
        query_string=b"a=1&b=%20",
        method="POST",
        headers=[
            (b"host", b"example.org"),
            (b"content-type", b"text/plain"),
            (b"content-length", b"3"),
            (b"x-forwarded-for", b"1.1.1.1"),
            (b"x-forwarded-for", b"2.2.2.2"),
            (b"cookie", b"a=1"),
            (b"cookie", b"b=2"),
        ],
    )
    environ = build_environ(scope, body="BODY")
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["SCRIPT_NAME"] == "/shop"
    assert environ["PATH_INFO"] == "/caf\u00c3\u00a9"  # UTF-8 bytes seen as latin-1, as in WSGI
    assert environ["QUERY_STRING"] == "a=1&b=%20"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("127.0.0.1", "6543")
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("10.0.0.7", "4242")
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert environ["CONTENT_LENGTH"] == "3"
    assert environ["HTTP_HOST"] == "example.org"
    assert environ["HTTP_X_FORWARDED_FOR"] == "1.1.1.1, 2.2.2.2"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert environ["wsgi.input"] == "BODY"
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["wsgi.version"] == (1, 0)
    assert environ["wsgi.errors"] is sys.stderr
    assert environ["asgi.scope"] is scope
    assert "HTTP_CONTENT_TYPE" not in environ


def test_environ_without_raw_path_or_server_and_for_websockets():
    scope = scope_for("/a b", scheme="wss", server=None, client=None, type="websocket")
    del scope["method"]
    environ = build_environ(scope, body=None)
    assert environ["PATH_INFO"] == "/a b"
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["wsgi.url_scheme"] == "https"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("localhost", "443")
    assert "REMOTE_ADDR" not in environ


def test_root_path_not_included_in_path_is_kept_out_of_path_info():
    environ = build_environ(scope_for("/page", root_path="/app"), body=None)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app", "/page")


@pytest.mark.parametrize(
    ("raw_path", "path_info"),
    [(b"/app", ""), (b"/app/", "/"), (b"/app/x", "/x"), (b"/apple", "/apple"), (b"/ap", "/ap")],
)
def test_root_path_is_removed_only_at_a_segment_boundary(raw_path, path_info):
    scope = scope_for(raw_path.decode(), raw_path=raw_path, root_path="/app")
    assert build_environ(scope, body=None)["PATH_INFO"] == path_info


@pytest.mark.parametrize(
    ("raw_path", "query", "path_info", "query_string"),
    [
        (b"http://example.org/a%2Fb", b"q=1", "/a/b", "q=1"),
        (b"https://example.org", b"", "/", ""),
        (b"/page#top", b"", "/page", ""),
        (b"/page", b"q=1#top", "/page", "q=1"),
    ],
    ids=["absolute-form", "absolute-form-without-path", "fragment-in-path", "fragment-in-query"],
)
def test_absolute_form_targets_and_fragments(raw_path, query, path_info, query_string):
    """What gunicorn passes on whole is cut to what a WSGI server would give."""
    environ = build_environ(scope_for("/", raw_path=raw_path, query_string=query), body=None)
    assert (environ["PATH_INFO"], environ["QUERY_STRING"]) == (path_info, query_string)


def test_header_names_with_underscores_are_dropped():
    """X_User would otherwise land on HTTP_X_USER, where the app looks for X-User."""
    headers = [(b"x-user", b"alice"), (b"x_user", b"admin"), (b"content_type", b"evil")]
    environ = build_environ(scope_for(headers=headers), body=None)
    assert environ["HTTP_X_USER"] == "alice"
    assert "CONTENT_TYPE" not in environ
    assert "HTTP_CONTENT_TYPE" not in environ


class Recorder:
    """Collects what the adapter sends and feeds it body chunks."""

    def __init__(self, chunks=(b"",), disconnect=False):
        self.inbox = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)
        ]
        if disconnect:
            self.inbox[-1]["more_body"] = True
            self.inbox.append({"type": "http.disconnect"})
        self.sent = []

    async def receive(self):
        return self.inbox.pop(0)

    async def send(self, message):
        self.sent.append(message)

    @property
    def status(self):
        return self.sent[0]["status"]

    @property
    def body(self):
        return b"".join(m.get("body", b"") for m in self.sent[1:])


CHUNKED = [(b"transfer-encoding", b"chunked")]


def serve(wsgi_app, scope=None, recorder=None, settings=None):
    recorder = recorder or Recorder()
    scope = scope or scope_for(headers=CHUNKED)
    app = ASGIApplication(wsgi_app, settings)
    asyncio.run(app(scope, recorder.receive, recorder.send))
    return recorder


def body_echo(environ, start_response):
    data = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(len(data)).encode(), b":", data[:5]]


SMALL = AiopyramidSettings(max_body_size=10)


def test_body_up_to_the_limit_arrives_intact_in_chunks():
    recorder = serve(body_echo, recorder=Recorder([b"12345", b"67890"]), settings=SMALL)
    assert recorder.status == 200
    assert recorder.body == b"10:12345"


def test_declared_body_over_the_limit_gets_413_without_calling_the_app():
    def never(environ, start_response):
        raise AssertionError("the app must not run")

    headers = [(b"content-length", b"11")]
    recorder = serve(never, scope_for(headers=headers), settings=SMALL)
    assert recorder.status == 413
    assert b"larger than the limit of 10 bytes" in recorder.body


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded; charset=latin-1",
        "multipart/form-data; boundary=x; charset=ISO-8859-1",
        'application/x-www-form-urlencoded; charset="windows-1252"',
    ],
)
def test_form_data_in_another_charset_than_utf8_gets_415(content_type):
    def never(environ, start_response):
        raise AssertionError("the app must not run")

    headers = [(b"content-type", content_type.encode()), (b"content-length", b"7")]
    recorder = serve(never, scope_for(method="POST", headers=headers), Recorder([b"sleep=1"]))
    assert recorder.status == 415
    assert b"Form data must be sent in UTF-8" in recorder.body


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        'application/x-www-form-urlencoded; charset="utf8"',
        "application/json; charset=latin-1",  # not a form: WebOb decodes it as asked
    ],
)
def test_utf8_forms_and_other_media_types_reach_the_app(content_type):
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"7")]
    recorder = serve(body_echo, scope_for(method="POST", headers=headers), Recorder([b"sleep=1"]))
    assert recorder.status == 200


def test_a_latin1_form_would_fail_in_pyramid_without_the_refusal():
    from pyramid.request import Request

    request = Request.blank(
        "/", POST="a=1", content_type="application/x-www-form-urlencoded; charset=latin-1"
    )
    with pytest.raises(DeprecationWarning):
        request.POST  # noqa: B018 (reading it is what fails)


def test_invalid_content_length_gets_400():
    headers = [(b"content-length", b"ten")]
    recorder = serve(body_echo, scope_for(headers=headers), settings=SMALL)
    assert recorder.status == 400
    assert b"Invalid Content-Length" in recorder.body


def test_streamed_body_over_the_limit_gets_413_through_pyramid():
    from pyramid.config import Configurator
    from pyramid.response import Response

    with Configurator(settings={"aiopyramid.max_body_size": "10"}) as config:
        config.include("aiopyramid")
        config.add_route("upload", "/upload")
        config.add_view(lambda r: Response(str(len(r.body))), route_name="upload")
    recorder = Recorder([b"123456", b"789012"])
    serve(config.make_wsgi_app(), scope_for("/upload", method="POST", headers=CHUNKED), recorder)
    assert recorder.status == 413


def test_readline_and_sized_reads():
    def lines(environ, start_response):
        stream = environ["wsgi.input"]
        first = stream.readline()
        part = stream.read(3)
        rest = stream.readlines()
        start_response("200 OK", [])
        return [repr((first, part, rest)).encode()]

    recorder = serve(lines, recorder=Recorder([b"one\ntw", b"o\nthree\nfour"]))
    assert recorder.body == repr((b"one\n", b"two", [b"\n", b"three\n", b"four"])).encode()


def test_client_disconnect_while_reading_is_not_a_server_error(caplog):
    recorder = Recorder([b"part"], disconnect=True)
    with caplog.at_level(logging.DEBUG, logger="aiopyramid.asgi"):
        serve(body_echo, recorder=recorder)
    assert recorder.sent == []
    assert "client disconnected" in caplog.text


def test_response_streams_chunk_by_chunk():
    events = []

    def streaming(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Many", "1")])

        def chunks():
            for n in range(3):
                events.append(f"produce {n}")
                yield f"chunk {n};".encode()

        return chunks()

    class OrderedRecorder(Recorder):
        async def send(self, message):
            events.append(f"send {message['type']}")
            await super().send(message)

    recorder = serve(streaming, recorder=OrderedRecorder())
    assert events == [
        "produce 0",
        "send http.response.start",
        "send http.response.body",
        "produce 1",
        "send http.response.body",
        "produce 2",
        "send http.response.body",
        "send http.response.body",
    ]
    assert recorder.body == b"chunk 0;chunk 1;chunk 2;"
    assert (b"x-many", b"1") in recorder.sent[0]["headers"]


def test_write_callable_and_app_iter_close():
    closed = []

    class Body(list):
        def close(self):
            closed.append(True)

    def legacy(environ, start_response):
        write = start_response("201 Created", [])
        write(b"written ")
        return Body([b"", b"returned"])

    recorder = serve(legacy)
    assert recorder.status == 201
    assert recorder.body == b"written returned"
    assert closed == [True]


def test_empty_body_still_starts_the_response():
    def empty(environ, start_response):
        start_response("204 No Content", [])
        return []

    recorder = serve(empty)
    assert recorder.status == 204
    assert recorder.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


def test_a_request_without_a_body_is_not_read_from_the_client():
    def reads(environ, start_response):
        start_response("200 OK", [])
        return [environ["wsgi.input"].read()]

    recorder = Recorder()
    recorder.inbox.clear()  # receive() would fail: nothing may be read
    serve(reads, scope_for(), recorder)
    assert (recorder.status, recorder.body) == (200, b"")


def test_start_response_with_exc_info_replaces_unsent_headers():
    def recovers(environ, start_response):
        start_response("200 OK", [("X-First", "1")])
        try:
            raise ValueError("late failure")
        except ValueError:
            start_response("500 Internal Server Error", [("X-Second", "1")], sys.exc_info())
        return [b"recovered"]

    recorder = serve(recovers)
    assert recorder.status == 500
    assert recorder.sent[0]["headers"] == [(b"x-second", b"1")]


def test_start_response_with_exc_info_after_headers_sent_reraises(caplog):
    def fails_late(environ, start_response):
        start_response("200 OK", [])
        yield b"first"
        try:
            raise ValueError("after headers")
        except ValueError:
            start_response("500 Internal Server Error", [], sys.exc_info())

    with pytest.raises(ValueError, match="after headers"):
        serve(fails_late)
    assert "error while serving GET /" in caplog.text


def test_start_response_twice_without_exc_info_is_an_error():
    def twice(environ, start_response):
        start_response("200 OK", [])
        start_response("200 OK", [])
        return []

    recorder = serve(twice)
    assert recorder.status == 500


def test_body_before_start_response_is_an_error():
    recorder = serve(lambda environ, start_response: [b"oops"])
    assert recorder.status == 500


def test_exception_before_the_response_gives_500_and_is_logged(caplog):
    def broken(environ, start_response):
        raise RuntimeError("broken app")

    recorder = serve(broken)
    assert recorder.status == 500
    assert recorder.body == b"Internal Server Error"
    assert "broken app" in caplog.text


def test_lifespan_startup_and_shutdown_are_acknowledged():
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = []

    async def receive():
        return inbox.pop(0)

    async def send(message):
        sent.append(message["type"])

    asyncio.run(ASGIApplication(body_echo)({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_unknown_scope_type_is_refused():
    with pytest.raises(ValueError, match="'telepathy'"):
        asyncio.run(ASGIApplication(body_echo)({"type": "telepathy"}, None, None))


def test_is_asgi_app():
    async def asgi(scope, receive, send):
        pass

    assert is_asgi_app(asgi)
    assert is_asgi_app(ASGIApplication(body_echo))
    assert not is_asgi_app(body_echo)


def test_app_from_environ_needs_the_variable(monkeypatch):
    monkeypatch.delenv("AIOPYRAMID_CONFIG", raising=False)
    with pytest.raises(RuntimeError, match="set AIOPYRAMID_CONFIG"):
        app_from_environ()


def test_app_from_config_loads_the_ini(tmp_path, monkeypatch):
    ini = tmp_path / "app.ini"
    ini.write_text(
        "[app:main]\nuse = call:tests.test_asgi:make_pyramid_app\naiopyramid.max_body_size = 77\n"
    )
    monkeypatch.setenv("AIOPYRAMID_CONFIG", str(ini))
    app = app_from_environ()
    assert isinstance(app, ASGIApplication)
    assert app.settings.max_body_size == 77
    assert app_from_config(str(ini)).settings.max_body_size == 77


def make_pyramid_app(global_config, **settings):
    from pyramid.config import Configurator

    with Configurator(settings=settings) as config:
        config.include("aiopyramid")
    return config.make_wsgi_app()
