"""One sign-in through an org's provider: what it claims, whether it may come in, and the
page that says why not."""

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.shortcuts import render

from ..models import Membership, Protocol, SsoConnection
from ..scim.selectors import provisioned_account, scim_deactivated
from .services import email_in_domains


def claims_of(sociallogin) -> dict:
    """What the provider said of the user: OpenID Connect's ID token with its userinfo
    over it, or SAML's attributes (each a list of values)."""
    data = sociallogin.account.extra_data or {}
    if "id_token" in data or "userinfo" in data:
        return {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}
    return dict(data)


def sign_in_refusal(connection: SsoConnection, sociallogin) -> tuple[str, str]:
    """(why the sign-in is refused, the email it claimed), or ("", email) to let it in."""
    if connection.protocol == Protocol.OIDC:
        id_token = (sociallogin.account.extra_data or {}).get("id_token") or {}
        nonce = (sociallogin.state or {}).get("nonce")
        if not nonce or id_token.get("nonce") != nonce:
            return "The identity provider's answer was not for this sign-in (nonce).", ""
    emails = sociallogin.email_addresses
    email = emails[0].email if emails else ""
    verified = [e.email for e in emails if e.verified]
    if not verified:
        if not email:
            return "The identity provider sent no email address.", ""
        return f"The identity provider has not verified {email}.", email
    email = verified[0]
    if not email_in_domains(email, connection):
        return (
            f"{email} is not at a domain of {connection.organization.name} "
            f"({', '.join(connection.domain_list)}).",
            email,
        )
    organization = connection.organization
    if scim_deactivated(organization, email):
        return f"{organization.name}'s identity provider has deactivated {email}.", email
    if sociallogin.is_existing:
        # SECURITY: the account linked before must still own this address (verified, or
        # as the account the org's SCIM client made for it): an account whose email moved
        # elsewhere is not the provider's to sign into any more.
        owned = EmailAddress.objects.filter(
            user=sociallogin.user, email__iexact=email, verified=True
        ).exists()
        if not owned and provisioned_account(organization, email) != sociallogin.user:
            return f"This account's verified email is no longer {email}.", email
    elif _email_taken(email):
        # Not one that account_for_email let the provider into: another org's person, or
        # an address someone added without verifying it.
        return (
            f"An account with {email} exists here that {connection.organization.name}'s "
            "provider may not sign into: sign in to it another way.",
            email,
        )
    return "", email


def _email_taken(email: str) -> bool:
    return (
        EmailAddress.objects.filter(email__iexact=email).exists()
        or get_user_model().objects.filter(email__iexact=email).exists()
    )


def account_for_email(connection: SsoConnection, sociallogin):
    """(user, email) of an existing account that the org's provider may sign into by
    email, or None. SECURITY: only for an address at the org's domains that the account
    itself verified (an unverified address added by someone else never counts) or that
    the org's own SCIM client provisioned, and only an account of this org's, or of no
    org at all: an owner who lists another org's domain as theirs reaches none of its
    people."""
    for address in sociallogin.email_addresses:
        if not (address.verified and email_in_domains(address.email, connection)):
            continue
        provisioned = provisioned_account(connection.organization, address.email)
        if provisioned is not None:
            return provisioned, address.email
        owned = (
            EmailAddress.objects.select_related("user")
            .filter(email__iexact=address.email, verified=True)
            .first()
        )
        if owned is None:
            continue
        user = owned.user
        memberships = Membership.objects.filter(user=user)
        if (
            not memberships.exists()
            or memberships.filter(organization=connection.organization).exists()
        ):
            return user, address.email
    return None


def authentication_error_reason(error, exception, extra_context: dict) -> str:
    if exception is not None:
        return str(exception) or exception.__class__.__name__
    if extra_context.get("saml_last_error_reason"):  # orgs.sso.acs, or allauth's SAML views
        return str(extra_context["saml_last_error_reason"])
    if "state" not in extra_context:
        return "This sign-in was not started in this browser, or it was already used: start again."
    if str(error) == "cancelled":
        return "The sign-in was cancelled."
    return "The identity provider refused the sign-in."


def refused_page(request, reason: str, organization=None):
    return render(
        request,
        "orgs/sso_refused.html",
        {"reason": reason, "organization": organization},
        status=403,
    )
