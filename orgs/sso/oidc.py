"""allauth's OpenID Connect provider, held to the checks an org's sign-in needs.

allauth accepts an ID token from the token endpoint without checking its signature (the
spec allows it over TLS), trusts whatever issuer the discovery document names, and sends
no nonce. Here, for every OpenID Connect app (settings' and orgs'): the discovery document
must name the configured issuer (OpenID Connect Discovery §4.3), an ID token must come
back and be signed with one of the issuer's published keys (asymmetric algorithms only),
and it must carry the nonce this session sent (checked in orgs.adapters, where the
refusal page is made). The provider class replaces allauth's through
SOCIALACCOUNT_PROVIDERS["openid_connect"]["provider_class"]; the callback view takes
allauth's URL (config/urls.py lists it first).
"""

from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.http import Http404
from django.utils.crypto import get_random_string
from requests import RequestException

ASYMMETRIC = {
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
}


class StrictOIDCAdapter(OpenIDConnectOAuth2Adapter):
    @property
    def openid_config(self):
        config = super().openid_config
        configured = self.get_provider().app.settings["server_url"].rstrip("/")
        if config.get("issuer", "").rstrip("/") != configured:
            raise OAuth2Error(
                f"The provider calls itself {config.get('issuer')!r}, not {configured!r}."
            )
        return config

    def complete_login(self, request, app, token, **kwargs):
        if not kwargs["response"].get("id_token"):
            raise OAuth2Error("The provider sent no ID token.")
        login = super().complete_login(request, app, token, **kwargs)
        data = login.account.extra_data
        # allauth takes the user from userinfo: it must be the subject of the signed token.
        if "userinfo" in data and data["userinfo"].get("sub") != data["id_token"].get("sub"):
            raise OAuth2Error("The provider's userinfo is about another user than its ID token.")
        return login

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict:
        try:
            alg = jwtkit.jwt.get_unverified_header(id_token).get("alg")
        except jwtkit.jwt.PyJWTError as exc:
            raise OAuth2Error("The ID token is not a JWT.") from exc
        if alg not in ASYMMETRIC:
            raise OAuth2Error(f"The ID token is not signed with a published key (alg {alg}).")
        try:
            claims = jwtkit.verify_and_decode(
                credential=id_token,
                keys_url=self.openid_config["jwks_uri"],
                issuer=self.openid_config["issuer"],
                audience=app.client_id,
                lookup_kid=jwtkit.lookup_kid_jwk,
                verify_signature=True,
            )
        except (KeyError, ValueError) as exc:  # no kid, a key that does not parse
            raise OAuth2Error("The ID token's key is not among the provider's.") from exc
        missing = [name for name in ("sub", "exp", "iat") if name not in claims]
        if missing:  # PyJWT checks exp only when there is one
            raise OAuth2Error(f"The ID token lacks {', '.join(missing)}.")
        return claims


class StrictOIDCProvider(OpenIDConnectProvider):
    oauth2_adapter_class = StrictOIDCAdapter
    package = "allauth.socialaccount.providers.openid_connect"  # its URLs, templates

    def redirect(self, request, process, next_url=None, data=None, **kwargs):
        # A nonce per sign-in, kept in allauth's server-side state and checked against
        # the ID token: a token minted for another sign-in is refused.
        nonce = get_random_string(32)
        auth_params = kwargs.pop("auth_params", None) or self.get_auth_params()
        auth_params = {**auth_params, "nonce": nonce}
        try:
            return super().redirect(
                request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs
            )
        except (OAuth2Error, RequestException) as exc:  # discovery failed or lied
            return render_authentication_error(request, self, exception=exc)


@login_not_required
def callback(request, provider_id):
    try:
        view = OAuth2CallbackView.adapter_view(StrictOIDCAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
