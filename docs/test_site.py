"""The site as published and as a reader uses it: the Read the Docs build, its downloads.

1. The steps ``.readthedocs.yaml`` declares run in a fresh virtualenv of the Python
   it names, in a fresh copy of the repository: install, then the build command.
2. Each chapter's archive and the library's wheel are taken from that site, unpacked
   in an empty directory, installed in a fresh virtualenv; the project's own tests
   run there, beside throwaway PostgreSQL and Redis servers, none of them skipped,
   and it is served with the commands its README gives, until its page answers.
3. Each chapter's change, as its page shows it, is read back from the HTML and
   applied to the previous chapter's project: the result is this chapter's project.

The site is the ``built_site`` fixture (``conftest.py``), which
``docs/test_rendering.py`` opens in a browser. Runs with the rest of ``pytest
docs/``, and alone in ``nox -s site``; installing needs PyPI (or pip's cache).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from testkit import postgres, redis
from testkit.changes import apply_change
from testkit.chapters import PROJECT, ROOT, Chapter, chapters, read_project
from testkit.downloads import download_names
from testkit.postgres import TemporaryCluster
from testkit.redis import TemporaryRedis
from testkit.server import ServerProcess, free_port
from testkit.venv import INSTALL_TIMEOUT, Venv

CONFIG = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text())
LATER = [each for each in chapters() if each.change is not None]


def test_the_build_declares_what_the_docs_need() -> None:
    assert CONFIG["version"] == 2
    assert CONFIG["sphinx"] == {"configuration": "docs/conf.py", "fail_on_warning": True}
    assert "graphviz" in CONFIG["build"]["apt_packages"], "sphinx.ext.graphviz needs dot"
    (install,) = CONFIG["python"]["install"]
    assert install == {"method": "pip", "path": ".", "extra_requirements": ["docs"]}
    (command,) = CONFIG["build"]["jobs"]["build"]["html"]
    assert " -W " in command and command.endswith("$READTHEDOCS_OUTPUT/html")


def test_the_site_has_every_page_and_download(built_site: Path) -> None:
    index = (built_site / "index.html").read_text()
    assert "<title>Aiopyramid tutorial" in index
    for each in chapters():
        page = (built_site / "tutorial" / f"{each.name}.html").read_text()
        assert each.title in page
    downloads = sorted(path.name for path in (built_site / "downloads").iterdir())
    assert downloads == sorted(download_names().values())


def readme_commands(project: Path) -> list[str]:
    """The commands of the project's README: its indented ``::`` blocks, line by line."""
    text = (project / "README.rst").read_text()
    blocks = re.findall(r"::\n\n((?:    .+\n|\n)+)", text)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


@pytest.mark.parametrize("each", chapters(), ids=lambda each: each.name)
def test_a_chapter_s_download_installs_passes_its_tests_and_serves(
    each: Chapter,
    built_site: Path,
    postgres_cluster: TemporaryCluster,
    redis_server: TemporaryRedis,
    tmp_path: Path,
) -> None:
    """The project's tests get a PostgreSQL and a Redis server, as its README says they
    may (each test makes a database, or a Redis prefix, of its own): every test runs,
    the chat's through Redis too."""
    downloads = built_site / "downloads"
    names = download_names()
    with zipfile.ZipFile(downloads / names[each.name]) as archive:
        archive.extractall(tmp_path)
    project = tmp_path / PROJECT
    assert read_project(project) == read_project(each.directory)
    venv = Venv.create(tmp_path / ".venv")
    wheel = str(downloads / names["wheel"])
    venv.run("python", "-m", "pip", "install", wheel, cwd=tmp_path, timeout=INSTALL_TIMEOUT)
    commands = readme_commands(project)
    *setup, serve = commands
    assert serve == "pserve development.ini", commands
    port = free_port()
    ini = project / "development.ini"
    ini.write_text(re.sub(r"(?m)^port = \d+$", f"port = {port}", ini.read_text()))
    services = {
        postgres.URL_VARIABLE: postgres_cluster.url(),
        redis.URL_VARIABLE: redis_server.url,
    }
    for command in setup:
        argv = shlex.split(command)
        done = venv.run(*argv, cwd=project, env=services, timeout=INSTALL_TIMEOUT)
        if "pytest" in argv:
            summary = done.stdout.strip().splitlines()[-1]
            assert " passed" in summary and "skipped" not in summary, done.stdout
    log = tmp_path / "server.log"
    argv = [str(venv.bin / "pserve"), "development.ini"]
    with ServerProcess(
        argv, port=port, log_path=log, cwd=project, env=venv.environment()
    ) as server:
        page = httpx.get(server.url("/"), timeout=10)
        assert page.status_code == 200
        assert "<title>aiotutorial websocket test</title>" in page.text


