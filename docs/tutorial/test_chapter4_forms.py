"""Chapter 4's forms and JSON API, sent anything at all: no server error, no stray row.

Hypothesis posts the sign-up, sign-in and sign-out forms with arbitrary text in every
field (the CSRF token right, missing or wrong; fields repeated; fields the forms do
not have), and sends the API's ``/api/users`` and ``/api/session`` arbitrary JSON,
lone surrogates included. Each example starts in a new browser, signed in or not.
For every answer:

- it is never a 5xx;
- a request that does not carry the session's CSRF token is refused;
- a refused request (4xx) adds and removes no row of ``users`` or ``sign_ins``, and
  leaves the same player signed in (or nobody);
- an accepted one changes exactly what it should: signing up adds a player and a
  sign-in, signing in a sign-in, signing out removes the sign-in it ends;
- a redirect never leaves the site, as a browser reads its ``Location``.

The chapter's application runs in-process (:class:`aiopyramid.testing.AppClient`),
built by ``aiotutorial.main()`` from the project's ``development.ini`` over a new
database that the project's migrations made: a SQLite file, and a database in a
throwaway PostgreSQL server.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from string import ascii_letters, digits
from typing import Any
from urllib.parse import SplitResult, urlencode, urljoin, urlsplit

import pytest
from alembic import command
from alembic.config import Config
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from pyramid.paster import get_appsettings
from sqlalchemy import func, pool, select

from aiopyramid.lifespan import hooks_of
from aiopyramid.testing import AppClient, ClientResponse
from aiotutorial import main
from aiotutorial.db import make_engine
from aiotutorial.models import SignIn, User
from aiotutorial.throttle import REGISTRY_KEY as THROTTLE
from aiotutorial.throttle import Throttle
from testkit.chapters import chapter
from testkit.served import Database

PROJECT = chapter("chapter4").directory
HOST = "testserver"
"""The host the in-process client's requests name (AppClient's default)."""
PLAYER, PASSWORD = "alice", "a password for the tests"
"""A player registered once for all the examples: the one who may sign in."""
FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}

EXAMPLES = settings(max_examples=60, deadline=None, database=None)


class Token:
    """Stands for the session's CSRF token, which only the example's browser knows."""

    def __repr__(self) -> str:
        return "TOKEN"


TOKEN = Token()


# -- the application ---------------------------------------------------------------


def development_ini(url: str, directory: Path) -> Path:
    """A copy of the project's development.ini in ``directory``, for the database at
    ``url``."""
    text = (PROJECT / "development.ini").read_text()
    text, count = re.subn(r"(?m)^sqlalchemy\.url = .*$", f"sqlalchemy.url = {url}", text)
    assert count == 1, "development.ini should set sqlalchemy.url once"
    ini = directory / "development.ini"
    ini.write_text(text)
    return ini


def migrate(ini: Path) -> None:
    """Run the project's migrations with ``alembic -c INI upgrade head``, in-process."""
    config = Config(str(ini))
    config.set_main_option("script_location", str(PROJECT / "alembic"))
    command.upgrade(config, "head")


@dataclass(frozen=True)
class State:
    """What a request may change: the rows of the two tables, and who is signed in."""

    users: int
    sign_ins: int
    player: str | None


class Site:
    """The application, a client that keeps cookies like a browser, and its database."""

    def __init__(self, kind: str, client: AppClient, url: str, settings: dict[str, Any]) -> None:
        self.kind = kind
        """The database's kind: "sqlite" or "postgresql"."""
        self.client = client
        self.settings = settings
        self.engine = make_engine(url, poolclass=pool.NullPool)
        """An engine of the test's own, for counting rows."""

    def __repr__(self) -> str:
        return f"<chapter 4's application on {self.kind}>"

    def new_browser(self, *, signed_in: bool) -> str:
        """Forget every cookie, sign :data:`PLAYER` in if asked; return the CSRF token.

        The throttle starts afresh too, so that failed sign-ins of earlier examples do
        not turn every later one into a *429*.
        """
        registry = self.client.app.wsgi_app.registry
        registry[THROTTLE] = Throttle(
            int(self.settings["aiotutorial.sign_in_attempts"]),
            float(self.settings["aiotutorial.sign_in_window"]),
        )
        self.client.cookies = {}
        token = self.csrf_token()
        if signed_in:
            response = self.send_json("POST", "/api/session", credentials(), token)
            assert response.status == 200, response.text
            token = self.csrf_token()
        return token

    def csrf_token(self) -> str:
        """The session's CSRF token, as ``GET /api/session`` gives it."""
        token: str = self.client.get("/api/session").json()["csrf_token"]
        return token

    def state(self) -> State:
        async def count(model: type) -> int:
            async with self.engine.connect() as connection:
                return int(await connection.scalar(select(func.count()).select_from(model)))

        player = self.client.get("/api/session").json()["player"]
        return State(self.client.run(count(User)), self.client.run(count(SignIn)), player)

    def send_json(
        self, method: str, path: str, body: bytes, token: str | Token | None
    ) -> ClientResponse:
        headers = dict(JSON)
        if token is not None:
            headers["x-csrf-token"] = str(token)
        return self.client.request(method, path, body=body, headers=headers)


