"""Every server the benchmarks measure, as the command that starts it, and how to run it.

Each :class:`Contender` is one server with ONE worker process, listening on a
loopback port chosen at start. :func:`serve` starts it with
:class:`testkit.server.ServerProcess` (its own process group, readiness
polled, stopped by PID) and yields a :class:`Running` server.

Pyramid contenders all serve the tutorial's home page: the tutorial's own app on
aiopyramid's worker, and :mod:`bench.apps.blocking` (the same page with a blocking
view) on the servers a reader might pick instead. Template reloading, which the
tutorial's development ini turns on, is turned off for all of them with Pyramid's
``PYRAMID_RELOAD_TEMPLATES`` environment variable, as in production.

The peers are what a developer starting an asynchronous app today might pick
instead: the same page in Starlette (:mod:`bench.apps.starlette_page`), on gunicorn's
ASGI worker and on uvicorn's gunicorn worker, and the tutorial's app on uvicorn's
worker too. uvloop and the C HTTP parsers are installed for the servers that say they
use them; every other server on gunicorn's ASGI worker is told to use the standard
event loop and gunicorn's Python parser (:data:`STANDARD`), as a reader who installs
aiopyramid alone runs it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.apps import A2WSGI_THREADS
from bench.legacy import LegacyUnavailable, prepare_legacy_server
from bench.profiles import REPO_ROOT, TUTORIAL_INI
from testkit.server import ServerProcess, free_port

AIOPYRAMID_WORKER = "aiopyramid.gunicorn.worker.AsyncGunicornWorker"
UVICORN_WORKER = "uvicorn_worker.UvicornWorker"
STANDARD = ("--asgi-loop", "asyncio", "--http-parser", "python")
"""gunicorn's ASGI worker with nothing but the standard library: asyncio's own event
loop and gunicorn's HTTP parser in Python."""
FAST = ("--asgi-loop", "uvloop", "--http-parser", "fast")
"""gunicorn's ASGI worker with uvloop and gunicorn_h1c's HTTP parser in C."""
GTHREAD_THREADS = 8
WAITRESS_THREADS = 4  # waitress's default, stated so the bench can report it
STARTUP_TIMEOUT = 60.0
STARLETTE_APP = "bench.apps.starlette_page:application"


@dataclass(frozen=True)
class Launch:
    """A server command: what to run, where, with which environment."""

    argv: list[str]
    cwd: Path = REPO_ROOT
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Contender:
    """One server to measure.

    ``parallel`` is how many requests it can serve at once with a blocking view
    (its threads), or ``None`` for an asyncio server, where waiting requests do not
    hold anything. ``launch`` builds the command for a port; it raises
    :class:`Unavailable` when the contender can't run on this machine.
    """

    key: str
    label: str
    server: str
    parallel: int | None
    launch: Callable[[int], Launch]


@dataclass
class Running:
    """A started contender: its address, its processes, its log."""

    contender: Contender
    process: ServerProcess

    @property
    def port(self) -> int:
        return self.process.port

    def url(self, path: str = "/") -> str:
        return self.process.url(path)

    def ws_url(self, path: str) -> str:
        return self.process.ws_url(path)

    def worker_pid(self) -> int:
        """The process serving requests: gunicorn's only worker, else the server itself."""
        children = child_pids(self.process.pid)
        return children[0] if children else self.process.pid

    def log_text(self) -> str:
        return self.process.log_text()


