"""The benchmarks behind the docs' performance page: ``nox -s bench`` runs them.

``python -m bench`` (what the nox session runs, see :mod:`bench.__main__`) starts real
servers on loopback ports, one worker process each, measures them side by side in
the same run, and writes ``.bench/results.json``, a text table and SVG plots. The
parts:

- :mod:`bench.profiles`: how long and how hard each mode (full, ``--quick``,
  ``--smoke``) measures, and where the tutorial's app is;
- :mod:`bench.contenders`: every server measured, as the command that starts it;
- :mod:`bench.clients`: the load: ``wrk``, an asyncio HTTP client, websocket clients;
- :mod:`bench.scenarios`: one module per scenario (concurrency, throughput,
  websockets, bridge overhead, slowloris);
- :mod:`bench.results`: the keys every results file must have;
- :mod:`bench.report` and :mod:`bench.plots`: the table, the docs' include files and
  the plots, all made from a results file;
- :mod:`bench.machine`: what the numbers were measured on.

The apps served only by the benchmarks live in :mod:`bench.apps` and
``bench/django_app``; ``bench/legacy_app`` is the 2015 tutorial's app, which
:mod:`bench.legacy` serves on its original Python 3.6 stack.
"""
