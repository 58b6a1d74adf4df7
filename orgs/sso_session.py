"""Whether the sign-in behind a request went through an org's own identity provider.

Like orgs.mfa: allauth records each step of a sign-in in the session (a social login as
method "socialaccount" with the provider's id); whoever authenticates a request marks the
user object it hands on (`sso_mark`): the app's AuthenticationMiddleware, the sandbox for
the session behind a grant, and token authentication, whose tokens count for every org
(an org that requires SSO keeps its API tokens working while their membership lasts).
An unmarked user has used no provider: it fails closed.
"""

from types import SimpleNamespace

from allauth.account.authentication import get_authentication_records
from django.db.models import Q

_MARK = "_orgs_sso_providers"
TOKEN = "token"  # noqa: S105  (the mark of a request authenticated by an API token)


def session_sso_providers(session, user) -> frozenset[str]:
    """The providers this session's sign-in of this user went through."""
    records = get_authentication_records(SimpleNamespace(session=session), user)
    return frozenset(
        record["provider"]
        for record in records
        if record.get("method") == "socialaccount" and record.get("provider")
    )


def sso_mark(user, *, providers: frozenset[str] | str):
    setattr(user, _MARK, providers)
    return user


def sso_providers_used(user) -> frozenset[str] | str:
    """The providers of the request's sign-in, or TOKEN."""
    return getattr(user, _MARK, frozenset())


def sso_satisfied(user, organization) -> bool:
    """What an org with require_sso asks of the request: its own provider, or a token."""
    if not organization.require_sso:
        return True
    used = sso_providers_used(user)
    if used == TOKEN:
        return True
    connection = getattr(organization, "sso", None)
    return connection is not None and connection.app.provider_id in used


def sso_used_for(user, organization) -> bool:
    """Whether this very sign-in went through the org's provider (tokens do not count):
    what turning require_sso on asks of the owner who does it."""
    used = sso_providers_used(user)
    connection = getattr(organization, "sso", None)
    return used != TOKEN and connection is not None and connection.app.provider_id in used


def sso_reachable(user, field: str = "organization") -> Q:
    """A filter on rows of orgs that the request may reach as far as SSO goes, for the
    queries that list what a user sees (the same rule as sso_satisfied, in SQL)."""
    used = sso_providers_used(user)
    if used == TOKEN:
        return Q()
    if not used:  # most sessions: no join to the providers at all
        return Q(**{f"{field}__require_sso": False})
    return Q(**{f"{field}__require_sso": False}) | Q(
        **{f"{field}__sso__app__provider_id__in": sorted(used)}
    )
