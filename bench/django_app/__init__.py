"""A minimal Django project: the synchronous baseline of the slowloris scenario.

The chapter's extra credit says a Django app on gunicorn's ``sync`` worker is bogged
down by slowloris; this is that app, as small as Django allows: one view answering
``GET /`` with a short text, no database, no middleware. gunicorn loads
``bench.django_app.wsgi:application``.
"""
