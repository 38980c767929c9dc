"""The sybil configuration of the docs: sybil's own parsers, plus ours for what it can't run.

A document's commands run in one bash session (:func:`console_session`); an rst
comment ``.. console-start: downloads`` anywhere in it makes that session start in
a directory holding the site's downloads (the pytest fixture ``tutorial_downloads``)
rather than in a copy of the tutorial's source, and ``.. console-service:
postgresql`` gives it a throwaway PostgreSQL server, which ``PGHOST``, ``PGPORT`` and
``PGUSER`` point at, as a superuser (what a reader has from ``sudo -u postgres``);
``.. console-service: redis`` a throwaway Redis server where a reader's listens,
127.0.0.1:6379, unless a Redis server runs there already (the document fails if
another program holds that port).

- Python ``code-block``s, ``invisible-code-block``s and doctests: sybil's parsers.
- ``.. skip:``: sybil's, but a skip must say why (:class:`ReasonedSkipParser`).
- ``code-block:: console``: replayed in one bash session per document
  (:func:`run_console`). Every command must succeed (except in a block marked
  ``.. console-error:``); output shown under a command must match its real output,
  a command shown without output is not compared. A block marked ``..
  console-server: URL`` ends with a server command, which is started in the
  background and keeps running for the document's later blocks.
- ``code-block:: text`` marked ``.. server-output: URL``: compared with what that
  server printed since the previous such check (:func:`check_server_output`).
- A chapter's ``.. reader-writes:`` and ``.. reader-has:`` comments: the reader's
  files, written and compared in the session (:mod:`testkit.reader`).
- ``code-block:: text`` marked ``.. page-output: URL``: compared with what headless
  Chromium shows at URL (:func:`check_page`).
- ``code-block:: text`` marked ``.. project-tree:``: compared with the repository's
  files, with ``.. project-tree: DIRECTORY/`` with one of its directories' files,
  with ``.. project-tree: chapterN`` with chapter N's project, or
  with ``.. project-tree: TEMPLATE`` with the files that ``aiopyramid-init
  TEMPLATE NAME`` generates, NAME being the listing's top directory
  (:func:`check_project_tree`).

The bash session, and the servers it started, are stopped when the document's last
example has run, also when one failed (:func:`close_console`).
"""

import difflib
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from doctest import ELLIPSIS
from pathlib import Path
from typing import Any

from sybil import Document, Example, Region, Sybil
from sybil.parsers.rest import DocTestParser, PythonCodeBlockParser, SkipParser

from testkit.availability import postgres_binaries, redis_binary, unavailable
from testkit.browser import page_lines
from testkit.changes import ChangeError, apply_change
from testkit.chapters import chapters, read_project, state, write_project
from testkit.console import (
    BashSession,
    normalize,
    output_matches,
    parse_transcript,
    reader_environment,
)
from testkit.postgres import TemporaryCluster
from testkit.projects import ROOT, check_tree, compare_tree, copy_sources, generated_files
from testkit.reader import (
    AppliedChange,
    WrittenFile,
    applied_changes,
    chapter_of,
    compare_project,
    emphasis_problems,
    end_states,
    is_chapter_page,
    written_files,
)
from testkit.redis import RedisError, TemporaryRedis
from testkit.redis import command as redis_command
from testkit.rst import CodeBlock, code_blocks
from testkit.server import LOOPBACK, PortInUse, port_in_use

SESSION = "_console_session"
"""Key of the document's :class:`BashSession` in the sybil namespace."""
SESSION_DIR = "_console_dir"


class ReasonedSkipParser(SkipParser):
    """sybil's ``.. skip:``, refusing skips that don't say why: ``.. skip: next "why"``.

    Without a reason sybil passes the skipped examples silently, as if they had run.
    """

    def __call__(self, document: Document) -> Iterator[Region]:
        for region in super().__call__(document):
            action, reason = region.parsed
            if action in ("next", "start") and not reason:
                raise ValueError(
                    f'{document.path}: ".. skip: {action}" needs a reason, '
                    f'as in .. skip: {action} "why"'
                )
            yield region


class BlockParser:
    """Yield a region for every ``code-block`` in ``language`` that carries ``marker``."""

    def __init__(self, language: str, marker: str | None, evaluate: Callable[[Example], Any]):
        self.language = language
        self.marker = marker
        self.evaluate = evaluate

    def __call__(self, document: Document) -> Iterator[Region]:
        for block in code_blocks(document.text):
            if block.language == self.language and self.marker in (None, block.marker):
                yield Region(block.start, block.end, block, self.evaluate)


