"""The project's one route: ``/``."""

from django.http import HttpRequest, HttpResponse
from django.urls import path


def home(request: HttpRequest) -> HttpResponse:
    """A short page, answered at once."""
    return HttpResponse("Hello from Django\n", content_type="text/plain")


urlpatterns = [path("", home)]
