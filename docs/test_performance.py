"""The performance page shows the committed benchmark results, and only them.

``docs/performance/results.json`` is what the last full ``nox -s bench`` measured;
the tables, the numbers in the page's prose and the figures beside it were made from
it by ``bench/report.py`` and ``bench/plots.py``. These tests make the text files
again from the results and compare, check that every figure carries the digest of
these results, and that the page shows every generated file and types no
measurement by hand. The page's few comparisons in words ("below the ceiling") are
checked against the results too, so that new results cannot leave a sentence behind
that they contradict.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.results import digest, is_skipped, load, missing_keys

DOCS = Path(__file__).parent
DATA = DOCS / "performance"
PAGE = DOCS / "performance.rst"
RESULTS = load(DATA / "results.json")


def test_results_have_every_key_the_issues_ask_for() -> None:
    assert missing_keys(RESULTS) == []


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_results_have_the_database_endpoint_s_figures(database: str) -> None:
    """``nox -s bench_db --publish`` (which a full ``nox -s bench`` runs after the rest)
    added the database endpoint's figures against Starlette as ``peers.db``."""
    entry = RESULTS["peers"]["db"][database]
    assert entry["tutorial_rps"] > 0 and entry["starlette_rps"] > 0
    ratio = entry["tutorial_rps"] / entry["starlette_rps"]  # of the rounded figures
    assert entry["ratio_vs_starlette"] == pytest.approx(ratio, abs=0.002)


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


def test_the_conformance_table_is_made_from_its_results() -> None:
    """``nox -s conformance -- --publish`` writes both; neither is edited by hand."""
    conformance = load(DATA / "conformance.json")
    table = report.render_csv(report.conformance_table(conformance))
    assert (DATA / "conformance.csv").read_text(encoding="utf-8") == table


def test_the_page_shows_every_table_and_figure() -> None:
    page = PAGE.read_text(encoding="utf-8")
    shown = set(re.findall(r"performance/([\w.]+)", page))
    made = {f"{name}.csv" for name in report.TABLES} | {f"{name}.svg" for name in report.FIGURES}
    assert made | {"numbers.txt", "results.json", "conformance.csv"} <= shown
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
        "0", "1", "1.0", "2", "3", "4", "20", "99", "100", "200", "1000", "2048",  # N, chapters...
        "7", "8", "9", "10", "12", "13", "16", "1001", "1009", "1012", "6455", "0.8.2",  # ws
        "0.8",  # a goal
        "2015", "2017", "0.4.1", "2.2", "3.4", "3.6", "3.11", "127.0.0.1",  # years, versions
    }  # fmt: skip


def prose_blocks(page: str) -> list[str]:
    """The page's paragraphs and list items, each on one line, without directives."""
    blocks: list[list[str]] = [[]]
    for line in page.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("* "):
            blocks.append([])
        if stripped and not stripped.startswith((":", "..")):
            blocks[-1].append(stripped)
    return [" ".join(block) for block in blocks if block]


def measured(section: dict[str, Any], value: Callable[[Any], float]) -> dict[str, float]:
    """``value`` of each server a results section measured, by key; skipped ones left out."""
    return {
        key: value(entry)
        for key, entry in section.items()
        if not is_skipped(entry) and not any(is_skipped(part) for part in entry.values())
    }


def spread(values: dict[str, float], keys: set[str]) -> float:
    """The largest of ``values`` over the smallest, among ``keys``."""
    chosen = [values[key] for key in keys]
    return max(chosen) / min(chosen)


def servers_differ_far_less_without_waiting(results: dict[str, Any]) -> bool:
    """Among the servers both scenarios measured, the fastest's requests per second over
    the slowest's is at most a tenth of the same spread in wall time for a thousand
    waiting requests ("far less")."""
    rps = measured(results["throughput"]["contenders"], lambda entry: entry["rps"])
    waiting = measured(
        results["concurrency"]["contenders"], lambda entry: entry["n1000"]["ratio_to_ideal"]
    )
    both = set(rps) & set(waiting)
    return spread(rps, both) * 10 <= spread(waiting, both)


def threaded_servers_fail_slowloris(results: dict[str, Any]) -> bool:
    """Every server with a thread or process per connection that was measured answered
    fewer than half the normal requests during the attack."""
    section = results["slowloris"]
    entries = [section[name] for name in ("sync_baseline", "apache_php")]
    rates = [entry["success_rate"] for entry in entries if not is_skipped(entry)]
    return bool(rates) and all(rate < 0.5 for rate in rates)


def legacy_logs_an_error_per_connection(results: dict[str, Any]) -> bool:
    """The 2015 stack logged as many errors in the echo test as it had connections."""
    echo = results["websocket"]["echo"]["legacy"]
    return is_skipped(echo) or echo["errors_logged"] == echo["clients"]


def pyramid_and_webob_outweigh_the_bridge(results: dict[str, Any]) -> bool:
    """The tutorial's time in Pyramid and WebOb (their profiled share of its CPU time per
    request) is more than half of what it takes beyond Starlette's, and more than its
    time in aiopyramid."""
    cpu = results["peers"]["cpu"]
    shares, us = cpu["tutorial_share_by_package"], cpu["us_per_request"]
    framework = (shares.get("pyramid", 0) + shares.get("webob", 0)) * us["tutorial"]
    beyond_starlette = us["tutorial"] - us["starlette"]
    return framework > beyond_starlette / 2 and framework > shares["aiopyramid"] * us["tutorial"]


def tutorial_s_echoes_near_the_ceiling(results: dict[str, Any]) -> bool:
    """The tutorial's echo, on each server of the peers, made at least 90 % of the round
    trips per second of the bare ASGI echo."""
    ceiling = results["websocket"]["ceiling_echo_msgs_per_s"]
    echoes = results["peers"]["echo"]
    ours = [key for key in echoes if key.startswith("aiopyramid")]
    return len(ours) == 3 and all(echoes[key]["msgs_per_s"] >= 0.9 * ceiling for key in ours)


