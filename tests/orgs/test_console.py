"""The org admin console (web): who reaches it, and that it changes what the services say."""

import json

import pytest

from orgs.models import AuditEvent, Membership, Organization

CONSOLE_STATUS = {
    "owner": 200,
    "admin": 200,
    "member": 403,
    "other_member": 403,
    "viewer": 403,
    "outsider": 404,
}


@pytest.mark.parametrize("who", [*CONSOLE_STATUS, "anonymous"])
def test_console_and_audit_pages_by_persona(personas, who):
    client = personas[who].client
    for path in ("/org/acme/admin/", "/org/acme/admin/audit/", "/org/acme/admin/audit/?format=csv"):
        response = client.get(path)
        if who == "anonymous":
            assert response.status_code == 302
        else:
            assert response.status_code == CONSOLE_STATUS[who], path
    assert personas["owner"].client.get("/org/nope/admin/").status_code == 404


def test_settings_form_changes_the_toggles_and_audits_them(personas):
    response = personas["admin"].client.post(
        "/org/acme/admin/settings",
        {
            "artifacts_enabled": "on",
            "scripts_allowed": "on",
            "min_create_role": "admin",
        },
    )
    assert response.status_code == 302
    org = Organization.objects.get(slug="acme")
    assert (
        org.artifacts_enabled,
        org.sharing_enabled,
        org.scripts_allowed,
        org.min_create_role,
    ) == (True, False, True, "admin")
    assert sorted(
        AuditEvent.objects.filter(action="org.setting_change").values_list("target", flat=True)
    ) == ["min_create_role", "sharing_enabled"]


def test_member_forms_follow_the_owner_rules(personas):
    admin = personas["admin"].client
    admin.post("/org/acme/admin/members/role", {"email": "viewer@example.com", "role": "member"})
    assert Membership.objects.get(user__email="viewer@example.com").role == "member"
    page = admin.post(
        "/org/acme/admin/members/role",
        {"email": "owner@example.com", "role": "viewer"},
        follow=True,
    )
    assert b"Only an owner can change another owner." in page.content
    assert Membership.objects.get(user__email="owner@example.com").role == "owner"
    admin.post("/org/acme/admin/members/remove", {"email": "other@example.com"})
    assert not Membership.objects.filter(user__email="other@example.com").exists()


def test_audit_page_filters_and_exports_json(personas):
    admin = personas["admin"].client
    admin.post("/org/acme/admin/settings", {"min_create_role": "owner"})
    page = admin.get("/org/acme/admin/audit/?action=org.setting_change").content.decode()
    assert "org.setting_change" in page and "member.add" not in page
    exported = admin.get("/org/acme/admin/audit/?action=org.setting_change&format=json")
    events = json.loads(b"".join(exported.streaming_content))
    assert {e["target"] for e in events} == {
        "artifacts_enabled",
        "sharing_enabled",
        "scripts_allowed",
        "min_create_role",
    }
    assert all(e["actor"] == "admin@example.com" for e in events)


def test_nav_shows_admin_links_only_to_admins(personas):
    assert b"Admin: acme" in personas["admin"].client.get("/").content
    assert b"Admin: acme" not in personas["member"].client.get("/").content


def test_groups_in_the_console(personas):
    admin = personas["admin"].client
    admin.post("/org/acme/admin/groups/new", {"slug": "design", "name": "Design"})
    admin.post(
        "/org/acme/admin/groups/members",
        {
            "slug": "design",
            "members": "viewer@example.com, other@example.com",
        },
    )
    group = Organization.objects.get(slug="acme").groups.get()
    assert sorted(u.email for u in group.members.all()) == [
        "other@example.com",
        "viewer@example.com",
    ]
    assert b"Design" in admin.get("/org/acme/admin/").content
    admin.post("/org/acme/admin/groups/delete", {"slug": "design"})
    assert not Organization.objects.get(slug="acme").groups.exists()


def test_default_group_in_the_console(personas):
    admin = personas["admin"].client
    admin.post("/org/acme/admin/groups/new", {"slug": "design"})
    admin.post(
        "/org/acme/admin/settings",
        {
            "artifacts_enabled": "on",
            "sharing_enabled": "on",
            "scripts_allowed": "on",
            "default_group": "design",
        },
    )
    assert Organization.objects.get(slug="acme").default_group.slug == "design"
    admin.post(
        "/org/acme/admin/settings",
        {
            "artifacts_enabled": "on",
            "sharing_enabled": "on",
            "scripts_allowed": "on",
            "default_group": "",
        },
    )
    assert Organization.objects.get(slug="acme").default_group is None


def test_the_console_pages_take_no_post_each_form_has_its_own_view(personas):
    admin = personas["admin"].client
    assert admin.post("/org/acme/admin/", {"form": "settings"}).status_code == 405
    assert admin.post("/org/acme/admin/retention/", {"form": "policy"}).status_code == 405
    assert admin.get("/org/acme/admin/settings").status_code == 405