def child_pids(pid: int) -> list[int]:
    """The live children of ``pid``, from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        if int(fields[1]) == pid and fields[0] != "Z":
            children.append(int(stat.parent.name))
    return children


def rss_bytes(pid: int) -> int:
    """The resident memory of process ``pid``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def open_files_limit(pid: int) -> int:
    """The soft limit on open files of process ``pid`` (it caps the sockets it can hold)."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise RuntimeError(f"no open files limit for process {pid}")


def executable(name: str) -> str:
    """Console script ``name`` of the running environment (the nox session's)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed beside {sys.executable}")
    return found


def server_env() -> dict[str, str]:
    """The servers' environment: the repository importable, production-like Pyramid."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["PYRAMID_RELOAD_TEMPLATES"] = "false"
    env.pop("AIOPYRAMID_CONFIG", None)
    return env


def gunicorn(port: int, worker: str, *app: str, env: dict[str, str] | None = None) -> Launch:
    """gunicorn with one worker of class ``worker`` serving ``app`` (and any options
    before it), on ``port``; ``env`` adds to the servers' environment."""
    argv = [
        executable("gunicorn"),
        *("--workers", "1", "--worker-class", worker, "--bind", f"127.0.0.1:{port}"),
        # gunicorn 27 opens a control socket at a fixed path per user by default.
        "--no-control-socket",
        *("--graceful-timeout", "5", "--log-level", "warning"),
        *app,
    ]
    return Launch(argv, env={**server_env(), **(env or {})})


def _gthread(port: int) -> Launch:
    launch = gunicorn(port, "gthread", "bench.apps.blocking:application")
    return Launch([*launch.argv, "--threads", str(GTHREAD_THREADS)], env=launch.env)


def _waitress(port: int) -> Launch:
    argv = [
        executable("waitress-serve"),
        f"--listen=127.0.0.1:{port}",
        f"--threads={WAITRESS_THREADS}",
        "bench.apps.blocking:application",
    ]
    return Launch(argv, env=server_env())


def _uvicorn(port: int) -> Launch:
    argv = [
        executable("uvicorn"),
        "bench.apps.wsgi_on_asgi:application",
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--loop", "asyncio", "--http", "h11", "--log-level", "warning", "--no-access-log"),
    ]
    return Launch(argv, env=server_env())


class Unavailable(Exception):
    """A contender can't run on this machine; ``str(error)`` says why."""


class LegacyLauncher:
    """Builds the Python 3.6 stack once per run (or learns once why it can't)."""

    def __init__(self, cache_dir: Path, log: Callable[[str], None], disabled: str | None):
        self.cache_dir = cache_dir
        self.log = log
        self.unavailable = disabled
        self.python_version: str | None = None
        """The exact Python of the 2015 stack, once it has been started."""

    def __call__(self, port: int) -> Launch:
        if self.unavailable is not None:
            raise Unavailable(self.unavailable)
        try:
            server = prepare_legacy_server(port, self.cache_dir, self.log)
        except LegacyUnavailable as error:
            self.unavailable = str(error)
            raise Unavailable(self.unavailable) from None
        if self.python_version is None:
            # The server's command is a script of the virtualenv; its Python is beside it.
            python = Path(server.argv[0]).with_name("python")
            self.python_version = subprocess.run(
                [str(python), "-c", "import platform; print(platform.python_version())"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout.strip()
        return Launch(list(server.argv), cwd=server.cwd, env=dict(server.env))


APACHE = Path("/usr/sbin/apache2")
APACHE_MODULES = Path("/usr/lib/apache2/modules")
APACHE_CONF = """\
# One prefork process serving one PHP page on a loopback port (written by the bench).
ServerRoot "{root}"
DefaultRuntimeDir "{root}"
PidFile "{root}/apache2.pid"
ErrorLog "{root}/error.log"
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
{user}
LoadModule mpm_prefork_module {modules}/mod_mpm_prefork.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule dir_module {modules}/mod_dir.so
LoadModule mime_module {modules}/mod_mime.so
{reqtimeout}
LoadModule php_module {php}
StartServers 1
MinSpareServers 1
MaxSpareServers 1
ServerLimit 1
MaxRequestWorkers 1
TypesConfig /etc/mime.types
DocumentRoot "{root}/htdocs"
DirectoryIndex index.php
<Directory "{root}/htdocs">
    Require all granted
</Directory>
<FilesMatch "\\.php$">
    SetHandler application/x-httpd-php
</FilesMatch>
"""


class ApacheLauncher:
    """Apache with mod_php, one process, serving a one-line PHP page: only where installed.

    The configuration is written for each start under ``work_dir``; Debian's
    ``mod_reqtimeout`` (on in Debian's own configuration) is loaded too when present.
    """

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir

    def __call__(self, port: int) -> Launch:
        php = sorted(APACHE_MODULES.glob("libphp*.so"))
        if not APACHE.exists() or not php:
            raise Unavailable("apache2 with mod_php is not installed")
        root = self.work_dir / f"apache-{port}"
        (root / "htdocs").mkdir(parents=True, exist_ok=True)
        (root / "htdocs" / "index.php").write_text('<?php echo "Hello from PHP\\n";\n')
        reqtimeout = APACHE_MODULES / "mod_reqtimeout.so"
        conf = root / "apache2.conf"
        conf.write_text(
            APACHE_CONF.format(
                root=root,
                port=port,
                modules=APACHE_MODULES,
                php=php[-1],
                user="User nobody\nGroup nogroup" if os.geteuid() == 0 else "",
                reqtimeout=(
                    f"LoadModule reqtimeout_module {reqtimeout}" if reqtimeout.exists() else ""
                ),
            )
        )
        return Launch([str(APACHE), "-f", str(conf), "-DFOREGROUND"], cwd=root, env=server_env())


def contenders(legacy: LegacyLauncher, apache: ApacheLauncher) -> dict[str, Contender]:
    """Every contender, by key."""
    listed = [
        Contender(
            "aiopyramid",
            "aiotutorial, aiopyramid worker",
            f"gunicorn, {AIOPYRAMID_WORKER}",
            None,
            lambda port: gunicorn(port, AIOPYRAMID_WORKER, *STANDARD, "--paste", str(TUTORIAL_INI)),
        ),
        Contender(
            "sync",
            "Pyramid, gunicorn sync",
            "gunicorn, sync worker",
            1,
            lambda port: gunicorn(port, "sync", "bench.apps.blocking:application"),
        ),
        Contender(
            "gthread",
            f"Pyramid, gunicorn gthread ({GTHREAD_THREADS} threads)",
            f"gunicorn, gthread worker, {GTHREAD_THREADS} threads",
            GTHREAD_THREADS,
            _gthread,
        ),
        Contender(
            "waitress",
            "Pyramid, waitress",
            f"waitress, {WAITRESS_THREADS} threads (its default)",
            WAITRESS_THREADS,
            _waitress,
        ),
        Contender(
            "uvicorn_a2wsgi",
            "Pyramid, uvicorn + a2wsgi",
            f"uvicorn, a2wsgi WSGIMiddleware ({A2WSGI_THREADS} threads)",
            A2WSGI_THREADS,
            _uvicorn,
        ),
        Contender(
            "ceiling",
            "bare ASGI hello, gunicorn asgi",
            "gunicorn, asgi worker",
            None,
            lambda port: gunicorn(port, "asgi", *STANDARD, "bench.apps.hello:application"),
        ),
        Contender(
            "connect_floor",
            "bare ASGI hello, aiopyramid worker",
            f"gunicorn, {AIOPYRAMID_WORKER}",
            None,
            lambda port: gunicorn(
                port, AIOPYRAMID_WORKER, *STANDARD, "bench.apps.hello:application"
            ),
        ),
        Contender(
            "aiopyramid_fast",
            "aiotutorial, aiopyramid worker + uvloop + C parser",
            f"gunicorn, {AIOPYRAMID_WORKER}, uvloop, gunicorn_h1c",
            None,
            lambda port: gunicorn(port, AIOPYRAMID_WORKER, *FAST, "--paste", str(TUTORIAL_INI)),
        ),
        Contender(
            "aiopyramid_uvicorn",
            "aiotutorial, uvicorn worker",
            f"gunicorn, {UVICORN_WORKER} (uvloop, httptools)",
            None,
            lambda port: gunicorn(
                port,
                UVICORN_WORKER,
                "aiopyramid.asgi:app_from_environ()",
                env={"AIOPYRAMID_CONFIG": str(TUTORIAL_INI)},
            ),
        ),
        Contender(
            "starlette",
            "Starlette, gunicorn asgi",
            "gunicorn, asgi worker",
            None,
            lambda port: gunicorn(port, "asgi", *STANDARD, STARLETTE_APP),
        ),
        Contender(
            "starlette_uvicorn",
            "Starlette, uvicorn worker",
            f"gunicorn, {UVICORN_WORKER} (uvloop, httptools)",
            None,
            lambda port: gunicorn(port, UVICORN_WORKER, STARLETTE_APP),
        ),
        Contender(
            "django_sync",
            "Django, gunicorn sync",
            "gunicorn, sync worker",
            1,
            lambda port: gunicorn(port, "sync", "bench.django_app.wsgi:application"),
        ),
        Contender(
            "apache_php",
            "PHP, Apache prefork",
            "Apache 2 prefork, mod_php, one process",
            1,
            apache,
        ),
        Contender(
            "legacy",
            "2015: aiopyramid 0.4.1, Python 3.6",
            "gunicorn 19.7, aiopyramid 0.4.1 AsyncGunicornWorker (aiohttp 2.2)",
            None,
            legacy,
        ),
    ]
    return {contender.key: contender for contender in listed}


@contextlib.contextmanager
def serve(contender: Contender, log_dir: Path, name: str) -> Iterator[Running]:
    """Start ``contender`` on a free port, logging to ``log_dir/<name>.log``; stop it after.

    Raises :class:`Unavailable` when the contender can't run here.
    """
    port = free_port()
    launch = contender.launch(port)
    process = ServerProcess(
        launch.argv,
        port=port,
        log_path=log_dir / f"{name}.log",
        cwd=launch.cwd,
        env=launch.env,
        startup_timeout=STARTUP_TIMEOUT,
    )
    with process:
        yield Running(contender, process)
