"""The project's real files: list them, copy them, and check a tree listing against them.

A tree listing describes either this repository or a project that ``aiopyramid-init``
generates (:func:`generated_files`), which is what the reader's own project is.
"""

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]
"""The repository's top directory."""


def project_files(root: Path = ROOT) -> list[str]:
    """Paths of the project's files as git sees them: tracked, or new and not ignored.

    Build products, virtualenvs and caches are left out, as in a fresh clone, and so
    is a tracked file deleted from the work tree.
    """
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted(name for name in set(listing.split("\0")) if name and (root / name).is_file())


def copy_project(destination: Path, root: Path = ROOT) -> None:
    """Copy the project's files (see :func:`project_files`) into ``destination``."""
    for name in project_files(root):
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, destination / name)


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
    """Compare a ``tree``-style listing with the project's files; return the differences."""
    return compare_tree(listing, project_files(root))


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
