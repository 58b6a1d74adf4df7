"""Invitations: created by admins, sent through allauth's email machinery, accepted
through the normal sign-up / sign-in flow by the invited (verified) address only."""

import re
import secrets
from datetime import timedelta

from django.core import mail
from django.test import Client
from django.utils import timezone

from orgs.models import AuditEvent, Invitation, Membership
from orgs.services import _token_hash
from tests.helpers import APP_HOST


def invite(persona, email, role="member"):
    return persona.api(
        "post",
        "/org/invitations",
        data={"email": email, "role": role},
        content_type="application/json",
    )


def known_secret(**changes) -> str:
    """Give the (only) invitation a link secret the test knows; the real one is in an email
    that these tests do not send."""
    secret = secrets.token_urlsafe(32)
    Invitation.objects.update(token_hash=_token_hash(secret), **changes)
    return secret


def link_path(message) -> str:
    return re.search(r"http://localhost:8000(/invite/\S+/)", message.body).group(1)


def test_invitation_end_to_end_through_sign_up(personas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(personas["admin"], "Newcomer@Example.com", role="viewer")
    assert response.status_code == 201 and response.json()["email"] == "newcomer@example.com"
    assert mail.outbox[-1].to == ["newcomer@example.com"]
    assert "Acme" in mail.outbox[-1].subject
    path = link_path(mail.outbox[-1])

    client = Client(HTTP_HOST=APP_HOST)
    page = client.get(path)
    assert page.status_code == 200 and b"Sign up with newcomer@example.com" in page.content
    client.post(
        f"/accounts/signup/?next={path}",
        {
            "email": "newcomer@example.com",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    confirm = re.search(
        r"http://localhost:8000(/accounts/confirm-email/\S+)", mail.outbox[-1].body
    ).group(1)
    client.post(confirm)
    client.post(
        "/accounts/login/", {"login": "newcomer@example.com", "password": "a-long-pass-phrase"}
    )
    assert client.post(path).status_code == 302
    membership = Membership.objects.get(user__email="newcomer@example.com")
    assert (membership.organization.slug, membership.role) == ("acme", "viewer")
    assert client.get(path).status_code == 404  # used
    actions = list(
        AuditEvent.objects.filter(action__startswith="invitation.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["invitation.create", "invitation.accept"]


def test_only_the_invited_address_can_accept(personas):
    invite(personas["admin"], "someone@example.com")
    secret_invitation = Invitation.objects.get()
    import secrets

    from orgs.services import _token_hash  # noqa: PLC2701

    secret = secrets.token_urlsafe(32)
    Invitation.objects.filter(pk=secret_invitation.pk).update(token_hash=_token_hash(secret))
    response = personas["outsider"].client.post(f"/invite/{secret}/", follow=True)
    assert b"This invitation is for someone@example.com" in response.content
    assert not Membership.objects.filter(
        organization__slug="acme", user__email="outsider@example.com"
    ).exists()


def test_expired_and_unknown_invitations_are_404(personas):
    import secrets

    from orgs.services import _token_hash  # noqa: PLC2701

    invite(personas["admin"], "late@example.com")
    secret = secrets.token_urlsafe(32)
    Invitation.objects.update(
        token_hash=_token_hash(secret), expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert Client(HTTP_HOST=APP_HOST).get(f"/invite/{secret}/").status_code == 404
    assert Client(HTTP_HOST=APP_HOST).get("/invite/nope/").status_code == 404


def test_who_may_invite(personas):
    assert invite(personas["member"], "x@example.com").status_code == 403
    assert invite(personas["admin"], "x@example.com", role="owner").status_code == 403
    assert invite(personas["owner"], "x@example.com", role="owner").status_code == 201
    assert invite(personas["admin"], "viewer@example.com").status_code == 409  # a member
    assert invite(personas["admin"], "not-an-email").status_code == 400
    listed = personas["admin"].api("get", "/org/invitations").json()["items"]
    assert [i["email"] for i in listed] == ["x@example.com"]
    assert personas["admin"].api("delete", f"/org/invitations/{listed[0]['id']}").status_code == 204
    assert personas["admin"].api("get", "/org/invitations").json()["items"] == []
    assert AuditEvent.objects.filter(action="invitation.revoke").count() == 1
