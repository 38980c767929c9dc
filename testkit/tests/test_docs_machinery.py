"""Tests of the docs' test machinery itself (testkit): it must catch what it claims."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sybil import Document

from testkit.console import BashSession, normalize, output_matches, parse_transcript
from testkit.projects import check_tree, compare_tree, generated_files
from testkit.rst import code_blocks
from testkit.server import free_port, group_members
from testkit.sybil_config import ReasonedSkipParser
from testkit.venv import clean_environment


def test_normalize_stabilises_timestamps_pids_and_versions() -> None:
    line = "[2026-11-25 19:03:05 +0000] [9230] [INFO] Starting gunicorn 27.0.1 (9230) pid: 12"
    expected = "[<timestamp>] [<pid>] [INFO] Starting gunicorn <version> (<pid>) pid: <pid>"
    assert normalize(line) == expected
    assert normalize("Listening at: http://127.0.0.1:6543") == "Listening at: http://127.0.0.1:6543"


def test_durations_compare_by_whole_seconds() -> None:
    assert output_matches("fast: 0.104s", "fast: 0.93s")
    assert not output_matches("fast: 0.104s", "fast: 1.2s")
    assert output_matches("slow: 3.008s", "slow: 3.5s")


def test_ellipsis_matches_any_lines_and_nothing_else_is_loose() -> None:
    assert output_matches("a\n...\nz", "a\nb\nc\nz")
    assert output_matches(
        "Successfully installed ...aiotutorial-0.1.0...",
        "Successfully installed x-1.2.3 aiotutorial-0.1.0 y-2.0.0",
    )
    assert not output_matches("CONNECTED", "CONNECTED!")


def test_transcripts_split_into_commands_and_output() -> None:
    steps = parse_transcript("$ echo hi\nhi\n$ true")
    assert [(s.command, s.shown) for s in steps] == [("echo hi", ["hi"]), ("true", [])]
    with pytest.raises(ValueError, match="starts with output"):
        parse_transcript("hi\n$ echo hi")
    with pytest.raises(ValueError, match="continued"):
        parse_transcript("$ echo \\")


def test_code_blocks_carry_the_marker_before_them() -> None:
    text = (
        "Intro.\n\n.. page-output: http://127.0.0.1:1/\n\n"
        ".. code-block:: text\n   :caption: x\n\n   one\n   two\n\nAfter.\n\n"
        ".. code-block:: console\n\n   $ true\n"
    )
    first, second = code_blocks(text)
    assert (first.language, first.marker, first.argument, first.body) == (
        "text",
        "page-output",
        "http://127.0.0.1:1/",
        "one\ntwo",
    )
    assert text[first.start : first.end].endswith("   two\n")
    assert (second.language, second.marker, second.body) == ("console", "", "$ true")


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    for name in ("pkg/__init__.py", "pkg/views.py", "setup.cfg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    return tmp_path


def test_a_complete_tree_matches(repository: Path) -> None:
    listing = ".\n├── pkg/\n│   ├── __init__.py  # a comment\n│   └── views.py\n└── setup.cfg\n"
    assert check_tree(listing, repository) == []


def test_a_tree_must_list_every_entry_unless_it_says_more(repository: Path) -> None:
    assert check_tree(".\n├── pkg/\n│   └── views.py\n└── setup.cfg\n", repository) == [
        "pkg/ also holds __init__.py"
    ]
    assert (
        check_tree(".\n├── pkg/\n│   ├── views.py\n│   └── ...\n└── setup.cfg\n", repository) == []
    )


def test_a_tree_must_not_invent_files(repository: Path) -> None:
    problems = check_tree(".\n├── pkg/\n├── setup.py\n└── ...\n", repository)
    assert problems == ["setup.py is not a file of the project"]


def test_a_skip_must_give_a_reason() -> None:
    parser = ReasonedSkipParser()
    with pytest.raises(ValueError, match="needs a reason"):
        list(parser(Document(".. skip: next\n", "doc.rst")))
    assert len(list(parser(Document('.. skip: next "no network here"\n', "doc.rst")))) == 1


def test_the_bash_session_keeps_state_and_stops_its_servers(tmp_path: Path) -> None:
    session = BashSession(tmp_path, {"PATH": "/usr/bin:/bin"}, tmp_path)
    try:
        assert session.run("export GREETING=hello") == ("\n", 0)
        assert session.run("echo $GREETING; false") == ("hello\n\n", 1)
        url = f"http://127.0.0.1:{free_port()}/"
        server = f"{sys.executable} -m http.server --bind 127.0.0.1 {url.split(':')[-1][:-1]}"
        session.start_server(server, url)
        pgid, _ = session.servers[url]
        assert session.serves(url)
    finally:
        session.close()
    assert group_members(pgid) == []
    assert session.process.poll() is not None


def test_a_tree_can_describe_a_generated_project() -> None:
    listing = "hello_async/\n├── hello_async/\n│   └── ...\n├── README.rst\n└── ...\n"
    files = generated_files("aio_starter", listing)
    assert "hello_async/views.py" in files
    assert compare_tree(listing, files) == []
    assert compare_tree(listing + "├── setup.py\n", files) == [
        "setup.py is not a file of the project"
    ]


def test_reader_environment_hides_every_virtualenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    maintainers_venv = tmp_path / "maintainer-venv"
    (maintainers_venv / "bin").mkdir(parents=True)
    (maintainers_venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    monkeypatch.setenv("PATH", os.pathsep.join([str(maintainers_venv / "bin"), "/usr/bin"]))
    reader_bin = tmp_path / "reader" / "bin"

    path = clean_environment(reader_bin)["PATH"].split(os.pathsep)

    assert path == [str(reader_bin), "/usr/bin"]