def credentials() -> bytes:
    return json.dumps({"username": PLAYER, "password": PASSWORD}).encode()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The chapter's application on a new, migrated database, with :data:`PLAYER` in it."""
    work = tmp_path_factory.mktemp(request.param)
    cluster = request.getfixturevalue("postgres_cluster") if request.param != "sqlite" else None
    database = Database.new(request.param, work, cluster)
    ini = development_ini(database.url, work)
    migrate(ini)
    app_settings = dict(get_appsettings(str(ini)))
    app = main({}, **app_settings)
    with AppClient(app) as client:
        site = Site(request.param, client, database.url, app_settings)
        try:
            token = site.new_browser(signed_in=False)
            response = site.send_json("POST", "/api/users", credentials(), token)
            assert response.status == 201, response.text
            yield site
        finally:
            client.run(hooks_of(app.registry).run_shutdown())  # closes the app's engine
            client.run(site.engine.dispose())


# -- what may be sent ----------------------------------------------------------------


def mostly(
    usually: st.SearchStrategy[Any], otherwise: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """What ``usually`` gives three times in four, else what ``otherwise`` gives."""
    return st.integers(0, 3).flatmap(lambda draw: otherwise if draw == 0 else usually)


# Fields are often right, so that a good share of the examples gets past the first
# checks (the CSRF token, the field's syntax) to the later ones.
texts = st.text(max_size=40)
new_names = st.text(ascii_letters + digits + "-_", min_size=1, max_size=32)
usernames = mostly(st.one_of(st.just(PLAYER), new_names), texts)
passwords = mostly(st.one_of(st.just(PASSWORD), st.text(min_size=8, max_size=30)), texts)
tokens: st.SearchStrategy[str | Token] = mostly(st.just(TOKEN), texts)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)
"""What an HTTP header's value may hold: visible characters, spaces, and latin-1's."""
LEAVING = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "/\t/evil.example/",
    " //evil.example/",
    "\x00//evil.example/",
    "/%2F%2Fevil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "/account\r\nLocation: //evil.example/",
]
"""``came_from`` values that would take a browser off the site if taken as they are."""
STARTS = ["/", "//", "/\\", "\\", "/\t/", " /", "http:", "https://", "javascript:"]
"""How addresses begin: on this site, on another one, or with a scheme."""
segments = st.text(ascii_letters + digits + "-._~", min_size=1, max_size=8)
paths = st.lists(segments, max_size=3).map(lambda parts: "/" + "/".join(parts))
"""Paths of this site, such as ``/account``: where signing in may lead back to."""
came_froms = st.one_of(
    texts,
    st.sampled_from(LEAVING),
    paths,
    st.builds(str.__add__, paths, st.sampled_from(["", "?x=1", "#top", "?next=//evil.example"])),
    st.builds(str.__add__, st.sampled_from(STARTS), texts),
)
KNOWN: dict[str, st.SearchStrategy[Any]] = {
    "csrf_token": tokens,
    "username": usernames,
    "password": passwords,
    "came_from": came_froms,
}
FORMS = ["/sign-up", "/sign-in", "/sign-out"]


@st.composite
def form_fields(draw: st.DrawFn) -> list[tuple[str, str | Token]]:
    """Some of the forms' fields, maybe repeated, and fields of no form, in any order."""
    fields: list[tuple[str, str | Token]] = []
    for name, values in KNOWN.items():
        count = draw(st.sampled_from([1, 1, 1, 0, 2]))  # mostly once
        fields += [(name, draw(values)) for _ in range(count)]
    fields += draw(st.lists(st.tuples(texts, texts), max_size=3))
    return draw(st.permutations(fields))


# JSON's strings may hold lone surrogates ("\ud800"), which Python's json module
# accepts, but which no UTF-8 text can hold.
json_text = st.text(st.characters() | st.integers(0xD800, 0xDFFF).map(chr), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | json_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(json_text, children, max_size=3)
    ),
    max_leaves=6,
)
json_objects = st.builds(
    lambda known, extra: {**extra, **known},
    st.fixed_dictionaries(
        {"username": mostly(usernames, json_values), "password": mostly(passwords, json_values)}
    ),
    st.dictionaries(json_text, json_values, max_size=2),
)
"""Objects with a username and a password, maybe of the wrong type, and other keys."""
json_bodies = mostly(
    json_objects.map(lambda data: json.dumps(data).encode()),
    json_values.map(lambda data: json.dumps(data).encode()) | st.binary(max_size=40),
)
API = [("POST", "/api/users"), ("POST", "/api/session"), ("DELETE", "/api/session")]


# -- what must hold -------------------------------------------------------------------


