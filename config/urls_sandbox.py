"""URLs of the sandbox host: artifact bytes only. Nothing of the app is reachable here."""

from django.urls import path, re_path

from artifacts import views_sandbox
from config.health import health

urlpatterns = [
    path("_/health", health, name="sandbox-health"),
    path("g/<str:grant>/", views_sandbox.content, name="sandbox-content"),
    re_path(r"^.*$", views_sandbox.not_here),
]

handler404 = "artifacts.views_sandbox.not_found"
handler500 = "artifacts.views_sandbox.server_error"
