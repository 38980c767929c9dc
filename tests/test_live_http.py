"""HTTP at the edges, live: early 413s, HEAD, 404, and requests the server must reject.

The live test app runs under ``pserve`` (gunicorn with aiopyramid's worker). Most
malformed requests never reach aiopyramid: gunicorn's parser answers them itself,
and these tests pin down what it answers, so a gunicorn upgrade that changes it
shows up here.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from testkit.raw import raw_http, read_head, status_of
from testkit.server import ServerProcess
from tests.live_app import ini_settings, launch

MAX_BODY_SIZE = int(ini_settings()["aiopyramid.max_body_size"])
TIMEOUT = 15.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with launch.pserve(tmp_path_factory.mktemp("live_http")) as server:
        yield server


def head(server: ServerProcess, method: str, path: str, *lines: str) -> bytes:
    """A request's head: request line, Host, the given header lines, the empty line."""
    fields = [f"{method} {path} HTTP/1.1", f"Host: {server.host}:{server.port}", *lines]
    return ("\r\n".join(fields) + "\r\n\r\n").encode("latin-1")


# -- bodies over the limit --------------------------------------------------------


@pytest.mark.parametrize("path", ["/body", "/body-legacy"])
def test_a_declared_body_over_the_limit_gets_413_before_it_is_sent(
    server: ServerProcess, path: str
) -> None:
    """A Content-Length over the limit is answered at once: the client need not send it."""
    declared = 100 * MAX_BODY_SIZE
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as sock:
        sock.sendall(head(server, "POST", path, f"Content-Length: {declared}") + b"x" * 1000)
        answer = read_head(sock)  # 1000 of the declared bytes sent, the rest never
    assert status_of(answer) == 413, answer


@pytest.mark.parametrize("path", ["/body", "/body-legacy"])
def test_a_chunked_body_over_the_limit_gets_413_before_it_ends(
    server: ServerProcess, path: str
) -> None:
    """A chunked body is refused once it passes the limit, while the client still sends."""
    chunk = b"y" * 8192
    chunks_over_the_limit = MAX_BODY_SIZE // len(chunk) + 2
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as sock:
        sock.sendall(head(server, "POST", path, "Transfer-Encoding: chunked"))
        for _ in range(chunks_over_the_limit):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = read_head(sock)  # the terminating chunk was never sent
    assert status_of(answer) == 413, answer
    assert b"413" in answer.split(b"\r\n", 1)[0]


# -- ordinary edges -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/no/such/page", "/sleepy", "/stats/extra"])
def test_unknown_route_gets_404(server: ServerProcess, path: str) -> None:
    assert httpx.get(server.url(path), timeout=TIMEOUT).status_code == 404


@pytest.mark.parametrize("path", ["/plain", "/plain-legacy", "/sleep?sleep=0"])
def test_head_answers_like_get_without_a_body(server: ServerProcess, path: str) -> None:
    """HEAD gets GET's status and Content-Length, and no body: the next response follows."""
    get = httpx.get(server.url(path), timeout=TIMEOUT)
    pipelined = head(server, "HEAD", path) + head(server, "GET", "/plain", "Connection: close")
    first, _, rest = raw_http(server.host, server.port, pipelined).partition(b"\r\n\r\n")
    assert status_of(first) == get.status_code == 200
    assert f"content-length: {len(get.content)}".encode() in first.lower()
    assert status_of(rest) == 200, f"HEAD's response had a body: {rest[:80]!r}"


# -- malformed requests --------------------------------------------------------------

HOST = b"Host: 127.0.0.1\r\nConnection: close\r\n"
MALFORMED = {
    "not HTTP at all": (b"GARBAGE\r\n\r\n", 400),
    "unknown HTTP version": (b"GET / HTTP/9.9\r\n" + HOST + b"\r\n", 400),
    "malformed version": (b"GET / HTTP/1.x\r\n" + HOST + b"\r\n", 400),
    "NUL in the target": (b"GET /\x00 HTTP/1.1\r\n" + HOST + b"\r\n", 400),
    "space in the target": (b"GET /a b HTTP/1.1\r\n" + HOST + b"\r\n", 400),
    "raw non-ASCII target": (b"GET /caf\xc3\xa9 HTTP/1.1\r\n" + HOST + b"\r\n", 400),
    "lowercase method": (b"get / HTTP/1.1\r\n" + HOST + b"\r\n", 400),
    "header without colon": (b"GET / HTTP/1.1\r\n" + HOST + b"NoColon\r\n\r\n", 400),
    "space before colon": (b"GET / HTTP/1.1\r\n" + HOST + b"X-A : 1\r\n\r\n", 400),
    "bad header name": (b"GET / HTTP/1.1\r\n" + HOST + b"X(A): 1\r\n\r\n", 400),
    "control char in value": (b"GET / HTTP/1.1\r\n" + HOST + b"X-A: a\x01b\r\n\r\n", 400),
    "folded header": (b"GET / HTTP/1.1\r\n" + HOST + b"X-A: a\r\n  b\r\n\r\n", 400),
    "bare LF line ends": (b"GET / HTTP/1.1\nHost: h\nConnection: close\n\n", 400),
    "two Host headers": (b"GET / HTTP/1.1\r\n" + HOST + b"Host: other\r\n\r\n", 400),
    "two Content-Length headers": (
        b"POST /body HTTP/1.1\r\n" + HOST + b"Content-Length: 1\r\nContent-Length: 1\r\n\r\na",
        400,
    ),
    "Content-Length list": (
        b"POST /body HTTP/1.1\r\n" + HOST + b"Content-Length: 1, 2\r\n\r\na",
        400,
    ),
    "Content-Length with chunked": (
        b"POST /body HTTP/1.1\r\n"
        + HOST
        + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "Transfer-Encoding not chunked": (
        b"POST /body HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: gzip\r\n\r\n",
        400,
    ),
    "bad chunk size": (
        b"POST /body HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
        400,
    ),
    # Over gunicorn's size limits the answer is the specific status RFC 9110 and
    # RFC 6585 name: 414 for the request line, 431 for header fields.
    "request line over 4094 bytes": (
        b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n" + HOST + b"\r\n",
        414,
    ),
    "more than 100 headers": (
        b"GET / HTTP/1.1\r\n" + HOST + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n",
        431,
    ),
    "header over 8190 bytes": (
        b"GET / HTTP/1.1\r\n" + HOST + b"X-Big: " + b"a" * 8200 + b"\r\n\r\n",
        431,
    ),
}


@pytest.mark.parametrize(("request_bytes", "status"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_requests_are_rejected_by_the_server(
    server: ServerProcess, request_bytes: bytes, status: int
) -> None:
    answer = raw_http(server.host, server.port, request_bytes)
    assert status_of(answer) == status, answer[:200]
    assert b"Traceback" not in answer


def test_the_worker_serves_on_after_malformed_requests(server: ServerProcess) -> None:
    before = httpx.get(server.url("/stats"), timeout=TIMEOUT).json()
    for request_bytes, _ in MALFORMED.values():
        raw_http(server.host, server.port, request_bytes)
    after = httpx.get(server.url("/stats"), timeout=TIMEOUT).json()
    assert after["pid"] == before["pid"]
    assert after["request_greenlets"] == 1
