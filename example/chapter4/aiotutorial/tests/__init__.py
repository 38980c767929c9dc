"""The project's tests: ``python -m pytest`` runs them."""
