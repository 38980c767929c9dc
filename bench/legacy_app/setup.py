"""The 2015 tutorial's project, installable on its own 2017 stack (Python 3.6).

Install it, after the pinned stack, with ``pip install --no-deps .``: the
requirements below are the chapter's, and ``requirements.txt`` pins the versions
that satisfy them and still install on Python 3.6.
"""

from setuptools import find_packages, setup

requires = [
    "aiopyramid[gunicorn]",
    "pyramid_jinja2",
]

setup(
    name="aiotutorial",
    version="0.0",
    description="aiotutorial: the 2015 Aiopyramid tutorial's app, the legacy reference",
    packages=find_packages(),
    package_data={"aiotutorial": ["templates/*.jinja2"]},
    zip_safe=False,
    install_requires=requires,
    entry_points={"paste.app_factory": ["main = aiotutorial:main"]},
)
