"""The performance page shows the committed benchmark results, and only them.

``docs/performance/results.json`` is what the last full ``nox -s bench`` measured;
the tables, the numbers in the page's prose and the figures beside it were made from
it by ``bench/report.py`` and ``bench/plots.py``. These tests make the text files
again from the results and compare, check that every figure carries the digest of
these results, and that the page shows every generated file and types no
measurement by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import report
from bench.results import digest, load, missing_keys

DOCS = Path(__file__).parent
DATA = DOCS / "performance"
PAGE = DOCS / "performance.rst"
RESULTS = load(DATA / "results.json")


def test_results_have_every_key_the_issues_ask_for() -> None:
    assert missing_keys(RESULTS) == []


@pytest.mark.parametrize("name", report.TEXT_FILES)
def test_text_files_are_made_from_the_results(name: str) -> None:
    assert (DATA / name).read_text(encoding="utf-8") == report.text_files(RESULTS)[name], (
        f"docs/performance/{name} was not made from results.json: "
        "run python -m bench.report docs/performance/results.json"
    )


@pytest.mark.parametrize("name", report.FIGURES)
def test_figures_show_the_results(name: str) -> None:
    svg = (DATA / f"{name}.svg").read_text(encoding="utf-8")
    assert report.DIGEST_NOTE.format(digest=digest(RESULTS)) in svg, (
        f"docs/performance/{name}.svg was drawn from other results"
    )


def test_the_page_shows_every_table_and_figure() -> None:
    page = PAGE.read_text(encoding="utf-8")
    shown = set(re.findall(r"performance/([\w.]+)", page))
    made = {f"{name}.csv" for name in report.TABLES} | {f"{name}.svg" for name in report.FIGURES}
    assert made | {"numbers.txt", "results.json"} <= shown
    assert shown <= {path.name for path in DATA.iterdir()}


def test_the_prose_quotes_measurements_only_through_substitutions() -> None:
    """Every ``|name|`` is defined from the results; no measured figure is typed in.

    Numbers in the page's own text are limited to facts that are no measurement
    (years, versions, N, settings), listed here.
    """
    page = PAGE.read_text(encoding="utf-8")
    used = set(re.findall(r"\|(\w+)\|", page))
    assert used <= set(report.substitutions(RESULTS))
    prose = "\n".join(
        line for line in page.splitlines() if not line.lstrip().startswith((":", ".."))
    )
    numbers = set(re.findall(r"\d+(?:[.,]\d+)*", prose))
    assert numbers <= {
        "0", "1", "1.0", "2", "99", "100", "200", "1000", "2048",  # sleep=0, N, HTTP 200...
        "2015", "2017", "0.4.1", "2.2", "3.4", "3.6", "3.11", "127.0.0.1",  # years, versions
    }  # fmt: skip
