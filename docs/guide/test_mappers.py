"""The view mapper examples: both kinds of views, strict mappers, and the race between them."""

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from aiopyramid.config import CoroutineMapper, ExecutorMapper
from aiopyramid.testing import AppClient
from docs.guide.examples import mappers
from docs.guide.examples.race import finish_times


@pytest.fixture
def client():
    with AppClient(mappers.make_app()) as client:
        yield client


def test_coroutine_views_run_on_the_loop_and_legacy_views_in_threads(client):
    assert client.get("/hello").text == "hello, from the event loop's thread"
    assert client.get("/report?sleep=0").text == (
        "report ready after 0 s, built in an executor thread"
    )
    assert client.get("/strict").text == "strictly a coroutine"
    assert client.get("/threaded").text == "built in an executor thread"


def test_a_coroutine_view_answers_while_the_legacy_view_sleeps():
    finished = finish_times(mappers.make_app(), "/report?sleep=1", "/hello")
    assert finished["/hello"] < finished["/report?sleep=1"]


@pytest.mark.parametrize(
    ("view", "mapper"),
    [(mappers.legacy_report, CoroutineMapper), (mappers.strict_hello, ExecutorMapper)],
)
def test_strict_mappers_refuse_the_other_kind_at_startup(view, mapper):
    config = Configurator()
    config.add_view(view, mapper=mapper)
    with pytest.raises(ConfigurationError, match=view.__name__):
        config.commit()


def test_the_misconfigured_example_fails_at_startup():
    with pytest.raises(ConfigurationError, match="is not a coroutine function"):
        mappers.misconfigured()