class ChangeReader(HTMLParser):
    """The files of a ``.. chapter-changes::`` section, as a page shows them."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[dict[str, Any]] = []
        self._in_pre = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "details" and attributes.get("class") == "chapter-change":
            self.files.append(
                {
                    "path": attributes["data-path"],
                    "kind": attributes["data-kind"],
                    "newline": attributes.get("data-final-newline") != "no",
                }
            )
            self.files[-1]["text"] = ""
        elif tag == "pre" and self.files:
            self._in_pre = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._in_pre = False

    def handle_data(self, data: str) -> None:
        if self._in_pre:
            self.files[-1]["text"] += data


def change_from_page(page: str) -> tuple[str, set[str]]:
    """The change a chapter's page shows, rebuilt from what the reader sees: a diff of
    the files it adds and changes, and the paths of those it removes."""
    reader = ChangeReader()
    reader.feed(page)
    assert reader.files, "the page shows no chapter-changes section"
    parts, removed = [], set()
    for file in reader.files:
        path, kind = file["path"], file["kind"]
        # HTMLParser has already turned character references into characters: the
        # text is as the reader sees it, "&#39;" included where the file says so.
        text = file["text"].rstrip("\n")
        header = f"diff --git a/{path} b/{path}\n"
        if kind == "added":
            lines = [f"+{line}\n" for line in text.splitlines()]
            if lines and not file["newline"]:
                lines.append("\\ No newline at end of file\n")
            hunk = f"@@ -0,0 +1,{len(text.splitlines())} @@\n" if lines else ""
            parts.append(
                f"{header}new file mode 100644\n--- /dev/null\n+++ b/{path}\n{hunk}{''.join(lines)}"
            )
        elif kind == "changed":
            parts.append(f"{header}--- a/{path}\n+++ b/{path}\n{text}\n")
        else:
            removed.add(path)
    return "".join(parts), removed


@pytest.mark.parametrize("each", LATER, ids=lambda each: each.name)
def test_the_change_a_chapter_shows_turns_the_previous_project_into_its_own(
    each: Chapter, built_site: Path
) -> None:
    page = (built_site / "tutorial" / f"{each.name}.html").read_text()
    change, removed = change_from_page(page)
    previous = read_project(chapters()[each.number - 2].directory)
    assert removed <= previous.keys()
    kept = {path: content for path, content in previous.items() if path not in removed}
    assert apply_change(kept, change) == read_project(each.directory)


@pytest.mark.parametrize("each", LATER, ids=lambda each: each.name)
def test_patch_applies_a_chapter_s_downloaded_change_to_the_previous_download(
    each: Chapter, built_site: Path, tmp_path: Path
) -> None:
    """What the pages offer: in the previous chapter's project, unpacked from its
    archive, ``patch -p1 < ../aiotutorial-NAME.diff`` makes this chapter's project."""
    downloads = built_site / "downloads"
    names = download_names()
    previous = chapters()[each.number - 2]
    with zipfile.ZipFile(downloads / names[previous.name]) as archive:
        archive.extractall(tmp_path)
    change = names[f"{each.name}.diff"]
    shutil.copy(downloads / change, tmp_path / change)
    project = tmp_path / PROJECT
    command = f"patch -p1 < ../{change}"
    done = subprocess.run(
        ["bash", "-c", command], cwd=project, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert read_project(project) == read_project(each.directory)
