"""Django's AuthenticationMiddleware, with the signed-in user marked by whether this
session's sign-in used a second factor (orgs.mfa) and which identity providers it went
through (orgs.sso.session), for orgs that require either."""

from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.utils.functional import SimpleLazyObject

from .mfa import mfa_mark, session_used_mfa
from .sso_session import session_sso_providers, sso_mark


class AuthenticationMiddleware(DjangoAuthentication):
    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _session_user(request))


def _session_user(request):
    user = auth.get_user(request)
    if user.is_authenticated:
        mfa_mark(user, used=session_used_mfa(request.session, user))
        sso_mark(user, providers=session_sso_providers(request.session, user))
    return user
