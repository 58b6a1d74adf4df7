"""URLs of the app host. The sandbox host has its own URLconf (config/urls_sandbox.py)."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from artifacts.api import api
from config.health import health

# SECURITY: the admin site signs in through allauth's flow only (its rate limits, the second
# factor of a user who has one); Django's own admin login form would skip both.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("_/health", health, name="health"),
    path("", include("artifacts.urls")),
    path("", include("orgs.urls")),
    path("api/v1/", api.urls),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
