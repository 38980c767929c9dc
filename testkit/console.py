"""Replay the docs' ``console`` blocks in one bash session, the way a reader types them.

A block is a transcript: lines starting with ``$ `` are commands, the lines under a
command are the output the docs promise for it. :class:`BashSession` runs every command
exactly as written in one long-lived bash process, so ``source .venv/bin/activate`` or
``cd`` carry over to later blocks as they would in a reader's terminal. It works in a
fresh copy of the project (see :mod:`testkit.projects`), never in the repository.

Shown output is compared with real output after :func:`normalize` (timestamps, PIDs,
versions, durations) and with doctest's ``...`` wildcard (:func:`output_matches`).
"""

import doctest
import math
import queue
import re
import secrets
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from testkit.server import (
    PortInUse,
    ServerStartError,
    group_members,
    port_in_use,
    stop_group,
    wait_until_answers,
)
from testkit.venv import clean_environment

PROMPT = "$ "


@dataclass
class Step:
    """One command of a transcript and the output lines shown under it."""

    command: str
    shown: list[str] = field(default_factory=list)


def parse_transcript(text: str) -> list[Step]:
    """Split a console block into commands and their shown output."""
    steps: list[Step] = []
    for line in text.splitlines():
        if line.startswith(PROMPT):
            steps.append(Step(line[len(PROMPT) :]))
        elif steps:
            steps[-1].shown.append(line)
        elif line.strip():
            raise ValueError(f"console block starts with output, not a command: {line!r}")
    for step in steps:
        if step.command.rstrip().endswith("\\"):
            raise ValueError(f"continued commands are not supported: {step.command!r}")
    return steps


# Each rule rewrites what differs from run to run into a stable form. Both the shown
# and the real output go through them, so the docs can show realistic values.
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TIMESTAMP = re.compile(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\]")
_LOG_TIME = re.compile(r"(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}(?= )")
"""The time at the start of a line logged with Python's default ``asctime`` format."""
_PID = re.compile(r"(?<=\[)\d+(?=\])|(?<=\()\d+(?=\))|(?<=pid: )\d+|(?<=PID )\d+")
_VERSION = re.compile(r"(?<![\w.])\d+\.\d+\.\d+(?!\w|\.\d)")
_DURATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)s\b")


def normalize(text: str) -> str:
    """Make output comparable: drop colours and trailing blanks, stabilise volatile values.

    Durations are cut to whole seconds rather than hidden, so a shown ``0.104s`` still
    promises "under a second" and a shown ``3.008s`` "three seconds and a bit".
    """
    text = _ANSI.sub("", text)
    text = _TIMESTAMP.sub("[<timestamp>]", text)
    text = _LOG_TIME.sub("<timestamp>", text)
    text = _PID.sub("<pid>", text)
    text = _VERSION.sub("<version>", text)
    text = _DURATION.sub(lambda m: f"{math.floor(float(m[1]))}s", text)
    lines = [line.rstrip() for line in text.splitlines()]
    return "\n".join(lines).strip("\n")


def output_matches(shown: str, actual: str) -> bool:
    """Whether ``actual`` is what ``shown`` promises; ``...`` in ``shown`` matches anything."""
    checker = doctest.OutputChecker()
    return checker.check_output(normalize(shown) + "\n", normalize(actual) + "\n", doctest.ELLIPSIS)


