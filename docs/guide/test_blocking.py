"""What blocking the event loop does, measured: a quick request waits for a slow one."""

import pytest

from aiopyramid.testing import AppClient
from docs.guide.examples import blocking
from docs.guide.examples.race import finish_times

SLEEP = 1.0


def test_a_blocking_coroutine_view_stalls_every_other_request():
    slow = f"/stalls-the-loop?sleep={SLEEP}"
    finished = finish_times(blocking.make_app(), slow, "/quick")
    # The quick request, sent after the slow one, could not even be received until
    # time.sleep() returned: it finished after the slow one.
    assert finished["/quick"] >= finished[slow]


@pytest.mark.parametrize("path", ["/awaits", "/offloads"])
def test_awaiting_or_offloading_keeps_the_loop_free(path):
    slow = f"{path}?sleep={SLEEP}"
    finished = finish_times(blocking.make_app(), slow, "/quick")
    assert finished["/quick"] < finished[slow]


@pytest.mark.parametrize("path", ["/stalls-the-loop", "/awaits", "/offloads"])
def test_all_three_give_the_same_answer(path):
    with AppClient(blocking.make_app()) as client:
        assert client.get(f"{path}?sleep=0.01").text == "looked up in 0.01 s"
        assert client.get("/quick").text == "quick"
