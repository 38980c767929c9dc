"""Settings of the minimal Django project: just enough to serve one view."""

DEBUG = False
SECRET_KEY = "benchmark-only-not-secret"  # the app never signs anything
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.django_app.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
