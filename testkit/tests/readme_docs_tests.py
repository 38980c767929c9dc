"""README's way to run the docs' tests without nox, run as written.

README shows a maintainer how to run ``pytest docs/`` in a plain virtualenv: make
it, install, run all of it, then the quick part. This test runs those lines,
exactly as README shows them, in one bash session in a fresh copy of the
repository, and checks that each run's tests passed, none skipped, and that every
chapter's page and the built site's tests were among them.

Its name does not start with ``test_``, so a plain ``pytest`` leaves it out: it runs
the whole of ``pytest docs/``, minutes of work. ``nox -s docs_tests`` runs it (CI
too), with ``-s`` so that the docs' tests report their progress as they go.
"""

import re
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


HEADING = re.compile(r"^(?P<title>\S[^\n]*)\n-{3,}\n", re.MULTILINE)
"""A section's heading in README: its title, underlined with dashes."""


def readme_steps() -> list[Step]:
    """The commands of the console blocks of README's :data:`SECTION`, in order."""
    readme = (ROOT / "README.rst").read_text()
    headings = list(HEADING.finditer(readme))
    (number,) = [n for n, heading in enumerate(headings) if heading["title"] == SECTION]
    end = headings[number + 1].start() if number + 1 < len(headings) else len(readme)
    section = readme[headings[number].end() : end]
    blocks = [block for block in code_blocks(section) if block.language == "console"]
    return [step for block in blocks for step in parse_transcript(block.body)]


def runs_pytest(step: Step) -> bool:
    return step.command.split()[0] == "pytest"


def outcome(case: ET.Element) -> str:
    """``passed``, or what else happened to the test ``case``."""
    for kind in ("failure", "error", "skipped"):
        if case.find(kind) is not None:
            return kind
    return "passed"


def files_that_passed(report: Path) -> set[str]:
    """The files whose tests a pytest run's JUnit ``report`` holds; every test must have
    passed. The report is removed, so that the next run's is a new one."""
    cases = list(ET.parse(report).getroot().iter("testcase"))
    report.unlink()
    problems = [
        f"{outcome(case)}: {case.get('classname')}::{case.get('name')}"
        for case in cases
        if outcome(case) != "passed"
    ]
    assert cases and not problems, "\n".join(problems) or "no test ran"
    return {case.get("file", "") for case in cases}


def test_readme_s_lines_run_the_docs_tests_and_they_pass(tmp_path: Path) -> None:
    steps = readme_steps()
    runs = [step.command.split() for step in steps if runs_pytest(step)]
    assert runs and all("docs/" in run for run in runs), (
        f"README's {SECTION!r} should run pytest on docs/"
    )
    checkout, scratch = tmp_path / "checkout", tmp_path / "scratch"
    copy_sources(checkout)
    # A clone, as a maintainer's is: the docs' tests ask git which files are sources.
    for git in (["init", "-q"], ["add", "--all"]):
        subprocess.run(["git", *git], cwd=checkout, check=True)
    scratch.mkdir()
    report = tmp_path / "docs-tests.xml"
    # Each pytest run's report, to see what ran: added by the environment, so that
    # the commands run exactly as written.
    environment = reader_environment(tmp_path / "bin") | {"PYTEST_ADDOPTS": f"--junitxml={report}"}
    session = BashSession(checkout, environment, scratch)
    ran: set[str] = set()
    try:
        for step in steps:
            print(f"$ {step.command}", flush=True)
            output, status = session.run(step.command, STEP_TIMEOUT, echo=sys.stdout.write)
            assert status == 0, f"{step.command!r} exited with {status}:\n{output[-5000:]}"
            if runs_pytest(step):
                ran |= files_that_passed(report)
    finally:
        session.close()

    expected = {f"docs/tutorial/{each.name}.rst" for each in chapters()}
    expected |= {"docs/test_site.py", "docs/test_rendering.py"}
    expected |= {f"docs/tutorial/test_{chapters()[-1].name}.py"}
    assert expected <= ran, f"these ran no test: {sorted(expected - ran)}"
