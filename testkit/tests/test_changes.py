"""Changes between versions of a project: made, applied, and read by git and patch too."""

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testkit.changes import ChangeError, apply_change, make_change, parse_change
from testkit.chapters import chapter, read_project

LINES = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "\n", "def f():\n", "    pass\n"]))
CONTENT = st.builds(
    lambda lines, tail: ("".join(lines) + tail).encode(), LINES, st.sampled_from(["", "end"])
)
PROJECTS = st.dictionaries(st.sampled_from(["a.py", "b/c.ini", "b/d.txt", "e"]), CONTENT)


@given(PROJECTS, PROJECTS)
def test_applying_the_change_between_two_projects_gives_the_second(
    old: dict[str, bytes], new: dict[str, bytes]
) -> None:
    assert apply_change(old, make_change(old, new)) == new


def test_no_change_is_an_empty_change() -> None:
    files = {"a.py": b"x = 1\n"}
    assert make_change(files, files) == ""
    assert apply_change(files, "") == files


def test_a_change_reads_like_git_diff() -> None:
    change = make_change(
        {"gone.txt": b"bye\n", "kept.py": b"a\nb\n"}, {"kept.py": b"a\nc\n", "new.ini": b""}
    )
    assert change == (
        "diff --git a/gone.txt b/gone.txt\n"
        "deleted file mode 100644\n"
        "--- a/gone.txt\n"
        "+++ /dev/null\n"
        "@@ -1 +0,0 @@\n"
        "-bye\n"
        "diff --git a/kept.py b/kept.py\n"
        "--- a/kept.py\n"
        "+++ b/kept.py\n"
        "@@ -1,2 +1,2 @@\n"
        " a\n"
        "-b\n"
        "+c\n"
        "diff --git a/new.ini b/new.ini\n"
        "new file mode 100644\n"
    )
    assert [(file.path, file.kind) for file in parse_change(change)] == [
        ("gone.txt", "removed"),
        ("kept.py", "changed"),
        ("new.ini", "added"),
    ]


def test_a_missing_newline_at_the_end_is_kept_and_marked() -> None:
    change = make_change({"a": b"x\ny\n"}, {"a": b"x\nz"})
    assert change.endswith("+z\n\\ No newline at end of file\n")
    assert apply_change({"a": b"x\ny\n"}, change) == {"a": b"x\nz"}


def test_hunks_find_their_context_when_lines_moved() -> None:
    old = {"a": b"".join(b"%d\n" % n for n in range(20))}
    new = {"a": old["a"].replace(b"15\n", b"fifteen\n")}
    moved = {"a": b"inserted\n" * 4 + old["a"]}
    assert apply_change(moved, make_change(old, new)) == {"a": b"inserted\n" * 4 + new["a"]}


def test_a_hunk_that_does_not_fit_names_the_file_and_its_line() -> None:
    change = make_change({"views.py": b"a\nb\nc\n"}, {"views.py": b"a\nB\nc\n"})
    with pytest.raises(ChangeError, match=r"views.py: the hunk at line 1 does not fit"):
        apply_change({"views.py": b"a\nx\nc\n"}, change)


@pytest.mark.parametrize(
    ("old", "change", "message"),
    [
        ({}, "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n", "no such file"),
        ({"x": b""}, "diff --git a/x b/x\nnew file mode 100644\n", "already exists"),
        ({"x": b"a\n"}, "diff --git a/x b/x\ndeleted file mode 100644\n", "content differs"),
        ({}, "not a diff\n", "must start with"),
        ({"x": b"a\n"}, "diff --git a/x b/y\n", "renames are not supported"),
        (
            {"x": b"a\n"},
            "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1 @@\n-a\n",
            "wrong number",
        ),
        ({"x": b"a\n"}, "diff --git a/x b/x\n--- a/y\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n", "header"),
    ],
)
def test_changes_that_cannot_apply_are_refused(
    old: dict[str, bytes], change: str, message: str
) -> None:
    with pytest.raises(ChangeError, match=message):
        apply_change(old, change)


def test_only_text_files_can_be_changed() -> None:
    with pytest.raises(ChangeError, match=r"logo\.png: not a UTF-8 text file"):
        make_change({}, {"logo.png": b"\x89PNG\xff"})
    with pytest.raises(ChangeError, match="data: not a text file"):
        make_change({}, {"data": b"a\0b"})


@pytest.mark.parametrize(
    "tool", [["git", "apply"], ["patch", "-p1", "-s", "-i"]], ids=["git apply", "patch"]
)
def test_git_and_patch_apply_a_chapter_s_change_as_we_do(tool: list[str], tmp_path: Path) -> None:
    """Readers apply a chapter's change with their own tools: those must agree."""
    if shutil.which(tool[0]) is None:
        pytest.fail(f"{tool[0]} is not installed")
    second = chapter("chapter2")
    before = read_project(chapter("chapter1").directory)
    for name, content in before.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    assert second.change is not None
    done = subprocess.run(
        [*tool, str(second.change)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert read_project(tmp_path) == apply_change(before, second.change.read_text())
