"""The WSGI application gunicorn serves: ``bench.django_app.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.django_app.settings")
application = get_wsgi_application()
