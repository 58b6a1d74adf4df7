"""Per-organisation SSO through a real SAML 2.0 identity provider (pysaml2's IdP server on
loopback): the whole round trip as a browser makes it (sign-in button, the provider's
redirect binding, its auto-posted form to the app's ACS), what a sign-in does to the
member, and every refusal an attacker would try, each with its page and nothing created."""

import base64
import html
import re

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.test import Client

from orgs.models import AuditEvent, Membership, Role
from orgs.services import group_create, member_add, org_create
from orgs.sso.services import connection_save
from tests.helpers import APP_HOST
from tests.idp.saml_idp import saml_idp_start
from tests.orgs.conftest import ACCOUNTS, APP, assert_joined_with_claims

SAML_ACCOUNTS = {login: {"uid": f"{login}-1", **account} for login, account in ACCOUNTS.items()} | {
    "nobody-says": {"uid": "nobody-says-1", "email": "nobody@acme.test"}
}


def acs(slug: str) -> str:
    return f"{APP}/accounts/saml/org-{slug}/acs/"


def sp_metadata_url(slug: str) -> str:
    return f"/accounts/saml/org-{slug}/metadata/"


@pytest.fixture(scope="module")
def idp():
    provider = saml_idp_start(accounts=SAML_ACCOUNTS)
    yield provider
    provider.stop()


def saml_org(slug: str, idp, domains: str, **settings):
    """An org whose owner (owner@<slug>.test) set up a SAML provider from its metadata
    URL, and registered the app (its SP metadata) at the provider."""
    org = org_create(slug=slug, name=slug.title())
    owner = member_add(organization=org, email=f"owner@{slug}.test", role=Role.OWNER).user
    connection_save(
        organization=org, actor=owner, protocol="saml", domains=domains,
        metadata_url=idp.metadata_url, **settings,
    )  # fmt: skip
    metadata = Client(HTTP_HOST=APP_HOST).get(sp_metadata_url(slug))
    assert metadata.status_code == 200, metadata.content[:500]
    idp.sp_register(metadata.content)
    org.owner = owner
    return org


@pytest.fixture
def acme(db, idp):
    org = saml_org("acme", idp, "acme.test", role_claim="role")
    group_create(organization=org, actor=org.owner, slug="design", name="Design")
    group_create(organization=org, actor=org.owner, slug="ops", name="Ops")
    return org


def saml_start(idp, *, org: str = "acme", next_url: str = "", browser: Client = None):
    """The sign-in button: the app's redirect to the provider's SSO endpoint."""
    browser = browser or Client(HTTP_HOST=APP_HOST)
    start = browser.post("/accounts/sso/", {"org": org, "next": next_url})
    assert start.status_code == 302, start.content[:300]
    assert start["Location"].startswith(idp.sso_url + "?SAMLRequest=")
    return start["Location"], browser


def acs_post(browser: Client, form):
    """The browser submitting the provider's form to the ACS, then following the app."""
    assert form.action.startswith(APP), form.action
    response = browser.post(form.action[len(APP) :], form.fields)
    assert response.status_code == 302, response.content[:500]
    return browser.get(response["Location"])


def saml_sign_in(idp, login: str, *, org="acme", next_url="", browser=None, **knobs):
    """The browser's whole round trip; the app's last answer, and the browser."""
    location, browser = saml_start(idp, org=org, next_url=next_url, browser=browser)
    form = idp.answer(location, login=login, **knobs)
    assert form.action == acs(org)
    return acs_post(browser, form), browser


REASON = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.S)


def refused(response, words: str):
    """The refused page (403), saying `words` in its reason."""
    assert response.status_code == 403, response.content[:500]
    assert b"Sign-in refused" in response.content
    reason = html.unescape(REASON.search(response.content.decode()).group(1))
    assert words in reason, reason


def test_first_sign_in_makes_the_member_with_claimed_role_and_groups(acme, idp):
    response, browser = saml_sign_in(idp, "alice", next_url="/org/acme/admin/")
    assert response.status_code == 302, response.content[:1000]
    assert response["Location"] == "/org/acme/admin/"
    user = assert_joined_with_claims(acme, "alice@acme.test", browser)
    account = SocialAccount.objects.get(user=user)
    assert (account.provider, account.uid) == ("org-acme", "alice-1")


def nothing_created(acme, email: str, refusals: int = 1):
    """The refusal made no account, no link, no membership; the audit log says why."""
    assert not get_user_model().objects.filter(email=email).exists()
    assert not SocialAccount.objects.exists()
    assert not Membership.objects.filter(organization=acme, user__email=email).exists()
    events = AuditEvent.objects.filter(organization=acme, action="sso.refused")
    assert events.count() == refusals
    assert events.first().actor_kind == "idp"


