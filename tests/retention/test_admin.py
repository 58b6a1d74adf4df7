"""The admin's side of retention: policy, preview and trash in the console and the org API,
and keeping (pinning) an artifact from the viewer, each refused to those who may not."""

from datetime import timedelta

import pytest
from django.utils import timezone

from artifacts.models import Artifact
from artifacts.retention.enforce import retention_enforce
from orgs.models import AuditEvent
from tests.helpers import PAGE

DAY = timedelta(days=1)


def _old(persona, age_days: int, data: bytes = PAGE, **fields) -> str:
    artifact_id = persona.push(data=data, **fields).json()["id"]
    Artifact.objects.filter(pk=artifact_id).update(updated_at=timezone.now() - age_days * DAY)
    return artifact_id


def _patch_settings(persona, **payload):
    return persona.api("patch", "/org/settings", data=payload, content_type="application/json")


def test_admins_set_the_policy_through_the_org_api_and_null_keeps_forever(personas):
    admin = personas["admin"]
    response = _patch_settings(admin, retention_unshared_days=30, retention_keep_versions=5)
    assert response.status_code == 200
    body = response.json()
    assert (body["retention_unshared_days"], body["retention_keep_versions"]) == (30, 5)
    assert (body["retention_shared_days"], body["retention_grace_days"]) == (None, 30)
    cleared = _patch_settings(admin, retention_unshared_days=None).json()
    assert cleared["retention_unshared_days"] is None and cleared["retention_keep_versions"] == 5
    bad = _patch_settings(admin, retention_keep_versions=0)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
    assert _patch_settings(admin, retention_grace_days=None).status_code == 400


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_members_cannot_change_the_policy_or_see_the_preview_or_the_trash(personas, who):
    persona = personas[who]
    assert _patch_settings(persona, retention_unshared_days=1).status_code == 403
    assert persona.api("get", "/org/retention/preview").status_code == 403
    assert persona.api("get", "/org/trash").status_code == 403
    assert persona.client.get("/org/acme/admin/retention/").status_code == 403


def test_outsiders_get_404_on_the_page_and_cannot_reach_another_orgs_trash(personas):
    member, outsider = personas["member"], personas["outsider"]
    artifact_id = member.push().json()["id"]
    member.api("delete", f"/artifacts/{artifact_id}")
    assert outsider.client.get("/org/acme/admin/retention/").status_code == 404
    # The outsider owns another org: its token's trash is its own, and ours is not in it.
    assert outsider.api("get", "/org/trash").json()["items"] == []
    restore = outsider.api("post", f"/org/trash/{artifact_id}/restore")
    assert restore.status_code == 404
    anonymous = personas["anonymous"].client.get("/org/acme/admin/retention/")
    assert anonymous.status_code == 302


def test_the_preview_shows_exactly_what_a_run_then_does(personas):
    member, admin = personas["member"], personas["admin"]
    _patch_settings(admin, retention_unshared_days=10, retention_shared_days=100)
    due = _old(member, 11, title="Due now")
    later = _old(member, 50, data=PAGE + b"s", visibility="org", title="Team page")
    preview = admin.api("get", "/org/retention/preview").json()
    assert preview["counts"] == {"notify": 0, "expire": 1, "prune_versions": 0, "purge": 0}
    assert [a["id"] for a in preview["expire"]] == [due]
    in_60_days = (timezone.now() + 60 * DAY).isoformat()
    future = admin.api("get", "/org/retention/preview", data={"as_of": in_60_days}).json()
    assert sorted(a["id"] for a in future["expire"]) == sorted([due, later])
    page = admin.client.get("/org/acme/admin/retention/").content.decode()
    assert "Due now" in page and "Team page" not in page.split('id="preview-expire"')[1][:2000]
    on_date = admin.client.get(
        "/org/acme/admin/retention/", {"on": (timezone.now() + 60 * DAY).date().isoformat()}
    )
    assert "Team page" in on_date.content.decode().split('id="preview-expire"')[1]
    report = retention_enforce()
    assert report.expired == preview["counts"]["expire"]
    assert Artifact.objects.get(pk=due).trashed_at is not None


