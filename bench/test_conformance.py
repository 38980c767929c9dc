"""What ``bench/conformance.py`` makes of the Autobahn|Testsuite's verdicts, and of a
machine without the suite's Python 2.7.

The suite itself runs in ``nox -s conformance`` (minutes, Python 2.7), not here.
"""

from __future__ import annotations

import pytest

from bench import conformance, report


def test_each_behaviour_is_counted_and_the_failed_cases_are_named() -> None:
    verdicts = {
        "1.1.1": {"behavior": "OK", "close": "OK"},
        "6.4.1": {"behavior": "NON-STRICT", "close": "OK"},
        "7.1.6": {"behavior": "INFORMATIONAL", "close": "INFORMATIONAL"},
        "7.1.5": {"behavior": "FAILED", "close": "FAILED"},
        "5.1": {"behavior": "OK", "close": "OK"},
    }
    found = conformance.summary(verdicts)
    assert found == {
        "cases": 5,
        "ok": 2,
        "non_strict": 1,
        "informational": 1,
        "unimplemented": 0,
        "failed": 1,
        "failed_cases": ["7.1.5"],
    }
    table = report.conformance_table(
        {"workers": {"w": {"label": "a worker", "server": "gunicorn", **found}}}
    )
    assert table[1] == ["a worker", "5", "2", "1", "1", "1 (7.1.5)"]


def test_without_python_2_7_the_results_say_skipped_and_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def none() -> str:
        raise conformance.NoPython27("no Python 2.7 here")

    monkeypatch.setattr(conformance, "python27", none)
    results = conformance.measure()
    assert results["workers"] == "skipped: no Python 2.7 here"
    assert report.conformance_table(results)[1][:2] == ["not measured", "no Python 2.7 here"]