def test_next_on_the_site_is_followed_and_leaving_it_is_not(acme, idp):
    response, _ = saml_sign_in(idp, "carol", next_url="/org/acme/")
    assert response.status_code == 302 and response["Location"] == "/org/acme/"
    response, _ = saml_sign_in(idp, "carol", next_url="https://evil.example/steal")
    assert response.status_code == 302 and response["Location"] == "/"
    response, _ = saml_sign_in(idp, "carol", next_url="//evil.example/steal")
    assert response.status_code == 302 and response["Location"] == "/"


def test_an_existing_account_at_the_domain_is_signed_into_and_its_groups_follow(acme, idp):
    carol = member_add(
        organization=acme, email="carol@acme.test", role=Role.VIEWER, password="pw-carol-1"
    ).user
    acme.groups.get(slug="ops").members.add(carol)
    response, browser = saml_sign_in(idp, "carol")
    assert response.status_code == 302, response.content[:500]
    assert get_user_model().objects.filter(email="carol@acme.test").count() == 1
    assert SocialAccount.objects.get(user=carol).provider == "org-acme"  # linked now
    assert set(carol.org_groups.values_list("slug", flat=True)) == {"design"}  # ops gone
    # No role attribute for carol: the admins' choice stands.
    assert Membership.objects.get(user=carol, organization=acme).role == Role.VIEWER
    assert browser.session["_auth_user_id"] == str(carol.pk)


def test_an_issuer_other_than_the_configured_provider_is_refused(acme, idp):
    response, browser = saml_sign_in(idp, "alice", issuer="http://127.0.0.1:9/evil-idp")
    refused(response, "Invalid issuer in the Assertion/Response")
    refused(response, "got http://127.0.0.1:9/evil-idp")
    assert "_auth_user_id" not in browser.session
    nothing_created(acme, "alice@acme.test")


def test_an_assertion_for_another_service_provider_is_refused(acme, idp):
    """Globex, another org at the same provider, is another audience: an assertion the
    provider made for it (e.g. handed over by Globex's owner) does not open Acme."""
    saml_org("globex", idp, "globex.test")
    globex_sp = f"{APP}{sp_metadata_url('globex')}"
    response, _ = saml_sign_in(idp, "alice", audience=globex_sp)
    refused(response, f"{APP}{sp_metadata_url('acme')} is not a valid audience")
    nothing_created(acme, "alice@acme.test")


def test_an_unsigned_assertion_is_refused(acme, idp):
    response, _ = saml_sign_in(idp, "alice", sign="none")
    refused(response, "The Assertion of the Response is not signed")
    # A signed response around an unsigned assertion is not enough either.
    response, _ = saml_sign_in(idp, "alice", sign="response")
    refused(response, "The Assertion of the Response is not signed")
    nothing_created(acme, "alice@acme.test", refusals=2)


def test_an_assertion_signed_with_a_key_not_in_the_metadata_is_refused(acme, idp):
    response, _ = saml_sign_in(idp, "alice", sign="rogue")
    refused(response, "Signature validation failed")
    nothing_created(acme, "alice@acme.test")


def saml_xml(form) -> str:
    return base64.b64decode(form.fields["SAMLResponse"]).decode()


