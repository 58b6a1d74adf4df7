"""A sandbox URLconf whose views fail, for tests of the sandbox's own error handling."""

from django.urls import path

from config.urls_sandbox import handler404, handler500  # noqa: F401  (the sandbox's pages)


def returns_nothing(request):
    return None


def raises(request):
    raise RuntimeError("a bug in a sandbox view")


urlpatterns = [
    path("nothing/", returns_nothing),
    path("raises/", raises),
]
