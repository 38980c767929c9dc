"""Lifespan hooks: added with ``config.add_lifespan_hook``, run by the ASGI adapter."""

import asyncio

from pyramid.config import Configurator
from pyramid.response import Response

from aiopyramid.asgi import ASGIApplication


def app_with_hooks(calls, *, fail=""):
    """An application whose hooks record their calls in ``calls``; ``fail`` names one to break."""

    def hook(name):
        async def run():
            calls.append(name)
            if name == fail:
                raise RuntimeError(f"{name} broke")

        return run

    config = Configurator(settings={"pyramid.includes": "aiopyramid"})
    config.add_lifespan_hook(startup=hook("open a"), shutdown=hook("close a"))
    config.add_lifespan_hook(startup=hook("open b"), shutdown=hook("close b"))
    config.add_route("home", "/")
    config.add_view(lambda request: Response("ok"), route_name="home")
    return ASGIApplication(config.make_wsgi_app())


def run_lifespan(app):
    """Send startup then shutdown; return what the application answered to each."""
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = []

    async def receive():
        return inbox.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))
    return sent


def test_hooks_run_at_startup_in_order_and_at_shutdown_in_reverse():
    calls = []
    sent = run_lifespan(app_with_hooks(calls))
    assert [message["type"] for message in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert calls == ["open a", "open b", "close b", "close a"]


def test_a_failing_startup_hook_is_reported_to_the_server():
    calls = []
    sent = run_lifespan(app_with_hooks(calls, fail="open a"))
    assert sent[0] == {
        "type": "lifespan.startup.failed",
        "message": "RuntimeError('open a broke')",
    }
    assert calls[0] == "open a"
    assert "open b" not in calls


def test_every_shutdown_hook_runs_even_if_one_fails():
    calls = []
    sent = run_lifespan(app_with_hooks(calls, fail="close b"))
    assert sent[1] == {
        "type": "lifespan.shutdown.failed",
        "message": "RuntimeError('close b broke')",
    }
    assert calls[-2:] == ["close b", "close a"]


def test_an_application_without_hooks_just_acknowledges():
    config = Configurator(settings={"pyramid.includes": "aiopyramid"})
    sent = run_lifespan(ASGIApplication(config.make_wsgi_app()))
    assert [message["type"] for message in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
