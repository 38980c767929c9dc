"""Talk HTTP/1.1 to a server byte by byte, for requests no client library would send."""

from __future__ import annotations

import socket

__all__ = ["raw_http", "read_head", "status_of"]


def raw_http(host: str, port: int, request: bytes, *, timeout: float = 15.0) -> bytes:
    """Send ``request`` as it is; return what the server answers until it closes (64 kB at most)."""
    received = b""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        while len(received) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    return received


def read_head(sock: socket.socket) -> bytes:
    """Read from ``sock`` until the end of a response's headers; return the status and headers.

    Whatever came after them (the start of the body) is dropped.
    """
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"the server closed the connection after {received!r}")
        received += chunk
    return received.split(b"\r\n\r\n", 1)[0]


def status_of(answer: bytes) -> int:
    """The status code of the response that ``answer`` starts with."""
    version, status, *_ = answer.split(b"\r\n", 1)[0].split(b" ", 2)
    if not version.startswith(b"HTTP/1."):
        raise ValueError(f"not an HTTP/1.x response: {answer[:80]!r}")
    return int(status)
