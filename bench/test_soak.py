"""The soak (``nox -s soak``, ``bench/soak.py``) in a short run: it works, and nothing fails.

The full run lasts 5 minutes and judges memory growth; this one runs for seconds,
so it checks what any length must show: every key written and no error, not
speeds or memory.
"""

import json
import subprocess
import sys
from pathlib import Path

from testkit.chapters import ROOT

KEYS = {"requests", "errors", "rss_start_mb", "rss_end_mb"}


def test_a_short_soak_serves_everything_without_an_error(tmp_path: Path) -> None:
    output = tmp_path / "soak.json"
    command = [sys.executable, "-m", "bench.soak", "--seconds", "4", "--warmup", "1"]
    command += ["--max-growth", "-1", "--output", str(output)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    figures = json.loads(output.read_text())
    assert figures.keys() >= KEYS
    assert figures["errors"] == 0, figures["problems"]
    assert figures["requests"] > 0
    assert figures["by_kind"].keys() == {"HttpCall", "Abandon", "WebsocketChat"}
    assert figures["rss_start_mb"] > 0
    assert figures["rss_end_mb"] > 0
