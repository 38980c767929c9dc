"""The greenlet bridge: synchronize, spawn_greenlet, use_executor, is_generator."""

import asyncio
import contextvars
import functools
import gc
import threading
import traceback
import weakref
from concurrent.futures import ThreadPoolExecutor

import greenlet
import pytest

from aiopyramid import helpers
from aiopyramid.exceptions import ScopeError
from aiopyramid.helpers import (
    _can_wait,
    is_generator,
    spawn_greenlet,
    spawn_greenlet_on_scope_error,
    synchronize,
    use_executor,
)


@synchronize
async def double(value):
    await asyncio.sleep(0)
    return value * 2


@synchronize(strict=False)
async def lenient_double(value):
    return value * 2


class Boom(Exception):
    pass


async def explode():
    await asyncio.sleep(0)
    raise Boom("from the coroutine")


def test_synchronized_coroutine_returns_its_result_inside_a_greenlet():
    assert asyncio.run(spawn_greenlet(lambda: double(21))) == 42


def test_spawn_greenlet_passes_arguments_and_keywords():
    def combine(a, b, *, c):
        return f"{a}{b}{c}"

    assert asyncio.run(spawn_greenlet(combine, 1, 2, c=3)) == "123"


def test_strict_synchronized_coroutine_outside_a_greenlet_says_what_to_do():
    with pytest.raises(ScopeError) as info:
        double(1)
    message = str(info.value)
    assert "double() is a synchronized coroutine" in message
    assert "await double.__wrapped__" in message
    assert "spawn_greenlet" in message


def test_strict_synchronized_coroutine_inside_a_coroutine_raises_scope_error():
    async def main():
        return double(1)

    with pytest.raises(ScopeError):
        asyncio.run(main())


def test_lenient_synchronized_coroutine_returns_the_awaitable_outside_a_greenlet():
    async def main():
        awaitable = lenient_double(4)
        assert asyncio.iscoroutine(awaitable)
        return await awaitable

    assert asyncio.run(main()) == 8
    assert asyncio.run(spawn_greenlet(lenient_double, 5)) == 10


def test_synchronize_keeps_the_original_coroutine_function():
    assert asyncio.run(double.__wrapped__(3)) == 6
    assert double.__name__ == "double"


def test_synchronize_rejects_plain_functions():
    with pytest.raises(TypeError, match="needs a coroutine function"):
        synchronize(lambda: None)


def test_exceptions_surface_in_the_calling_greenlet_with_their_traceback():
    seen = {}

    def caller():
        try:
            synchronize(explode)()
        except Boom as error:
            seen["frames"] = [frame.name for frame in traceback.extract_tb(error.__traceback__)]
            raise

    with pytest.raises(Boom, match="from the coroutine"):
        asyncio.run(spawn_greenlet(caller))
    assert "caller" in seen["frames"]
    assert "explode" in seen["frames"]


def test_exception_of_the_greenlet_function_propagates():
    def fail():
        raise Boom("in the greenlet")

    with pytest.raises(Boom, match="in the greenlet"):
        asyncio.run(spawn_greenlet(fail))


def _live_request_greenlets():
    """Request greenlets still running a function (idle ones wait in the pool for reuse)."""
    gc.collect()
    return [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, greenlet.greenlet)
        and type(obj).__name__ == "_RequestGreenlet"
        and not obj.dead
        and obj not in helpers._pool.idle
    ]


def test_cancellation_reaches_the_coroutine_and_finishes_the_greenlet():
    events = []

    @synchronize
    async def wait_forever():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            events.append("coroutine cancelled")
            raise

    def in_greenlet():
        try:
            wait_forever()
        except asyncio.CancelledError:
            events.append("greenlet saw cancellation")
            raise

    async def main():
        task = asyncio.ensure_future(spawn_greenlet(in_greenlet))
        await asyncio.sleep(0.01)
        assert len(_live_request_greenlets()) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert events == ["coroutine cancelled", "greenlet saw cancellation"]
    assert _live_request_greenlets() == []


def test_many_cancelled_requests_leak_no_greenlets():
    async def main():
        tasks = [
            asyncio.ensure_future(spawn_greenlet(synchronize(asyncio.sleep), 3600))
            for _ in range(50)
        ]
        await asyncio.sleep(0.01)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    before = len(_live_request_greenlets())
    asyncio.run(main())
    assert len(_live_request_greenlets()) == before


class Payload:
    """Stands for a request's data, to see whether an idle greenlet still holds it."""


