"""What the numbers were measured on: the machine, the Pythons, every package's version."""

from __future__ import annotations

import os
import platform
import resource
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.clients import wrk_version
from bench.legacy import REQUIREMENTS as LEGACY_REQUIREMENTS

PACKAGES = (
    "aiopyramid",
    "aiotutorial",
    "pyramid",
    "webob",
    "greenlet",
    "gunicorn",
    "pyramid_jinja2",
    "jinja2",
    "waitress",
    "uvicorn",
    "uvicorn-worker",
    "starlette",
    "a2wsgi",
    "django",
    "websockets",
    "slowloris",
    "matplotlib",
    "uvloop",
    "httptools",
    "gunicorn_h1c",
)
LEGACY_PYTHON = "3.6"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def describe() -> dict[str, Any]:
    """The machine and the Python that ran the bench (and the servers, but the 2015 one)."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "open_files_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    }


def versions() -> dict[str, str]:
    """Installed versions of the packages the servers and clients use, and wrk's."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["wrk"] = wrk_version()
    return found


def legacy_versions() -> dict[str, str]:
    """The 2015 stack: Python 3.6 and the exact pins it is installed from (``--no-deps``)."""
    pins = {"python": LEGACY_PYTHON}
    for line in LEGACY_REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def raise_open_files_limit(wanted: int) -> int:
    """Raise this process's soft limit on open files toward ``wanted``; return the new limit.

    The servers the bench starts inherit it, so one worker can hold thousands of
    websockets and the client can open them.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
