"""The org's identity provider for the SSO tests: node-oidc-provider on loopback (one per
module), an org "acme" that signs in through it, and a browser's round trip."""

from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orgs.models import AuditEvent, Membership, Role
from orgs.services import group_create, member_add, org_create
from orgs.sso.services import connection_save
from tests.helpers import APP_HOST
from tests.idp.oidc import SECRET, browse_provider, client, oidc_provider_start

APP = f"http://{APP_HOST}"
ACCOUNTS = {
    "alice": {
        "email": "alice@acme.test",
        "email_verified": True,
        "name": "Alice A",
        "groups": ["Design", "Not-a-group-here"],
        "role": "admin",
    },
    "carol": {"email": "carol@acme.test", "email_verified": True, "groups": ["design"]},
    "owner": {"email": "owner@acme.test", "email_verified": True},
    "mallory": {"email": "mallory@acme.test", "email_verified": False},
    "eve": {"email": "eve@evil.test", "email_verified": True},
    "dave": {"email": "dave@globex.test", "email_verified": True},  # another org's person
}


def callback(slug: str) -> str:
    return f"{APP}/accounts/oidc/org-{slug}/login/callback/"


@pytest.fixture(scope="module")
def idp():
    provider = oidc_provider_start(
        clients=[
            client("artifacts", callback("acme")),
            client("globex-app", callback("globex")),
            client("attacker-app", "http://attacker.test/cb"),
            client("hs-app", callback("hs"), id_token_signed_response_alg="HS256"),
        ],
        accounts=ACCOUNTS,
        id_token_algs=("RS256", "HS256"),
    )
    yield provider
    provider.stop()


def sso_org(slug: str, issuer: str, client_id: str, domains: str, **settings):
    """An org whose owner (owner@<slug>.test) set up an OpenID Connect provider."""
    org = org_create(slug=slug, name=slug.title())
    owner = member_add(organization=org, email=f"owner@{slug}.test", role=Role.OWNER).user
    connection_save(
        organization=org, actor=owner, protocol="oidc", domains=domains, issuer=issuer,
        client_id=client_id, client_secret=SECRET, **settings,
    )  # fmt: skip
    org.owner = owner
    return org


@pytest.fixture
def acme(db, idp):
    org = org_create(slug="acme", name="Acme")
    owner = member_add(organization=org, email="owner@acme.test", role=Role.OWNER).user
    group_create(organization=org, actor=owner, slug="design", name="Design")
    group_create(organization=org, actor=owner, slug="ops", name="Ops")
    connection_save(
        organization=org,
        actor=owner,
        protocol="oidc",
        domains="acme.test",
        issuer=idp.issuer,
        client_id="artifacts",
        client_secret=SECRET,
        role_claim="role",
    )
    org.owner = owner
    return org


def sso_sign_in(idp, login: str, *, org: str = "acme", next_url: str = "", browser: Client = None):
    """The browser's whole round trip; the app's last answer, and the browser."""
    browser = browser or Client(HTTP_HOST=APP_HOST)
    start = browser.post("/accounts/sso/", {"org": org, "next": next_url})
    assert start.status_code == 302, start.content[:300]
    assert start["Location"].startswith(idp.issuer + "/auth?")
    back = browse_provider(start["Location"], login=login, app_prefix=APP)
    parts = urlsplit(back)
    return browser.get(f"{parts.path}?{parts.query}"), browser


def assert_joined_with_claims(org, email: str, browser) -> object:
    """The first sign-in made the member: admin (the role claim; the auto-join role is
    member), in the groups the claim names that the org has, signed in, every change
    audited with the provider as actor. Returns the user."""
    user = get_user_model().objects.get(email=email)
    assert Membership.objects.get(user=user, organization=org).role == Role.ADMIN
    assert set(user.org_groups.values_list("slug", flat=True)) == {"design"}
    assert browser.get(f"/org/{org.slug}/admin/").status_code == 200  # signed in, as an admin
    events = AuditEvent.objects.filter(organization=org).values_list("action", "actor_kind")
    assert {
        ("member.sso_join", "idp"),
        ("member.role_change", "idp"),
        ("group.member_add", "idp"),
        ("sso.sign_in", "user"),
    } <= set(events)
    return user
