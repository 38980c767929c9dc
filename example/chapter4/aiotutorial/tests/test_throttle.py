"""The limit on failed sign-ins, on a clock the tests move by hand."""

import pytest
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request

from aiotutorial import main
from aiotutorial.tests.conftest import SETTINGS
from aiotutorial.throttle import Throttle, client


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_may_fail_a_few_times_then_waits() -> None:
    clock = Clock()
    throttle = Throttle(attempts=3, window=60, clock=clock)
    for _ in range(3):
        assert throttle.wait("10.0.0.1") == 0
        throttle.attempt("10.0.0.1")
        clock.now += 10
    assert throttle.wait("10.0.0.1") == 30  # the first failure leaves the window then
    assert throttle.wait("10.0.0.2") == 0  # others are not held up


def test_failures_leave_the_window_one_by_one() -> None:
    clock = Clock()
    throttle = Throttle(attempts=2, window=60, clock=clock)
    throttle.attempt("client")
    clock.now += 30
    throttle.attempt("client")
    clock.now += 30  # the first failure is 60 seconds old: out of the window
    assert throttle.wait("client") == 0
    throttle.attempt("client")
    assert throttle.wait("client") == 30
    clock.now += 60
    assert throttle.wait("client") == 0
    assert throttle.failures == {}  # clients who stopped failing take no memory


def test_attempts_at_once_count_before_their_passwords_are_checked() -> None:
    throttle = Throttle(attempts=2, window=60, clock=Clock())
    started = []
    while not throttle.wait("client"):  # nobody has finished checking yet
        started.append(throttle.attempt("client"))
    assert len(started) == 2


def test_a_right_password_takes_back_its_own_attempt_only() -> None:
    clock = Clock()
    throttle = Throttle(attempts=2, window=60, clock=clock)
    throttle.attempt("client")  # a wrong password
    clock.now += 1
    right = throttle.attempt("client")
    throttle.succeeded("client", right)
    assert throttle.failures == {"client": [1000.0]}
    assert throttle.wait("client") == 0


def test_clients_that_never_come_back_are_forgotten() -> None:
    clock = Clock()
    throttle = Throttle(attempts=5, window=60, clock=clock)
    for number in range(100):
        throttle.attempt(f"10.0.0.{number}")
    clock.now += 60
    throttle.attempt("10.0.1.1")
    assert list(throttle.failures) == ["10.0.1.1"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("aiotutorial.sign_in_attempts", None),
        ("aiotutorial.sign_in_attempts", "0"),
        ("aiotutorial.sign_in_attempts", "2.5"),
        ("aiotutorial.sign_in_attempts", "many"),
        ("aiotutorial.sign_in_window", "-1"),
        ("aiotutorial.sign_in_window", "inf"),
        ("aiotutorial.sign_in_window", "nan"),
    ],
)
def test_bad_limits_stop_the_app_at_startup(name: str, value: str | None) -> None:
    settings = {**SETTINGS, name: value, "sqlalchemy.url": "sqlite+aiosqlite://"}
    with pytest.raises(ConfigurationError, match=f"{name} must be"):
        main({}, **settings)


def client_of(remote_addr: str, forwarded_for: str | None, proxies: str) -> str:
    """The client that a request from ``remote_addr`` counts as."""
    settings = {**SETTINGS, "aiotutorial.trusted_proxies": proxies}
    app = main({}, **settings, **{"sqlalchemy.url": "sqlite+aiosqlite://"})
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    request = Request.blank("/", remote_addr=remote_addr, headers=headers)
    request.registry = app.registry
    return client(request)


@pytest.mark.parametrize(
    ("remote_addr", "forwarded_for", "proxies", "expected"),
    [
        ("203.0.113.7", None, "", "203.0.113.7"),
        ("203.0.113.7", "198.51.100.1", "", "203.0.113.7"),  # nobody trusted
        ("127.0.0.1", "203.0.113.7", "127.0.0.1", "203.0.113.7"),
        ("127.0.0.1", "1.2.3.4, 203.0.113.7", "127.0.0.1", "203.0.113.7"),
        ("127.0.0.1", None, "127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", "", "127.0.0.1", "127.0.0.1"),
        ("203.0.113.9", "1.2.3.4", "127.0.0.1", "203.0.113.9"),  # not the proxy
    ],
)
def test_behind_a_trusted_proxy_the_client_is_who_the_proxy_says(
    remote_addr: str, forwarded_for: str | None, proxies: str, expected: str
) -> None:
    assert client_of(remote_addr, forwarded_for, proxies) == expected


def test_an_attempt_swept_away_meanwhile_is_no_error() -> None:
    clock = Clock()
    throttle = Throttle(attempts=5, window=60, clock=clock)
    slow = throttle.attempt("slow")
    clock.now += 60  # its check took a whole window: it is out of the count already
    throttle.attempt("other")
    throttle.succeeded("slow", slow)
    assert list(throttle.failures) == ["other"]
