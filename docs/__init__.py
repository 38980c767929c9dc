"""The Sphinx sources of the tutorial; a package so that tests import docs._testing."""
