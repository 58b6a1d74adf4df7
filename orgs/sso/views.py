"""Where an org's people start a sign-in through its provider, and the console's SSO form."""

from allauth.socialaccount.providers.openid_connect import views as oidc_views
from allauth.socialaccount.providers.saml import views as saml_views
from django.conf import settings
from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from ..models import Organization, Protocol, SsoConnection
from .services import connection_delete, connection_save, provider_id_for


def connection_find(query: str) -> SsoConnection | None:
    """The connection of an org named by its slug, or of the domain of a work email."""
    query = query.strip().lower()
    if "@" in query:
        domain = query.rpartition("@")[2]
        candidates = SsoConnection.objects.filter(domains__icontains=domain)
        return next((c for c in candidates if domain in c.domain_list), None)
    return SsoConnection.objects.filter(organization__slug=query).first()


@require_http_methods(["GET", "POST"])
def start(request):
    """/accounts/sso/: a work email or an org's slug, then on to that org's provider."""
    query = request.POST.get("org") or request.GET.get("org", "")
    if request.method == "POST":
        connection = connection_find(query)
        if connection is not None:
            provider_id = connection.app.provider_id
            # allauth's own login view starts the flow from this (CSRF-checked) POST,
            # with its `next`, checked by orgs.adapters.AccountAdapter.is_safe_url.
            if connection.protocol == Protocol.OIDC:
                return oidc_views.login(request, provider_id=provider_id)
            return saml_views.login(request, organization_slug=connection.app.client_id)
        messages.error(request, "No organisation signs in with that email or name here.")
    context = {"query": query, "next": request.POST.get("next") or request.GET.get("next", "")}
    return render(request, "orgs/sso_start.html", context)


def urls_for(organization: Organization) -> dict:
    """The URLs an owner pastes into the provider, and the one the org's people start at."""
    base = settings.ARTIFACTS_APP_URL.rstrip("/")
    provider_id = provider_id_for(organization)
    return {
        "sign_in": f"{base}{reverse('sso-start')}?org={organization.slug}",
        "oidc_redirect": base
        + reverse("openid_connect_callback", kwargs={"provider_id": provider_id}),
        "saml_acs": base + reverse("saml_acs", kwargs={"organization_slug": provider_id}),
        "saml_metadata": base + reverse("saml_metadata", kwargs={"organization_slug": provider_id}),
    }


def console_context(organization: Organization) -> dict:
    connection = (
        SsoConnection.objects.select_related("app").filter(organization=organization).first()
    )
    return {
        "connection": connection,
        "urls": urls_for(organization),
        "protocols": Protocol.choices,
        "issuer": connection.app.settings.get("server_url", "") if connection else "",
        "client_id": connection.app.client_id
        if connection and connection.protocol == Protocol.OIDC
        else "",
        "metadata_url": (connection.app.settings.get("idp") or {}).get("metadata_url", "")
        if connection
        else "",
    }


def save(request, org):
    """The console's SSO form (orgs.views wraps it as a console form)."""
    connection_save(
        organization=org,
        actor=request.user,
        protocol=request.POST.get("protocol", ""),
        domains=request.POST.get("domains", ""),
        issuer=request.POST.get("issuer", ""),
        client_id=request.POST.get("client_id", ""),
        client_secret=request.POST.get("client_secret", ""),
        metadata_url=request.POST.get("metadata_url", ""),
        metadata_xml=request.POST.get("metadata_xml", ""),
        groups_claim=request.POST.get("groups_claim", ""),
        role_claim=request.POST.get("role_claim", ""),
    )


def remove(request, org):
    connection_delete(organization=org, actor=request.user)
