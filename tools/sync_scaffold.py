#!/usr/bin/env python3
"""Copy the tutorial's chapter-1 project into aiopyramid's ``aio_websocket`` template.

``example/chapter1/`` is the source of truth: chapter 1 explains its files, and
``tests/test_scaffolds.py`` fails unless ``aiopyramid-init aio_websocket aiotutorial``
generates exactly those files. After changing, adding or removing a file there, run

    python tools/sync_scaffold.py

to rewrite ``aiopyramid/scaffolds/aio_websocket/`` from it: ``aiotutorial`` becomes
the placeholder in file names and contents; a file that contains the name becomes a
rendered (``_tmpl``) file, any other file is copied as it is. ``--check`` only
reports whether the template is in sync (exit status 1 if not).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiopyramid.scaffolds import PLACEHOLDER, RENDERED_SUFFIX  # noqa: E402
from tests.support.projects import CHAPTER1 as SOURCE  # noqa: E402
from tests.support.projects import git_files  # noqa: E402

TEMPLATE = ROOT / "aiopyramid" / "scaffolds" / "aio_websocket"
NAME = "aiotutorial"


def template_for(path: PurePosixPath, content: bytes) -> tuple[PurePosixPath, bytes]:
    """Where a file of the project goes in the template, and what it holds there."""
    if PLACEHOLDER in str(path) or PLACEHOLDER.encode() in content:
        raise SystemExit(f"{SOURCE / path} contains {PLACEHOLDER!r}, the template placeholder")
    target = PurePosixPath(str(path).replace(NAME, PLACEHOLDER))
    if NAME.encode() in content:
        target = target.with_name(target.name + RENDERED_SUFFIX)
        content = content.replace(NAME.encode(), PLACEHOLDER.encode())
    return target, content


def wanted() -> dict[PurePosixPath, bytes]:
    """The template's files, as they should be."""
    return dict(
        template_for(path, (SOURCE / path).read_bytes())
        for path in map(PurePosixPath, git_files(SOURCE))
    )


def current() -> dict[PurePosixPath, bytes]:
    """The template's files, as they are."""
    return {
        PurePosixPath(path.relative_to(TEMPLATE).as_posix()): path.read_bytes()
        for path in TEMPLATE.rglob("*")
        if path.is_file()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report differences")
    check = parser.parse_args().check
    new, old = wanted(), current()
    changes = [f"added {path}" for path in sorted(new.keys() - old.keys())]
    changes += [f"removed {path}" for path in sorted(old.keys() - new.keys())]
    changes += [
        f"changed {path}" for path in sorted(new.keys() & old.keys()) if new[path] != old[path]
    ]
    for change in changes:
        print(change)
    if check:
        print("in sync" if not changes else "out of sync: run python tools/sync_scaffold.py")
        return 1 if changes else 0
    if changes:
        shutil.rmtree(TEMPLATE, ignore_errors=True)
        for path, content in new.items():
            (TEMPLATE / path).parent.mkdir(parents=True, exist_ok=True)
            (TEMPLATE / path).write_bytes(content)
    print(f"{TEMPLATE.relative_to(ROOT)}: {len(new)} files, {len(changes)} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
