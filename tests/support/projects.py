"""The repository's files as git sees them, and directory trees to compare.

"As git sees them" means tracked, or new and not ignored: what a fresh clone would
hold once the work in progress is committed, without build products, virtualenvs
or caches.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

__all__ = [
    "CHAPTER1",
    "ROOT",
    "SYNC_COMMAND",
    "chapter1_differences",
    "chapter1_files",
    "copy_sources",
    "git_files",
    "tree",
]

ROOT = Path(__file__).resolve().parents[2]
"""The repository's top directory."""

CHAPTER1 = ROOT / "example" / "chapter1"
"""The tutorial's project, which ``aiopyramid-init aio_websocket aiotutorial`` generates."""

SYNC_COMMAND = "python tools/sync_scaffold.py"
"""What copies :data:`CHAPTER1` into the ``aio_websocket`` template."""


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
