"""The Sphinx sources of the tutorial: a package, so that tests import its examples."""
