"""View mappers: coroutine, executor, both, and how they treat every kind of view."""

import asyncio
import functools
import threading

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.interfaces import IViewMapperFactory
from pyramid.response import Response
from pyramid.testing import DummyRequest

from aiopyramid.asgi import ASGIApplication
from aiopyramid.config import (
    AsyncioMapperBase,
    CoroutineMapper,
    CoroutineOrExecutorMapper,
    ExecutorMapper,
    _is_coroutine_like,
)
from aiopyramid.exceptions import ScopeError
from aiopyramid.testing import AppClient, call_view
from testkit.asgi import asgi_get


async def request_only(request):
    await asyncio.sleep(0)
    return f"request-only {request.params.get('q')}"


async def context_and_request(context, request):
    await asyncio.sleep(0)
    return f"context {context} {request.params.get('q')}"


def blocking(request):
    return f"blocking in {threading.current_thread().name}"


class ClassView:
    def __init__(self, request):
        self.request = request

    async def __call__(self):
        return "class __call__"

    async def other(self):
        return "class attr"

    def sync_other(self):
        return "class sync attr"


class ContextClassView:
    def __init__(self, context, request):
        self.context = context

    async def __call__(self):
        return f"class with context {self.context}"


def test_including_aiopyramid_makes_coroutine_or_executor_the_default():
    with Configurator() as config:
        config.include("aiopyramid")
    assert config.registry.queryUtility(IViewMapperFactory) is CoroutineOrExecutorMapper


@pytest.mark.parametrize("mapper", [CoroutineMapper, CoroutineOrExecutorMapper])
def test_coroutine_views_with_both_signatures(mapper):
    request = DummyRequest(params={"q": "x"})
    assert call_view(request_only, request, mapper=mapper) == "request-only x"
    answer = call_view(context_and_request, request, "ctx", mapper=mapper)
    assert answer == "context ctx x"


@pytest.mark.parametrize("mapper", [CoroutineMapper, CoroutineOrExecutorMapper])
def test_class_based_coroutine_views(mapper):
    request = DummyRequest()
    assert call_view(ClassView, request, mapper=mapper) == "class __call__"
    assert call_view(ClassView, request, mapper=mapper, attr="other") == "class attr"
    answer = call_view(ContextClassView, request, "c", mapper=mapper)
    assert answer == "class with context c"


@pytest.mark.parametrize("mapper", [ExecutorMapper, CoroutineOrExecutorMapper])
def test_synchronous_views_run_in_an_executor_thread(mapper):
    result = call_view(blocking, DummyRequest(), mapper=mapper)
    assert result.startswith("blocking in ")
    assert threading.current_thread().name not in result
    assert call_view(ClassView, DummyRequest(), mapper=mapper, attr="sync_other") == (
        "class sync attr"
    )


def test_executor_view_outside_a_greenlet_is_called_directly():
    mapped = ExecutorMapper()(blocking)
    assert mapped(None, DummyRequest()) == f"blocking in {threading.current_thread().name}"


def test_coroutine_view_outside_a_greenlet_raises_scope_error():
    mapped = CoroutineMapper()(request_only)
    with pytest.raises(ScopeError, match="request greenlet"):
        mapped(None, DummyRequest())


def commit_with(mapper, view, **view_options):
    config = Configurator()
    config.add_view(view, mapper=mapper, **view_options)
    config.commit()


def test_coroutine_mapper_rejects_a_plain_view_with_its_name():
    with pytest.raises(ConfigurationError) as info:
        commit_with(CoroutineMapper, blocking)
    assert "blocking" in str(info.value)
    assert "async def" in str(info.value)


def test_coroutine_mapper_rejects_a_plain_class_method_with_its_name():
    with pytest.raises(ConfigurationError, match="ClassView"):
        commit_with(CoroutineMapper, ClassView, attr="sync_other")


def test_executor_mapper_rejects_a_coroutine_with_its_name():
    with pytest.raises(ConfigurationError) as info:
        commit_with(ExecutorMapper, request_only)
    assert "request_only" in str(info.value)
    assert "ExecutorMapper" in str(info.value)


def test_the_base_mapper_is_abstract():
    with pytest.raises(NotImplementedError):
        AsyncioMapperBase()(request_only)


def make_app(mapper=None):
    with Configurator() as config:
        config.include("aiopyramid")
        if mapper is not None:
            config.set_view_mapper(mapper)
        config.add_route("fast", "/fast")
        config.add_view(lambda request: Response("fast"), route_name="fast", mapper=ExecutorMapper)
        config.add_route("coroutine", "/coroutine")
        config.add_view(request_only, route_name="coroutine", renderer="string")
    return config.make_wsgi_app()


def test_coroutine_mapper_as_default_keeps_pyramids_own_views_working():
    # Pyramid's default exception view is a plain function; it must still render 404s.
    with AppClient(make_app(CoroutineMapper)) as client:
        assert client.get("/missing").status == 404
        assert client.get("/coroutine?q=1").text == "request-only 1"


def test_a_blocking_legacy_view_does_not_delay_coroutine_views():
    started, release = threading.Event(), threading.Event()

    def blocking_until_released(request):
        started.set()
        # Held until the quick request has been answered: if this blocked the event
        # loop, the quick request could not be, and the wait would time out.
        return Response("released" if release.wait(timeout=30) else "timed out")

    async def quick(request):
        return Response("quick")

    with Configurator() as config:
        config.include("aiopyramid")
        config.add_route("blocking", "/blocking")
        config.add_route("quick", "/quick")
        config.add_view(blocking_until_released, route_name="blocking")
        config.add_view(quick, route_name="quick")
    app = ASGIApplication(config.make_wsgi_app())

    async def main():
        blocked = asyncio.ensure_future(asgi_get(app, "/blocking"))
        while not started.is_set():
            await asyncio.sleep(0)
        quick_body = await asgi_get(app, "/quick")
        answered_while_blocked = not blocked.done()
        release.set()
        return quick_body, answered_while_blocked, await blocked

    assert asyncio.run(main()) == (b"quick", True, b"released")


def test_coroutine_views_can_read_a_streamed_body():
    async def upload(request):
        await asyncio.sleep(0)
        return Response(f"{len(request.body)} {request.body[-3:].decode()}")

    with Configurator() as config:
        config.include("aiopyramid")
        config.add_route("upload", "/upload")
        config.add_view(upload, route_name="upload")
    with AppClient(config.make_wsgi_app()) as client:
        chunks = [b"x" * 40_000, b"y" * 40_000, b"end"]
        assert client.request("POST", "/upload", body=chunks).text == "80003 end"


class CallableCoroutine:
    async def __call__(self, request):
        return None


class CallablePlain:
    def __call__(self, request):
        return None


def legacy_generator(request):
    yield "aiopyramid 0.4 ran this as a coroutine"


async def async_generator(request):
    yield None


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (request_only, True),
        (functools.partial(request_only), True),
        (CallableCoroutine(), True),
        (legacy_generator, True),
        (async_generator, True),
        (blocking, False),
        (CallablePlain(), False),
        (CallableCoroutine, False),
        (len, False),
    ],
)
def test_mappers_treat_coroutine_and_generator_functions_as_coroutine_views(view, expected):
    assert _is_coroutine_like(view) is expected
