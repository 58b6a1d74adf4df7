"""Per-organisation SSO through a real OpenID Connect provider (node-oidc-provider on
loopback): the whole round trip as a browser makes it, what a sign-in does to the member,
and every refusal an attacker would try, each with its page and nothing created."""

from urllib.parse import urlsplit

from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.test import Client

from orgs.models import AuditEvent, Group, Membership, Role
from orgs.services import member_add, org_create
from orgs.sso.services import connection_save
from tests.helpers import APP_HOST
from tests.idp.oidc import browse_provider, client, oidc_provider_start
from tests.orgs.conftest import (
    ACCOUNTS,
    APP,
    assert_joined_with_claims,
    callback,
    sso_org,
    sso_sign_in,
)


def refused(response, words: str):
    assert response.status_code == 403, response.content[:500]
    assert b"Sign-in refused" in response.content
    assert words.encode() in response.content, response.content.decode()[:2000]


def test_first_sign_in_makes_the_member_with_claimed_role_and_groups(acme, idp):
    response, browser = sso_sign_in(idp, "alice", next_url="/org/acme/admin/")
    assert response.status_code == 302 and response["Location"] == "/org/acme/admin/"
    assert_joined_with_claims(acme, "alice@acme.test", browser)


def test_next_leaving_the_site_is_not_followed(acme, idp):
    response, _ = sso_sign_in(idp, "carol", next_url="https://evil.example/steal")
    assert response.status_code == 302 and response["Location"] == "/"


def test_an_existing_account_at_the_domain_is_signed_into_and_its_groups_follow(acme, idp):
    carol = member_add(
        organization=acme, email="carol@acme.test", role=Role.VIEWER, password="pw-carol-1"
    ).user
    Group.objects.get(organization=acme, slug="ops").members.add(carol)
    response, browser = sso_sign_in(idp, "carol")
    assert response.status_code == 302
    assert get_user_model().objects.filter(email="carol@acme.test").count() == 1
    assert SocialAccount.objects.get(user=carol).provider == "org-acme"  # linked now
    assert set(carol.org_groups.values_list("slug", flat=True)) == {"design"}  # ops gone
    # No role claim for carol: the admins' choice stands.
    assert Membership.objects.get(user=carol, organization=acme).role == Role.VIEWER
    assert browser.get("/").status_code == 200


def test_a_provider_cannot_sign_into_an_account_outside_its_domains(acme, idp):
    globex = org_create(slug="globex", name="Globex")
    dave = member_add(organization=globex, email="dave@globex.test", role=Role.OWNER).user
    response, browser = sso_sign_in(idp, "dave")  # acme's provider, asserting globex's person
    refused(response, "dave@globex.test is not at a domain of Acme")
    assert not SocialAccount.objects.filter(user=dave).exists()
    assert "_auth_user_id" not in browser.session
    response, _ = sso_sign_in(idp, "eve")
    refused(response, "eve@evil.test is not at a domain of Acme")
    assert not get_user_model().objects.filter(email="eve@evil.test").exists()
    assert AuditEvent.objects.filter(organization=acme, action="sso.refused").count() == 2


def test_another_orgs_provider_cannot_take_over_an_account(acme, idp):
    # Globex sets up the same provider for its own domain: it still cannot reach acme's.
    globex = sso_org("globex", idp.issuer, "globex-app", "globex.test")
    carol = member_add(organization=acme, email="carol@acme.test", role=Role.MEMBER).user
    response, _ = sso_sign_in(idp, "carol", org="globex")
    refused(response, "carol@acme.test is not at a domain of Globex")
    assert not SocialAccount.objects.filter(user=carol).exists()
    assert not Membership.objects.filter(user=carol, organization=globex).exists()


def test_an_email_the_provider_has_not_verified_is_refused(acme, idp):
    response, _ = sso_sign_in(idp, "mallory")
    refused(response, "has not verified mallory@acme.test")
    assert not get_user_model().objects.filter(email="mallory@acme.test").exists()


