"""The repository's files as git sees them, generated projects, and tree listings.

"As git sees them" means tracked, or new and not ignored: what a fresh clone would
hold once the work in progress is committed, without build products, virtualenvs
or caches. A tree listing (``tree``-style text in the docs) describes either a
directory of this repository or a project that ``aiopyramid-init`` generates
(:func:`generated_files`), which is what the reader's own project is.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from testkit.chapters import ROOT, chapter

__all__ = [
    "CHAPTER1",
    "ROOT",
    "SYNC_COMMAND",
    "chapter1_differences",
    "chapter1_files",
    "check_tree",
    "compare_tree",
    "copy_sources",
    "generated_files",
    "git_files",
    "tree",
]

CHAPTER1 = chapter("chapter1").directory
"""The tutorial's project, which ``aiopyramid-init aio_websocket aiotutorial`` generates."""

SYNC_COMMAND = "python -m tools.chapters"
"""What writes :data:`CHAPTER1` into the ``aio_websocket`` template."""


def git_files(directory: Path) -> list[str]:
    """POSIX paths, relative to ``directory``, of the files git sees under it."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", "."],
        cwd=directory,
        capture_output=True,
        check=True,
    ).stdout.decode()
    names = {name for name in listing.split("\0") if name}
    return sorted(name for name in names if (directory / name).is_file())


def tree(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory``, by POSIX path relative to it, with its bytes."""
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def chapter1_files() -> dict[str, bytes]:
    """The files of :data:`CHAPTER1` that git sees, with their bytes."""
    return {name: (CHAPTER1 / name).read_bytes() for name in git_files(CHAPTER1)}


def copy_sources(destination: Path) -> None:
    """Copy the repository's files that git sees into ``destination``."""
    for name in git_files(ROOT):
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination / name)


def chapter1_differences(generated: dict[str, bytes]) -> str:
    """How a generated ``aiotutorial`` differs from :data:`CHAPTER1`, file by file; "" if not.

    Names every missing, extra or different file, with the first differing line, and
    says how to bring the template back in sync.
    """
    expected = chapter1_files()
    problems = [
        f"missing from the generated project: {name}" for name in expected.keys() - generated.keys()
    ]
    problems += [
        f"generated, but not in example/chapter1: {name}"
        for name in generated.keys() - expected.keys()
    ]
    problems += [
        f"different: {name} ({_first_difference(expected[name], generated[name])})"
        for name in expected.keys() & generated.keys()
        if expected[name] != generated[name]
    ]
    if not problems:
        return ""
    return (
        "aiopyramid-init aio_websocket aiotutorial no longer generates example/chapter1:\n  "
        + "\n  ".join(sorted(problems))
        + f"\nIf example/chapter1 is right, copy it into the template with: {SYNC_COMMAND}"
    )


def _first_difference(expected: bytes, actual: bytes) -> str:
    """The first line where two versions of a file differ."""
    for number, (want, got) in enumerate(
        zip(expected.splitlines(), actual.splitlines(), strict=False), start=1
    ):
        if want != got:
            return f"line {number}: example/chapter1 has {want!r}, the template gives {got!r}"
    return f"one is longer: {len(expected)} bytes in example/chapter1, {len(actual)} generated"


def generated_files(template: str, listing: str) -> list[str]:
    """Paths of the files that ``aiopyramid-init TEMPLATE NAME`` creates.

    ``NAME`` is the top directory that the tree ``listing`` shows on its first line.
    The command is the one installed beside the running Python, run in a scratch
    directory, exactly as a reader runs it.
    """
    name = listing.splitlines()[0].strip().rstrip("/")
    command = Path(sys.executable).parent / "aiopyramid-init"
    with tempfile.TemporaryDirectory(prefix="project-tree-") as scratch:
        subprocess.run(
            [str(command), template, name],
            cwd=scratch,
            capture_output=True,
            check=True,
            timeout=60,
        )
        project = Path(scratch) / name
        return sorted(
            path.relative_to(project).as_posix() for path in project.rglob("*") if path.is_file()
        )


_BRANCH = re.compile(r"((?:│   |    )*)(?:├── |└── )(.*)")


def check_tree(listing: str, root: Path = ROOT) -> list[str]:
    """Compare a ``tree``-style listing with the files of ``root``; return the differences."""
    return compare_tree(listing, git_files(root))


def compare_tree(listing: str, names: Iterable[str]) -> list[str]:
    """Compare a ``tree``-style listing with the files ``names``; return the differences.

    The first line names the top directory. Directories end with ``/``; text after
    ``#`` is a comment. A directory whose entries are listed must list all of them,
    unless one entry is ``...`` ("and more"); a directory listed without entries is
    shown collapsed and only has to exist.
    """
    files = {PurePosixPath(name) for name in names}
    directories = {parent for name in files for parent in name.parents}
    shown: dict[PurePosixPath, set[str]] = {PurePosixPath("."): set()}
    problems = []
    parents = [PurePosixPath(".")]
    for line in listing.splitlines()[1:]:
        branch = _BRANCH.fullmatch(line.rstrip())
        if branch is None:
            problems.append(f"not a tree line: {line!r}")
            continue
        depth = len(branch[1]) // 4
        entry = branch[2].split("#")[0].strip()
        if depth >= len(parents):
            problems.append(f"indented deeper than its directory: {line!r}")
            continue
        parent = parents[depth]
        shown[parent].add(entry)
        if entry == "...":
            continue
        path = parent / entry.rstrip("/")
        if entry.endswith("/"):
            del parents[depth + 1 :]
            parents.append(path)
            shown.setdefault(path, set())
            if path not in directories:
                problems.append(f"{path}/ is not a directory of the project")
        elif path not in files:
            problems.append(f"{path} is not a file of the project")
    for directory, entries in shown.items():
        if not entries or "..." in entries:
            continue
        real = {
            child.name + ("/" if child in directories else "")
            for child in files | directories
            if child.parent == directory and child != directory
        }
        if missing := sorted(real - entries):
            problems.append(f"{directory}/ also holds {', '.join(missing)}")
    return problems
