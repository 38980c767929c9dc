"""The performance page's figures, drawn with matplotlib from a results file.

Each SVG carries the digest of the results it was drawn from (in its metadata:
``bench results <digest>``), so a test can tell that the committed figures show
the committed data. Ids and dates are fixed, so the same data draws the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bench.report import DIGEST_NOTE, FIGURES
from bench.results import is_skipped, lookup

OURS = "#1f6fb4"
OTHERS = "#9aa5b1"
LEGACY = "#c77c2a"
CEILING = "#5a9e5a"

plt.rcParams.update(
    {
        "svg.hashsalt": "aiopyramid-bench",
        "svg.fonttype": "none",
        "font.size": 10,
        "figure.facecolor": "white",
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def _color(key: str) -> str:
    if key.startswith("aiopyramid"):
        return OURS  # the tutorial's app, on whichever server
    return {"legacy": LEGACY, "ceiling": CEILING}.get(key, OTHERS)


def _label(results: dict[str, Any], key: str) -> str:
    return str(results["contenders"][key]["label"])


def _bars(
    axes: Axes,
    rows: list[tuple[str, str, Any, str]],
    *,
    xlabel: str,
    log: bool = False,
) -> None:
    """Horizontal bars, top to bottom: (key, label, value or skipped marker, annotation).

    A skipped value gets no bar, and "not measured" where the bar would start.
    Extrapolated values (an annotation starting with "extrapolated") are hatched.
    """
    rows = list(reversed(rows))
    positions = list(range(len(rows)))
    values = [value for _, _, value, _ in rows if isinstance(value, int | float)]
    for position, (key, _, value, note) in zip(positions, rows, strict=True):
        if not isinstance(value, int | float):
            axes.annotate(
                "not measured",
                (0, position),
                xycoords=axes.get_yaxis_transform(),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
                color="dimgray",
            )
            continue
        extrapolated = note.startswith("extrapolated")
        axes.barh(
            position,
            value,
            height=0.6,
            color=_color(key),
            hatch="//" if extrapolated else None,
            edgecolor="white" if extrapolated else None,
        )
        axes.annotate(
            note,
            (value, position),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    axes.set_yticks(positions, [label for _, label, _, _ in rows])
    axes.set_xlabel(xlabel)
    top = max(values, default=1.0)
    if log:
        axes.set_xscale("log")
        axes.set_xlim(0.5, top * 30)  # room for the annotations, in log space
    else:
        axes.set_xlim(0, top * 1.6)


def concurrency(results: dict[str, Any]) -> Figure:
    section = results["concurrency"]
    levels = [name for name in section if name.startswith("n") and name[1:].isdigit()]
    figure, panels = plt.subplots(1, len(levels), figsize=(10, 3.6), sharey=True)
    for axes, level in zip(panels, levels, strict=True):
        rows = []
        for key, entry in section["contenders"].items():
            value = entry[level] if is_skipped(entry[level]) else entry[level]["ratio_to_ideal"]
            note = f"x{value:.2f}" if isinstance(value, int | float) else ""
            if not is_skipped(entry[level]) and entry[level].get("extrapolated"):
                note = f"extrapolated, x{value:.0f}"
            rows.append((key, _label(results, key), value, note))
        _bars(axes, rows, xlabel="wall time / ideal (log scale; 1 is ideal)", log=True)
        axes.axvline(1, color="black", linewidth=0.8)
        axes.set_title(f"{level[1:]} concurrent GET /?sleep={section['sleep_s']:g}")
    figure.tight_layout()
    return figure


def throughput(results: dict[str, Any]) -> Figure:
    figure, axes = plt.subplots(figsize=(8, 3.6))
    rows = []
    for key, entry in results["throughput"]["contenders"].items():
        if is_skipped(entry):
            rows.append((key, _label(results, key), entry, ""))
        else:
            note = f"{entry['rps']:,.0f}/s, p99 {entry['p99_ms']:.1f} ms"
            rows.append((key, _label(results, key), entry["rps"], note))
    _bars(axes, rows, xlabel="requests per second, GET /?sleep=0 (one worker)")
    figure.tight_layout()
    return figure


def peers(results: dict[str, Any]) -> Figure:
    section = results["peers"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    pages, echoes = [], []
    for key, entry in section["contenders"].items():
        name = f"{_label(results, key)}"
        pages.append((key, name, entry["rps"], f"{entry['rps']:,.0f}/s"))
        echo = section["echo"][key]
        value = echo if is_skipped(echo) else echo["msgs_per_s"]
        note = f"{value:,.0f}/s" if isinstance(value, int | float) else ""
        echoes.append((key, name, value, note))
    _bars(left, pages, xlabel="requests per second, GET /?sleep=0 (one worker)")
    _bars(right, echoes, xlabel="websocket echo round trips per second")
    figure.tight_layout()
    return figure


def websocket(results: dict[str, Any]) -> Figure:
    section = results["websocket"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    rows = []
    for key, entry in section["echo"].items():
        value = entry if is_skipped(entry) else entry["msgs_per_s"]
        note = (
            "" if is_skipped(entry) else f"{value:,.0f}/s, {entry['errors_logged']} errors logged"
        )
        rows.append((key, _label(results, key), value, note))
    _bars(left, rows, xlabel="echo round trips per second")
    left.set_title("Echo, one message at a time per client")
    idle = section["idle"]
    counts = [0] + [step["connections"] for step in idle["steps"]]
    mib = [idle["baseline_rss_bytes"] / 2**20] + [
        step["rss_bytes"] / 2**20 for step in idle["steps"]
    ]
    right.plot(counts, mib, marker="o", color=OURS)
    right.set_xlabel("idle websockets held by one worker")
    right.set_ylabel("worker resident memory (MiB)")
    right.set_ylim(bottom=0)
    right.set_title(f"{section['bytes_per_idle_connection'] / 1024:.1f} KiB per idle websocket")
    figure.tight_layout()
    return figure


def bridge(results: dict[str, Any]) -> Figure:
    section = results["bridge"]
    figure, axes = plt.subplots(figsize=(8, 2.4))
    rows = [
        ("other", "Pyramid, called directly", section["direct_us_per_request"], ""),
        ("aiopyramid", "aiopyramid, async def view", section["bridge_us_per_request"], ""),
        (
            "other",
            "aiopyramid, def view (thread pool)",
            section["executor_view_us_per_request"],
            "",
        ),
    ]
    rows = [(key, name, value, f"{value:.1f} µs") for key, name, value, _ in rows]
    _bars(axes, rows, xlabel="CPU microseconds per request (in-process, no network)")
    figure.tight_layout()
    return figure


def slowloris(results: dict[str, Any]) -> Figure:
    section = results["slowloris"]
    figure, axes = plt.subplots(figsize=(8, 2.6))
    rows = []
    for name in ("aiopyramid", "sync_baseline", "apache_php"):
        entry = section[name]
        if is_skipped(entry):
            if name != "apache_php":  # Apache is optional; an absent one is left out
                rows.append((name, name, entry, ""))
            continue
        key = "aiopyramid" if name == "aiopyramid" else "other"
        note = f"{entry['success_rate'] * 100:.0f} %, p99 {entry['p99_ms']:,.0f} ms"
        rows.append((key, entry["server"], entry["success_rate"] * 100, note))
    _bars(axes, rows, xlabel="normal requests answered during the attack (%)")
    axes.set_xlim(0, 140)
    axes.set_xticks(range(0, 101, 20))
    axes.set_title(f"{section['sockets']} slowloris sockets held open")
    figure.tight_layout()
    return figure


def then_and_now(results: dict[str, Any]) -> Figure:
    measures = [
        ("GET /?sleep=0\nrequests/s", "legacy.rps", "throughput.aiopyramid_rps", "{:,.0f}"),
        (
            "1000 \u00d7 GET /?sleep=1\nwall time / ideal",
            "legacy.concurrency_n1000_ratio_to_ideal",
            "concurrency.n1000.ratio_to_ideal",
            "x{:.2f}",
        ),
        (
            "websocket echo\nround trips/s",
            "legacy.ws_round_trips_per_s",
            "websocket.echo_msgs_per_s",
            "{:,.0f}",
        ),
    ]
    figure, panels = plt.subplots(1, len(measures), figsize=(10, 3))
    for axes, (title, then_key, now_key, fmt) in zip(panels, measures, strict=True):
        then, now = lookup(results, then_key), lookup(results, now_key)
        rows = [
            ("legacy", "2015", then, "" if is_skipped(then) else fmt.format(then)),
            ("aiopyramid", "now", now, fmt.format(now)),
        ]
        _bars(axes, rows, xlabel="")
        axes.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure


DRAW = {
    "concurrency": concurrency,
    "throughput": throughput,
    "peers": peers,
    "websocket": websocket,
    "bridge": bridge,
    "slowloris": slowloris,
    "then_and_now": then_and_now,
}
assert set(DRAW) == set(FIGURES), "bench.report.FIGURES lists the figures drawn here"


def write_all(results: dict[str, Any], out_dir: Path, digest: str) -> list[Path]:
    """Draw every figure of ``results`` as ``out_dir/<name>.svg``."""
    written = []
    for name in FIGURES:
        figure = DRAW[name](results)
        path = out_dir / f"{name}.svg"
        figure.savefig(
            path,
            format="svg",
            metadata={"Date": None, "Description": DIGEST_NOTE.format(digest=digest)},
        )
        plt.close(figure)
        written.append(path)
    return written
