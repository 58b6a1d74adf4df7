"""System checks for the two-origin invariants (SPEC §2.6): refuse settings where the
sandbox could read the app's cookies or be the app itself, or could not see a session end."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, register


def _covers(cookie_domain: str | None, host: str) -> bool:
    if not cookie_domain:
        return False  # host-only cookie
    domain = cookie_domain.lower().lstrip(".")
    return host == domain or host.endswith("." + domain)


@register(Tags.security, deploy=False)
def check_sandbox_isolation(app_configs, **kwargs):
    errors = []
    app = urlsplit(settings.ARTIFACTS_APP_URL)
    sandbox = urlsplit(settings.ARTIFACTS_SANDBOX_URL)
    if not app.hostname or not sandbox.hostname:
        errors.append(
            Error(
                "ARTIFACTS_APP_URL and ARTIFACTS_SANDBOX_URL must be absolute URLs.",
                id="artifacts.E001",
            )
        )
        return errors
    # Cookies are not isolated by port, so a different port is not a different origin here.
    if app.hostname.lower() == sandbox.hostname.lower():
        errors.append(
            Error(
                "The sandbox host must differ from the app host (a different port is not enough).",
                hint="Give ARTIFACTS_SANDBOX_URL its own host name, e.g. usercontent.example.net.",
                id="artifacts.E002",
            )
        )
    for name in ("SESSION_COOKIE_DOMAIN", "CSRF_COOKIE_DOMAIN", "LANGUAGE_COOKIE_DOMAIN"):
        domain = getattr(settings, name, None)
        if _covers(domain, sandbox.hostname.lower()):
            errors.append(
                Error(
                    f"{name}={domain!r} would send the app's cookies to the sandbox host "
                    f"{sandbox.hostname}.",
                    hint="Leave it None (host-only cookies) or a domain that excludes the sandbox.",
                    id="artifacts.E003",
                )
            )
    if settings.SESSION_ENGINE != "orgs.sessions":
        # The sandbox finds the session behind a grant in orgs' session table, in the query
        # that reads the grant (artifacts.sandbox.grants): sessions must live there.
        errors.append(
            Error(
                f"SESSION_ENGINE={settings.SESSION_ENGINE!r}: the sandbox looks sessions up in "
                "the table of orgs.sessions.",
                hint='Leave SESSION_ENGINE = "orgs.sessions" (config/settings/base.py).',
                id="artifacts.E004",
            )
        )
    return errors
