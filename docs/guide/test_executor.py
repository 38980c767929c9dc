"""use_executor, with the loop's default executor and with a pool of one's own."""

import asyncio
import threading

from aiopyramid.testing import AppClient
from docs.guide.examples import executor


def test_the_view_awaits_both_blocking_helpers():
    with AppClient(executor.make_app()) as client:
        first, second = client.get("/sign-up?password=correct horse").text.splitlines()
    assert first.startswith("hash ")
    assert first.split()[-1].startswith("hashing_")
    assert second.startswith("<template welcome.html> read in thread asyncio_")


def test_decorated_functions_are_coroutine_functions_running_in_threads():
    assert asyncio.iscoroutinefunction(executor.read_template)
    text = asyncio.run(executor.read_template("x"))
    assert threading.current_thread().name not in text
