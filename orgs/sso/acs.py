"""The end of a SAML sign-in: allauth's FinishACSView (at its URL; config/urls.py lists this
one first), held to the checks an org's sign-in needs.

allauth's view lets python3-saml check the response (signature, issuer, audience,
destination, time window: orgs.sso.saml.ADVANCED) and then looks up the sign-in this
browser started by the response's InResponseTo. Here besides:

- every refusal is the refused page (orgs.adapters, through allauth's authentication
  error), with python3-saml's reason: allauth raises a bare PermissionDenied when no
  sign-in of this browser's waits for the answer (replayed, or started elsewhere);
- the assertion itself must answer that sign-in: its SubjectConfirmationData (inside the
  signature) names the same AuthnRequest as the response (outside it), so an assertion
  made for another sign-in, or sent unsolicited, cannot be wrapped into this one;
- an assertion is used once (SAML Profiles §4.1.4.5): its ID is kept, in the cache, as
  long as it would be valid.
"""

import binascii
import logging
import time

from allauth.account.internal.decorators import login_not_required
from allauth.core.internal import httpkit
from allauth.socialaccount.helpers import complete_social_login, render_authentication_error
from allauth.socialaccount.providers.base.constants import AuthError
from allauth.socialaccount.providers.saml import views as saml_views
from allauth.socialaccount.providers.saml.utils import build_auth, get_app_or_404
from allauth.socialaccount.sessions import LoginSession
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.errors import OneLogin_Saml2_Error

logger = logging.getLogger(__name__)

NOT_HERE = "This sign-in was not started in this browser, or it was already used: start again."
CLOCK_DRIFT = OneLogin_Saml2_Constants.ALLOWED_CLOCK_DRIFT
_SCD_IN_RESPONSE_TO = (
    "/samlp:Response/saml:Assertion/saml:Subject/saml:SubjectConfirmation"
    "/saml:SubjectConfirmationData/@InResponseTo"
)


def _refused(request, provider, reason: str):
    return render_authentication_error(
        request, provider, extra_context={"saml_last_error_reason": reason}
    )


def _assertion_answers(auth) -> set[str]:
    """The AuthnRequests the (one, signed) assertion says it answers."""
    document = etree.fromstring(auth.get_last_response_xml().encode())
    return set(document.xpath(_SCD_IN_RESPONSE_TO, namespaces=OneLogin_Saml2_Constants.NSMAP))


def _first_use(app, auth) -> bool:
    """True the first time this provider's assertion ID is seen, while it is valid."""
    not_on_or_after = auth.get_last_assertion_not_on_or_after() or time.time() + 3600
    timeout = max(int(not_on_or_after - time.time()) + CLOCK_DRIFT, 60)
    return cache.add(f"saml.assertion.{app.pk}.{auth.get_last_assertion_id()}", 1, timeout)


@login_not_required
def finish_acs(request, organization_slug):
    app = get_app_or_404(request, organization_slug)
    if not app.settings.get("advanced", {}).get("reject_idp_initiated_sso", True):
        # An app of the settings that takes IdP-initiated sign-ins: allauth's own flow.
        return saml_views.finish_acs(request, organization_slug=organization_slug)
    provider = app.get_provider(request)
    acs_session = LoginSession(request, "saml_acs_session", "saml-acs-session")
    data = acs_session.store.get("request")
    acs_session.delete()
    if not data:
        return _refused(request, provider, NOT_HERE)
    acs_request = httpkit.deserialize_request(data, HttpRequest())
    auth = build_auth(acs_request, provider)
    try:
        auth.process_response(request_id=None)  # the InResponseTo is checked below
    except binascii.Error:
        return _refused(request, provider, "The identity provider's answer is not SAML.")
    except OneLogin_Saml2_Error as exc:
        return _refused(request, provider, f"The identity provider's answer is invalid: {exc}")
    if auth.get_errors():
        reason = auth.get_last_error_reason() or ", ".join(auth.get_errors())
        logger.warning("SAML response refused for %s: %s", organization_slug, reason)
        return _refused(request, provider, f"The identity provider's answer is invalid: {reason}")
    if not auth.is_authenticated():
        return render_authentication_error(request, provider, error=AuthError.CANCELLED)
    state_id = auth.get_last_response_in_response_to()
    if not state_id:  # IdP-initiated: ADVANCED rejects it, allauth's flow has no state
        return _refused(request, provider, NOT_HERE)
    if _assertion_answers(auth) != {state_id}:
        return _refused(
            request, provider, "The identity provider's assertion was not made for this sign-in."
        )
    try:
        state = provider.unstash_redirect_state(request, state_id)
    except PermissionDenied:  # no sign-in of this browser's waits for this answer
        return _refused(request, provider, NOT_HERE)
    # Spent only by the browser that started the sign-in: a stranger posting a captured
    # answer cannot burn the assertion before its owner uses it.
    if not _first_use(app, auth):
        return _refused(request, provider, "This answer of the identity provider was already used.")
    login = provider.sociallogin_from_response(request, auth)
    login.state = state
    return complete_social_login(request, login)
