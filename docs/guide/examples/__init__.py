"""Runnable examples shown in the guide, one module per feature.

Each module builds a small Pyramid application with ``make_app()``; the guide's
pages include the code from here, and ``docs/guide/test_*.py`` runs every module.
"""