def test_a_greenlet_serves_one_request_after_another_and_keeps_nothing_of_them():
    served_by = []
    var = contextvars.ContextVar("var")

    def work(payload):
        var.set(payload)
        served_by.append(greenlet.getcurrent())
        double(1)  # one trip to the loop and back
        return payload

    def fail(payload):
        served_by.append(greenlet.getcurrent())
        raise Boom(payload)

    async def main():
        first = await spawn_greenlet(work, Payload())
        with pytest.raises(Boom):
            await spawn_greenlet(fail, Payload())
        return weakref.ref(first), await spawn_greenlet(work, Payload())

    first, last = asyncio.run(main())
    gc.collect()  # the traceback caught in main() and main's frame form a cycle
    assert served_by[0] is served_by[1] is served_by[2]
    idle = served_by[0]
    assert (idle.result, idle.error, idle.gr_context) == (None, None, None)
    assert first() is None  # the result, the exception and the context were all dropped
    assert isinstance(last, Payload)


def test_the_pool_of_idle_greenlets_is_bounded():
    async def main():
        await asyncio.gather(*(spawn_greenlet(double, n) for n in range(helpers._POOL_SIZE * 2)))

    asyncio.run(main())
    assert len(helpers._pool.idle) == helpers._POOL_SIZE
    assert _live_request_greenlets() == []


def test_an_idle_greenlet_that_is_an_ancestor_of_the_caller_is_not_reused():
    asyncio.run(spawn_greenlet(double, 1))
    idle = helpers._pool.idle[-1]
    main = greenlet.getcurrent()

    def caller():  # a child of the idle greenlet: that one cannot become its child too
        main.switch(asyncio.run(spawn_greenlet(double, 2)))

    assert greenlet.greenlet(caller, parent=idle).switch() == 4
    assert idle not in helpers._pool.idle


def test_each_thread_has_its_own_pool():
    asyncio.run(spawn_greenlet(double, 1))  # leaves an idle greenlet in this thread
    with ThreadPoolExecutor(1) as pool:  # a greenlet cannot be switched to from elsewhere
        assert pool.submit(asyncio.run, spawn_greenlet(double, 2)).result() == 4


def test_nested_spawn_greenlet_inside_an_awaited_coroutine():
    @synchronize
    async def outer():
        return await spawn_greenlet(lambda: double(5)) + 1

    assert asyncio.run(spawn_greenlet(outer)) == 11


def test_spawn_greenlet_on_scope_error_runs_directly_inside_a_greenlet():
    @spawn_greenlet_on_scope_error
    def uses_synchronized():
        return double(2) + 1

    async def main():
        # outside a greenlet: a coroutine to await
        return await uses_synchronized()

    assert asyncio.run(main()) == 5
    # inside a greenlet: a plain call
    assert asyncio.run(spawn_greenlet(uses_synchronized)) == 5


def test_use_executor_runs_blocking_code_in_a_thread():
    @use_executor
    def where():
        return threading.current_thread().name

    name = asyncio.run(where())
    assert name != threading.current_thread().name


def test_use_executor_with_a_given_executor():
    with ThreadPoolExecutor(1, thread_name_prefix="custom-pool") as pool:

        @use_executor(executor=pool)
        def where(suffix):
            return threading.current_thread().name + suffix

        assert asyncio.run(where("!")).startswith("custom-pool")
        assert asyncio.run(where("!")).endswith("!")


def test_use_executor_does_not_block_the_loop():
    started, release = threading.Event(), threading.Event()

    @use_executor
    def block():
        started.set()
        return release.wait(timeout=30)

    async def main():
        blocking = asyncio.ensure_future(block())
        # The loop keeps running other work while block() waits in its thread.
        while not started.is_set():
            await asyncio.sleep(0)
        loop_turns_while_blocked = 0
        for _ in range(5):
            await asyncio.sleep(0)
            loop_turns_while_blocked += not blocking.done()
        release.set()
        return loop_turns_while_blocked, await blocking

    assert asyncio.run(main()) == (5, True)


def test_synchronized_coroutine_called_in_an_executor_thread_runs_on_the_loop():
    @use_executor
    def blocking_caller():
        assert _can_wait()
        return double(7), threading.current_thread().name

    async def main():
        return await blocking_caller(), threading.current_thread().name

    (result, worker_thread), loop_thread = asyncio.run(main())
    assert result == 14
    assert worker_thread != loop_thread


def test_waiting_is_possible_only_in_a_request_greenlet():
    async def main():
        return _can_wait()

    assert _can_wait() is False
    assert asyncio.run(main()) is False
    assert asyncio.run(spawn_greenlet(_can_wait)) is True


def _generator():
    yield 1


async def _async_generator():
    yield 1


class CallableGenerator:
    def __call__(self):
        yield 1


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        (_generator, True),
        (functools.partial(_generator), True),
        (explode, False),
        (functools.partial(explode), False),
        (_async_generator, False),
        (CallableGenerator(), False),
        (CallableGenerator, False),
        (_generator(), False),
        (len, False),
        (lambda: None, False),
    ],
)
def test_is_generator_is_true_for_generator_functions_only(candidate, expected):
    assert is_generator(candidate) is expected
