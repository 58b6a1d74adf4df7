"""Writes of per-organisation SSO: an org's provider set up or removed by an owner, and
what a sign-in through it does to the member (join, role, groups). Each change audited."""

from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.db import transaction

from ..audit import audit_record
from ..errors import Conflict, Invalid
from ..models import (
    ROLE_RANK,
    ActorKind,
    AuditEvent,
    Group,
    Membership,
    Organization,
    Protocol,
    Role,
    SsoConnection,
)
from ..permissions import Can, membership_require
from ..services import domains_clean
from .saml import ADVANCED, idp_settings

LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_ROLES_FROM_CLAIMS = (Role.VIEWER, Role.MEMBER, Role.ADMIN)  # never owner


def provider_id_for(organization: Organization) -> str:
    # The id in the provider's URLs (redirect, ACS, metadata), stable while the slug is.
    return f"org-{organization.slug}"


def _url_check(value: str, field: str) -> str:
    value = (value or "").strip()
    parts = urlsplit(value)
    # SECURITY: the provider's keys and assertions come from here: TLS, except on loopback
    # (tests, a provider on the same machine).
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK):
        raise Invalid(f"{field} must be an https:// URL.", field=field)
    if not parts.hostname:
        raise Invalid(f"{field} must be a URL.", field=field)
    if field == "issuer" and "/.well-known/" in value:
        raise Invalid("The issuer is the provider's URL, without /.well-known/….", field=field)
    return value.rstrip("/") if field == "issuer" else value


def _domains_free(organization: Organization, domains: list[str]) -> None:
    """SECURITY: a domain is one org's at most, or the provider of one org could sign into
    the accounts of another's people."""
    for other in SsoConnection.objects.exclude(organization=organization):
        taken = set(domains) & set(other.domain_list)
        if taken:
            raise Conflict(
                f"{', '.join(sorted(taken))} is already the domain of another organisation's "
                "sign-in.",
                field="domains",
            )


def connection_save(
    *,
    organization: Organization,
    actor,
    protocol: str,
    domains: str,
    issuer: str = "",
    client_id: str = "",
    client_secret: str = "",
    metadata_url: str = "",
    metadata_xml: str = "",
    groups_claim: str = "groups",
    role_claim: str = "",
) -> SsoConnection:
    """Set up or change the org's identity provider (owners). A blank secret keeps the
    one stored. Changing the provider itself (issuer, metadata) unlinks every account
    linked through the old one, so that a user id of the new one can never sign into the
    account of the old one's user who happened to have it."""
    membership_require(actor, organization, Can.MANAGE_OWNERS)
    if protocol not in Protocol.values:
        raise Invalid("protocol must be oidc or saml.", field="protocol")
    domain_list = [d for d in domains_clean(domains, field="domains").split(",") if d]
    if not domain_list:
        raise Invalid("Give at least one email domain of the organisation.", field="domains")
    _domains_free(organization, domain_list)
    current = SsoConnection.objects.select_related("app").filter(organization=organization).first()
    provider_id = provider_id_for(organization)
    if protocol == Protocol.OIDC:
        issuer = _url_check(issuer, "issuer")
        client_id = (client_id or "").strip()
        if not client_id:
            raise Invalid("client_id is required.", field="client_id")
        if not client_secret and not (current and current.protocol == Protocol.OIDC):
            raise Invalid("client_secret is required.", field="client_secret")
        app_fields = {
            "provider": "openid_connect",
            "client_id": client_id,
            # SECURITY: PKCE on top of the client secret; hidden from the general sign-in
            # page (each org's people start at /accounts/sso/).
            "settings": {"server_url": issuer, "oauth_pkce_enabled": True, "hidden": True},
        }
        source = f"oidc:{issuer}"
    else:
        if metadata_url:
            metadata_url = _url_check(metadata_url, "metadata_url")
        idp = idp_settings(metadata_url=metadata_url, metadata_xml=metadata_xml)
        app_fields = {
            "provider": "saml",
            "client_id": provider_id,  # allauth's SAML URLs carry it
            "settings": {
                "idp": idp,
                "advanced": ADVANCED,
                "hidden": True,
                "attribute_mapping": {
                    "uid": "uid",
                    "email": "email",
                    "email_verified": "email_verified",
                    "first_name": "first_name",
                    "last_name": "last_name",
                },
            },
        }
        source = f"saml:{idp['entity_id']}"
    with transaction.atomic():
        Organization.objects.select_for_update().get(pk=organization.pk)
        if current is None:
            app = SocialApp(provider_id=provider_id, name=organization.name, secret="")
            old_source = None
        else:
            app = current.app
            old_source = _source(current)
        for name, value in app_fields.items():
            setattr(app, name, value)
        if protocol == Protocol.OIDC and client_secret:
            app.secret = client_secret
        elif protocol == Protocol.SAML:
            app.secret = ""
        app.save()
        if old_source is not None and old_source != source:
            SocialAccount.objects.filter(provider=app.provider_id).delete()
        connection, created = SsoConnection.objects.update_or_create(
            organization=organization,
            defaults={
                "protocol": protocol,
                "app": app,
                "domains": ",".join(domain_list),
                "groups_claim": (groups_claim or "").strip()[:100],
                "role_claim": (role_claim or "").strip()[:100],
            },
        )
        audit_record(
            organization=organization,
            actor=actor,
            action="sso.configure",
            target=protocol,
            source=source,
            client_id=app.client_id if protocol == Protocol.OIDC else "",
            domains=connection.domain_list,
            groups_claim=connection.groups_claim,
            role_claim=connection.role_claim,
            secret_changed=bool(protocol == Protocol.OIDC and client_secret),
            provider_changed=old_source is not None and old_source != source,
        )
    return connection