SERVICE = re.compile(r"(?m)^\.\. console-service:[ \t]*(?P<service>postgresql|redis)[ \t]*$")
"""A document whose commands need a PostgreSQL or a Redis server, as its reader has one."""
CLUSTER = "_console_cluster"
REDIS = "_console_redis"
READER_REDIS_PORT = 6379
"""Where a reader's Redis listens: redis-server's default port, which the pages' URLs name."""

START = re.compile(r"(?m)^\.\. console-start:[ \t]*(?P<start>\S+)[ \t]*$")
"""Where a document's bash session starts: ``source`` (the default) or ``downloads``."""


def console_start(document: Document) -> str:
    """The document's ``.. console-start:`` marker, or ``source`` without one."""
    found = {match["start"] for match in START.finditer(document.text)}
    if len(found) > 1 or not found <= {"source", "downloads"}:
        raise ValueError(
            f"{document.path}: one `.. console-start: source` or `downloads` at most, "
            f"not {sorted(found)}"
        )
    return found.pop() if found else "source"


def redis_answers(port: int) -> bool:
    """Whether a Redis server already listens on ``port``, as one the system started
    may: the reader would use it, and so does the document (its commands keep to keys
    of their own). Anything else on that port fails the document."""
    if not port_in_use(f"redis://{LOOPBACK}:{port}"):
        return False
    try:
        return redis_command(port, "PING") == b"PONG"
    except (OSError, RedisError) as error:
        raise PortInUse(f"something other than Redis listens on port {port}") from error


def console_session(example: Example) -> BashSession:
    """The document's bash session, started on first use where a reader starts.

    With ``.. console-start: downloads`` that is a work directory holding only what
    the site offers for download (the library's wheel, every chapter's archive and
    change), as a reader who downloaded them has it. Otherwise it is the top
    directory of a fresh copy of the tutorial's source, alone in a work directory
    of its own: a reader who ``cd ..`` out of it finds nothing else there.
    """
    namespace = example.namespace
    if SESSION not in namespace:
        base = Path(tempfile.mkdtemp(prefix="docs-console-"))
        namespace[SESSION_DIR] = base
        scratch = base / "scratch"
        scratch.mkdir()
        if console_start(example.document) == "downloads":
            work = base / "work"
            shutil.copytree(namespace["tutorial_downloads"], work)
        else:
            work = base / "work" / "aiopyramid-tutorial"
            copy_sources(work)
        environment = reader_environment(base / "bin")
        services = {match["service"] for match in SERVICE.finditer(example.document.text)}
        if "postgresql" in services:
            cluster = TemporaryCluster(postgres_binaries(), superuser="postgres")
            namespace[CLUSTER] = cluster
            cluster.start()
            environment.update(cluster.client_environment())
        if "redis" in services and not redis_answers(READER_REDIS_PORT):
            redis = TemporaryRedis(redis_binary(), port=READER_REDIS_PORT)
            namespace[REDIS] = redis
            redis.start()
        namespace[SESSION] = BashSession(work, environment, scratch)
    session: BashSession = namespace[SESSION]
    return session


def close_console(namespace: dict[str, Any]) -> None:
    """Sybil teardown: stop the document's servers and bash session, remove their files."""
    try:
        if SESSION in namespace:
            namespace.pop(SESSION).close()
    finally:
        if CLUSTER in namespace:
            namespace.pop(CLUSTER).stop()
        if REDIS in namespace:
            namespace.pop(REDIS).close()
        if SESSION_DIR in namespace:
            shutil.rmtree(namespace.pop(SESSION_DIR), ignore_errors=True)


def _difference(shown: str, actual: str) -> str:
    diff = difflib.unified_diff(
        shown.splitlines(), actual.splitlines(), "shown in the docs", "real", lineterm=""
    )
    return "\n".join(diff)


def run_console(example: Example) -> str | None:
    """Run every command of the block; compare its shown output, if any, with the real one.

    Every command must succeed, except in a block marked ``.. console-error:``, which
    shows a reader meeting an error: there only the output counts, as some commands
    (``pserve`` among them) report a failure and still exit with status 0.
    """
    block: CodeBlock = example.parsed
    session = console_session(example)
    steps = parse_transcript(block.body)
    server = block.argument if block.marker == "console-server" else ""
    error_shown = block.marker == "console-error"
    for number, step in enumerate(steps, start=1):
        if server and number == len(steps):
            try:
                output, status = session.start_server(step.command, server), 0
            except PortInUse as error:
                unavailable(str(error))
        else:
            output, status = session.run(step.command)
        if status and not error_shown:
            return f"$ {step.command}\nexited with status {status}:\n{output}"
        shown = "\n".join(step.shown)
        if shown.strip() and not output_matches(shown, output):
            return f"$ {step.command}\n" + _difference(normalize(shown), normalize(output))
    return None


