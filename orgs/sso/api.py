"""The org's identity provider in the API (/api/v1/org/sso): owners set it up as code.
The client secret is written, never read back."""

from typing import Literal

from ninja import Router, Schema, Status

from ..errors import ERRORS
from ..models import Protocol, SsoConnection
from ..permissions import Can, membership_require
from .services import connection_delete, connection_save
from .views import urls_for

router = Router(tags=["org"])


class SsoIn(Schema):
    protocol: Literal["oidc", "saml"]
    domains: list[str]
    issuer: str = ""  # OpenID Connect
    client_id: str = ""
    client_secret: str = ""  # blank keeps the stored one
    metadata_url: str = ""  # SAML: the provider's metadata, by URL…
    metadata_xml: str = ""  # …or itself
    groups_claim: str = "groups"
    role_claim: str = ""


class SsoUrls(Schema):
    sign_in: str
    oidc_redirect: str
    saml_acs: str
    saml_metadata: str


class SsoOut(Schema):
    configured: bool
    protocol: str | None
    domains: list[str]
    issuer: str
    client_id: str
    metadata_url: str
    saml_entity_id: str
    groups_claim: str
    role_claim: str
    require_sso: bool
    urls: SsoUrls  # to paste into the provider


def _out(org) -> dict:
    connection = SsoConnection.objects.select_related("app").filter(organization=org).first()
    app_settings = connection.app.settings if connection else {}
    idp = app_settings.get("idp") or {}
    oidc = connection is not None and connection.protocol == Protocol.OIDC
    return {
        "configured": connection is not None,
        "protocol": connection.protocol if connection else None,
        "domains": connection.domain_list if connection else [],
        "issuer": app_settings.get("server_url", "") if oidc else "",
        "client_id": connection.app.client_id if oidc else "",
        "metadata_url": idp.get("metadata_url", ""),
        "saml_entity_id": idp.get("entity_id", ""),
        "groups_claim": connection.groups_claim if connection else "",
        "role_claim": connection.role_claim if connection else "",
        "require_sso": org.require_sso,
        "urls": urls_for(org),
    }


@router.get("/sso", response={200: SsoOut, **ERRORS})
def sso_get(request):
    """The org's identity provider and the URLs to give it (owners)."""
    membership_require(request.auth.user, request.auth.organization, Can.MANAGE_OWNERS)
    return _out(request.auth.organization)


@router.put("/sso", response={200: SsoOut, **ERRORS})
def sso_put(request, payload: SsoIn):
    """Set up or change the org's identity provider (owners; audited)."""
    org = request.auth.organization
    connection_save(
        organization=org,
        actor=request.auth.user,
        **{**payload.model_dump(), "domains": ",".join(payload.domains)},
    )
    return _out(org)


@router.delete("/sso", response={204: None, **ERRORS})
def sso_delete(request):
    """Remove the identity provider (refused while SSO is required)."""
    connection_delete(organization=request.auth.organization, actor=request.auth.user)
    return Status(204, None)
