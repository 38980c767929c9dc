"""Pyramid's current request and registry stay right while requests interleave."""

import asyncio
import inspect
import threading
from collections.abc import Iterator

import pytest
from pyramid.config import Configurator
from pyramid.response import Response
from pyramid.threadlocal import (
    ThreadLocalManager,
    get_current_registry,
    get_current_request,
    manager,
)

from aiopyramid.asgi import ASGIApplication
from aiopyramid.threadlocal import (
    ContextLocalManager,
    ContextStack,
    make_request_stack_context_local,
)
from testkit.asgi import asgi_get

A = {"request": "a", "registry": "registry a"}
B = {"request": "b", "registry": "registry b"}
C = {"request": "c", "registry": "registry c"}


@pytest.fixture
def context_local() -> Iterator[None]:
    """Pyramid's manager switched to the context-local stack, left empty afterwards."""
    make_request_stack_context_local()
    yield
    manager.clear()


async def coroutine_view(request):
    before = get_current_request()
    await asyncio.sleep(0.01 * (int(request.params["n"]) % 7))
    after = get_current_request()
    assert get_current_registry() is request.registry
    return Response(f"{request.params['n']} {before is request} {after is request}")


def legacy_view(request):
    same = get_current_request() is request and get_current_registry() is request.registry
    return Response(f"{request.params['n']} {threading.current_thread().name} {same}")


def make_app():
    with Configurator() as config:
        config.include("aiopyramid")
        config.add_route("coroutine", "/coroutine")
        config.add_route("legacy", "/legacy")
        config.add_view(coroutine_view, route_name="coroutine")
        config.add_view(legacy_view, route_name="legacy")
    return config.make_wsgi_app()


def test_including_aiopyramid_makes_the_manager_context_local():
    make_app()
    assert isinstance(manager, ContextLocalManager)


def test_150_interleaved_coroutine_requests_each_see_their_own_request():
    app = ASGIApplication(make_app())

    async def main():
        return await asyncio.gather(*(asgi_get(app, f"/coroutine?n={n}") for n in range(150)))

    bodies = [body.decode() for body in asyncio.run(main())]
    assert bodies == [f"{n} True True" for n in range(150)]


def test_executor_threads_see_the_request_that_sent_them():
    app = ASGIApplication(make_app())

    async def main():
        return await asyncio.gather(*(asgi_get(app, f"/legacy?n={n}") for n in range(40)))

    bodies = [body.decode() for body in asyncio.run(main())]
    for n, body in enumerate(bodies):
        number, thread, same = body.split()
        assert number == str(n)
        assert thread != threading.current_thread().name
        assert same == "True"


def test_stack_is_empty_again_after_requests():
    app = ASGIApplication(make_app())
    asyncio.run(asgi_get(app, "/coroutine?n=1"))
    assert get_current_request() is None


@pytest.mark.usefixtures("context_local")
def test_new_threads_start_with_pyramid_defaults():
    manager.push({"request": "outer", "registry": "outer-registry"})
    try:
        seen = []
        thread = threading.Thread(target=lambda: seen.append(get_current_request()))
        thread.start()
        thread.join()
        assert seen == [None]
        assert get_current_request() == "outer"
    finally:
        manager.pop()


@pytest.mark.usefixtures("context_local")
def test_manager_stack_attribute_round_trips():
    manager.stack = [{"request": 1, "registry": 2}]
    try:
        assert manager.stack == [{"request": 1, "registry": 2}]
        assert manager.pop() == {"request": 1, "registry": 2}
        assert manager.pop() is None
    finally:
        manager.clear()
    assert manager.stack == []


@pytest.mark.usefixtures("context_local")
def test_the_stack_attribute_changes_the_current_stack_like_a_list():
    manager.stack.append(A)
    assert get_current_request() == "a"
    manager.stack.extend([B, C])
    assert get_current_request() == "c"
    assert manager.stack.index(B) == 1
    assert B in manager.stack
    assert manager.stack.count(A) == 1
    assert len(manager.stack) == 3
    assert manager.stack[-1] is C
    assert manager.stack[:2] == [A, B]
    assert list(manager.stack) == [A, B, C]
    assert manager.stack.pop() is C
    assert get_current_request() == "b"
    manager.stack.insert(0, C)
    assert manager.stack == [C, A, B]
    manager.stack.remove(A)
    manager.stack[0] = A
    assert manager.stack == [A, B]
    del manager.stack[-1]
    manager.stack += [C]
    manager.stack.reverse()
    assert manager.stack == [C, A]
    manager.stack[:] = []  # how Pyramid's own manager empties its stack
    assert manager.stack == []
    assert get_current_request() is None
    manager.stack.append(A)
    assert manager.stack == manager.stack
    assert repr(manager.stack) == f"ContextStack({[A]!r})"
    manager.stack.clear()
    assert get_current_request() is None


@pytest.mark.usefixtures("context_local")
@pytest.mark.parametrize(
    "mutate",
    [
        lambda stack: stack.sort(),
        lambda stack: stack.copy(),
        lambda stack: stack + [A],  # noqa: RUF005  (the + operator is what is tested)
    ],
    ids=["sort", "copy", "add"],
)
def test_list_operations_the_stack_does_not_offer_fail_loudly(mutate):
    manager.stack.append(B)
    with pytest.raises((AttributeError, TypeError)):
        mutate(manager.stack)
    assert manager.stack == [B]


@pytest.mark.usefixtures("context_local")
def test_each_task_mutates_its_own_stack():
    async def push_and_look(info, others_pushed):
        manager.stack.append(info)
        await others_pushed.wait()
        return list(manager.stack)

    async def main():
        both_pushed = asyncio.Event()
        tasks = [asyncio.create_task(push_and_look(info, both_pushed)) for info in (A, B)]
        await asyncio.sleep(0)
        both_pushed.set()
        return await asyncio.gather(*tasks)

    manager.stack.append(C)
    assert asyncio.run(main()) == [[C, A], [C, B]]
    assert manager.stack == [C]


PYRAMIDS_MANAGER = {"clear", "default", "get", "pop", "push", "set", "stack"}
"""The public interface of Pyramid's ThreadLocalManager, as far as the replacement knows."""


def public_interface(cls: type) -> set[str]:
    """What ``cls`` itself defines by name: methods, properties and instance attributes."""
    defined = {name for name in vars(cls) if not name.startswith("_")}
    return defined | {name for name in vars(cls(default=dict)) if not name.startswith("_")}


def test_the_replacement_covers_exactly_pyramids_manager_interface():
    """Fails the day Pyramid's ThreadLocalManager gains, loses or renames a method.

    ContextLocalManager inherits from Pyramid's manager, so a new method would run,
    on the list-like stack; this test makes someone check that it does the right
    thing, and define it in ContextLocalManager.
    """
    assert public_interface(ThreadLocalManager) == PYRAMIDS_MANAGER, (
        "Pyramid's ThreadLocalManager changed: cover the change in "
        "aiopyramid.threadlocal.ContextLocalManager, then update PYRAMIDS_MANAGER"
    )
    assert public_interface(ContextLocalManager) == PYRAMIDS_MANAGER
    for name in ("clear", "get", "pop", "push", "set"):
        ours = inspect.signature(getattr(ContextLocalManager, name)).parameters
        pyramids = inspect.signature(getattr(ThreadLocalManager, name)).parameters
        assert list(ours) == list(pyramids), name
    assert isinstance(ContextLocalManager(default=dict).stack, ContextStack)
