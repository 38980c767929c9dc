"""aiopyramid's own tests: unit tests, and live-server tests (``test_live_*.py``)."""
