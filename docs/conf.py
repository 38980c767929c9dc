"""Sphinx configuration for the Aiopyramid tutorial.

Build it from the repository's top directory, where the site's own extensions
(``docs._ext``) and the chapters' sources (``testkit``) are importable, with the
library and the docs extra installed::

    python -m sphinx -W --keep-going -n -b html docs docs/_build/html

(``nox -s docs`` does that.) The build must pass without network access: every
cross-reference resolves, against this project or against the intersphinx
inventories cached in ``_inventories/`` (see ``_inventories/refresh.py``).
"""

from __future__ import annotations

import os

from testkit.downloads import library_version

release = library_version()
version = ".".join(release.split(".")[:2])

# -- Project -----------------------------------------------------------------

project = "Aiopyramid tutorial"
author = "The Aiopyramid tutorial authors"
copyright = f"2026, {author}"
html_title = "Aiopyramid tutorial"

extensions = [
    # The site's own: downloads and chapter changes, and a mark under every block
    # that says how it is checked.
    "docs._ext.tutorial",
    "docs._ext.verified",
    "sphinx.ext.autodoc",
    "sphinx.ext.graphviz",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    # After autodoc, whose signatures it rewrites.
    "sphinx_autodoc_typehints",
    "sphinx_copybutton",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_inventories", "_ext"]

# Every reference must resolve: a broken one fails the ``-W -n`` build.
nitpicky = True
# Pyramid's own docs leave out a few classes that appear in our signatures, so
# its inventory cannot resolve them; name each one here, never a pattern.
nitpick_ignore: list[tuple[str, str]] = [
    # The default view mapper, which aiopyramid's mappers subclass. It is
    # defined in pyramid.viewderivers and imported by pyramid.config.views.
    ("py:class", "pyramid.viewderivers.DefaultViewMapper"),
    ("py:class", "pyramid.config.views.DefaultViewMapper"),
    # What Configurator.make_wsgi_app() returns (Pyramid documents only the
    # IRouter interface): the type of a paste app factory such as main().
    ("py:class", "pyramid.router.Router"),
    # The per-thread request stack that aiopyramid.threadlocal replaces; Pyramid
    # documents only get_current_request() and get_current_registry().
    ("py:class", "pyramid.threadlocal.ThreadLocalManager"),
    # gunicorn publishes no intersphinx inventory; AsyncGunicornWorker subclasses
    # its native ASGI worker.
    ("py:class", "gunicorn.workers.gasgi.ASGIWorker"),
]

# -- HTML --------------------------------------------------------------------

# Furo: light and dark mode and full-text search out of the box.
html_theme = "furo"
html_static_path = ["_static"]

# -- The tutorial's source ----------------------------------------------------

# Where readers get the whole source (every chapter's project included): on Read
# the Docs, the repository the site is built from. Elsewhere, set the variable.
tutorial_source_repository = os.environ.get(
    "TUTORIAL_SOURCE_REPOSITORY", os.environ.get("READTHEDOCS_GIT_CLONE_URL", "")
)

# -- Cross-project links (offline) --------------------------------------------

# The second element is a file relative to this folder: the build never fetches.
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", "_inventories/python.inv"),
    "pyramid": (
        "https://docs.pylonsproject.org/projects/pyramid/en/latest/",
        "_inventories/pyramid.inv",
    ),
    # The documentation of the minor version the inventory was built from: after
    # refreshing it from another one, change the address too (a test compares).
    "sqlalchemy": ("https://docs.sqlalchemy.org/en/21/", "_inventories/sqlalchemy.inv"),
    "alembic": ("https://alembic.sqlalchemy.org/en/latest/", "_inventories/alembic.inv"),
}

# -- API reference -----------------------------------------------------------

autodoc_default_options: dict[str, object] = {}
autodoc_member_order = "bysource"
typehints_fully_qualified = False


def typehints_fixup_module_name(module: str) -> str:
    """Link classes by the public module that documents them, not where they live."""
    return {"concurrent.futures._base": "concurrent.futures"}.get(module, module)


# The function above cannot be pickled into Sphinx's environment cache; Sphinx
# says so once per build, which is harmless (nox -s docs always builds afresh).
suppress_warnings = ["config.cache"]


always_document_param_types = True

# -- Diagrams (Debian's graphviz provides ``dot``) ----------------------------

graphviz_output_format = "svg"
# A white canvas keeps the black strokes readable in Furo's dark mode too.
graphviz_dot_args = [
    "-Gbgcolor=white",
    "-Gpad=0.2",
    "-Gfontname=sans-serif",
    "-Nfontname=sans-serif",
    "-Efontname=sans-serif",
]

# -- Copy buttons --------------------------------------------------------------

# The copy button copies what the reader types, prompts stripped: the commands of a
# console block (after ``$ ``), the statements of a ``>>>`` session (after ``>>> ``
# and ``...``). A block without prompts is copied whole. Output is left out first
# (``.go``: Pygments' class for it), before the prompts are looked for: so a ``...``
# line of a console block, elided output, is not taken for Python's continuation
# prompt, which Pygments marks as a prompt (``.gp``) only right after a ``>>>`` line,
# as doctest reads it. A bare ``...`` there is a blank line of the statement, which
# ends a compound statement when pasted into the interpreter. The lines left empty
# by the output are not copied.
copybutton_exclude = ".linenos, .go"
copybutton_prompt_text = r"\$ |>>>(?: |$)|\.\.\.(?: |$)"
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True
copybutton_remove_prompts = True
copybutton_copy_empty_lines = False
