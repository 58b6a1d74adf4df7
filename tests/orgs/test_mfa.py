"""MFA (allauth.mfa) and an org that requires it: members without a second factor reach
nothing of the org (and are told why) on every path; with TOTP set up they do."""

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from tests.helpers import APP_HOST, frame_src, sandbox_get


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
    assert viewer.api("get", "/artifacts").json() == []
    page = viewer.client.get(f"/a/{artifact_id}/")
    assert page.status_code == 403 and b"two-factor" in page.content
    assert sandbox_get(grant).status_code == 404  # handed out before: stops at once
    assert member.push().json()["error"]["code"] == "mfa_required"
    assert personas["outsider"].client.get(f"/a/{artifact_id}/").status_code == 404

    TOTP.activate(viewer.user, generate_totp_secret())
    assert viewer.api("get", f"/artifacts/{artifact_id}").status_code == 200
    assert sandbox_get(frame_src(viewer.client.get(f"/a/{artifact_id}/"))).status_code == 200


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