def check_server_output(example: Example) -> str | None:
    """Compare the block with what the page's server at the marker's URL printed since the
    last such check (a reader sees it in the server's terminal)."""
    block: CodeBlock = example.parsed
    session = example.namespace.get(SESSION)
    if session is None or block.argument not in session.servers:
        unavailable(f"no server of this document was started for {block.argument}")
    printed = session.new_server_output(block.argument)
    if not output_matches(block.body, printed):
        return _difference(normalize(block.body), normalize(printed))
    return None


def _project(example: Example) -> Path:
    """The reader's current directory in the document's session: their project."""
    output, status = console_session(example).run("pwd")
    assert status == 0, output
    return Path(output.strip())


def write_reader_file(example: Example) -> str | None:
    """``.. reader-writes:``: the reader makes a file look like the chapter's listing."""
    written: WrittenFile = example.parsed
    project = _project(example)
    target = project / written.path
    after = state(chapter_of(Path(example.path)).name)[written.path].decode()
    before = target.read_text() if target.exists() else None
    if problem := emphasis_problems(written, before, after):
        return problem
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(after)
    return None


def apply_reader_change(example: Example) -> str | None:
    """``.. reader-applies:``: the reader makes the change the page shows."""
    applied: AppliedChange = example.parsed
    project = _project(example)
    files = read_project(project)
    try:
        changed = apply_change(files, applied.change.read_text())
    except ChangeError as error:
        return f"{applied.change.name} does not apply to the reader's project: {error}"
    write_project(project, changed)
    return None


def check_reader_project(example: Example) -> str | None:
    """``.. reader-has:``: the reader's project is now the chapter's project."""
    problems = compare_project(_project(example), example.parsed)
    return "\n".join(problems) or None


class ReaderParser:
    """Regions for the ``.. reader-writes:`` (on a chapter's page), ``.. reader-applies:``
    and ``.. reader-has:`` comments of a page (see :mod:`testkit.reader`)."""

    def __call__(self, document: Document) -> Iterator[Region]:
        path = Path(document.path)
        if is_chapter_page(path):
            for written in written_files(document.text, path):
                yield Region(written.start, written.end, written, write_reader_file)
        for end in end_states(document.text):
            yield Region(end.start, end.end, end, check_reader_project)
        for applied in applied_changes(document.text, path):
            yield Region(applied.start, applied.end, applied, apply_reader_change)


def check_page(example: Example) -> str | None:
    """Compare the block's lines with the lines headless Chromium shows at the marker's URL."""
    block: CodeBlock = example.parsed
    session = example.namespace.get(SESSION)
    if session is None or not session.serves(block.argument):
        unavailable(
            f"no server of this document runs at {block.argument}: the console block "
            f"marked `.. console-server: {block.argument}` failed or is missing"
        )
    expected = [line.strip() for line in block.body.splitlines() if line.strip()]
    actual = page_lines(block.argument, len(expected))
    if actual != expected:
        return _difference("\n".join(expected), "\n".join(actual))
    return None


def check_project_tree(example: Example) -> str | None:
    """Compare the tree listing with the files of the repository, of one of its
    directories (an argument with a ``/``, such as ``tools/``), of a chapter's project
    (``chapter2``), or of a generated project (a template's name)."""
    block: CodeBlock = example.parsed
    if block.argument and "/" in block.argument:
        problems = check_tree(block.body, ROOT / block.argument)
    elif block.argument in {each.name for each in chapters()}:
        problems = compare_tree(block.body, state(block.argument))
    elif block.argument:
        problems = compare_tree(block.body, generated_files(block.argument, block.body))
    else:
        problems = check_tree(block.body)
    return "\n".join(problems) or None


DOCS = Sybil(
    parsers=[
        PythonCodeBlockParser(),
        DocTestParser(optionflags=ELLIPSIS),
        ReasonedSkipParser(),
        BlockParser("console", None, run_console),
        BlockParser("text", "page-output", check_page),
        BlockParser("text", "project-tree", check_project_tree),
        BlockParser("text", "server-output", check_server_output),
        ReaderParser(),
    ],
    path=str(ROOT / "docs"),
    patterns=["*.rst"],
    excludes=["_build/*"],
    teardown=close_console,
    fixtures=["tutorial_downloads"],
)
"""Every rst file under docs/, with the parsers above."""

collect_rst = DOCS.pytest()
"""A ``pytest_collect_file`` hook for the docs' rst files."""
