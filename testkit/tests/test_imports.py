"""Imports between the repository's top-level folders go one way (README, "Layout")."""

import ast

import pytest

from testkit.chapters import ROOT

ALLOWED = {
    "aiopyramid": set(),
    "testkit": {"aiopyramid"},
    "tests": {"aiopyramid", "testkit"},
    "bench": {"aiopyramid", "testkit"},
    "tools": {"aiopyramid", "testkit"},
    "docs": {"aiopyramid", "testkit", "bench"},
}
"""Which of the repository's folders each folder may import from, besides itself."""


def imported_folders(folder: str) -> dict[str, set[str]]:
    """The repository folders each module under ``folder`` imports, by module path."""
    found = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        if "_build" in path.parts:
            continue
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        tops = {name.split(".")[0] for name in names}
        found[path.relative_to(ROOT).as_posix()] = (tops & ALLOWED.keys()) - {folder}
    return found


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_a_folder_imports_only_the_folders_it_may(folder: str) -> None:
    wrong = {
        module: sorted(imports - ALLOWED[folder])
        for module, imports in imported_folders(folder).items()
        if imports - ALLOWED[folder]
    }
    assert not wrong, f"{folder}/ may import only {sorted(ALLOWED[folder])}: {wrong}"


def edits_sys_path(tree: ast.AST) -> bool:
    """Whether the module calls ``sys.path.insert``, ``append`` or ``extend``."""
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"insert", "append", "extend"}
        and ast.unparse(node.func.value) == "sys.path"
        for node in ast.walk(tree)
    )


def test_nothing_edits_sys_path() -> None:
    modules = [ROOT / "conftest.py", ROOT / "noxfile.py"]
    modules += [path for folder in ALLOWED for path in (ROOT / folder).rglob("*.py")]
    offenders = [
        path.relative_to(ROOT).as_posix()
        for path in modules
        if "_build" not in path.parts and edits_sys_path(ast.parse(path.read_text()))
    ]
    assert offenders == []
