"""Refresh the intersphinx inventories cached beside this script.

The docs build runs with ``-W -n`` and without network access, so ``docs/conf.py``
reads the Python and Pyramid inventories from this folder instead of fetching
them. Run this script (with network access to Debian's and PyPI's package
archives) when you want newer ones::

    $ apt-get install python3-doc
    $ python docs/_inventories/refresh.py

``python.inv``
    Copied from Debian's ``python3-doc`` package, which ships the ``objects.inv``
    of the documentation it installs under ``/usr/share/doc/python3*/html/``.

``pyramid.inv``
    Built from the Pyramid sdist on PyPI, which contains Pyramid's documentation
    sources: the script downloads it into a temporary folder, installs the
    Sphinx extensions its ``conf.py`` loads into a throwaway virtual
    environment, switches off that build's own intersphinx look-ups (they would
    need the network and only add links we do not use), builds the HTML and
    keeps the ``objects.inv`` it writes. The Pyramid version is the installed
    one unless ``--pyramid-version`` says otherwise.
"""

from __future__ import annotations

import argparse
import glob
import importlib.metadata
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The extensions and theme Pyramid's docs/conf.py imports.
PYRAMID_DOCS_REQUIREMENTS = [
    "sphinx",
    "pylons-sphinx-themes",
    "repoze.sphinx.autointerface",
    "sphinxcontrib-autoprogram",
    "sphinx-copybutton",
]

# Appended to the temporary copy of Pyramid's conf.py.
OFFLINE_OVERRIDE = "\n# Added by refresh.py: build offline.\nintersphinx_mapping = {}\n"


def run(*args: str | Path) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True)


def refresh_python() -> None:
    # python3-doc's own folder documents Debian's default Python 3.
    candidates = ["/usr/share/doc/python3-doc/html/objects.inv"]
    candidates += sorted(glob.glob("/usr/share/doc/python3*/html/objects.inv"))
    candidates = [c for c in candidates if Path(c).is_file()]
    if not candidates:
        sys.exit("no objects.inv under /usr/share/doc/python3*/html/: apt-get install python3-doc")
    source = Path(candidates[0]).resolve()
    shutil.copyfile(source, HERE / "python.inv")
    print(f"python.inv <- {source}")


def refresh_pyramid(version: str) -> None:
    with tempfile.TemporaryDirectory(prefix="pyramid-inv-") as tmp:
        work = Path(tmp)
        venv = work / "venv"
        run(sys.executable, "-m", "venv", venv)
        python = venv / "bin" / "python"
        run(python, "-m", "pip", "install", "-q", f"pyramid=={version}", *PYRAMID_DOCS_REQUIREMENTS)
        run(
            python, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
            f"pyramid=={version}", "-d", work,
        )  # fmt: skip
        (sdist,) = work.glob("pyramid-*.tar.gz")
        with tarfile.open(sdist) as archive:
            archive.extractall(work, filter="data")
        docs = work / f"pyramid-{version}" / "docs"
        with (docs / "conf.py").open("a") as conf:
            conf.write(OFFLINE_OVERRIDE)
        out = work / "html"
        # Warnings are expected (links into projects we do not fetch); only the
        # inventory matters, and it is written whatever they say.
        run(python, "-m", "sphinx", "-q", "-j", "auto", "-b", "html", docs, out)
        shutil.copyfile(out / "objects.inv", HERE / "pyramid.inv")
    print(f"pyramid.inv <- Pyramid {version} docs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyramid-version", default=importlib.metadata.version("pyramid"))
    parser.add_argument("--only", choices=["python", "pyramid"])
    args = parser.parse_args()
    if args.only in (None, "python"):
        refresh_python()
    if args.only in (None, "pyramid"):
        refresh_pyramid(args.pyramid_version)


if __name__ == "__main__":
    main()
