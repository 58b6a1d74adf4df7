"""The operator commands of SPEC §7: create_org, add_member, remove_member, create_token."""

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.test import Client

from orgs.models import ApiToken, AuditEvent, Membership, Organization


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_org(db):
    assert (
        run("create_org", "acme", "--name", "Acme Inc") == "Created organisation acme (Acme Inc).\n"
    )
    assert Organization.objects.get().name == "Acme Inc"


def test_create_org_twice_is_a_one_line_error(db):
    run("create_org", "acme")
    with pytest.raises(CommandError, match="^Organisation 'acme' already exists.$"):
        run("create_org", "acme")


def test_create_org_rejects_a_bad_slug(db):
    with pytest.raises(CommandError, match="Invalid slug"):
        run("create_org", "Not A Slug")


def test_add_member_creates_a_verified_user_who_can_sign_in(db):
    run("create_org", "acme")
    assert run(
        "add_member", "acme", "Ann@Example.com", "--role", "admin", "--password", "s3cret-pass"
    ) == ("ann@example.com is admin of acme.\n")
    membership = Membership.objects.get()
    assert membership.role == "admin"
    assert EmailAddress.objects.get(user=membership.user).verified
    client = Client(HTTP_HOST="localhost:8000")
    response = client.post(
        "/accounts/login/", {"login": "ann@example.com", "password": "s3cret-pass"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_add_member_again_changes_the_role(db):
    run("create_org", "acme")
    run("add_member", "acme", "ann@example.com", "--role", "member")
    run("add_member", "acme", "ann@example.com", "--role", "viewer")
    assert Membership.objects.get().role == "viewer"
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "org.create",
        "member.add",
        "member.role_change",
    ]


def test_add_member_to_a_missing_org_fails(db):
    with pytest.raises(CommandError, match="No organisation with slug 'nope'"):
        run("add_member", "nope", "a@example.com", "--role", "member")


def test_create_token_prints_the_token_alone_on_the_last_line_and_it_works(db):
    run("create_org", "acme")
    run("add_member", "acme", "ann@example.com", "--role", "member")
    token = run("create_token", "acme", "ann@example.com", "--name", "laptop").splitlines()[-1]
    assert token.startswith("art_") and " " not in token
    stored = ApiToken.objects.get()
    assert stored.token_hash != token and token not in stored.token_hash  # only a hash is kept
    response = Client().get("/api/v1/artifacts", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_create_token_for_a_non_member_fails(db):
    run("create_org", "acme")
    run("create_org", "globex")
    run("add_member", "globex", "ann@example.com", "--role", "member")
    with pytest.raises(CommandError, match="is not a member of acme"):
        run("create_token", "acme", "ann@example.com")


def test_remove_member_revokes_their_tokens(db):
    run("create_org", "acme")
    run("add_member", "acme", "owner@example.com", "--role", "owner")
    run("add_member", "acme", "ann@example.com", "--role", "member")
    token = run("create_token", "acme", "ann@example.com").splitlines()[-1]
    assert run("remove_member", "acme", "ann@example.com") == "Removed ann@example.com from acme.\n"
    assert not Membership.objects.filter(user__email="ann@example.com").exists()
    response = Client().get("/api/v1/artifacts", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_the_last_owner_cannot_be_removed(db):
    run("create_org", "acme")
    run("add_member", "acme", "owner@example.com", "--role", "owner")
    with pytest.raises(CommandError, match="last owner"):
        run("remove_member", "acme", "owner@example.com")


def test_remove_a_non_member_fails(db):
    run("create_org", "acme")
    with pytest.raises(CommandError, match="is not a member"):
        run("remove_member", "acme", "ghost@example.com")
