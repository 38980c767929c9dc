"""Every public name of aiopyramid has a docstring and an entry in the API reference.

A module's public names are those in its ``__all__``, which the reference documents;
every other name a module defines starts with an underscore.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pytest
from sphinx.pycode import ModuleAnalyzer

import aiopyramid

API_DIR = Path(__file__).parent / "api"


def public_modules() -> list[str]:
    names = ["aiopyramid"]
    for info in pkgutil.walk_packages(aiopyramid.__path__, "aiopyramid."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def documented_modules() -> dict[str, str]:
    """Module name -> the options of its ``automodule`` directive, from docs/api."""
    found = {}
    for page in API_DIR.glob("*.rst"):
        for match in re.finditer(
            r"^\.\. automodule:: (\S+)\n((?:   :\S+:.*\n)*)", page.read_text(), re.M
        ):
            found[match.group(1)] = match.group(2)
    return found


@pytest.mark.parametrize("name", public_modules())
def test_every_public_module_has_a_reference_page_with_members(name: str) -> None:
    options = documented_modules().get(name)
    assert options is not None, f"{name} has no automodule directive under docs/api"
    assert ":members:" in options
    assert f"   {name}\n" in (API_DIR / "index.rst").read_text(), "missing from the toctree"


def attribute_docs(module: ModuleType) -> dict[tuple[str, str], list[str]]:
    return ModuleAnalyzer.for_module(module.__name__).find_attr_docs()


@pytest.mark.parametrize("name", public_modules())
def test_every_public_name_has_a_docstring(name: str) -> None:
    module = importlib.import_module(name)
    assert inspect.getdoc(module), f"module {name} has no docstring"
    assert hasattr(module, "__all__"), f"{name} does not declare its public names in __all__"
    attr_docs = attribute_docs(module)
    undocumented = []
    for public in module.__all__:
        value = getattr(module, public)
        if inspect.isclass(value) or inspect.isroutine(value):
            if not inspect.getdoc(value):
                undocumented.append(public)
            if inspect.isclass(value) and value.__module__ == name:
                undocumented += undocumented_members(value, attr_docs)
        elif ("", public) not in attr_docs:
            undocumented.append(public)
    assert undocumented == [], f"{name}: no docstring for {undocumented}"


def undocumented_members(cls: type, attr_docs: dict[tuple[str, str], list[str]]) -> list[str]:
    missing = []
    for member, value in vars(cls).items():
        if member.startswith("_") and member != "__call__":
            continue
        if isinstance(value, property):
            value = value.fget
        if inspect.isroutine(value) or isinstance(value, (staticmethod, classmethod)):
            if not inspect.getdoc(getattr(cls, member)):
                missing.append(f"{cls.__name__}.{member}")
        elif (cls.__qualname__, member) not in attr_docs:
            missing.append(f"{cls.__name__}.{member}")
    return missing


def defined_names(module: ModuleType) -> set[str]:
    """The names ``module``'s own top-level statements bind (imports excluded)."""
    tree = ast.parse(inspect.getsource(module))
    names: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names.update(
                node.id
                for target in targets
                for node in ast.walk(target)
                if isinstance(node, ast.Name)
            )
    return names


@pytest.mark.parametrize("name", public_modules())
def test_every_name_without_an_underscore_is_public(name: str) -> None:
    module = importlib.import_module(name)
    unlisted = sorted(
        defined
        for defined in defined_names(module)
        if not defined.startswith("_") and defined not in module.__all__
    )
    assert unlisted == [], (
        f"{name} defines {unlisted} without an underscore but leaves them out of __all__ "
        "(and so out of the API reference): list them in __all__, or prefix them with _"
    )
