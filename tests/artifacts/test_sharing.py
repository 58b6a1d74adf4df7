"""Sharing with named members and with groups, on every read path, and its management."""

from artifacts.models import Artifact
from orgs.models import AuditEvent
from tests.helpers import frame_src, sandbox_get


def share(persona, artifact_id, **lists):
    return persona.api(
        "patch", f"/artifacts/{artifact_id}", data=lists, content_type="application/json"
    )


def make_group(admin, slug, members):
    assert (
        admin.api(
            "post",
            "/org/groups",
            data={"slug": slug, "name": slug.title()},
            content_type="application/json",
        ).status_code
        == 201
    )
    response = admin.api(
        "put",
        f"/org/groups/{slug}/members",
        data={"members": members},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def can_read(persona, artifact_id) -> tuple:
    listing = [a["id"] for a in persona.api("get", "/artifacts").json()["items"]]
    return (
        persona.api("get", f"/artifacts/{artifact_id}").status_code,
        artifact_id in listing,
        persona.client.get(f"/a/{artifact_id}/").status_code,
    )


def test_sharing_with_a_named_member_lets_only_that_member_in(personas):
    artifact_id = personas["member"].push().json()["id"]
    response = share(personas["member"], artifact_id, members=["viewer@example.com"])
    assert response.status_code == 200
    assert can_read(personas["viewer"], artifact_id) == (200, True, 200)
    assert can_read(personas["other_member"], artifact_id) == (404, False, 403)
    assert can_read(personas["outsider"], artifact_id) == (404, False, 404)
    detail = personas["member"].api("get", f"/artifacts/{artifact_id}").json()
    assert detail["shared_with"] == {"org": False, "members": ["viewer@example.com"], "groups": []}
    assert AuditEvent.objects.filter(action="artifact.share", target=artifact_id).count() == 1


def test_sharing_with_a_group_follows_its_membership_including_handed_out_grants(personas):
    make_group(personas["admin"], "design", ["other@example.com"])
    artifact_id = personas["member"].push().json()["id"]
    share(personas["member"], artifact_id, groups=["design"])
    assert can_read(personas["other_member"], artifact_id) == (200, True, 200)
    grant = frame_src(personas["other_member"].client.get(f"/a/{artifact_id}/"))
    assert sandbox_get(grant).status_code == 200
    make_group_members = personas["admin"].api(
        "put", "/org/groups/design/members", data={"members": []}, content_type="application/json"
    )
    assert make_group_members.json()["members"] == []
    assert sandbox_get(grant).status_code == 404
    assert can_read(personas["other_member"], artifact_id) == (404, False, 403)


def test_unsharing_and_bad_lists_change_nothing_half_way(personas):
    member = personas["member"]
    artifact_id = member.push(title="Before").json()["id"]
    share(member, artifact_id, members=["viewer@example.com"])
    bad = member.api(
        "patch",
        f"/artifacts/{artifact_id}",
        data={"title": "After", "members": ["outsider@example.com"]},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "Not members of acme: outsider@example.com."
    assert Artifact.objects.get(pk=artifact_id).title == "Before"  # all or nothing
    assert share(member, artifact_id, groups=["nope"]).status_code == 400
    share(member, artifact_id, members=[])
    assert can_read(personas["viewer"], artifact_id)[0] == 404
    assert AuditEvent.objects.filter(action="artifact.unshare", target=artifact_id).count() == 1


def test_only_the_author_shares_and_sharing_off_suspends_named_shares(personas):
    artifact_id = personas["member"].push(visibility="org").json()["id"]
    assert (
        share(personas["other_member"], artifact_id, members=["viewer@example.com"]).status_code
        == 403
    )
    private_id = personas["member"].push().json()["id"]
    share(personas["member"], private_id, members=["viewer@example.com"])
    personas["admin"].api(
        "patch", "/org/settings", data={"sharing_enabled": False}, content_type="application/json"
    )
    assert can_read(personas["viewer"], private_id)[0] == 404
    assert (
        share(
            personas["member"], private_id, members=["viewer@example.com", "other@example.com"]
        ).status_code
        == 403
    )


def test_groups_are_managed_by_admins_and_removed_members_leave_them(personas, org):
    from orgs.services import member_remove

    member = personas["member"]
    assert (
        member.api(
            "post", "/org/groups", data={"slug": "x"}, content_type="application/json"
        ).status_code
        == 403
    )
    group = make_group(personas["admin"], "ops", ["viewer@example.com", "other@example.com"])
    assert group["members"] == ["other@example.com", "viewer@example.com"]
    assert [g["slug"] for g in member.api("get", "/org/groups").json()["items"]] == ["ops"]
    member_remove(organization=org, email="viewer@example.com")
    assert member.api("get", "/org/groups").json()["items"][0]["members"] == ["other@example.com"]
    assert (
        personas["admin"]
        .api(
            "put",
            "/org/groups/ops/members",
            data={"members": ["outsider@example.com"]},
            content_type="application/json",
        )
        .status_code
        == 400
    )
    assert personas["admin"].api("delete", "/org/groups/ops").status_code == 204
    assert personas["admin"].api("delete", "/org/groups/ops").status_code == 404


def test_the_share_control_on_the_page(personas):
    make_group(personas["admin"], "design", ["other@example.com"])
    member = personas["member"]
    artifact_id = member.push().json()["id"]
    page = member.client.get(f"/a/{artifact_id}/").content.decode()
    assert 'name="members"' in page and 'value="design"' in page
    member.client.post(
        f"/a/{artifact_id}/settings",
        {
            "title": "T",
            "visibility": "private",
            "viewer_version": "0",
            "share_form": "1",
            "members": "viewer@example.com",
            "groups": ["design"],
        },
    )
    detail = member.api("get", f"/artifacts/{artifact_id}").json()
    assert detail["shared_with"] == {
        "org": False,
        "members": ["viewer@example.com"],
        "groups": ["design"],
    }
    assert "+ 1 people, 1 groups" in member.client.get(f"/a/{artifact_id}/").content.decode()