def _source(connection: SsoConnection) -> str:
    """Who the provider is: another one unlinks the accounts of this one."""
    if connection.protocol == Protocol.OIDC:
        return f"oidc:{connection.app.settings.get('server_url', '')}"
    return f"saml:{connection.app.settings.get('idp', {}).get('entity_id', '')}"


def connection_delete(*, organization: Organization, actor) -> None:
    membership_require(actor, organization, Can.MANAGE_OWNERS)
    with transaction.atomic():
        org = Organization.objects.select_for_update().get(pk=organization.pk)
        if org.require_sso:
            raise Conflict("Stop requiring SSO before removing the identity provider.")
        connection = SsoConnection.objects.select_related("app").filter(organization=org).first()
        if connection is None:
            return
        connection.delete()  # orgs.signals takes its app and linked accounts along
        audit_record(organization=org, actor=actor, action="sso.remove", target=connection.protocol)


def connection_for_app(app) -> SsoConnection | None:
    """The org connection that a SocialApp runs, or None (an app from the settings)."""
    if app is None or not app.pk:
        return None
    return SsoConnection.objects.select_related("organization", "app").filter(app_id=app.pk).first()


def email_in_domains(email: str, connection: SsoConnection) -> bool:
    return email.rpartition("@")[2].lower() in connection.domain_list


def _idp_record(connection: SsoConnection, *, action: str, target: str, **details):
    """An event whose actor is the org's identity provider (a claim decided it)."""
    return AuditEvent.objects.create(
        organization=connection.organization,
        actor=None,
        actor_kind=ActorKind.IDP,
        actor_email=f"sso:{connection.provider_id}",
        action=action,
        target=str(target)[:200],
        details=details,
    )


def refusal_record(connection: SsoConnection, *, reason: str, email: str = "") -> None:
    _idp_record(connection, action="sso.refused", target=email, reason=reason)


def provisioned_email_verify(*, connection: SsoConnection, user, email: str) -> None:
    """The org's provider vouches (email_verified) for the address of an account the org's
    SCIM client made unverified (orgs.scim.selectors.provisioned_account): it is verified
    now, as a new account's would be at its first sign-in through the provider."""
    with transaction.atomic():
        updated = EmailAddress.objects.filter(
            user=user, email__iexact=email, verified=False
        ).update(verified=True)
        if updated:
            _idp_record(connection, action="sso.email_verified", target=email)


def _claim_values(claims: dict, name: str) -> set[str] | None:
    """A claim as a set of strings (a list, a string, or SAML's list of values); None when
    the provider did not send it at all."""
    if not name or name not in claims:
        return None
    value = claims[name]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return set()
    return {str(v).strip() for v in value if str(v).strip()}


def sign_in_apply(*, connection: SsoConnection, user, claims: dict) -> Membership:
    """What a sign-in through the org's provider does: the membership (made with the org's
    auto-join role the first time), then the role and the groups the claims name, each
    change audited with the provider as its actor. One transaction."""
    org = connection.organization
    with transaction.atomic():
        Organization.objects.select_for_update().get(pk=org.pk)  # serialises two sign-ins
        membership, created = Membership.objects.get_or_create(
            user=user, organization=org, defaults={"role": org.auto_join_role}
        )
        if created:
            _idp_record(
                connection, action="member.sso_join", target=user.email, role=membership.role
            )
        roles = _claim_values(claims, connection.role_claim)
        if roles is not None and membership.role != Role.OWNER:
            named = [r for r in _ROLES_FROM_CLAIMS if r in {v.lower() for v in roles}]
            role = max(named, key=ROLE_RANK.__getitem__) if named else org.auto_join_role
            if role != membership.role:
                _idp_record(
                    connection,
                    action="member.role_change",
                    target=user.email,
                    old=membership.role,
                    role=role,
                )
                membership.role = role
                membership.save(update_fields=["role"])
        names = _claim_values(claims, connection.groups_claim)
        if names is not None:
            _groups_follow(connection, user, {n.lower() for n in names})
        audit_record(organization=org, actor=user, action="sso.sign_in", target=user.email)
    return membership


def _groups_follow(connection: SsoConnection, user, names: set[str]) -> None:
    """The user is in exactly the org's groups whose names the claim lists (by name, or
    slug, case-insensitively); groups the org does not have are ignored."""
    groups = Group.objects.filter(organization=connection.organization)
    current = set(user.org_groups.filter(organization=connection.organization))
    for group in groups:
        wanted = group.name.lower() in names or group.slug.lower() in names
        if wanted and group not in current:
            group.members.add(user)
            _idp_record(connection, action="group.member_add", target=group.slug, email=user.email)
        elif not wanted and group in current:
            group.members.remove(user)
            _idp_record(
                connection, action="group.member_remove", target=group.slug, email=user.email
            )
