"""MFA (allauth.mfa) and an org that requires it: members without a second factor reach
nothing of the org (and are told why) on every path; with TOTP set up they do."""

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from orgs.models import Organization
from tests.helpers import APP_HOST, frame_src, sandbox_get, sign_in, totp_code


def require_mfa(persona, on=True):
    return persona.api(
        "patch", "/org/settings", data={"require_mfa": on}, content_type="application/json"
    )


def test_an_admin_must_have_mfa_before_requiring_it(personas):
    response = require_mfa(personas["admin"])
    assert response.status_code == 409
    assert "yourself" in response.json()["error"]["message"]
    TOTP.activate(personas["admin"].user, generate_totp_secret())
    assert require_mfa(personas["admin"]).json()["require_mfa"] is True


def test_members_without_mfa_reach_nothing_and_are_told_why(personas):
    member, viewer = personas["member"], personas["viewer"]
    artifact_id = member.push(visibility="org").json()["id"]
    grant = frame_src(viewer.client.get(f"/a/{artifact_id}/"))
    TOTP.activate(personas["admin"].user, generate_totp_secret())
    require_mfa(personas["admin"])

    api = viewer.api("get", f"/artifacts/{artifact_id}")
    assert api.status_code == 403 and api.json()["error"]["code"] == "mfa_required"
    assert viewer.api("get", "/artifacts").json()["items"] == []
    page = viewer.client.get(f"/a/{artifact_id}/")
    assert page.status_code == 403 and b"two-factor" in page.content
    assert sandbox_get(grant).status_code == 404  # handed out before: stops at once
    assert member.push().json()["error"]["code"] == "mfa_required"
    assert personas["outsider"].client.get(f"/a/{artifact_id}/").status_code == 404

    secret = generate_totp_secret()
    TOTP.activate(viewer.user, secret)
    assert viewer.api("get", f"/artifacts/{artifact_id}").status_code == 200
    # The session signed in before the factor existed: it has not used it, so it still
    # reaches nothing, and is told how to get in.
    page = viewer.client.get(f"/a/{artifact_id}/")
    assert page.status_code == 403 and b"sign in again with your second factor" in page.content
    signed_in = sign_in("viewer@example.com", "pw-viewer", totp_secret=secret)
    assert sandbox_get(frame_src(signed_in.get(f"/a/{artifact_id}/"))).status_code == 200


def _org_requiring_mfa(personas):
    TOTP.activate(personas["admin"].user, generate_totp_secret())
    assert require_mfa(personas["admin"]).status_code == 200


def test_a_session_that_skipped_the_second_factor_reaches_nothing_of_the_org(personas):
    """A user with TOTP whose session did not use it (signed in by a path that skipped the
    second step, or before it was set up) gets nothing of an org that requires MFA; the
    same user signed in with password and code gets everything."""
    member, viewer = personas["member"], personas["viewer"]
    artifact_id = member.push(visibility="org").json()["id"]
    secret = generate_totp_secret()
    TOTP.activate(viewer.user, secret)
    skipped = viewer.client  # force_login: no second step recorded in the session
    full = sign_in("viewer@example.com", "pw-viewer", secret)
    grant = frame_src(full.get(f"/a/{artifact_id}/"))
    skipped_grant = frame_src(skipped.get(f"/a/{artifact_id}/"))
    _org_requiring_mfa(personas)

    assert skipped.get(f"/a/{artifact_id}/").status_code == 403
    assert artifact_id.encode() not in skipped.get("/").content  # not even listed
    assert skipped.get(f"/a/{artifact_id}/v/1/source").status_code == 403
    assert sandbox_get(skipped_grant).status_code == 404  # its grant dies too
    assert b"two-factor" in skipped.post("/tokens/", {"org": "acme"}).content  # no new token
    assert sandbox_get(grant).status_code == 200  # the session that used its code
    assert full.get(f"/a/{artifact_id}/").status_code == 200
    assert artifact_id.encode() in full.get("/").content


@pytest.mark.django_db(transaction=True)  # allauth signals the new factor on commit
def test_a_factor_set_up_in_this_session_counts_for_it(personas):
    """Asked for MFA, a member sets up TOTP (allauth's page, a valid code) and is in,
    without signing out; the org console likewise lets an admin require MFA right after."""
    member = personas["member"]
    artifact_id = member.push(visibility="org").json()["id"]
    _org_requiring_mfa(personas)
    client = sign_in("viewer@example.com", "pw-viewer")
    assert client.get(f"/a/{artifact_id}/").status_code == 403
    # allauth asks for the password again before a factor is added.
    assert client.post("/accounts/reauthenticate/", {"password": "pw-viewer"}).status_code == 302
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    secret = client.session["mfa.totp.secret"]
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert client.get(f"/a/{artifact_id}/").status_code == 200
    assert sandbox_get(frame_src(client.get(f"/a/{artifact_id}/"))).status_code == 200


