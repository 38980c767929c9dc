"""Every chapter's project comes from one source of truth, and drift is caught by name.

The first test checks the repository as it is. The others work on a copy of it,
through the maintainers' command, ``python -m tools.chapters``, as a maintainer
runs it.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from aiopyramid import scaffolds
from testkit import chapters
from testkit.projects import copy_sources, git_files


def test_every_chapter_s_project_is_what_its_sources_make() -> None:
    problems = chapters.check()
    assert not problems, "\n".join([*problems, "fix: python -m tools.chapters (see --help)"])


def test_the_last_chapter_s_project_is_the_top_level_one() -> None:
    assert chapters.latest().directory == chapters.ROOT / "aiotutorial"
    assert all(
        each.directory == chapters.ROOT / "example" / each.name for each in chapters.chapters()[:-1]
    )


@pytest.mark.parametrize("each", chapters.chapters(), ids=lambda each: each.name)
def test_a_project_s_files_are_those_git_keeps(each: chapters.Chapter) -> None:
    """What the tools call a project's files (not caches, databases, virtualenvs)."""
    assert sorted(chapters.read_project(each.directory)) == git_files(each.directory)


def test_the_template_conventions_are_the_scaffolds() -> None:
    assert chapters.PLACEHOLDER == scaffolds.PLACEHOLDER
    assert chapters.RENDERED_SUFFIX == scaffolds.RENDERED_SUFFIX


def test_nox_reads_the_same_chapters() -> None:
    listed = subprocess.run(
        [sys.executable, "-c", "import noxfile; print(*(c.label for c in noxfile.CHAPTERS))"],
        cwd=chapters.ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listed == [each.label for each in chapters.chapters()]


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A copy of the repository's files, where the maintainers' command can run."""
    copy = tmp_path / "repository"
    copy_sources(copy)
    return copy


def tool(repository: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.chapters", *arguments],
        cwd=repository,
        capture_output=True,
        text=True,
        timeout=120,
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} no longer holds {old!r}"
    path.write_text(text.replace(old, new, 1))


def test_a_file_edited_in_a_written_out_project_is_named(repository: Path) -> None:
    edit(repository / "aiotutorial/aiotutorial/views.py", "import", "import  ")
    (repository / "aiotutorial/stray.txt").write_text("left here\n")
    checked = tool(repository, "--check")
    assert checked.returncode == 1
    assert "aiotutorial/: aiotutorial/views.py differs" in checked.stdout
    assert "aiotutorial/: stray.txt should not be there" in checked.stdout


def test_an_edit_of_chapter_1_is_carried_into_every_later_project(repository: Path) -> None:
    edit(repository / "example/chapter1/development.ini", "# Start both with:", "# Start with:")
    assert "aiotutorial/: development.ini differs" in tool(repository, "--check").stdout
    written = tool(repository)
    assert written.returncode == 0, written.stderr
    assert "aiotutorial/: changed development.ini" in written.stdout
    assert "# Start with:" in (repository / "aiotutorial/development.ini").read_text()
    template = repository / "aiopyramid/scaffolds/aio_websocket/development.ini_tmpl"
    assert "# Start with:" in template.read_text()
    assert tool(repository, "--check").returncode == 0


def test_recording_a_chapter_makes_its_edit_part_of_its_change(repository: Path) -> None:
    last = chapters.latest()
    edit(repository / "aiotutorial/development.ini", "/aiotutorial.sqlite", "/game.sqlite")
    recorded = tool(repository, "record", last.name)
    assert recorded.returncode == 0, recorded.stderr
    assert f"example/{last.name}.diff: recorded" in recorded.stdout
    assert "%(here)s/game.sqlite\n" in (repository / f"example/{last.name}.diff").read_text()
    assert tool(repository, "--check").returncode == 0


def test_recording_an_earlier_chapter_writes_out_the_later_ones(repository: Path) -> None:
    edit(repository / "example/chapter2/README.rst", "Create the database's", "Make the")
    recorded = tool(repository, "record", "chapter2")
    assert recorded.returncode == 0, recorded.stderr
    assert "example/chapter2.diff: recorded" in recorded.stdout
    assert "Make the" in (repository / "aiotutorial/README.rst").read_text()
    assert tool(repository, "--check").returncode == 0


def test_lines_added_early_move_the_later_changes_hunks_with_them(repository: Path) -> None:
    """An edit of chapter 3 that adds lines: chapter 4's change still fits, and is
    recorded again so that its hunks start where the lines now are, as ``patch``
    needs to apply it without offsets."""
    tests = repository / "example/chapter3/aiotutorial/tests/test_api.py"
    # Between two of chapter 4's hunks of the file, so that its change still fits.
    edit(tests, '({}, "content is missing"),\n', '({}, "content is missing"),  # more\n\n')
    recorded = tool(repository, "record", "chapter3")
    assert recorded.returncode == 0, recorded.stderr
    assert "example/chapter4.diff: recorded again" in recorded.stdout
    assert tool(repository, "--check").returncode == 0
    (repository / "example/chapter4.diff").write_text(
        (chapters.ROOT / "example/chapter4.diff").read_text()
    )
    checked = tool(repository, "--check")
    assert checked.returncode == 1
    assert "example/chapter4.diff: its hunks do not start where" in checked.stdout


def test_an_edit_that_a_later_change_cannot_follow_is_refused_by_name(repository: Path) -> None:
    edit(repository / "example/chapter1/README.rst", "An asynchronous", "A concurrent")
    written = tool(repository)
    assert written.returncode == 1
    assert "example/chapter2.diff: README.rst: the hunk at line 1 does not fit" in written.stderr


def test_chapter_1_has_no_change_to_record(repository: Path) -> None:
    recorded = tool(repository, "record", "chapter1")
    assert recorded.returncode == 1
    assert "chapter 1 has no change to record" in recorded.stderr
    assert "there is no chapter 'chapter9'" in tool(repository, "record", "chapter9").stderr


def test_a_new_chapter_starts_from_the_last_one(repository: Path) -> None:
    last = chapters.latest()
    added = tool(repository, "new", "Sign in")
    assert added.returncode == 0, added.stderr
    name = f"chapter{last.number + 1}"
    assert (
        f'name = "{name}"\ntitle = "Sign in"' in (repository / "example/chapters.toml").read_text()
    )
    assert (repository / f"example/{name}.diff").read_text() == ""
    moved = repository / "example" / last.name
    assert chapters.read_project(moved) == chapters.read_project(repository / "aiotutorial")
    page = (repository / "docs/tutorial" / f"{last.name}.rst").read_text()
    assert "../../aiotutorial/" not in page
    assert f"../../example/{last.name}/aiotutorial/" in page
    assert tool(repository, "--check").returncode == 0


def test_a_stale_chapter_directory_is_reported(repository: Path) -> None:
    (repository / "example/chapter7").mkdir()
    (repository / "example/chapter7/README.rst").write_text("old\n")
    checked = tool(repository, "--check")
    assert checked.returncode == 1
    assert "example/chapter7/ is no chapter's project: remove it" in checked.stdout
