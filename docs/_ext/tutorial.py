"""The tutorial's own Sphinx directives and roles: downloads and each chapter's change.

- ``:tutorial-download:`KEY``` links to one of the site's downloads (see
  :func:`testkit.downloads.download_names`): ``wheel`` is the library's wheel,
  ``chapterN`` chapter N's project as a zip archive, ``chapterN.diff`` chapter N's
  change. The build writes them into ``downloads/`` of the site.
- ``:source-repository:`TEXT``` links TEXT to the tutorial's source repository, the
  ``tutorial_source_repository`` setting (on Read the Docs, the repository the site
  was built from); without one, TEXT is shown unlinked.
- ``.. chapter-toctree::`` is a ``toctree`` of every chapter's page, in the order of
  ``example/chapters.toml``, so that a new chapter needs no entry here.
- ``.. chapter-changes:: chapterN`` shows chapter N's whole change to the project of
  the chapter before it, file by file: a new file in full (an empty one is said to
  be empty), a changed file as the lines of its diff, a removed file by name. Each
  file is a collapsed ``<details>`` element whose ``data-path`` and ``data-kind``
  attributes name it, so that a test can read the change back from the page and
  apply it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.directives.other import TocTree
from sphinx.util.docutils import SphinxRole
from sphinx.util.osutil import relative_uri

from testkit.changes import FileChange, parse_change
from testkit.chapters import chapter, chapters
from testkit.downloads import download_names, write_downloads

DOWNLOADS = "downloads"
"""The folder of the site that holds the downloads."""

LANGUAGES = {
    ".py": "python",
    ".ini": "ini",
    ".toml": "toml",
    ".rst": "rst",
    ".jinja2": "html+jinja",
    ".mako": "mako",
}
"""Highlighting of a shown file, by its suffix; anything else is shown as text."""


class changed_file(nodes.General, nodes.Element):
    """One file of a chapter's change: a ``<details>`` element in HTML."""


def visit_changed_file_html(translator: Any, node: changed_file) -> None:
    ending = ' data-final-newline="no"' if node.get("no_final_newline") else ""
    translator.body.append(
        f'<details class="chapter-change" data-path="{node["path"]}" '
        f'data-kind="{node["kind"]}"{ending}>'
        f"<summary><code>{node['path']}</code> ({node['kind']})</summary>"
    )


def depart_changed_file_html(translator: Any, node: changed_file) -> None:
    translator.body.append("</details>")


def visit_changed_file(translator: Any, node: changed_file) -> None:
    """Other builders show the file's name (an ``only`` node) and its content in turn."""


def depart_changed_file(translator: Any, node: changed_file) -> None:
    """Nothing to close outside HTML."""


def _hunks_text(change: FileChange) -> str:
    """A changed file's part of the diff without its file header lines."""
    lines = change.text.splitlines(keepends=True)
    first = next(number for number, line in enumerate(lines) if line.startswith("@@"))
    return "".join(lines[first:]).rstrip("\n")


class ChapterChanges(Directive):
    """``.. chapter-changes:: chapterN``: the chapter's whole change, file by file."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        this = chapter(self.arguments[0])
        if this.change is None:
            raise self.error(f"{this.name} is the first chapter: it has no change to show")
        env.note_dependency(str(this.change))
        result: list[nodes.Node] = []
        for change in parse_change(this.change.read_text()):
            wrapper = changed_file(path=change.path, kind=change.kind)
            # HTML names the file in the <details> summary; other formats, here.
            named = addnodes.only(expr="not html")
            named += nodes.paragraph(
                "", "", nodes.literal(change.path, change.path), nodes.Text(f" ({change.kind})")
            )
            wrapper += named
            if change.kind == "added":
                text = "".join(line for hunk in change.hunks for line in hunk.new())
                wrapper["no_final_newline"] = bool(text) and not text.endswith("\n")
                if text:
                    block = nodes.literal_block(text, text)
                    block["language"] = LANGUAGES.get(PurePosixPath(change.path).suffix, "text")
                else:
                    # An empty block would offer a copy button that copies nothing.
                    block = nodes.paragraph(text="This file is empty.")
            elif change.kind == "changed":
                text = _hunks_text(change)
                block = nodes.literal_block(text, text)
                block["language"] = "diff"
            else:
                block = nodes.paragraph(text="This file is removed.")
            block["verified"] = (
                f"Part of {this.name}'s change: a test reads it back from this page, applies "
                f"it to the project of the chapter before, and gets {this.name}'s project"
            )
            wrapper += block
            result.append(wrapper)
        return result


class ChapterToctree(TocTree):
    """``.. chapter-toctree::``: a ``toctree`` (same options) of the chapters' pages."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        self.content = StringList([each.name for each in chapters()], source="chapters.toml")
        return super().run()


class TutorialDownload(SphinxRole):
    """``:tutorial-download:`KEY```: a link to one of the site's downloads."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        names = download_names()
        if self.text not in names:
            known = ", ".join(sorted(names))
            message = self.inliner.reporter.error(
                f"no download {self.text!r}; there are: {known}", line=self.lineno
            )
            return [], [message]
        name = names[self.text]
        uri = relative_uri(
            self.env.app.builder.get_target_uri(self.env.docname), f"{DOWNLOADS}/{name}"
        )
        link = nodes.reference("", "", internal=True, refuri=uri)
        link += nodes.literal(name, name)
        return [link], []


class SourceRepository(SphinxRole):
    """``:source-repository:`TEXT```: TEXT, linked to the tutorial's source repository."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        address = self.config.tutorial_source_repository
        if not address:
            return [nodes.Text(self.text)], []
        return [nodes.reference(self.text, self.text, refuri=address)], []


def write_site_downloads(app: Sphinx, exception: Exception | None) -> None:
    """Put every download into the site's ``downloads/`` folder once the build is done."""
    if exception is not None or app.builder.format != "html":
        return
    with tempfile.TemporaryDirectory(prefix="tutorial-downloads-") as scratch:
        made = write_downloads(Path(scratch))
        target = Path(app.outdir) / DOWNLOADS
        target.mkdir(parents=True, exist_ok=True)
        for path in made:
            (target / path.name).write_bytes(path.read_bytes())


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("tutorial_source_repository", "", "html", types=[str])
    app.add_node(
        changed_file,
        html=(visit_changed_file_html, depart_changed_file_html),
        latex=(visit_changed_file, depart_changed_file),
        text=(visit_changed_file, depart_changed_file),
        man=(visit_changed_file, depart_changed_file),
        texinfo=(visit_changed_file, depart_changed_file),
    )
    app.add_directive("chapter-changes", ChapterChanges)
    app.add_directive("chapter-toctree", ChapterToctree)
    app.add_role("tutorial-download", TutorialDownload())
    app.add_role("source-repository", SourceRepository())
    app.connect("build-finished", write_site_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
