"""Importing aiopyramid changes nothing in Pyramid (or its other dependencies) by itself.

Only setting an application up with aiopyramid does: ``config.include("aiopyramid")``
or building an ``ASGIApplication``. Each check runs in a fresh interpreter, since
this test process has configured applications long before.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import ast
    import importlib
    import pkgutil
    import sys
    from pathlib import Path

    import aiopyramid

    WATCHED = ("pyramid", "webob", "gunicorn", "greenlet", "zope", "venusian")

    def aiopyramid_modules():
        for info in pkgutil.walk_packages(aiopyramid.__path__, "aiopyramid."):
            if not info.name.endswith(".__main__"):
                yield info.name

    def dependencies():
        # Everything aiopyramid's modules import, lazily or not, so that importing
        # them later loads no new module of the watched packages.
        for path in Path(aiopyramid.__file__).parent.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    yield from (alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    yield node.module
                    # "from package import module" imports a module too.
                    yield from (f"{node.module}.{alias.name}" for alias in node.names)

    def snapshot():
        # Each watched module's attributes and each of its classes' attributes, by
        # identity: a patched function, a swapped class or a new attribute shows.
        seen = {}
        for name, module in list(sys.modules.items()):
            if name.split(".")[0] not in WATCHED or module is None:
                continue
            for attribute, value in list(vars(module).items()):
                if isinstance(value, type(sys)):
                    continue  # submodules: compared on their own
                seen[name, attribute] = id(value)
                if isinstance(value, type) and value.__module__ == name:
                    for member, member_value in list(vars(value).items()):
                        seen[name, attribute, member] = id(member_value)
        return seen

    for name in sorted(set(dependencies())):
        if not name.startswith("aiopyramid"):
            try:
                importlib.import_module(name)
            except ModuleNotFoundError:
                pass  # a name imported from a module, not a module

    import pyramid.threadlocal
    from pyramid.config import Configurator

    manager_class = type(pyramid.threadlocal.manager)
    loaded = set(sys.modules)
    before = snapshot()
    for name in aiopyramid_modules():
        importlib.import_module(name)
    after = snapshot()
    new = sorted(name for name in set(sys.modules) - loaded
                 if name.split(".")[0] in WATCHED)
    assert not new, f"modules loaded only by importing aiopyramid, so not compared: {new}"
    changed = sorted(str(key) for key in before.keys() | after.keys()
                     if before.get(key) != after.get(key))
    assert not changed, f"importing aiopyramid changed {changed}"
    assert type(pyramid.threadlocal.manager) is manager_class, "importing switched the stack"

    # Configuring an application switches the stack; an entry pushed before stays current.
    config = Configurator()
    config.begin()
    config.include("aiopyramid")
    assert type(pyramid.threadlocal.manager).__name__ == "ContextLocalManager"
    assert pyramid.threadlocal.get_current_registry() is config.registry
    config.end()
    assert pyramid.threadlocal.get_current_request() is None
    print("ok")
    """
)


def run(script: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_every_module_changes_nothing_until_an_app_is_configured() -> None:
    assert run(SCRIPT) == "ok"


def test_building_an_asgi_application_switches_the_stack() -> None:
    script = """
import pyramid.threadlocal
from pyramid.config import Configurator
from aiopyramid.asgi import ASGIApplication

app = Configurator().make_wsgi_app()
assert type(pyramid.threadlocal.manager).__name__ == "ThreadLocalManager"
ASGIApplication(app)
print(type(pyramid.threadlocal.manager).__name__)
"""
    assert run(script) == "ContextLocalManager"
