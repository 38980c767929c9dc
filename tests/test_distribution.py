"""The library's distribution: one version, and runtime dependencies of its own only."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

import aiopyramid

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def project() -> dict[str, Any]:
    with PYPROJECT.open("rb") as pyproject:
        table: dict[str, Any] = tomllib.load(pyproject)["project"]
    return table


def test_the_version_is_the_distributions() -> None:
    assert aiopyramid.__version__ == version("aiopyramid") == project()["version"]


def test_runtime_dependencies_are_what_the_library_imports() -> None:
    """Nothing the tutorial, the tests or a warning needs is forced on every user.

    A pin here (setuptools, to quiet a warning Pyramid causes, was one) would
    conflict with what users' own environments need.
    """
    requirements = [Requirement(line) for line in project()["dependencies"]]
    assert sorted(requirement.name for requirement in requirements) == [
        "greenlet",
        "gunicorn",
        "pyramid",
    ]
    assert all(
        not requirement.specifier or all(spec.operator == ">=" for spec in requirement.specifier)
        for requirement in requirements
    ), "a runtime dependency has an upper bound"
