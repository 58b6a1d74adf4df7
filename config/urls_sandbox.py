"""URLs of the sandbox host: artifact bytes only. Nothing of the app is reachable here."""

from django.urls import path, re_path

from artifacts.sandbox import views as sandbox_views
from config.health import health

urlpatterns = [
    path("_/health", health, name="sandbox-health"),
    path("g/<str:grant>/", sandbox_views.content, name="sandbox-content"),
    re_path(r"^.*$", sandbox_views.not_here),
]

handler404 = "artifacts.sandbox.views.not_found"
handler500 = "artifacts.sandbox.views.server_error"
