"""Write out, record or check the project state of every chapter (see testkit.chapters).

Run from the repository's top directory:

    python -m tools.chapters                  write every chapter's project, and the
                                              aio_websocket template, from the sources
    python -m tools.chapters record chapterN  after editing chapter N's project: record
                                              its change (example/chapterN.diff), then
                                              write out the chapters after it
    python -m tools.chapters new "Title"      start a new last chapter (README: "Adding
                                              a chapter")
    python -m tools.chapters --check          exit 1, naming every file, if anything on
                                              disk differs from what the sources make
"""

from __future__ import annotations

import argparse
import re
import sys

from testkit import chapters

__all__ = ["main"]


def _report(written: dict[str, list[str]]) -> None:
    for where, changes in written.items():
        print(f"{where}: {', '.join(changes) if changes else 'up to date'}")


def new_chapter(title: str) -> None:
    """Append a chapter whose project starts as a copy of the last one's.

    The former last chapter's project moves from ``aiotutorial/`` to
    ``example/NAME/``, and its page's listings follow it there.
    """
    old = chapters.latest()
    number = old.number + 1
    name = f"chapter{number}"
    text = chapters.REGISTRY.read_text()
    text += f'\n[[chapters]]\nname = "{name}"\ntitle = "{title}"\npython = "{old.python}"\n'
    moved_to = chapters.ROOT / "example" / old.name
    chapters.write_project(moved_to, chapters.read_project(old.directory))
    page = old.page.read_text()
    page = re.sub(r"(\.\./)+aiotutorial/", "../../example/" + old.name + "/", page)
    old.page.write_text(page)
    chapters.REGISTRY.write_text(text)
    chapters.chapters.cache_clear()
    change = chapters.chapter(name).change
    assert change is not None
    change.write_text("")
    print(f"{name}: {title!r} added; its project is aiotutorial/, so far the same as {old.name}'s")
    print(f"{old.name}'s project is now {moved_to.relative_to(chapters.ROOT)}/")
    print(f"edit aiotutorial/, then: python -m tools.chapters record {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.chapters",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--check", action="store_true", help="only report differences")
    commands = parser.add_subparsers(dest="command")
    record = commands.add_parser("record", help="record a chapter's change from its directory")
    record.add_argument("chapter", help="the chapter's name, such as chapter2")
    new = commands.add_parser("new", help="start a new last chapter")
    new.add_argument("title", help="the chapter's title")
    arguments = parser.parse_args(argv)
    try:
        if arguments.check:
            problems = chapters.check()
            for problem in problems:
                print(problem)
            if problems:
                print("out of date: run python -m tools.chapters (see its --help)")
                return 1
            print(f"all {len(chapters.chapters())} chapters' projects are up to date")
        elif arguments.command == "record":
            _report(chapters.record(arguments.chapter))
        elif arguments.command == "new":
            new_chapter(arguments.title)
        else:
            _report(chapters.write_states())
    except (chapters.ChangeError, ValueError) as error:
        print(f"python -m tools.chapters: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
