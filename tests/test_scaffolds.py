"""``aiopyramid-init`` in-process: names, listing, rendering, refusals, and chapter 1.

The command is also run for real, installed in a fresh virtualenv, by
``tests/test_scaffolds_live.py``.
"""

import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from aiopyramid.scaffolds import (
    PLACEHOLDER,
    RENDERED_SUFFIX,
    TEMPLATES,
    ScaffoldError,
    check_name,
    create,
    main,
    render,
)
from testkit.projects import chapter1_differences, tree

BAD_NAMES = {
    "1abc": "it must start with a lowercase letter, not '1'",
    "my-app!": "it may contain only lowercase letters, digits and underscores, not '!', '-'",
    "MyApp": "it must start with a lowercase letter, not 'M'",
    "my app": "not ' '",
    "": "it is empty",
    "_private": "it must start with a lowercase letter, not '_'",
    "café": "not 'é'",
    "class": "'class' is a Python keyword",
    "json": "'json' is a module of Python's standard library",
    "asyncio": "'asyncio' is a module of Python's standard library",
    "aiopyramid": "'aiopyramid' is a package that the generated project imports",
    "pyramid": "'pyramid' is a package that the generated project imports",
}


def test_aio_websocket_generates_exactly_the_chapter1_project(tmp_path: Path) -> None:
    create("aio_websocket", "aiotutorial", tmp_path / "aiotutorial")
    assert not (differences := chapter1_differences(tree(tmp_path / "aiotutorial"))), differences


def test_list_shows_every_template(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == sorted(TEMPLATES)
    shipped = {entry.name for entry in files("aiopyramid.scaffolds").iterdir() if entry.is_dir()}
    assert shipped - {"__pycache__"} == set(TEMPLATES)


def test_the_module_runs_as_a_command() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "aiopyramid.scaffolds", "--list"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "aio_websocket" in listed.stdout


@pytest.mark.parametrize("name", ["aiotutorial", "hello_async", "a", "app2", "tests"])
def test_good_names_are_accepted(name: str) -> None:
    check_name(name)


@pytest.mark.parametrize(("name", "reason"), BAD_NAMES.items())
def test_bad_names_are_refused_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(ScaffoldError) as refused:
        check_name(name)
    assert reason in str(refused.value)


@pytest.mark.parametrize("name", ["1abc", "my-app!", "class", "json", "aiopyramid"])
def test_the_command_refuses_bad_names_and_writes_nothing(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["aio_starter", name]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"aiopyramid-init: error: {name!r} ")
    assert BAD_NAMES[name] in error
    assert list(tmp_path.iterdir()) == []


def test_error_message_is_precise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["aio_starter", "my-app!"]) == 2
    assert capsys.readouterr().err == (
        "aiopyramid-init: error: 'my-app!' is not a valid project name: "
        "it may contain only lowercase letters, digits and underscores, not '!', '-'\n"
    )


def test_an_unknown_template_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="there is no template 'pcreate'; the templates are"):
        create("pcreate", "myapp", tmp_path / "myapp")
    assert list(tmp_path.iterdir()) == []


def test_template_and_name_are_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["aio_starter"])
    assert exited.value.code == 2
    assert "give a TEMPLATE and a project NAME, or --list" in capsys.readouterr().err


def test_a_non_empty_directory_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "existing"
    (target / "hello_async").mkdir(parents=True)
    (target / "hello_async" / "views.py").write_text("mine\n")
    assert main(["aio_starter", "hello_async", "--directory", str(target)]) == 2
    assert capsys.readouterr().err == (
        f"aiopyramid-init: error: {target}/ already exists and is not empty; nothing was written\n"
    )
    assert tree(target) == {"hello_async/views.py": b"mine\n"}


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "hello_async").write_text("mine\n")
    with pytest.raises(ScaffoldError, match="exists and is not a directory"):
        create("aio_starter", "hello_async", tmp_path / "hello_async")
    assert (tmp_path / "hello_async").read_text() == "mine\n"


def test_an_empty_directory_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hello_async").mkdir()
    assert main(["aio_starter", "hello_async"]) == 0
    out = capsys.readouterr().out
    assert "  created hello_async/hello_async/views.py\n" in out
    assert out.endswith("Created 6 files. Next: cd hello_async, then python -m pip install -e .\n")
    assert sorted(tree(tmp_path / "hello_async")) == [
        "README.rst",
        "development.ini",
        "hello_async/__init__.py",
        "hello_async/tests.py",
        "hello_async/views.py",
        "pyproject.toml",
    ]


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_rendering_substitutes_the_name_and_copies_other_files_verbatim(template: str) -> None:
    source = files("aiopyramid.scaffolds") / template
    rendered = {str(file.path): file.content for file in render(template, "zebra_app")}
    assert "pyproject.toml" in rendered
    assert b'name = "zebra_app"' in rendered["pyproject.toml"]
    for path, content in rendered.items():
        assert PLACEHOLDER not in path and not path.endswith(RENDERED_SUFFIX)
        assert PLACEHOLDER.encode() not in content, path
    # Files without the suffix, such as Jinja2 templates, are copied byte for byte,
    # "{{ ... }}" and all.
    verbatim = [
        path for path in rendered if (source / path.replace("zebra_app", PLACEHOLDER)).is_file()
    ]
    for path in verbatim:
        assert rendered[path] == (source / path.replace("zebra_app", PLACEHOLDER)).read_bytes()
    if template == "aio_websocket":
        assert verbatim == ["zebra_app/templates/home.jinja2"]
        assert b"{{ title }}" in rendered["zebra_app/templates/home.jinja2"]
