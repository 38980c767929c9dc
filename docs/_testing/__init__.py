"""Test machinery for the docs: it runs what the chapters tell the reader to run.

- :mod:`.console`: a persistent bash session that replays ``console`` blocks.
- :mod:`.browser`: headless Chromium (Debian's) driven by Playwright.
- :mod:`.rst`: find the code blocks of a chapter and the markers that annotate them.
- :mod:`.project`: the project's real files, or a generated project's: list, copy,
  check a tree listing.
- :mod:`.parsers`: the sybil parsers that tie those to the docs.
- :mod:`.availability`: skip locally, but fail under CI, when a tool is missing.

Servers are started, waited for and stopped with :mod:`tests.support.server`, the
same code as the library's live tests.
"""
