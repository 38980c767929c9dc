"""Commands that serve the live test app, each as a :class:`~testkit.server.ServerProcess`.

The executables come from the running interpreter's environment (the nox session's
virtualenv in CI), so the servers run the same Python and the same aiopyramid as
the tests.
"""

from __future__ import annotations

import configparser
import os
import shutil
import sys
from pathlib import Path

from testkit.server import ServerProcess, free_port
from tests.live_app import INI_PATH

REPO_ROOT = INI_PATH.parents[2]
WORKER_CLASS = "aiopyramid.gunicorn.worker.AsyncGunicornWorker"
INI_ARG = str(INI_PATH.relative_to(REPO_ROOT))  # as a reader would type it, from the root

RUNTIME_VARIABLE = "AIOPYRAMID_TEST_RUNTIME"
"""Set to ``fast`` (``nox -s tests_fast`` does), it has aiopyramid's worker run on uvloop
with gunicorn_h1c's HTTP parser in every live test that starts it with ``pserve`` or
``gunicorn --paste``: the same tests then hold for ``aiopyramid[fast]``."""
FAST_RUNTIME_INI = REPO_ROOT / "docs" / "guide" / "examples" / "fast_runtime.ini"
"""The deployment guide's lines for the fast runtime, which these tests then use."""


def _fast_options() -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read(FAST_RUNTIME_INI)
    return dict(parser["server:main"])


FAST_OPTIONS = _fast_options()
"""gunicorn's settings for the fast runtime, as ini keys (``asgi_loop``...)."""


def fast() -> bool:
    """Whether the live tests run aiopyramid's worker on the fast runtime."""
    return os.environ.get(RUNTIME_VARIABLE, "") == "fast"


def ini_arg(log_dir: Path) -> str:
    """The ini file to serve: ``live.ini``, or in the fast runtime a copy in ``log_dir``
    whose ``[server:main]`` also sets :data:`FAST_OPTIONS`."""
    if not fast():
        return INI_ARG
    lines = "".join(f"{key} = {value}\n" for key, value in FAST_OPTIONS.items())
    text = INI_PATH.read_text().replace("[server:main]\n", f"[server:main]\n{lines}", 1)
    copy = log_dir / "live_fast.ini"
    copy.write_text(text)
    return str(copy)


def gunicorn_options() -> list[str]:
    """Command-line options for aiopyramid's worker: the fast runtime's, if asked for."""
    if not fast():
        return []
    return [f"--{key.replace('_', '-')}={value}" for key, value in FAST_OPTIONS.items()]


def executable(name: str) -> str:
    """The path of console script ``name`` installed beside the running interpreter."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed beside {sys.executable}")
    return found


def server_env(**extra: str) -> dict[str, str]:
    """The environment for a server: the repository root importable, output unbuffered."""
    env = dict(os.environ)
    paths = [str(REPO_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("AIOPYRAMID_CONFIG", None)
    env.update(extra)
    return env


def server_process(command: list[str], *, port: int, log_dir: Path, **env: str) -> ServerProcess:
    """``command`` run from the repository root, logging to ``log_dir/<program>.log``.

    Its first word is the program, found with :func:`executable`; ``env`` is added
    to :func:`server_env`.
    """
    program, *args = command
    return ServerProcess(
        [executable(program), *args],
        port=port,
        log_path=log_dir / f"{program}.log",
        cwd=REPO_ROOT,
        env=server_env(**env),
    )


def pserve(log_dir: Path) -> ServerProcess:
    """``pserve tests/live_app/live.ini http_port=PORT``: gunicorn with aiopyramid's
    worker, as the ini file's ``[server:main]`` says."""
    port = free_port()
    command = ["pserve", ini_arg(log_dir), f"http_port={port}"]
    return server_process(command, port=port, log_dir=log_dir)


def gunicorn_paste(log_dir: Path) -> ServerProcess:
    """``gunicorn --paste tests/live_app/live.ini -k <worker> -b 127.0.0.1:PORT``."""
    port = free_port()
    command = ["gunicorn", "--paste", ini_arg(log_dir), "-k", WORKER_CLASS]
    command += ["-b", f"127.0.0.1:{port}", *gunicorn_options()]
    return server_process(command, port=port, log_dir=log_dir)


def uvicorn(log_dir: Path) -> ServerProcess:
    """``AIOPYRAMID_CONFIG=live.ini uvicorn --factory aiopyramid.asgi:app_from_environ``."""
    port = free_port()
    return server_process(
        [
            "uvicorn",
            "--factory",
            "aiopyramid.asgi:app_from_environ",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        port=port,
        log_dir=log_dir,
        AIOPYRAMID_CONFIG=INI_ARG,
    )


def hypercorn(log_dir: Path) -> ServerProcess:
    """``AIOPYRAMID_CONFIG=live.ini hypercorn 'aiopyramid.asgi:app_from_environ()'``.

    Hypercorn has no ``--factory`` flag, but it evaluates the part after the colon,
    so calling the factory there works.
    """
    port = free_port()
    return server_process(
        ["hypercorn", "--bind", f"127.0.0.1:{port}", "aiopyramid.asgi:app_from_environ()"],
        port=port,
        log_dir=log_dir,
        AIOPYRAMID_CONFIG=INI_ARG,
    )


def gunicorn_wsgi(app: str, log_dir: Path, *, root_path: str = "") -> ServerProcess:
    """``gunicorn -k <worker> [--root-path PREFIX] APP``: a bare WSGI app on aiopyramid's worker."""
    port = free_port()
    command = ["gunicorn", "-k", WORKER_CLASS, "-b", f"127.0.0.1:{port}", "--no-control-socket"]
    command += gunicorn_options()
    if root_path:
        command += ["--root-path", root_path]
    return server_process([*command, app], port=port, log_dir=log_dir)


def waitress(app: str, log_dir: Path, *, url_prefix: str = "") -> ServerProcess:
    """``waitress-serve [--url-prefix=PREFIX] APP``: the reference WSGI server."""
    port = free_port()
    command = ["waitress-serve", f"--listen=127.0.0.1:{port}"]
    if url_prefix:
        command.append(f"--url-prefix={url_prefix}")
    return server_process([*command, app], port=port, log_dir=log_dir)
