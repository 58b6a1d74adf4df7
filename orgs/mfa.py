"""A second factor: whether a user has one, and whether the sign-in behind a request used it.

An org that requires MFA lets a member in only when both hold. Having an authenticator is
not enough: a session that signed in without it (before it was set up, or by a path that
skipped the second step) must not count. allauth writes each step of a sign-in into the
session (`get_authentication_records`); whoever authenticates a request marks the user
object it hands on with the answer (`mfa_mark`): the app's AuthenticationMiddleware for a
session, the sandbox for the session behind a grant, and token authentication for the API
(a token counts as the sign-in that made it: ApiToken.mfa_used). An unmarked user fails
closed.
"""

from types import SimpleNamespace

from allauth.account.authentication import get_authentication_records

# allauth's own way to add a step to a session's record (not in its public modules yet).
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator

_MARK = "_orgs_mfa_used"  # on the user object of one request


def user_has_mfa(user) -> bool:
    """A second factor that signs in (recovery codes alone do not count)."""
    return (
        Authenticator.objects.filter(user=user)
        .exclude(type=Authenticator.Type.RECOVERY_CODES)
        .exists()
    )


def session_used_mfa(session, user) -> bool:
    """Whether this session's sign-in of this user included a second factor (a TOTP code,
    a passkey, a recovery code), as allauth recorded it."""
    records = get_authentication_records(SimpleNamespace(session=session), user)
    return any(record.get("method") == "mfa" for record in records)


def mfa_mark(user, *, used: bool):
    """Record on the user object how the current request was authenticated."""
    setattr(user, _MARK, used)
    return user


def mfa_satisfied(user) -> bool:
    """What an org with require_mfa asks of the user behind this request: a second factor,
    used by this sign-in."""
    return getattr(user, _MARK, False) is True and user_has_mfa(user)


def factor_added_count(request, user, authenticator) -> None:
    """Setting up a first TOTP or passkey proves that factor (a valid code, a signed
    assertion) in this very session: count it, so that a member whom an org just asked
    for MFA need not also sign out and in again. Recovery codes come along with TOTP;
    alone they prove nothing."""
    if request is None or authenticator.type == Authenticator.Type.RECOVERY_CODES:
        return
    others = (
        Authenticator.objects.filter(user=user)
        .exclude(type=Authenticator.Type.RECOVERY_CODES)
        .exclude(pk=authenticator.pk)
    )
    if others.exists() and not session_used_mfa(request.session, user):
        # SECURITY: a session that skipped the user's existing factor must not make up for
        # it by adding one of its own (a password re-entered is all allauth asks for that).
        return
    record_authentication(
        request, user, "mfa", id=authenticator.pk, type=authenticator.type, added=True
    )