def where_a_browser_goes(response: ClientResponse, page: str) -> SplitResult:
    """The address a browser follows ``response``'s redirect to, from ``page``.

    Browsers read a URL leniently (the WHATWG URL standard): they drop leading and
    trailing spaces and control characters and every tab and newline, and in an http
    URL take a backslash for a slash, so that ``/\\evil.example`` means
    ``//evil.example``, another site.
    """
    location = response.headers["location"].strip("".join(map(chr, range(0x21))))
    location = re.sub("[\t\n\r]", "", location).replace("\\", "/")
    return urlsplit(urljoin(page, location))


def assert_stays_on_the_site(response: ClientResponse, path: str) -> None:
    if "location" not in response.headers:
        assert not 300 <= response.status < 400, f"a {response.status} without a Location"
        return
    target = where_a_browser_goes(response, f"http://{HOST}{path}")
    assert (target.scheme, target.netloc) == ("http", HOST), response.headers["location"]


def assert_refusal_changed_nothing(response: ClientResponse, before: State, after: State) -> None:
    assert response.status < 500, response.text
    if response.status >= 400:
        assert after == before, f"refused with {response.status}, yet changed"


def chosen(fields: list[tuple[str, str | Token]], name: str) -> set[str | Token]:
    return {value for key, value in fields if key == name}


@EXAMPLES
@given(path=st.sampled_from(FORMS), fields=form_fields(), signed_in=st.booleans())
@example(path="/sign-in", fields=[("csrf_token", TOKEN), ("username", "a\x00")], signed_in=False)
def test_the_forms_take_anything(
    site: Site, path: str, fields: list[tuple[str, str | Token]], signed_in: bool
) -> None:
    token = site.new_browser(signed_in=signed_in)
    sent = [(name, token if value is TOKEN else value) for name, value in fields]
    before = site.state()
    response = site.client.post(path, urlencode(sent).encode(), headers=FORM)
    after = site.state()
    event(f"{path}: {response.status}")  # pytest --hypothesis-show-statistics lists them
    assert_refusal_changed_nothing(response, before, after)
    assert_stays_on_the_site(response, path)
    if TOKEN not in chosen(fields, "csrf_token"):
        assert response.status >= 400, "a form without the session's token was accepted"
    if response.status >= 400:
        return
    assert response.status == 303
    users, sign_ins = after.users - before.users, after.sign_ins - before.sign_ins
    if path == "/sign-out":
        assert (users, sign_ins, after.player) == (0, -1 if before.player else 0, None)
    else:
        assert after.player in chosen(fields, "username")
        # A browser has one sign-in at a time: the one it had, if any, has ended.
        new_sign_ins = 0 if before.player else 1
        assert (users, sign_ins) == ((1 if path == "/sign-up" else 0), new_sign_ins)


@EXAMPLES
@given(
    endpoint=st.sampled_from(API),
    body=json_bodies,
    token=mostly(st.just(TOKEN), header_text | st.none()),
    signed_in=st.booleans(),
)
@example(
    endpoint=("POST", "/api/session"),
    body=json.dumps({"username": "\ud800", "password": PASSWORD}).encode(),
    token=TOKEN,
    signed_in=False,
)
@example(
    endpoint=("POST", "/api/users"),
    body=json.dumps({"username": "bob", "password": "\ud800" * 8}).encode(),
    token=TOKEN,
    signed_in=False,
)
@example(
    endpoint=("POST", "/api/session"),
    body=json.dumps({"username": "a\x00", "password": PASSWORD}).encode(),
    token=TOKEN,
    signed_in=False,
)
def test_the_api_takes_any_json(
    site: Site,
    endpoint: tuple[str, str],
    body: bytes,
    token: str | Token | None,
    signed_in: bool,
) -> None:
    method, path = endpoint
    browser_token = site.new_browser(signed_in=signed_in)
    before = site.state()
    response = site.send_json(method, path, body, browser_token if token is TOKEN else token)
    after = site.state()
    event(f"{method} {path}: {response.status}")
    assert_refusal_changed_nothing(response, before, after)
    assert "location" not in response.headers
    if token is not TOKEN:
        assert response.status >= 400, "a request without the session's token was accepted"
    if response.status >= 400:
        return
    users, sign_ins = after.users - before.users, after.sign_ins - before.sign_ins
    if method == "DELETE":
        assert (response.status, users, sign_ins, after.player) == (204, 0, -1, None)
    elif path == "/api/users":
        assert (response.status, users, sign_ins) == (201, 1, 0)
        assert after.player == before.player
    else:
        assert (response.status, users, sign_ins) == (200, 0, 0 if before.player else 1)
        assert after.player == response.json()["player"] == json.loads(body)["username"]


@EXAMPLES
@given(came_from=came_froms)
def test_signing_in_never_leaves_the_site(site: Site, came_from: str) -> None:
    token = site.new_browser(signed_in=False)
    fields = {"csrf_token": token, "came_from": came_from, "username": PLAYER}
    response = site.client.post("/sign-in", {**fields, "password": PASSWORD})
    assert response.status == 303, response.text
    event("came back" if response.headers["location"] != f"http://{HOST}/" else "went home")
    assert_stays_on_the_site(response, "/sign-in")