def echoes_within_a_tenth_of_each_other(results: dict[str, Any]) -> bool:
    """The tutorial's echo and the bare ASGI echo differ by a tenth at most."""
    section = results["websocket"]
    return abs(section["echo_msgs_per_s"] / section["ceiling_echo_msgs_per_s"] - 1) <= 0.1


def the_floor_is_most_of_the_excess_at_n1000(results: dict[str, Any]) -> bool:
    """A thousand requests to the app that answers at once took more than half of the
    time the tutorial's thousand sleeping requests took beyond their wait."""
    section = results["concurrency"]
    beyond_the_wait = (section["n1000"]["ratio_to_ideal"] - 1) * section["sleep_s"]
    return bool(section["floor"]["n1000"]["wall_s"] > beyond_the_wait / 2)


def only_uvicorn_s_worker_fails_conformance(conformance: dict[str, Any]) -> bool:
    """uvicorn's worker failed a case of the Autobahn|Testsuite; aiopyramid's, with and
    without uvloop and the C parser, none."""
    workers = conformance["workers"]
    ours = (workers["aiopyramid"], workers["aiopyramid_fast"])
    return workers["aiopyramid_uvicorn"]["failed"] > 0 and all(w["failed"] == 0 for w in ours)


CLAIMS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "it is the ceiling of the server the tutorial runs on": lambda results: (
        results["throughput"]["ceiling_rps"] > results["throughput"]["aiopyramid_rps"]
    ),
    "the two come out close": echoes_within_a_tenth_of_each_other,
    "the servers differ far less than when requests wait": servers_differ_far_less_without_waiting,
    "stays below the bare ASGI ceiling": lambda results: (
        results["throughput"]["ratio_vs_ceiling"] < 1
    ),
    "as the slowloris figures show": threaded_servers_fail_slowloris,
    "Most of the difference is Pyramid's and WebOb's, not the bridge's": (
        pyramid_and_webob_outweigh_the_bridge
    ),
    "makes at least nine tenths of the round trips per second": (
        tutorial_s_echoes_near_the_ceiling
    ),
    "Its page is faster there than on aiopyramid's worker as": lambda results: (
        results["peers"]["aiopyramid_uvicorn_rps"] > results["peers"]["aiopyramid_rps"]
    ),
    "it fails a case of the websocket conformance suite": lambda results: (
        only_uvicorn_s_worker_fails_conformance(load(DATA / "conformance.json"))
    ),
    "once per connection": legacy_logs_an_error_per_connection,
    "more than half of the tutorial's time beyond the wait": (
        the_floor_is_most_of_the_excess_at_n1000
    ),
    "times the wait, close to the tutorial's": lambda results: (
        abs(
            results["concurrency"]["contenders"]["starlette"]["n1000"]["ratio_to_ideal"]
            - results["concurrency"]["n1000"]["ratio_to_ideal"]
        )
        <= 0.1
    ),
    "of that ceiling, below the goal": lambda results: (
        results["throughput"]["ratio_vs_ceiling"] < 0.6
    ),
    "falls short of it": lambda results: results["throughput"]["ratio_vs_legacy"] < 2,
}
"""Comparisons the page makes in words, and what the results must show for each to hold."""


@pytest.mark.parametrize("claim", CLAIMS)
def test_the_prose_s_comparisons_hold_in_the_results(claim: str) -> None:
    """New results that contradict a sentence fail here, naming the sentence's words."""
    prose = " ".join(prose_blocks(PAGE.read_text(encoding="utf-8")))
    assert claim in prose, f"the page no longer says {claim!r}: drop it from CLAIMS"
    assert CLAIMS[claim](RESULTS), f"the page says {claim!r}, which results.json contradicts"


def test_what_the_prose_says_of_dropped_connections_comes_from_the_results() -> None:
    """Whether the listen queue dropped anything is this run's data, never the page's.

    A paragraph that mentions dropped connections must say how many this run dropped
    through ``|listen_drops|``: an earlier version blamed drops for a figure of a run
    that had none.
    """
    page = PAGE.read_text(encoding="utf-8")
    about_drops = [block for block in prose_blocks(page) if re.search(r"\bdrop", block, re.I)]
    assert about_drops
    for block in about_drops:
        assert "|listen_drops|" in block, f"says what was dropped without the data: {block}"


def with_listen_drops(drops: dict[str, int]) -> dict[str, Any]:
    """The committed results, but with ``drops[key]`` connection attempts dropped while
    server ``key`` was measured (all in its first run) and none for the other servers."""
    results = copy.deepcopy(RESULTS)
    section = results["concurrency"]
    for key, entry in section["contenders"].items():
        runs = report.concurrency_runs(entry, report.concurrency_levels(section))
        for number, run in enumerate(runs):
            run["listen_drops"] = drops.get(key, 0) if number == 0 else 0
    return results


def test_the_drops_summary_says_none_only_when_none_were_dropped() -> None:
    none = with_listen_drops({})
    assert report.substitutions(none)["listen_drops"] == (
        "no connection attempt was dropped, for any server"
    )
    some = with_listen_drops({"legacy": 1200, "sync": 3})
    legacy, sync = report.label(some, "legacy"), report.label(some, "sync")
    assert report.substitutions(some)["listen_drops"] == (
        f'connection attempts were dropped for "{legacy}" (1,200) and "{sync}" (3)'
    )
    table = {row[0]: row[-1] for row in report.concurrency_table(some)}
    assert (table[legacy], table[sync]) == ("1,200", "3")