def test_the_console_saves_the_policy_and_restores_from_the_trash(personas):
    member, admin = personas["member"], personas["admin"]
    response = admin.client.post(
        "/org/acme/admin/retention/policy",
        {
            "retention_unshared_days": "7",
            "retention_shared_days": "",
            "retention_keep_versions": "3",
            "retention_notice_days": "2",
            "retention_grace_days": "14",
        },
    )
    assert response.status_code == 302
    org = member.user.memberships.get().organization
    org.refresh_from_db()
    assert (org.retention_unshared_days, org.retention_shared_days) == (7, None)
    assert (org.retention_keep_versions, org.retention_grace_days) == (3, 14)
    artifact_id = _old(member, 8, title="Trashed page")
    retention_enforce()
    page = admin.client.get("/org/acme/admin/retention/").content.decode()
    trash = page.split('id="trash"')[1]
    assert "Trashed page" in trash and "retention policy" in trash
    admin.client.post("/org/acme/admin/retention/restore", {"artifact": artifact_id})
    assert Artifact.objects.get(pk=artifact_id).trashed_at is None
    assert member.client.get(f"/a/{artifact_id}/").status_code == 200
    # A bad value is refused with a message, nothing changed.
    follow = admin.client.post(
        "/org/acme/admin/retention/policy",
        {
            "retention_unshared_days": "-1",
            "retention_grace_days": "14",
            "retention_notice_days": "2",
        },
        follow=True,
    )
    assert "retention_unshared_days must be" in follow.content.decode()
    org.refresh_from_db()
    assert org.retention_unshared_days == 7


def test_trash_api_lists_and_restores_for_admins_with_an_audit_event(personas):
    member, admin = personas["member"], personas["admin"]
    artifact_id = member.push(title="Oops").json()["id"]
    member.api("delete", f"/artifacts/{artifact_id}")
    listed = admin.api("get", "/org/trash").json()["items"]
    assert [(a["id"], a["trashed_by"]) for a in listed] == [(artifact_id, "member@example.com")]
    restored = admin.api("post", f"/org/trash/{artifact_id}/restore")
    assert restored.status_code == 200 and restored.json()["id"] == artifact_id
    assert member.api("get", f"/artifacts/{artifact_id}").status_code == 200
    assert AuditEvent.objects.filter(action="artifact.trash_restore").count() == 1
    assert admin.api("post", f"/org/trash/{artifact_id}/restore").status_code == 404


def test_the_author_and_admins_keep_an_artifact_from_the_viewer_others_cannot(personas):
    member, admin, other = personas["member"], personas["admin"], personas["other_member"]
    _patch_settings(admin, retention_shared_days=30)
    artifact_id = member.push(visibility="org").json()["id"]
    page = member.client.get(f"/a/{artifact_id}/").content.decode()
    assert "Deleted on" in page and "Keep it (exempt from retention)" in page
    assert "Keep it" not in other.client.get(f"/a/{artifact_id}/").content.decode()
    other.client.post(f"/a/{artifact_id}/keep", {"pinned": "1"})
    assert Artifact.objects.get(pk=artifact_id).pinned is False
    member.client.post(f"/a/{artifact_id}/keep", {"pinned": "1"})
    assert Artifact.objects.get(pk=artifact_id).pinned is True
    assert (
        "exempt from the retention policy"
        in member.client.get(f"/a/{artifact_id}/").content.decode()
    )
    admin.client.post(f"/a/{artifact_id}/keep", {"pinned": "0"})
    assert Artifact.objects.get(pk=artifact_id).pinned is False
    assert list(
        AuditEvent.objects.filter(action__in=["artifact.pin", "artifact.unpin"])
        .order_by("id")
        .values_list("action", "actor__email")
    ) == [
        ("artifact.pin", "member@example.com"),
        ("artifact.unpin", "admin@example.com"),
    ]
