"""Apps that only the benchmarks serve, each one a baseline for the tutorial's app.

- :mod:`bench.apps.blocking`: the tutorial's home page as plain synchronous Pyramid
  (``time.sleep`` instead of ``await asyncio.sleep``), for gunicorn's ``sync`` and
  ``gthread`` workers and for waitress;
- :mod:`bench.apps.wsgi_on_asgi`: that same app behind a2wsgi, for uvicorn;
- :mod:`bench.apps.hello`: a bare ASGI app, the ceiling of gunicorn's ASGI worker.
"""

A2WSGI_THREADS = 10
"""Threads a2wsgi runs the WSGI app in (its default), here so the bench can report it."""
