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


def test_audit_events_keep_who_acted_after_the_account_is_gone(personas, org):
    """The actor's kind and email live on the event: a user deleted later, an operator's
    command and the retention task are each still told apart."""
    from django.core.management import call_command

    from artifacts.retention.enforce import retention_enforce
    from orgs.models import AuditEvent
    from orgs.services import org_settings_update

    admin, viewer = personas["admin"], personas["viewer"]
    admin.api(
        "patch", "/org/settings", data={"sharing_enabled": False}, content_type="application/json"
    )
    call_command("add_member", "acme", "ops-added@example.com", "--role", "viewer")
    artifact_id = personas["member"].push().json()["id"]
    org_settings_update(organization=org, actor=admin.user, retention_unshared_days=0)
    retention_enforce()
    admin.user.delete()
    viewer.user.delete()

    events = {e.action: e for e in AuditEvent.objects.filter(organization=org)}
    changed = events["org.setting_change"]
    assert (changed.actor, changed.actor_kind, changed.actor_email) == (
        None,
        "user",
        "admin@example.com",
    )
    assert events["member.add"].actor_kind == "operator"
    assert events["artifact.expire"].actor_kind == "system"
    assert events["artifact.expire"].target == artifact_id
    page = personas["owner"].api("get", "/org/audit?action=org.setting_change").json()
    assert {e["actor"] for e in page["events"]} == {"admin@example.com"}
    assert {e["actor_kind"] for e in page["events"]} == {"user"}
    only = personas["owner"].api("get", "/org/audit?actor=admin@example.com").json()
    assert only["count"] >= 2


def test_models_and_migrations_are_in_step(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_the_tokens_page_shows_how_to_install_and_set_up_the_cli(member):
    from artifact_cli import __version__

    page = member.client.get("/tokens/").content.decode()
    wheel = f"http://localhost:8000/cli/artifact_cli-{__version__}-py3-none-any.whl"
    assert f"uv tool install {wheel}" in page
    assert "artifact login --url http://localhost:8000" in page
    assert "claude mcp add artifacts -- artifact mcp" in page
