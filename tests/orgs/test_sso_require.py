"""An org that requires SSO, set up by its owner in the console and the API: who reaches
what, the break-glass path, and the provider's settings as an owner sees them."""

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from orgs.models import AuditEvent, Role
from orgs.services import member_add, member_remove, org_create, token_create
from orgs.sso.services import connection_save
from tests.helpers import APP_HOST, PAGE, frame_src, sandbox_get, sign_in
from tests.idp.oidc import SECRET
from tests.orgs.conftest import sso_sign_in


def _token(user, org) -> str:
    return token_create(user=user, organization=org, name="t", mfa_used=True)[1]


def _api(token, method, path, **kwargs):
    headers = {"Authorization": f"Bearer {token}"}
    return getattr(Client(), method)(f"/api/v1{path}", headers=headers, **kwargs)


def _push(token) -> str:
    response = _api(
        token,
        "post",
        "/artifacts",
        data={"file": SimpleUploadedFile("p.html", PAGE), "visibility": "org"},
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _require(client, slug="acme", on=True):
    return client.post(f"/org/{slug}/admin/sso/require", {"require_sso": "on"} if on else {})


def test_turning_it_on_takes_an_owner_signed_in_through_the_provider(acme, idp):
    password_session = Client(HTTP_HOST=APP_HOST)
    password_session.force_login(acme.owner)
    _require(password_session)
    acme.refresh_from_db()
    assert not acme.require_sso
    token = _token(acme.owner, acme)
    response = _api(
        token, "patch", "/org/settings", data={"require_sso": True}, content_type="application/json"
    )
    assert (
        response.status_code == 409 and "identity provider" in response.json()["error"]["message"]
    )

    admin = member_add(organization=acme, email="admin@acme.test", role=Role.ADMIN).user
    admin_session = Client(HTTP_HOST=APP_HOST)
    admin_session.force_login(admin)
    _require(admin_session)
    acme.refresh_from_db()
    assert not acme.require_sso  # owners only

    _, owner_sso = sso_sign_in(idp, "owner")
    _require(owner_sso)
    acme.refresh_from_db()
    assert acme.require_sso
    assert AuditEvent.objects.filter(
        organization=acme, action="org.setting_change", target="require_sso"
    ).exists()


def test_members_reach_nothing_without_the_provider_and_tokens_keep_working(acme, idp):
    carol = member_add(
        organization=acme, email="carol@acme.test", role=Role.MEMBER, password="pw-carol-1234"
    ).user
    token = _token(carol, acme)
    artifact_id = _push(token)
    password_session = sign_in("carol@acme.test", "pw-carol-1234")
    grant = frame_src(password_session.get(f"/a/{artifact_id}/"))
    assert sandbox_get(grant).status_code == 200

    _, owner_sso = sso_sign_in(idp, "owner")
    _require(owner_sso)

    page = password_session.get(f"/a/{artifact_id}/")
    assert page.status_code == 403 and b"identity provider" in page.content
    assert sandbox_get(grant).status_code == 404  # handed out before: refused at once
    assert artifact_id.encode() not in password_session.get("/").content
    # The API through the token: still works, while the membership lasts.
    assert _api(token, "get", f"/artifacts/{artifact_id}").status_code == 200
    # A new token from the password session: refused like any other use.
    password_session.post("/tokens/", {"org": "acme", "name": "new"})
    assert carol.api_tokens.count() == 1

    _, carol_sso = sso_sign_in(idp, "carol")
    assert sandbox_get(frame_src(carol_sso.get(f"/a/{artifact_id}/"))).status_code == 200
    assert artifact_id.encode() in carol_sso.get("/").content

    member_remove(organization=acme, email="carol@acme.test", actor=acme.owner)
    assert _api(token, "get", f"/artifacts/{artifact_id}").status_code == 401


def test_the_break_glass_path_is_an_owner_with_a_second_factor_and_the_console_only(acme, idp):
    acme.owner.set_password("pw-owner-1234")
    acme.owner.save()
    artifact_id = _push(_token(acme.owner, acme))
    _, owner_sso = sso_sign_in(idp, "owner")
    _require(owner_sso)
    acme.refresh_from_db()
    assert acme.require_sso
    secret = generate_totp_secret()
    TOTP.activate(acme.owner, secret)

    glass = sign_in("owner@acme.test", "pw-owner-1234", totp_secret=secret)
    assert glass.get("/org/acme/admin/").status_code == 200
    assert glass.get(f"/a/{artifact_id}/").status_code == 403
    # It may not change the provider (that would sign it into everyone's account).
    evil = {"protocol": "oidc", "domains": "acme.test", "issuer": "https://evil.example"}
    glass.post("/org/acme/admin/sso", {**evil, "client_id": "x"})
    assert SocialApp.objects.get(provider_id="org-acme").settings["server_url"] == idp.issuer
    _require(glass, on=False)  # e.g. the provider is down: turn the requirement off
    acme.refresh_from_db()
    assert not acme.require_sso

    _require(owner_sso)
    password_only = Client(HTTP_HOST=APP_HOST)
    password_only.force_login(acme.owner)  # no second factor in this session
    assert password_only.get("/org/acme/admin/").status_code == 403


def test_the_console_shows_the_urls_to_paste_and_saves_the_provider(db, idp):
    org = org_create(slug="initech", name="Initech")
    owner = member_add(organization=org, email="boss@initech.test", role=Role.OWNER).user
    browser = Client(HTTP_HOST=APP_HOST)
    browser.force_login(owner)
    page = browser.get("/org/initech/admin/").content.decode()
    assert "http://localhost:8000/accounts/oidc/org-initech/login/callback/" in page
    assert "http://localhost:8000/accounts/saml/org-initech/acs/" in page
    assert "http://localhost:8000/accounts/sso/?org=initech" in page
    response = browser.post(
        "/org/initech/admin/sso",
        {
            "protocol": "oidc",
            "domains": "Initech.test",
            "issuer": idp.issuer + "/",
            "client_id": "initech",
            "client_secret": "s3cret",
            "groups_claim": "groups",
        },
        follow=True,
    )
    assert b"Saved." in response.content
    org.refresh_from_db()
    assert org.sso.domain_list == ["initech.test"] and org.sso.app.secret == "s3cret"
    assert org.sso.app.settings["server_url"] == idp.issuer
    assert b"s3cret" not in browser.get("/org/initech/admin/").content  # never shown back
    admin = member_add(organization=org, email="it@initech.test", role=Role.ADMIN).user
    admin_browser = Client(HTTP_HOST=APP_HOST)
    admin_browser.force_login(admin)
    assert b"Save identity provider" not in admin_browser.get("/org/initech/admin/").content
    admin_browser.post(
        "/org/initech/admin/sso",
        {"protocol": "oidc", "domains": "x.test", "issuer": idp.issuer, "client_id": "x"},
    )
    org.sso.refresh_from_db()
    assert org.sso.domain_list == ["initech.test"]  # admins may not change it


def test_the_api_sets_up_reads_and_removes_the_provider_and_refuses_bad_input(db, idp):
    org = org_create(slug="initech", name="Initech")
    owner = member_add(organization=org, email="boss@initech.test", role=Role.OWNER).user
    token = _token(owner, org)
    body = {
        "protocol": "oidc",
        "domains": ["initech.test"],
        "issuer": idp.issuer,
        "client_id": "initech",
        "client_secret": "s3cret",
    }
    put = _api(token, "put", "/org/sso", data=body, content_type="application/json")
    assert put.status_code == 200, put.content
    out = put.json()
    assert out["configured"] and out["issuer"] == idp.issuer and "client_secret" not in out
    assert out["urls"]["oidc_redirect"].endswith("/accounts/oidc/org-initech/login/callback/")
    assert _api(token, "get", "/org/sso").json()["domains"] == ["initech.test"]

    for bad, field in [
        ({**body, "issuer": "http://idp.example.com"}, "https://"),
        ({**body, "domains": ["not a domain"]}, "Not an email domain"),
        ({**body, "domains": []}, "at least one email domain"),
        ({**body, "client_id": ""}, "client_id"),
        ({**body, "protocol": "saml", "metadata_xml": "<nope"}, "not valid XML"),
    ]:
        response = _api(token, "put", "/org/sso", data=bad, content_type="application/json")
        assert response.status_code == 400 and field in response.json()["error"]["message"]
    other = org_create(slug="globex", name="Globex")
    other_owner = member_add(organization=other, email="boss@globex.test", role=Role.OWNER).user
    taken = _api(
        _token(other_owner, other), "put", "/org/sso", data=body, content_type="application/json"
    )
    assert taken.status_code == 409  # initech.test is Initech's
    member = member_add(organization=org, email="m@initech.test", role=Role.MEMBER).user
    assert _api(_token(member, org), "get", "/org/sso").status_code == 403
    assert _api(token, "delete", "/org/sso").status_code == 204
    assert not _api(token, "get", "/org/sso").json()["configured"]
    assert AuditEvent.objects.filter(organization=org, action__startswith="sso.").count() == 2


def test_changing_the_provider_unlinks_the_accounts_of_the_old_one(acme, idp):
    sso_sign_in(idp, "carol")
    assert SocialAccount.objects.filter(provider="org-acme").count() == 1
    connection_save(
        organization=acme,
        actor=acme.owner,
        protocol="oidc",
        domains="acme.test",
        issuer=idp.issuer,
        client_id="artifacts",
        client_secret="",
    )  # same one
    assert SocialAccount.objects.filter(provider="org-acme").count() == 1
    connection_save(
        organization=acme,
        actor=acme.owner,
        protocol="oidc",
        domains="acme.test",
        issuer="https://login.other.example",
        client_id="artifacts",
    )
    assert SocialAccount.objects.filter(provider="org-acme").count() == 0
    assert acme.sso.app.secret == SECRET  # kept: no new one given
