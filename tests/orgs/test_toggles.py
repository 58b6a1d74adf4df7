"""Org toggles, each proven on every read path it affects (viewer, sandbox — including
grants already handed out —, API, listing), and the org API that sets them."""

import csv
import io

from artifacts.models import Artifact
from orgs.models import AuditEvent
from tests.helpers import frame_src, sandbox_get


def patch_settings(persona, **changes):
    return persona.api("patch", "/org/settings", data=changes, content_type="application/json")


def test_members_read_settings_but_only_admins_change_them(personas):
    assert personas["viewer"].api("get", "/org/settings").json()["sharing_enabled"] is True
    refused = patch_settings(personas["member"], sharing_enabled=False)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert (
        patch_settings(personas["admin"], sharing_enabled=False).json()["sharing_enabled"] is False
    )
    event = AuditEvent.objects.get(action="org.setting_change")
    assert (event.actor, event.target, event.details) == (
        personas["admin"].user,
        "sharing_enabled",
        {"old": True, "new": False},
    )


def test_an_invalid_setting_is_400_and_changes_nothing(personas):
    response = patch_settings(personas["admin"], min_create_role="viewer")
    assert response.status_code == 400
    assert personas["admin"].api("get", "/org/settings").json()["min_create_role"] == "member"
    assert not AuditEvent.objects.filter(action="org.setting_change").exists()


def test_artifacts_off_stops_creation_and_every_read_path_with_a_clear_message(personas):
    member, viewer = personas["member"], personas["viewer"]
    artifact_id = member.push(visibility="org").json()["id"]
    grant_url = frame_src(viewer.client.get(f"/a/{artifact_id}/"))
    patch_settings(personas["owner"], artifacts_enabled=False)

    push = member.push()
    assert push.status_code == 403 and push.json()["error"]["code"] == "artifacts_disabled"
    api_read = viewer.api("get", f"/artifacts/{artifact_id}")
    assert api_read.status_code == 403 and "turned off" in api_read.json()["error"]["message"]
    assert viewer.api("get", "/artifacts").json()["items"] == []
    page = viewer.client.get(f"/a/{artifact_id}/")
    assert page.status_code == 403 and b"turned off" in page.content
    assert sandbox_get(grant_url).status_code == 404  # the grant already handed out
    assert personas["outsider"].client.get(f"/a/{artifact_id}/").status_code == 404
    assert Artifact.objects.count() == 1  # nothing deleted: it comes back when turned on
    patch_settings(personas["owner"], artifacts_enabled=True)
    assert viewer.client.get(f"/a/{artifact_id}/").status_code == 200


def test_sharing_off_suspends_org_shares_and_refuses_new_ones(personas):
    member, other = personas["member"], personas["other_member"]
    shared = member.push(visibility="org").json()["id"]
    private = member.push().json()["id"]
    grant_url = frame_src(other.client.get(f"/a/{shared}/"))
    patch_settings(personas["admin"], sharing_enabled=False)

    assert other.client.get(f"/a/{shared}/").status_code == 403  # the request-access page
    assert other.api("get", f"/artifacts/{shared}").status_code == 404
    assert shared not in [a["id"] for a in other.api("get", "/artifacts").json()["items"]]
    assert sandbox_get(grant_url).status_code == 404
    assert member.client.get(f"/a/{shared}/").status_code == 200  # the author still sees it
    share = member.api(
        "patch",
        f"/artifacts/{private}",
        data={"visibility": "org"},
        content_type="application/json",
    )
    assert share.status_code == 403
    patch_settings(personas["admin"], sharing_enabled=True)
    assert other.client.get(f"/a/{shared}/").status_code == 200  # restored, not unshared


def test_scripts_off_removes_allow_scripts_and_sets_script_src_none(personas):
    member = personas["member"]
    artifact_id = member.push(visibility="org").json()["id"]
    old_grant = frame_src(member.client.get(f"/a/{artifact_id}/"))
    patch_settings(personas["admin"], scripts_allowed=False)
    page = member.client.get(f"/a/{artifact_id}/")
    assert 'sandbox="allow-forms allow-downloads"' in page.content.decode()
    for url in (frame_src(page), old_grant):
        response = sandbox_get(url)
        assert response.status_code == 200
        assert "script-src 'none'" in response["Content-Security-Policy"]
        assert "allow-scripts" not in response["Content-Security-Policy"]