def test_only_an_admin_whose_session_used_a_factor_may_require_mfa_in_the_console(personas):
    admin = personas["admin"]
    secret = generate_totp_secret()
    TOTP.activate(admin.user, secret)
    form = {
        "artifacts_enabled": "on",
        "sharing_enabled": "on",
        "scripts_allowed": "on",
        "require_mfa": "on",
        "min_create_role": "member",
    }
    page = admin.client.post("/org/acme/admin/settings", form, follow=True)  # force_login session
    assert b"Sign in with your second factor" in page.content
    assert not Organization.objects.get(slug="acme").require_mfa
    page = sign_in("admin@example.com", "pw-admin", secret).post(
        "/org/acme/admin/settings", form, follow=True
    )
    assert b"Saved." in page.content
    assert Organization.objects.get(slug="acme").require_mfa


def test_mfa_pages_are_served_by_allauth(personas):
    client = Client(HTTP_HOST=APP_HOST)
    client.post("/accounts/login/", {"login": "member@example.com", "password": "pw-member"})
    index = client.get("/accounts/2fa/")
    assert index.status_code == 200
    assert b"/accounts/2fa/totp/activate/" in index.content
    assert b"/accounts/2fa/webauthn/" in index.content


def test_an_oidc_provider_configured_in_settings_appears_on_sign_in(db, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "corp",
                    "name": "Corp SSO",
                    "client_id": "artifacts",
                    "secret": "s",
                    "settings": {"server_url": "https://idp.example.com"},
                }
            ]
        }
    }
    page = Client(HTTP_HOST=APP_HOST).get("/accounts/login/")
    assert page.status_code == 200
    assert b"Corp SSO" in page.content
    assert b"/accounts/oidc/corp/login/" in page.content


def _self_signed_cert() -> str:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return "".join(pem.splitlines()[1:-1])


def test_a_saml_idp_configured_in_settings_gets_sp_metadata_and_a_sign_in_button(db, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "saml": {
            "APPS": [
                {
                    "name": "Corp SAML",
                    "provider_id": "https://idp.example.com/entity",
                    "client_id": "corp",
                    "settings": {
                        "idp": {
                            "entity_id": "https://idp.example.com/entity",
                            "sso_url": "https://idp.example.com/sso",
                            "x509cert": _self_signed_cert(),
                        }
                    },
                }
            ]
        }
    }
    client = Client(HTTP_HOST=APP_HOST)
    assert b"Corp SAML" in client.get("/accounts/login/").content
    metadata = client.get("/accounts/saml/corp/metadata/")
    assert metadata.status_code == 200
    assert b"EntityDescriptor" in metadata.content
    assert b"/accounts/saml/corp/acs/" in metadata.content
    login = client.post("/accounts/saml/corp/login/")  # allauth starts logins by POST
    assert login.status_code == 302 and login["Location"].startswith("https://idp.example.com/sso?")


@pytest.mark.django_db(transaction=True)  # allauth signals the new factor on commit
def test_a_session_that_skipped_an_existing_factor_cannot_make_up_for_it(personas):
    """A user with a passkey, in a session that never used it, adds TOTP (a password
    re-entered is all allauth asks for that): the session still counts as without MFA."""
    member = personas["member"]
    artifact_id = member.push(visibility="org").json()["id"]
    _org_requiring_mfa(personas)
    viewer = personas["viewer"]
    Authenticator.objects.create(user=viewer.user, type=Authenticator.Type.WEBAUTHN, data={})
    client = viewer.client  # signed in before the passkey, or around it
    assert client.post("/accounts/reauthenticate/", {"password": "pw-viewer"}).status_code == 302
    client.get("/accounts/2fa/totp/activate/")
    secret = client.session["mfa.totp.secret"]
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=viewer.user, type="totp").exists()
    assert client.get(f"/a/{artifact_id}/").status_code == 403


def test_a_token_reaches_an_org_requiring_mfa_only_if_its_sign_in_used_a_factor(personas):
    viewer = personas["viewer"]
    artifact_id = personas["member"].push(visibility="org").json()["id"]
    secret = generate_totp_secret()

    def token_from(client) -> str:
        page = client.post("/tokens/", {"org": "acme", "name": "laptop"}).content.decode()
        return re.search(r"(art_[A-Za-z0-9_-]+)", page).group(1)

    without = token_from(viewer.client)  # made before the factor, by a plain session
    TOTP.activate(viewer.user, secret)
    with_factor = token_from(sign_in("viewer@example.com", "pw-viewer", secret))
    _org_requiring_mfa(personas)

    def get(token):
        return Client().get(
            f"/api/v1/artifacts/{artifact_id}", headers={"Authorization": f"Bearer {token}"}
        )

    refused = get(without)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "mfa_required"
    assert get(with_factor).status_code == 200
