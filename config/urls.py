"""URLs of the app host. The sandbox host has its own URLconf (config/urls_sandbox.py)."""

from django.contrib import admin
from django.urls import include, path

from config.api import api
from config.health import health
from orgs.sso import acs, oidc
from orgs.sso import views as sso_views

urlpatterns = [
    path("_/health", health, name="health"),
    path("", include("artifacts.urls")),
    path("", include("orgs.urls")),
    path("api/v1/", api.urls),
    path("scim/v2/", include("orgs.scim.urls")),
    # Ahead of allauth's: the OpenID Connect callback that checks the ID token's signature
    # (orgs.sso.oidc) and the end of a SAML sign-in (orgs.sso.acs), at the URLs allauth
    # reverses; and where an org's people start SSO.
    path("accounts/oidc/<str:provider_id>/login/callback/", oidc.callback),
    path("accounts/saml/<str:organization_slug>/acs/finish/", acs.finish_acs),
    path("accounts/sso/", sso_views.start, name="sso-start"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
