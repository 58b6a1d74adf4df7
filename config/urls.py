"""URLs of the app host. The sandbox host has its own URLconf (config/urls_sandbox.py)."""

from django.contrib import admin
from django.urls import include, path

from config.api import api
from config.health import health

urlpatterns = [
    path("_/health", health, name="health"),
    path("", include("artifacts.urls")),
    path("", include("orgs.urls")),
    path("api/v1/", api.urls),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
