"""README's way to run the docs' tests without nox, run as written.

README shows a maintainer how to run ``pytest docs/`` in a plain virtualenv: make
it, install, run. This test runs those lines, exactly as README shows them, in one
bash session in a fresh copy of the repository, and checks that the docs' tests
ran and passed: every chapter's page, the built site, and none skipped.

Its name does not start with ``test_``, so a plain ``pytest`` leaves it out: it runs
the whole of ``pytest docs/``, minutes of work. ``nox -s docs_tests`` runs it (CI
too), with ``-s`` so that the docs' tests report their progress as they go.
"""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from testkit.chapters import ROOT, chapters
from testkit.console import BashSession, Step, parse_transcript, reader_environment
from testkit.projects import copy_sources
from testkit.rst import code_blocks

SECTION = "Run the docs' tests without nox"
"""README's heading over the lines this test runs."""

STEP_TIMEOUT = 1800
"""Seconds a line may take: the last one is the whole docs run."""


def readme_steps() -> list[Step]:
    """The commands of the first console block under :data:`SECTION` in README."""
    readme = (ROOT / "README.rst").read_text()
    after = readme[readme.index(SECTION) :]
    block = next(block for block in code_blocks(after) if block.language == "console")
    return parse_transcript(block.body)


def cases_of(report: Path) -> list[ET.Element]:
    """Every test case of a JUnit report."""
    return list(ET.parse(report).getroot().iter("testcase"))


def outcome(case: ET.Element) -> str:
    """``passed``, or what else happened to the test ``case``."""
    for kind in ("failure", "error", "skipped"):
        if case.find(kind) is not None:
            return kind
    return "passed"


def test_readme_s_lines_run_the_docs_tests_and_they_pass(tmp_path: Path) -> None:
    steps = readme_steps()
    assert steps[-1].command.split()[0] == "pytest" and "docs/" in steps[-1].command.split(), (
        f"README's block under {SECTION!r} should end by running pytest on docs/"
    )
    checkout, scratch = tmp_path / "checkout", tmp_path / "scratch"
    copy_sources(checkout)
    # A clone, as a maintainer's is: the docs' tests ask git which files are sources.
    for git in (["init", "-q"], ["add", "--all"]):
        subprocess.run(["git", *git], cwd=checkout, check=True)
    scratch.mkdir()
    report = tmp_path / "docs-tests.xml"
    # The docs' own report, to see what ran: added by the environment, so that the
    # command runs exactly as written.
    environment = reader_environment(tmp_path / "bin") | {"PYTEST_ADDOPTS": f"--junitxml={report}"}
    session = BashSession(checkout, environment, scratch)
    try:
        for step in steps:
            print(f"$ {step.command}", flush=True)
            output, status = session.run(step.command, STEP_TIMEOUT, echo=sys.stdout.write)
            assert status == 0, f"{step.command!r} exited with {status}:\n{output[-5000:]}"
    finally:
        session.close()

    cases = cases_of(report)
    problems = [
        f"{outcome(case)}: {case.get('classname')}::{case.get('name')}"
        for case in cases
        if outcome(case) != "passed"
    ]
    assert not problems, "\n".join(problems)
    ran = {case.get("file") for case in cases}
    expected = {f"docs/tutorial/{each.name}.rst" for each in chapters()}
    expected |= {"docs/test_site.py", "docs/test_rendering.py"}
    expected |= {f"docs/tutorial/test_{chapters()[-1].name}.py"}
    assert expected <= ran, f"these ran no test: {sorted(expected - ran)}"
