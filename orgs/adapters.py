"""allauth adapter: redirects after sign-in may only go to the app host, never the sandbox."""

from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme


class AccountAdapter(DefaultAccountAdapter):
    def is_safe_url(self, url: str) -> bool:
        # SECURITY: ALLOWED_HOSTS includes the sandbox host; allauth's default check would
        # accept a ?next= pointing there. Only the app host is a safe destination.
        return url_has_allowed_host_and_scheme(
            url,
            allowed_hosts={urlsplit(settings.ARTIFACTS_APP_URL).netloc},
            require_https=settings.ARTIFACTS_APP_URL.startswith("https://"),
        )
