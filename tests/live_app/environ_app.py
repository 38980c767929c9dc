"""A bare WSGI app that answers with the request's WSGI environ, as JSON.

tests/test_environ_reference.py serves it with gunicorn (aiopyramid's worker wraps
it for ASGI) and with waitress, sends both the same raw requests, and compares.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

COMPARED_KEYS = (
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "SERVER_PROTOCOL",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "REMOTE_ADDR",
    "wsgi.url_scheme",
)
"""The environ keys compared; the server's name, port and software differ by nature."""


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer with the compared keys, every ``HTTP_*`` key and the body (as latin-1)."""
    seen = {key: environ.get(key) for key in COMPARED_KEYS}
    seen.update((key, value) for key, value in environ.items() if key.startswith("HTTP_"))
    seen["body"] = environ["wsgi.input"].read().decode("latin-1")
    data = json.dumps(seen, sort_keys=True).encode("utf-8")
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]
