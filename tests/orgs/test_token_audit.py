"""Token creation and revocation on the web: shown once, audited exactly once each."""

from orgs.models import ApiToken, AuditEvent


def test_token_created_once_shown_once_and_revoked_once(personas):
    client = personas["viewer"].client
    page = client.post("/tokens/", {"org": "acme", "name": "laptop"}).content.decode()
    token = ApiToken.objects.get(user=personas["viewer"].user, name="laptop")
    secret = page.split("<code>")[1].split("</code>")[0]
    assert secret.startswith("art_") and secret not in client.get("/tokens/").content.decode()
    assert (
        AuditEvent.objects.filter(
            action="token.create", target="viewer@example.com: laptop"
        ).count()
        == 1
    )
    client.post(f"/tokens/{token.pk}/revoke")
    client.post(f"/tokens/{token.pk}/revoke")  # again: nothing more happens
    assert AuditEvent.objects.filter(action="token.revoke").count() == 1
    other = personas["member"].client.post(
        f"/tokens/{personas['viewer'].user.api_tokens.first().pk}/revoke"
    )
    assert other.status_code == 404  # someone else's token


def test_a_refused_share_writes_no_event(personas):
    artifact_id = personas["member"].push().json()["id"]
    before = AuditEvent.objects.count()
    response = personas["member"].api(
        "patch",
        f"/artifacts/{artifact_id}",
        data={"members": ["viewer@example.com", "ghost@example.com"]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert AuditEvent.objects.count() == before