def saml_encoded(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()


def test_a_signed_assertion_altered_in_the_browser_is_refused(acme, idp):
    """Alice edits her own signed assertion to become the owner: the digest breaks."""
    location, browser = saml_start(idp)
    form = idp.answer(location, login="alice")
    xml = saml_xml(form).replace("alice@acme.test", "owner@acme.test").replace("alice-1", "o")
    form.fields["SAMLResponse"] = saml_encoded(xml)
    refused(acs_post(browser, form), "Signature validation failed")
    assert not SocialAccount.objects.exists()
    assert "_auth_user_id" not in browser.session


def test_an_expired_assertion_is_refused(db):
    # A provider whose clock is twenty minutes behind: its five-minute assertions arrive
    # expired, beyond python3-saml's allowance for clock drift.
    late = saml_idp_start(accounts=SAML_ACCOUNTS, clock_shift="-20m", lifetime_minutes=5)
    try:
        org = saml_org("late", late, "acme.test")
        response, _ = saml_sign_in(late, "alice", org="late")
        refused(response, "Could not validate timestamp: expired")
        nothing_created(org, "alice@acme.test")
    finally:
        late.stop()


def test_a_replayed_assertion_is_refused(acme, idp):
    location, browser = saml_start(idp)
    form = idp.answer(location, login="alice")
    assert acs_post(browser, form).status_code == 302  # signed in
    users = get_user_model().objects.count()
    refused(acs_post(browser, form), "already used")  # the same answer again, same browser
    refused(acs_post(Client(HTTP_HOST=APP_HOST), form), "already used")  # another browser
    assert get_user_model().objects.count() == users
    assert AuditEvent.objects.filter(organization=acme, action="sso.refused").count() == 2


def test_an_assertion_is_used_once_even_where_a_sign_in_waits_for_it(acme, idp):
    """Even were the browser's sign-in state put back (a second tab, a restored session),
    the provider's assertion ID is spent: only one sign-in per assertion."""
    location, browser = saml_start(idp)
    states = dict(browser.session["socialaccount_states"])
    form = idp.answer(location, login="alice")
    assert acs_post(browser, form).status_code == 302
    session = browser.session
    session["socialaccount_states"] = states
    session.save()
    refused(acs_post(browser, form), "This answer of the identity provider was already used")


def test_an_assertion_wrapped_into_another_sign_in_is_refused(acme, idp):
    """An attacker who captured alice's answer starts a sign-in of their own and rewrites
    the (unsigned) response around her signed assertion to answer it."""
    location, _ = saml_start(idp)
    stolen = idp.answer(location, login="alice")
    attacker_location, attacker = saml_start(idp)
    (attacker_request,) = attacker.session["socialaccount_states"]
    xml = saml_xml(stolen)
    victim_request = re.search(r'InResponseTo="([^"]+)"', xml).group(1)
    head, _, rest = xml.partition("<ns1:Assertion")  # the response's own element, unsigned
    if not rest:
        head, _, rest = xml.partition("<saml:Assertion")
    assert rest, xml[:500]
    stolen.fields["SAMLResponse"] = saml_encoded(
        head.replace(victim_request, attacker_request) + xml[len(head) :]
    )
    response = acs_post(attacker, stolen)
    refused(response, "valid SubjectConfirmation was not found")
    assert "_auth_user_id" not in attacker.session
    nothing_created(acme, "alice@acme.test")


def test_an_answer_for_a_sign_in_started_elsewhere_is_refused(acme, idp):
    location, _ = saml_start(idp)  # the victim's browser
    form = idp.answer(location, login="alice")
    refused(acs_post(Client(HTTP_HOST=APP_HOST), form), "not started in this browser")
    nothing_created(acme, "alice@acme.test")


def test_an_unsolicited_answer_is_refused(acme, idp):
    """IdP-initiated SSO (a response answering no AuthnRequest) is off for org sign-ins."""
    location, browser = saml_start(idp)
    form = idp.answer(location, login="alice", unsolicited="1")
    assert "InResponseTo" not in saml_xml(form)
    refused(acs_post(browser, form), "not started in this browser")
    nothing_created(acme, "alice@acme.test")


def test_an_unsolicited_assertion_wrapped_into_a_sign_in_is_refused(acme, idp):
    """The (unsigned) response around an unsolicited signed assertion made to answer the
    attacker's own sign-in: the assertion itself answers none, so it opens none."""
    location, attacker = saml_start(idp)
    (request_id,) = attacker.session["socialaccount_states"]
    form = idp.answer(location, login="alice", unsolicited="1")
    xml = saml_xml(form).replace("<ns0:Response ", f'<ns0:Response InResponseTo="{request_id}" ', 1)
    assert f'InResponseTo="{request_id}"' in xml, xml[:300]
    form.fields["SAMLResponse"] = saml_encoded(xml)
    refused(acs_post(attacker, form), "assertion was not made for this sign-in")
    nothing_created(acme, "alice@acme.test")


def test_an_email_the_provider_does_not_mark_verified_is_refused(acme, idp):
    response, _ = saml_sign_in(idp, "mallory")  # email_verified: false
    refused(response, "has not verified mallory@acme.test")
    response, _ = saml_sign_in(idp, "nobody-says")  # no email_verified attribute at all
    refused(response, "has not verified nobody@acme.test")
    nothing_created(acme, "mallory@acme.test", refusals=2)
    assert not get_user_model().objects.filter(email="nobody@acme.test").exists()


def test_an_email_at_another_domain_is_refused(acme, idp):
    response, browser = saml_sign_in(idp, "eve")
    refused(response, "eve@evil.test is not at a domain of Acme")
    assert "_auth_user_id" not in browser.session
    nothing_created(acme, "eve@evil.test")


def test_a_provider_cannot_sign_into_another_orgs_person(acme, idp):
    globex = org_create(slug="globex", name="Globex")
    dave = member_add(organization=globex, email="dave@globex.test", role=Role.OWNER).user
    response, _ = saml_sign_in(idp, "dave")
    refused(response, "dave@globex.test is not at a domain of Acme")
    assert not SocialAccount.objects.filter(user=dave).exists()
    assert not Membership.objects.filter(user=dave, organization=acme).exists()
