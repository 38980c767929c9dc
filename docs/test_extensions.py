"""The site's own Sphinx extensions (docs/_ext): marks, downloads, chapter changes.

Each test builds a small page with the real extensions, as the site's build runs
them (``python -m sphinx`` from the repository's top directory), and reads the
warnings and the HTML.
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from testkit.chapters import ROOT, chapter


def sphinx(source: Path, output: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """Build ``source`` (a folder without conf.py) into HTML, as the site is built."""
    argv = [sys.executable, "-m", "sphinx", "-C", "-q", *options, "-b", "html"]
    return subprocess.run(
        [*argv, str(source), str(output)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def build(tmp_path: Path, page: str, *extensions: str) -> tuple[int, str, str]:
    """Build ``page`` as index.rst; return the exit status, the warnings and the HTML."""
    source, output = tmp_path / "source", tmp_path / "html"
    source.mkdir(parents=True)
    (source / "index.rst").write_text(textwrap.dedent(page))
    done = sphinx(source, output, "-W", "--keep-going", "-D", f"extensions={','.join(extensions)}")
    html = (output / "index.html").read_text() if (output / "index.html").exists() else ""
    return done.returncode, done.stderr, html


def include(path: Path, tmp_path: Path) -> str:
    """A ``literalinclude`` argument for ``path``, from the page that :func:`build` makes."""
    return os.path.relpath(path, tmp_path / "source")


def marks(html: str) -> list[str]:
    return re.findall(r'<p class="verified-mark" title="[^"]*"><span>&#10003; ([^<]*)</span>', html)


def test_every_checked_kind_of_block_gets_its_mark(tmp_path: Path) -> None:
    views = chapter("chapter1").directory / "aiotutorial" / "views.py"
    status, warnings, html = build(
        tmp_path,
        f"""\
        Page
        ====

        .. code-block:: console

           $ echo hi
           hi

        .. code-block:: console

           $ true

        >>> 1 + 1
        2

        .. literalinclude:: {include(views, tmp_path)}
           :pyobject: home

        .. page-output: http://127.0.0.1:6543/

        .. code-block:: text

           aiotutorial websocket test
        """,
        "docs._ext.verified",
    )
    assert status == 0, warnings
    assert marks(html) == [
        "run as written, output compared",
        "run as written",
        "run by the docs&#x27; tests",
        "aiotutorial/views.py, from chapter 1&#x27;s project",
        "compared with the browser",
    ]


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ("A literal block::\n\n   print('hi')\n", "a literal block that no test runs or compares"),
        (".. code-block:: ini\n\n   [app:main]\n", "a ini block that no test runs or compares"),
        (".. code-block:: text\n\n   output\n", "a text block that no test runs or compares"),
        (
            '.. skip: next "no server here"\n\n.. code-block:: console\n\n   $ true\n',
            "a console block skipped by its tests",
        ),
        (
            ".. literalinclude:: MACHINE\n",
            "a listing of bench/machine.py, which no test module imports or names",
        ),
    ],
)
def test_a_block_that_nothing_checks_fails_the_build(
    tmp_path: Path, block: str, problem: str
) -> None:
    block = block.replace("MACHINE", include(ROOT / "bench" / "machine.py", tmp_path))
    status, warnings, _ = build(tmp_path, f"Page\n====\n\n{block}", "docs._ext.verified")
    assert status != 0
    assert f"shown block without a check: {problem}" in warnings


def test_downloads_link_to_the_site_s_files(tmp_path: Path) -> None:
    page = "Page\n====\n\nGet :tutorial-download:`wheel` and :tutorial-download:`chapter1`.\n"
    status, warnings, html = build(tmp_path, page, "docs._ext.tutorial")
    assert status == 0, warnings
    assert re.search(r'href="downloads/aiopyramid-[^"]+-py3-none-any\.whl"', html)
    assert 'href="downloads/aiotutorial-chapter1.zip"' in html
    files = sorted(path.name for path in (tmp_path / "html" / "downloads").iterdir())
    assert "aiotutorial-chapter1.zip" in files
    assert any(name.endswith("-py3-none-any.whl") for name in files)


def test_an_unknown_download_fails_the_build(tmp_path: Path) -> None:
    page = "Page\n====\n\n:tutorial-download:`chapter99`\n"
    status, warnings, _ = build(tmp_path, page, "docs._ext.tutorial")
    assert status != 0
    assert "no download 'chapter99'; there are: chapter1" in warnings


def test_the_source_repository_is_linked_only_when_known(tmp_path: Path) -> None:
    page = "Page\n====\n\nSee :source-repository:`the source`.\n"
    _, _, without = build(tmp_path / "a", page, "docs._ext.tutorial")
    assert "See the source." in without
    source = "https://git.example/tutorial.git"
    done = sphinx(
        tmp_path / "a" / "source",
        tmp_path / "b",
        "-D",
        "extensions=docs._ext.tutorial",
        "-D",
        f"tutorial_source_repository={source}",
    )
    assert done.returncode == 0, done.stderr
    assert f'href="{source}"' in (tmp_path / "b" / "index.html").read_text()


def test_a_chapter_s_change_is_shown_file_by_file(tmp_path: Path) -> None:
    page = "Page\n====\n\n.. chapter-changes:: chapter2\n"
    status, warnings, html = build(tmp_path, page, "docs._ext.tutorial", "docs._ext.verified")
    assert status == 0, warnings
    shown = re.findall(
        r'<details class="chapter-change" data-path="([^"]+)" data-kind="(\w+)">', html
    )
    assert ("production.ini", "changed") in shown
    assert ("aiotutorial/api.py", "added") in shown
    assert ("aiotutorial/tests.py", "removed") in shown
    blocks = re.findall(r"<pre>(.*?)</pre>", html, re.DOTALL)
    assert all(re.sub(r"<[^>]*>", "", block).strip() for block in blocks), "an empty block"
    assert len(marks(html)) == len(blocks)


def test_chapter_1_has_no_change_to_show(tmp_path: Path) -> None:
    status, warnings, _ = build(
        tmp_path, "Page\n====\n\n.. chapter-changes:: chapter1\n", "docs._ext.tutorial"
    )
    assert status != 0
    assert "chapter1 is the first chapter: it has no change to show" in warnings
