"""Default audience for new artifacts, and joining an org by a verified email domain."""

import re

from django.core import mail
from django.test import Client

from orgs.models import AuditEvent, Membership
from tests.helpers import APP_HOST


def settings_patch(persona, **changes):
    return persona.api("patch", "/org/settings", data=changes, content_type="application/json")


def sign_up_and_verify(email: str) -> Client:
    client = Client(HTTP_HOST=APP_HOST)
    client.post(
        "/accounts/signup/",
        {"email": email, "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
    )
    confirm = re.search(r"http://localhost:8000(/accounts/\S+)", mail.outbox[-1].body).group(1)
    client.post(confirm)
    return client


def test_default_visibility_applies_when_the_push_does_not_say(personas):
    assert settings_patch(personas["admin"], default_visibility="org").status_code == 200
    assert personas["member"].push().json()["visibility"] == "org"
    assert personas["member"].push(visibility="private").json()["visibility"] == "private"
    settings_patch(personas["admin"], sharing_enabled=False)
    assert personas["member"].push().json()["visibility"] == "private"  # no shares while off


def test_a_verified_email_at_an_auto_join_domain_joins_with_the_set_role(personas):
    response = settings_patch(
        personas["admin"],
        auto_join_domains=["Example.org", "corp.example.net"],
        auto_join_role="viewer",
    )
    assert response.json()["auto_join_domains"] == ["example.org", "corp.example.net"]
    sign_up_and_verify("newbie@example.org")
    membership = Membership.objects.get(user__email="newbie@example.org")
    assert (membership.organization.slug, membership.role) == ("acme", "viewer")
    event = AuditEvent.objects.get(action="member.auto_join")
    assert (event.target, event.details["domain"]) == ("newbie@example.org", "example.org")


def test_other_domains_and_lookalikes_do_not_join(personas):
    settings_patch(personas["admin"], auto_join_domains=["example.org"])
    sign_up_and_verify("someone@evil-example.org")
    sign_up_and_verify("someone@example.org.evil.net")
    assert not Membership.objects.filter(user__email__contains="someone").exists()


def test_an_invalid_domain_is_400(personas):
    response = settings_patch(personas["admin"], auto_join_domains=["not a domain"])
    assert response.status_code == 400
    assert personas["admin"].api("get", "/org/settings").json()["auto_join_domains"] == []


def test_default_audience_can_be_a_group(personas):
    admin = personas["admin"]
    admin.api("post", "/org/groups", data={"slug": "design"}, content_type="application/json")
    admin.api(
        "put",
        "/org/groups/design/members",
        data={"members": ["viewer@example.com"]},
        content_type="application/json",
    )
    assert settings_patch(admin, default_group="design").json()["default_group"] == "design"
    artifact_id = personas["member"].push().json()["id"]
    detail = personas["member"].api("get", f"/artifacts/{artifact_id}").json()
    assert detail["shared_with"] == {"org": False, "members": [], "groups": ["design"]}
    assert personas["viewer"].api("get", f"/artifacts/{artifact_id}").status_code == 200
    assert personas["other_member"].api("get", f"/artifacts/{artifact_id}").status_code == 404
    explicit = personas["member"].push(visibility="private").json()["id"]
    assert personas["viewer"].api("get", f"/artifacts/{explicit}").status_code == 404
    assert settings_patch(admin, default_group="").json()["default_group"] is None
    assert settings_patch(admin, default_group="nope").status_code == 404
