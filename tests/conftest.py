"""Settings for the library's tests: hypothesis explores at random, except in CI.

In CI (the ``CI`` variable set) property-based tests draw the same examples on
every run (``derandomize``), so a green build stays green; on a developer's
machine they draw new ones each run and remember failures in ``.hypothesis/``.
Without hypothesis installed (pytest alone runs most of these tests, as the
testing guide shows) there is nothing to set.
"""

import os
from importlib.util import find_spec

if find_spec("hypothesis") is not None:
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, database=None, deadline=None)
    settings.register_profile("dev", deadline=None)
    settings.load_profile("ci" if "CI" in os.environ else "dev")