def reader_environment(bin_dir: Path) -> dict[str, str]:
    """The environment of a reader's fresh terminal, with ``python3`` = the tested Python.

    The test run's own virtualenv, coverage hooks and Python path are left out, so the
    reader's commands see only what they installed themselves. Output is unbuffered and
    80 columns wide, as in a terminal.
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / "python3").symlink_to(sys._base_executable)  # type: ignore[attr-defined]
    env = clean_environment(bin_dir)
    env.update(PYTHONUNBUFFERED="1", COLUMNS="80", NO_COLOR="1", TERM="dumb")
    return env


class ConsoleError(RuntimeError):
    """The bash session timed out or died."""


class BashSession:
    """A bash process that runs commands one at a time and reports their output.

    Each command is written to a script file and ``source``-d, so it runs in the
    session's own shell exactly as written, with standard input from ``/dev/null``.
    A random token printed after it, with its exit status, marks where its output ends.
    Long-running servers are started in the background (:meth:`start_server`) and are
    stopped, with the session, by :meth:`close`.
    """

    def __init__(self, cwd: Path, env: dict[str, str], scratch: Path) -> None:
        self.scratch = scratch
        self.token = f"__console_done_{secrets.token_hex(8)}__"
        self.count = 0
        self.servers: dict[str, tuple[int, Path]] = {}
        self.read_up_to: dict[str, int] = {}
        self.broken = ""
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.put(raw.decode("utf-8", errors="replace"))
        self.lines.put(None)

    def _send(self, text: str) -> None:
        if self.broken:
            raise ConsoleError(f"the session is unusable: {self.broken}")
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode())
        self.process.stdin.flush()

    def _script(self, command: str) -> str:
        self.count += 1
        script = self.scratch / f"command-{self.count}.sh"
        script.write_text(command + "\n")
        return shlex.quote(str(script))

    def _collect(
        self, timeout: float, echo: Callable[[str], object] | None = None
    ) -> tuple[str, int]:
        """Read output up to the token line; return it and the status printed there.

        ``echo``, if given, is called with each line as it arrives.
        """
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                self.broken = "bash exited"
                raise ConsoleError(f"bash exited; output so far:\n{''.join(lines)}")
            if line.startswith(self.token):
                return "".join(lines), int(line.split()[1])
            lines.append(line)
            if echo is not None:
                echo(line)
        self.broken = f"a command took longer than {timeout:g} s"
        raise ConsoleError(f"{self.broken}; output so far:\n{''.join(lines)}")

    def run(
        self, command: str, timeout: float = 300.0, echo: Callable[[str], object] | None = None
    ) -> tuple[str, int]:
        """Run ``command`` to completion; return its output and exit status.

        ``echo``, if given, is called with each line of output as it arrives: progress
        for a long command.
        """
        script = self._script(command)
        self._send(f"source {script} </dev/null; printf '\\n%s %d\\n' {self.token} $?\n")
        return self._collect(timeout, echo)

    def start_server(self, command: str, url: str, timeout: float = 60.0) -> str:
        """Start ``command`` in the background, wait until ``url`` answers, return its output.

        ``set -m`` gives the job a process group of its own, whose id ``$!`` is what
        :meth:`close` signals, reaching the server and every worker it forked.
        """
        if port_in_use(url):
            raise PortInUse(f"something else already listens at {url}")
        script = self._script(command)
        log = self.scratch / f"server-{self.count}.log"
        self._send(
            f"set -m; source {script} </dev/null >{shlex.quote(str(log))} 2>&1 & "
            f"printf '%s %d\\n' {self.token} $!; set +m\n"
        )
        _, pgid = self._collect(10)
        self.servers[url] = (pgid, log)
        try:
            wait_until_answers(url, alive=lambda: bool(group_members(pgid)), timeout=timeout)
        except ServerStartError as error:
            printed = log.read_text(errors="replace")
            raise ServerStartError(f"{error}; it printed:\n{printed}") from None
        printed = log.read_text(errors="replace")
        self.read_up_to[url] = len(printed)
        return printed

    def new_server_output(self, url: str) -> str:
        """What the server started for ``url`` printed since the previous call.

        The first call returns everything since the server answered for the first
        time (what :meth:`start_server` returned is not repeated).
        """
        _, log = self.servers[url]
        text = log.read_text(errors="replace")
        start = self.read_up_to.get(url, 0)
        self.read_up_to[url] = len(text)
        return text[start:]

    def serves(self, url: str) -> bool:
        """Whether a server this session started for ``url`` is still running."""
        pgid, _ = self.servers.get(url, (0, None))
        return bool(pgid and group_members(pgid))

    def close(self) -> None:
        """Stop the servers started here, then bash and anything it left running."""
        try:
            for pgid, _ in self.servers.values():
                stop_group(pgid)
        finally:
            if self.process.poll() is None and not self.broken:
                self._send("exit\n")
                with suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=10)
            stop_group(self.process.pid, reap=self.process.poll)
            self.process.wait(timeout=5)