def test_min_create_role_refuses_members_below_it(personas):
    patch_settings(personas["owner"], min_create_role="admin")
    refused = personas["member"].push()
    assert refused.status_code == 403
    assert "only admins and above" in refused.json()["error"]["message"]
    assert personas["admin"].push().status_code == 201


def test_members_and_audit_are_for_admins(personas):
    assert personas["member"].api("get", "/org/members").status_code == 403
    assert personas["member"].api("get", "/org/audit").status_code == 403
    globex = personas["outsider"].api("get", "/org/members").json()
    assert globex == {
        "items": [
            {
                "email": "outsider@example.com",
                "role": "owner",
                "joined_at": globex["items"][0]["joined_at"],
            }
        ],
        "next_cursor": None,
    }
    emails = [m["email"] for m in personas["admin"].api("get", "/org/members").json()["items"]]
    assert emails == sorted(emails) and "outsider@example.com" not in emails
    # A page at a time, by email, each member once.
    first = personas["admin"].api("get", "/org/members", data={"limit": 2}).json()
    rest = (
        personas["admin"]
        .api("get", "/org/members", data={"limit": 200, "cursor": first["next_cursor"]})
        .json()
    )
    assert [m["email"] for m in first["items"] + rest["items"]] == emails


def test_audit_log_filters_pages_and_exports_csv(personas):
    admin = personas["admin"]
    patch_settings(admin, sharing_enabled=False)
    patch_settings(admin, sharing_enabled=True)
    page = admin.api("get", "/org/audit?action=org.setting_change&page_size=1").json()
    assert (page["count"], len(page["events"])) == (2, 1)
    assert page["events"][0]["details"] == {"old": False, "new": True}  # newest first
    assert admin.api("get", "/org/audit?actor=nobody@example.com").json()["count"] == 0
    response = admin.api("get", "/org/audit?format=csv&action=org.setting_change")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["id", "created_at", "actor", "actor_kind", "action", "target", "details"]
    assert [r[4] for r in rows[1:]] == ["org.setting_change", "org.setting_change"]
    assert rows[1][2:4] == ["admin@example.com", "user"]


def change_role(persona, email, role):
    return persona.api(
        "patch", f"/org/members/{email}", data={"role": role}, content_type="application/json"
    )


def test_admins_change_roles_below_owner_and_owners_manage_owners(personas):
    assert change_role(personas["admin"], "viewer@example.com", "member").json()["role"] == "member"
    assert change_role(personas["admin"], "owner@example.com", "member").status_code == 403
    assert change_role(personas["admin"], "viewer@example.com", "owner").status_code == 403
    assert change_role(personas["member"], "viewer@example.com", "admin").status_code == 403
    assert change_role(personas["owner"], "admin@example.com", "owner").json()["role"] == "owner"
    event = AuditEvent.objects.filter(action="member.role_change").latest("id")
    assert (event.target, event.details) == ("admin@example.com", {"old": "admin", "new": "owner"})


def test_the_last_owner_is_never_demoted_or_removed(personas):
    owner = personas["owner"]
    assert change_role(owner, "owner@example.com", "admin").status_code == 409
    assert owner.api("delete", "/org/members/owner@example.com").status_code == 409
    assert change_role(owner, "nobody@example.com", "admin").status_code == 404


def test_removing_a_member_through_the_api_revokes_their_access(personas):
    artifact_id = personas["member"].push(visibility="org").json()["id"]
    assert personas["admin"].api("delete", "/org/members/viewer@example.com").status_code == 204
    assert personas["viewer"].api("get", f"/artifacts/{artifact_id}").status_code == 401
    assert personas["viewer"].client.get(f"/a/{artifact_id}/").status_code == 404
    assert (
        AuditEvent.objects.filter(action="member.remove", target="viewer@example.com").count() == 1
    )
