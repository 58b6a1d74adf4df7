"""allauth adapters: redirects after sign-in may only go to the app host, never the
sandbox; an org's identity provider signs in only the people of its domains."""

from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme

from .scim.selectors import provisioned_account
from .sso.login import (
    account_for_email,
    authentication_error_reason,
    refused_page,
    sign_in_refusal,
)
from .sso.services import (
    connection_for_app,
    email_in_domains,
    provisioned_email_verify,
    refusal_record,
)


class AccountAdapter(DefaultAccountAdapter):
    def is_safe_url(self, url: str) -> bool:
        # SECURITY: ALLOWED_HOSTS includes the sandbox host; allauth's default check would
        # accept a ?next= pointing there. Only the app host is a safe destination.
        return url_has_allowed_host_and_scheme(
            url,
            allowed_hosts={urlsplit(settings.ARTIFACTS_APP_URL).netloc},
            require_https=settings.ARTIFACTS_APP_URL.startswith("https://"),
        )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Sign-ins through an org's own provider (orgs.sso): who may come in, and to which
    account. Apps from the settings keep allauth's behaviour."""

    def can_authenticate_by_email(self, login, email: str) -> bool:
        # SECURITY: an org's provider signs into an existing account only for an email at
        # that org's domains (allauth asks this only of emails the provider verified).
        connection = connection_for_app(login.provider.app)
        if connection is None:
            return super().can_authenticate_by_email(login, email)
        return email_in_domains(email, connection)

    def authenticate_by_email(self, sociallogin):
        connection = connection_for_app(sociallogin.provider.app)
        if connection is None:
            return super().authenticate_by_email(sociallogin)
        return account_for_email(connection, sociallogin)

    def pre_social_login(self, request, sociallogin):
        connection = connection_for_app(sociallogin.provider.app)
        if connection is None:
            return
        reason, email = sign_in_refusal(connection, sociallogin)
        if reason:
            refusal_record(connection, reason=reason, email=email)
            raise ImmediateHttpResponse(refused_page(request, reason, connection.organization))
        if sociallogin.user.pk is not None and sociallogin.user == provisioned_account(
            connection.organization, email
        ):
            provisioned_email_verify(connection=connection, user=sociallogin.user, email=email)

    def is_auto_signup_allowed(self, request, sociallogin) -> bool:
        if connection_for_app(sociallogin.provider.app) is not None:
            return True  # the provider vouched for the email; nothing to ask
        return super().is_auto_signup_allowed(request, sociallogin)

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ):
        connection = connection_for_app(getattr(provider, "app", None))
        reason = authentication_error_reason(error, exception, extra_context or {})
        if connection is not None:
            refusal_record(connection, reason=reason)
        raise ImmediateHttpResponse(
            refused_page(request, reason, connection.organization if connection else None)
        )
