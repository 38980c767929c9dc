"""CI runs what README calls the full check, and checks every report those sessions write."""

import re
import subprocess
import sys

from testkit.chapters import ROOT, chapters
from testkit.rst import code_blocks


def noxfile_says(expression: str) -> str:
    """What ``expression`` gives in ``noxfile.py``, imported as nox imports it."""
    code = f"import noxfile; print({expression})"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_plain_nox_runs_the_ci_sessions() -> None:
    assert noxfile_says("noxfile.nox.options.sessions == noxfile.CI_SESSIONS") == "True"


def test_readme_shows_plain_nox_as_the_full_check_and_ci_runs_it() -> None:
    readme = (ROOT / "README.rst").read_text()
    after = readme[readme.index("The full check, the one CI runs") :]
    block = next(block for block in code_blocks(after) if block.language == "console")
    assert block.body == "$ nox"
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"(?m)^nox \|\| status=\$\?$", script), "CI should run plain nox"


def test_every_pytest_session_of_ci_leaves_a_report_ci_checks() -> None:
    reports = noxfile_says("*noxfile.junit_reports(noxfile.CI_SESSIONS)").split()
    names = {report.removeprefix(".nox-reports/junit-").removesuffix(".xml") for report in reports}
    assert {"tests-3.11", "tests-3.12", "tests-3.13", "tests_fast-3.13", "bench"} <= names
    assert "docs_tests" in names  # every page, the built site, the last chapter's docs tests
    *earlier, last = chapters()
    for each in earlier:
        assert f"{each.name}-{each.python}-project" in names
        assert f"{each.name}-{each.python}-docs" in names
    assert f"{last.name}-{last.python}-project" in names


def test_the_prerelease_session_is_documented_and_not_part_of_ci() -> None:
    assert "prerelease" not in noxfile_says("noxfile.CI_SESSIONS")
    readme = (ROOT / "README.rst").read_text()
    assert "$ nox -s prerelease" in readme
