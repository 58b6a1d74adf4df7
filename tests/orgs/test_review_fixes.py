"""Regressions found in review: stale invitations, shares of removed members, editing while
sharing is off, MFA on every org read, access-request dedup, console input."""

import re

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core import mail

from artifacts.models import Artifact, Share
from orgs.models import AuditEvent, Membership, Notification
from orgs.services import member_add, member_remove


def test_an_invitation_from_a_since_removed_admin_lets_no_one_in(
    personas, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        personas["admin"].api(
            "post",
            "/org/invitations",
            data={"email": "evil@example.net", "role": "admin"},
            content_type="application/json",
        )
    path = re.search(r"http://localhost:8000(/invite/\S+/)", mail.outbox[-1].body).group(1)
    member_remove(organization=org, email="admin@example.com")
    evil = member_add(
        organization=personas["outsider"].user.memberships.get().organization,
        email="evil@example.net",
        role="member",
    ).user
    from django.test import Client

    client = Client(HTTP_HOST="localhost:8000")
    client.force_login(evil)
    page = client.post(path, follow=True)
    assert b"no longer valid" in page.content
    assert not Membership.objects.filter(organization=org, user=evil).exists()


def test_removing_a_member_drops_their_personal_shares_for_good(personas, org):
    artifact_id = personas["member"].push().json()["id"]
    personas["member"].api(
        "patch",
        f"/artifacts/{artifact_id}",
        data={"members": ["other@example.com"]},
        content_type="application/json",
    )
    member_remove(organization=org, email="other@example.com")
    assert not Share.objects.filter(artifact_id=artifact_id).exists()
    assert AuditEvent.objects.filter(action="artifact.unshare", target=artifact_id).count() == 1
    member_add(organization=org, email="other@example.com", role="member")
    assert personas["other_member"].client.get(f"/a/{artifact_id}/").status_code == 403
    saved = personas["member"].client.post(
        f"/a/{artifact_id}/settings", {"title": "Renamed", "share_form": "1", "members": ""}
    )
    assert saved.status_code == 302
    assert Artifact.objects.get(pk=artifact_id).title == "Renamed"


def test_an_org_wide_artifact_stays_editable_while_sharing_is_off(personas):
    artifact_id = personas["member"].push(visibility="org").json()["id"]
    personas["admin"].api(
        "patch", "/org/settings", data={"sharing_enabled": False}, content_type="application/json"
    )
    response = personas["member"].api(
        "patch",
        f"/artifacts/{artifact_id}",
        data={"title": "New", "visibility": "org"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert Artifact.objects.get(pk=artifact_id).visibility == "org"  # suspended, not lost


def test_require_mfa_covers_org_reads_and_access_requests(personas):
    artifact_id = personas["member"].push().json()["id"]
    TOTP.activate(personas["admin"].user, generate_totp_secret())
    personas["admin"].api(
        "patch", "/org/settings", data={"require_mfa": True}, content_type="application/json"
    )
    viewer = personas["viewer"]
    assert viewer.api("get", "/org/settings").status_code == 403
    assert viewer.api("get", "/org/groups").status_code == 403
    assert viewer.client.post(f"/a/{artifact_id}/request-access").status_code == 404
    assert Notification.objects.count() == 0


def test_access_requests_from_lookalike_emails_are_not_merged(personas, org):
    artifact_id = personas["member"].push().json()["id"]
    for email in ("a@x.com", "a@x.co"):
        user = member_add(organization=org, email=email, role="member").user
        from django.test import Client

        client = Client(HTTP_HOST="localhost:8000")
        client.force_login(user)
        client.post(f"/a/{artifact_id}/request-access")
    assert Notification.objects.count() == 2


def test_a_bad_invitation_id_in_the_console_is_an_error_message_not_a_500(personas):
    page = personas["admin"].client.post(
        "/org/acme/admin/invitations/revoke", {"invitation": "x"}, follow=True
    )
    assert page.status_code == 200 and b"No such pending invitation." in page.content
