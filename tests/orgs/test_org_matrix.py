"""Persona × org page/API matrix (issue 5): the exact status each persona gets, and the
audit rule — each successful action writes exactly one event, a refused one writes none."""

import pytest

from orgs.models import AuditEvent

PERSONAS = ["owner", "admin", "member", "other_member", "viewer", "outsider", "anonymous"]
ADMINS = {"owner", "admin"}


def expected(who, ok, *, members_ok=False):
    """ok for admins (and for everyone in the org when members_ok); 403 for other members;
    outsiders act on their *own* org through their token, so they get ok for reads there."""
    if who == "anonymous":
        return 401
    if who in ADMINS or (members_ok and who != "outsider"):
        return ok
    return ok if who == "outsider" else 403


CALLS = [
    # (method, path, body, success status, members may do it)
    ("get", "/org/settings", None, 200, True),
    ("get", "/org/groups", None, 200, True),
    ("get", "/org/members", None, 200, False),
    ("get", "/org/invitations", None, 200, False),
    ("get", "/org/audit", None, 200, False),
]


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize(("method", "path", "body", "ok", "members_ok"), CALLS)
def test_org_api_reads(personas, who, method, path, body, ok, members_ok):
    response = personas[who].api(method, path)
    assert response.status_code == expected(who, ok, members_ok=members_ok)


WRITES = [
    # (method, path, body, success status, audit action written on success)
    ("patch", "/org/settings", {"sharing_enabled": False}, 200, "org.setting_change"),
    ("post", "/org/groups", {"slug": "team"}, 201, "group.create"),
    ("post", "/org/invitations", {"email": "new@example.com"}, 201, "invitation.create"),
    ("patch", "/org/members/viewer@example.com", {"role": "member"}, 200, "member.role_change"),
    ("delete", "/org/members/viewer@example.com", None, 204, "member.remove"),
]


@pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer", "anonymous"])
@pytest.mark.parametrize(("method", "path", "body", "ok", "action"), WRITES)
def test_org_api_writes_and_their_audit(personas, who, method, path, body, ok, action):
    before = AuditEvent.objects.count()
    kwargs = {"data": body, "content_type": "application/json"} if body else {}
    response = personas[who].api(method, path, **kwargs)
    assert response.status_code == expected(who, ok)
    written = list(AuditEvent.objects.order_by("id")[before:].values_list("action", flat=True))
    assert written == ([action] if response.status_code == ok else [])


@pytest.mark.parametrize("who", PERSONAS)
def test_outsiders_never_reach_another_orgs_console(personas, who):
    status = personas[who].client.get("/org/acme/admin/").status_code
    assert status == {"owner": 200, "admin": 200, "anonymous": 302, "outsider": 404}.get(who, 403)