def test_a_replayed_callback_is_refused(acme, idp):
    browser = Client(HTTP_HOST=APP_HOST)
    start = browser.post("/accounts/sso/", {"org": "acme"})
    back = browse_provider(start["Location"], login="alice", app_prefix=APP)
    path = back[len(APP) :]
    assert browser.get(path).status_code == 302  # signed in
    users = get_user_model().objects.count()
    refused(browser.get(path), "already used")  # the same answer again, same browser
    refused(Client(HTTP_HOST=APP_HOST).get(path), "not started in this browser")
    assert get_user_model().objects.count() == users


def test_a_callback_for_a_sign_in_started_elsewhere_is_refused(acme, idp):
    victim = Client(HTTP_HOST=APP_HOST)
    start = victim.post("/accounts/sso/", {"org": "acme"})
    back = browse_provider(start["Location"], login="alice", app_prefix=APP)
    refused(Client(HTTP_HOST=APP_HOST).get(back[len(APP) :]), "not started in this browser")
    assert not get_user_model().objects.filter(email="alice@acme.test").exists()


def test_a_code_issued_to_another_client_is_refused(acme, idp):
    """An attacker's app at the same provider gets a code for its own audience and hands
    it to our callback with our state: the exchange fails, nobody signs in."""
    browser = Client(HTTP_HOST=APP_HOST)
    start = browser.post("/accounts/sso/", {"org": "acme"})
    state = dict(p.split("=", 1) for p in urlsplit(start["Location"]).query.split("&"))["state"]
    attacker = (
        f"{idp.issuer}/auth?client_id=attacker-app&response_type=code&scope=openid%20email"
        "&redirect_uri=http%3A%2F%2Fattacker.test%2Fcb&state=x&nonce=n"
    )
    stolen = browse_provider(attacker, login="alice", app_prefix="http://attacker.test/")
    code = dict(p.split("=", 1) for p in urlsplit(stolen).query.split("&"))["code"]
    response = browser.get(f"/accounts/oidc/org-acme/login/callback/?code={code}&state={state}")
    refused(response, "Error retrieving access token")
    assert not get_user_model().objects.filter(email="alice@acme.test").exists()


def test_an_answer_for_another_sign_in_fails_the_nonce(acme, idp):
    browser = Client(HTTP_HOST=APP_HOST)
    start = browser.post("/accounts/sso/", {"org": "acme"})
    session = browser.session
    states = session["socialaccount_states"]
    for state in states.values():  # as if this browser's sign-in had asked another nonce
        state[0]["nonce"] = "another-sign-in"
    session.save()
    back = browse_provider(start["Location"], login="alice", app_prefix=APP)
    refused(browser.get(back[len(APP) :]), "not for this sign-in (nonce)")
    assert not get_user_model().objects.filter(email="alice@acme.test").exists()


def test_an_id_token_not_signed_with_the_providers_published_keys_is_refused(db, idp):
    sso_org("hs", idp.issuer, "hs-app", "acme.test")
    response, _ = sso_sign_in(idp, "alice", org="hs")
    refused(response, "not signed with a published key (alg HS256)")
    assert not get_user_model().objects.filter(email="alice@acme.test").exists()


def test_a_provider_that_names_another_issuer_is_refused(acme, idp):
    port = urlsplit(idp.issuer).port
    acme.sso.app.settings["server_url"] = f"http://localhost:{port}"
    acme.sso.app.save()
    browser = Client(HTTP_HOST=APP_HOST)
    refused(browser.post("/accounts/sso/", {"org": "acme"}), "calls itself")


def test_an_expired_id_token_is_refused(db):
    # A provider whose clock is five minutes behind: its one-minute tokens arrive expired.
    late = oidc_provider_start(
        clients=[client("artifacts", callback("late"))],
        accounts=ACCOUNTS,
        clock_shift="-5m",
        id_token_ttl=60,
    )
    try:
        sso_org("late", late.issuer, "artifacts", "acme.test")
        response, _ = sso_sign_in(late, "alice", org="late")
        refused(response, "Invalid id_token")
        assert not get_user_model().objects.filter(email="alice@acme.test").exists()
    finally:
        late.stop()


