"""gunicorn integration: a worker that serves Pyramid applications with aiopyramid."""

__all__: list[str] = []
