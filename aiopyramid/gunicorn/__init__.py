"""gunicorn integration: a worker that serves Pyramid applications with aiopyramid."""