def test_an_owner_listing_another_orgs_domain_reaches_none_of_its_people(acme, idp):
    globex = org_create(slug="globex", name="Globex")
    dave = member_add(organization=globex, email="dave@globex.test", role=Role.OWNER).user
    connection_save(
        organization=acme, actor=acme.owner, protocol="oidc", domains="acme.test,globex.test",
        issuer=idp.issuer, client_id="artifacts", client_secret="",
    )  # fmt: skip
    response, browser = sso_sign_in(idp, "dave")
    refused(response, "may not sign into")
    assert not SocialAccount.objects.filter(user=dave).exists()
    assert "_auth_user_id" not in browser.session
    assert not Membership.objects.filter(user=dave, organization=acme).exists()


def test_an_unverified_address_someone_added_does_not_catch_the_sign_in(acme, idp):
    from allauth.account.models import EmailAddress

    attacker = member_add(organization=org_create(slug="evil", name="Evil"),
                          email="att@evil.test", role=Role.OWNER).user  # fmt: skip
    EmailAddress.objects.create(user=attacker, email="alice@acme.test", verified=False)
    response, _ = sso_sign_in(idp, "alice")
    refused(response, "may not sign into")
    assert not Membership.objects.filter(user=attacker, organization=acme).exists()
    assert not SocialAccount.objects.filter(user=attacker).exists()


def test_a_linked_account_whose_email_moved_is_not_signed_into(acme, idp):
    from allauth.account.models import EmailAddress

    sso_sign_in(idp, "carol")
    carol = get_user_model().objects.get(email="carol@acme.test")
    EmailAddress.objects.filter(user=carol).update(email="carol@home.test")
    response, _ = sso_sign_in(idp, "carol")
    refused(response, "no longer carol@acme.test")


def test_the_org_provider_signs_into_the_account_its_scim_client_provisioned(acme, idp):
    from orgs.scim.services import scim_token_create
    from tests.orgs.test_scim import Scim

    scim = Scim(scim_token_create(organization=acme, name="idp")[1])
    scim_id = scim.user("alice@acme.test")["id"]  # its address unverified: SCIM vouches for none
    for _ in range(2):  # the first sign-in links the account, the second finds it linked
        response, browser = sso_sign_in(idp, "alice")
        assert response.status_code == 302, response.content[:500]
        assert response["Location"] == "/", response["Location"]
        assert browser.get("/org/acme/admin/").status_code == 200
    user = get_user_model().objects.get(email="alice@acme.test")
    assert str(user.pk) == browser.session["_auth_user_id"]
    assert SocialAccount.objects.get(user=user).provider == "org-acme"
    assert user.emailaddress_set.get().verified  # the provider vouched for it
    assert AuditEvent.objects.filter(organization=acme, action="sso.email_verified").count() == 1

    # Deactivated by the provider's SCIM client: its sign-ins are refused too.
    scim.patch(f"/Users/{scim_id}", {"op": "replace", "path": "active", "value": False})
    response, browser = sso_sign_in(idp, "alice")
    refused(response, "has deactivated alice@acme.test")
    assert "_auth_user_id" not in browser.session
    assert not Membership.objects.filter(user=user, organization=acme).exists()


def test_a_scim_client_cannot_make_accounts_at_another_orgs_sso_domain(acme, idp):
    from orgs.scim.services import scim_token_create
    from tests.orgs.test_scim import USER, Scim, scim_error

    sso_org("globex", idp.issuer, "globex-app", "globex.test")
    scim = Scim(scim_token_create(organization=acme, name="idp")[1])
    body = {"schemas": [USER], "userName": "dave@globex.test"}
    scim_error(scim("post", "/Users", body), 400, "invalidValue")
    assert not get_user_model().objects.filter(email="dave@globex.test").exists()
    # So globex's person still signs in through globex's provider.
    response, _ = sso_sign_in(idp, "dave", org="globex")
    assert response.status_code == 302, response.content[:500]
