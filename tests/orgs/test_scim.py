"""SCIM 2.0 provisioning (RFC 7643/7644) at /scim/v2/: tokens, Users and Groups through
their whole life, what a deactivation takes away at once, and the protocol's own errors
for bad input, with nothing changed. The compliance checker's run against the live server
is in test_scim_compliance.py."""

import hashlib
import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from orgs.models import AuditEvent, Group, Membership, Role, ScimToken, ScimUser
from orgs.scim.services import scim_token_create, scim_token_revoke
from orgs.services import auto_join, member_remove, member_role_change, org_settings_update
from tests.helpers import APP_HOST, frame_src, sandbox_get

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


class Scim:
    """An identity provider's SCIM client, with one org's token."""

    def __init__(self, secret: str):
        self.headers = {"Authorization": f"Bearer {secret}"}

    def __call__(self, method: str, path: str, body=None, raw: bytes | None = None):
        kwargs = {}
        if body is not None or raw is not None:
            data = raw if raw is not None else json.dumps(body)
            kwargs = {"data": data, "content_type": "application/scim+json"}
        return getattr(Client(HTTP_HOST=APP_HOST), method)(
            f"/scim/v2{path}", headers=self.headers, **kwargs
        )

    def user(self, email: str, **attributes):
        body = {"schemas": [USER], "userName": email, **attributes}
        response = self("post", "/Users", body)
        assert response.status_code == 201, response.content
        return response.json()

    def patch(self, path: str, *operations):
        return self("patch", path, {"schemas": [PATCH], "Operations": list(operations)})


@pytest.fixture
def scim(org):
    return Scim(scim_token_create(organization=org, name="okta")[1])


def scim_error(response, status: int, scim_type: str | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/scim+json"
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status)
    if scim_type:
        assert body.get("scimType") == scim_type, body
    return body


def test_the_command_prints_the_token_alone_on_its_last_line_and_stores_its_hash(org):
    out = io.StringIO()
    call_command("create_scim_token", "acme", "--name", "entra", stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    token = ScimToken.objects.get(organization=org)
    assert token.name == "entra" and token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(list(ScimToken.objects.values()), default=str)
    assert Scim(secret)("get", "/Users").status_code == 200
    event = AuditEvent.objects.get(organization=org, action="scim.token_create")
    assert event.actor_kind == "operator" and event.target == "entra"


def test_a_user_is_created_found_replaced_patched_and_deleted(org, scim):
    created = scim.user(
        "Ann@Example.com",
        name={"givenName": "Ann", "familyName": "Lee"},
        externalId="00u1",
        title="Engineer",  # a core attribute nobody stores here: accepted, dropped
    )
    assert created["userName"] == "ann@example.com" and created["active"] is True
    assert created["meta"]["location"].endswith(f"/scim/v2/Users/{created['id']}")
    membership = Membership.objects.get(organization=org, user__email="ann@example.com")
    assert membership.role == org.auto_join_role

    found = scim("get", '/Users?filter=userName eq "ANN@example.com"').json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == created["id"]
    assert scim("get", '/Users?filter=externalId eq "00U1"').json()["totalResults"] == 0

    path = f"/Users/{created['id']}"
    replaced = scim(
        "put",
        path,
        {"schemas": [USER], "userName": "ann@example.com", "name": {"givenName": "Annie"}},
    )
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["name"] == {"givenName": "Annie"}
    assert "externalId" not in replaced.json()  # a replace drops what it does not carry

    patched = scim.patch(path, {"op": "replace", "path": "name.familyName", "value": "Lee"})
    assert patched.status_code == 200, patched.content
    assert patched.json()["name"] == {"givenName": "Annie", "familyName": "Lee"}
    assert scim("get", path).json()["name"]["familyName"] == "Lee"

    assert scim("delete", path).status_code == 204
    assert not Membership.objects.filter(organization=org, user__email="ann@example.com")
    scim_error(scim("get", path), 404)
    actions = list(
        AuditEvent.objects.filter(organization=org, actor_kind="idp")
        .order_by("id")
        .values_list("action", "actor_email")
    )
    assert [a for a, _ in actions] == [
        "scim.user_create",
        "member.add",
        "scim.user_update",
        "scim.user_update",
        "member.remove",
        "scim.user_delete",
    ]
    assert {email for _, email in actions} == {"scim:okta"}


def test_lists_are_paged_with_start_index_and_count(scim):
    ids = [scim.user(f"user{n}@example.com")["id"] for n in range(5)]
    page = scim("get", "/Users?startIndex=2&count=2").json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert [r["id"] for r in page["Resources"]] == ids[1:3]
    last = scim("get", "/Users?startIndex=5&count=10").json()
    assert [r["id"] for r in last["Resources"]] == ids[4:]
    assert scim("get", "/Users?count=0").json() | {"Resources": None} == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 5,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": None,
    }
    searched = scim(
        "post",
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName sw "user3"',
        },
    ).json()
    assert [r["id"] for r in searched["Resources"]] == [ids[3]]


def test_deactivation_ends_sessions_tokens_and_open_pages_on_the_next_request(org, scim, personas):
    member, other = personas["member"], personas["other_member"]
    artifact_id = member.push(visibility="org").json()["id"]
    page = other.client.get(f"/a/{artifact_id}/")
    assert page.status_code == 200
    grant = frame_src(page)
    assert sandbox_get(grant).status_code == 200
    assert other.api("get", f"/artifacts/{artifact_id}").status_code == 200
    # The provider takes over the account it already had here (an existing member).
    scim_id = scim.user("other@example.com")["id"]
    assert Membership.objects.get(organization=org, user=other.user).role == Role.MEMBER

    response = scim.patch(f"/Users/{scim_id}", {"op": "replace", "value": {"active": False}})
    assert response.status_code == 200 and response.json()["active"] is False
    assert sandbox_get(grant).status_code == 404  # the grant handed out before
    assert other.client.get(f"/a/{artifact_id}/").status_code == 404  # the session
    assert other.api("get", f"/artifacts/{artifact_id}").status_code == 401  # the token
    listed = scim("get", "/Users?filter=active eq false").json()
    assert [r["id"] for r in listed["Resources"]] == [scim_id]

    # Back again: the role it had, but not the revoked token.
    response = scim.patch(f"/Users/{scim_id}", {"op": "replace", "path": "active", "value": True})
    assert response.status_code == 200 and response.json()["active"] is True
    assert Membership.objects.get(organization=org, user=other.user).role == Role.MEMBER
    assert other.client.get(f"/a/{artifact_id}/").status_code == 200
    assert other.api("get", f"/artifacts/{artifact_id}").status_code == 401


def test_a_deleted_user_loses_access_and_a_deactivated_one_does_not_auto_join_back(
    org, scim, personas
):
    other = personas["other_member"]
    scim_id = scim.user("other@example.com")["id"]
    assert scim("delete", f"/Users/{scim_id}").status_code == 204
    assert other.client.get("/").status_code == 200  # still an account, of no org
    assert not Membership.objects.filter(organization=org, user=other.user).exists()

    org_settings_update(
        organization=org, actor=personas["owner"].user, auto_join_domains="example.com"
    )
    scim_id = scim.user("late@example.com", active=False)["id"]
    late = ScimUser.objects.get(pk=scim_id).user
    assert auto_join(user=late, email="late@example.com") == []
    assert not Membership.objects.filter(organization=org, user=late).exists()


def test_groups_take_provisioned_members_by_id(org, scim):
    ann, bob = scim.user("ann@example.com")["id"], scim.user("bob@example.com")["id"]
    created = scim(
        "post",
        "/Groups",
        {"schemas": [GROUP], "displayName": "Data Eng", "members": [{"value": ann}]},
    )
    assert created.status_code == 201, created.content
    group_id = created.json()["id"]
    group = Group.objects.get(organization=org, name="Data Eng")
    assert group.slug == "data-eng"
    assert set(group.members.values_list("email", flat=True)) == {"ann@example.com"}

    path = f"/Groups/{group_id}"
    response = scim.patch(
        path,
        {"op": "add", "path": "members", "value": [{"value": bob}]},
        {"op": "remove", "path": f'members[value eq "{ann}"]'},
    )
    assert response.status_code == 200, response.content
    assert [m["value"] for m in response.json()["members"]] == [bob]
    assert set(group.members.values_list("email", flat=True)) == {"bob@example.com"}
    found = scim("get", f'/Groups?filter=members[value eq "{bob}"]').json()
    assert [g["id"] for g in found["Resources"]] == [group_id]
    renamed = scim.patch(path, {"op": "replace", "path": "displayName", "value": "Data"})
    assert renamed.json()["displayName"] == "Data"

    # A deactivated user leaves the org's groups with the membership.
    scim.patch(f"/Users/{bob}", {"op": "replace", "path": "active", "value": False})
    assert not group.members.exists()
    assert scim("delete", path).status_code == 204
    assert not Group.objects.filter(pk=group.pk).exists()
    actions = set(
        AuditEvent.objects.filter(organization=org, actor_kind="idp").values_list(
            "action", flat=True
        )
    )
    assert {"group.create", "group.members", "group.rename", "group.delete"} <= actions


def test_bad_input_gets_scim_errors_and_changes_nothing(org, scim):
    before = AuditEvent.objects.count()
    scim_error(scim("post", "/Users", raw=b'{"userName": '), 400, "invalidSyntax")
    scim_error(scim("post", "/Users", raw=b"[]"), 400, "invalidSyntax")
    scim_error(
        scim("post", "/Users", {"schemas": [USER], "userName": "a@example.com", "bogus": 1}), 400
    )
    scim_error(
        scim("post", "/Users", {"schemas": [USER], "userName": "not an email"}), 400, "invalidValue"
    )
    scim_error(scim("get", "/Users?filter=userName eq"), 400, "invalidFilter")
    scim_error(scim("get", '/Users?filter=title eq "x"'), 400, "invalidFilter")
    scim_error(scim("get", "/Users/not-a-uuid"), 404)
    scim_error(scim("delete", "/ServiceProviderConfig"), 405)
    assert AuditEvent.objects.count() == before
    assert not ScimUser.objects.exists()

    scim_id = scim.user("ann@example.com", name={"givenName": "Ann"})["id"]
    scim_error(
        scim("post", "/Users", {"schemas": [USER], "userName": "ANN@example.com"}),
        409,
        "uniqueness",
    )
    before = AuditEvent.objects.count()
    # The first operation is good, the second is not: neither is applied.
    half = scim.patch(
        f"/Users/{scim_id}",
        {"op": "replace", "path": "name.givenName", "value": "Changed"},
        {"op": "replace", "path": "userName", "value": " "},
    )
    scim_error(half, 400)
    assert scim("get", f"/Users/{scim_id}").json()["name"] == {"givenName": "Ann"}
    group_id = scim("post", "/Groups", {"schemas": [GROUP], "displayName": "G"}).json()["id"]
    before = AuditEvent.objects.count()
    half = scim.patch(
        f"/Groups/{group_id}",
        {"op": "add", "path": "members", "value": [{"value": scim_id}]},
        {
            "op": "add",
            "path": "members",
            "value": [{"value": "b7c9c5f4-0000-4000-8000-000000000000"}],
        },
    )
    scim_error(half, 400)
    assert not Group.objects.get(organization=org, name="G").members.exists()
    assert AuditEvent.objects.count() == before


def test_a_token_reaches_its_own_org_only_and_dies_when_revoked(org, other_org, scim, personas):
    scim_id = scim.user("ann@example.com")["id"]
    group_id = scim("post", "/Groups", {"schemas": [GROUP], "displayName": "G"}).json()["id"]
    token, secret = scim_token_create(organization=other_org, name="globex-okta")
    globex = Scim(secret)
    for method in ("get", "delete"):
        scim_error(globex(method, f"/Users/{scim_id}"), 404)
        scim_error(globex(method, f"/Groups/{group_id}"), 404)
    scim_error(
        globex.patch(f"/Users/{scim_id}", {"op": "replace", "path": "active", "value": False}), 404
    )
    assert globex("get", "/Users").json()["totalResults"] == 0
    assert all(g["id"] != group_id for g in globex("get", "/Groups").json().get("Resources") or [])
    assert Membership.objects.filter(organization=org, user__email="ann@example.com").exists()

    scim_error(Scim("scim_not-a-token")("get", "/Users"), 401)
    no_token = Client(HTTP_HOST=APP_HOST).get("/scim/v2/Users")
    assert no_token.status_code == 401 and no_token["WWW-Authenticate"] == "Bearer"
    scim_token_revoke(organization=other_org, token_id=token.pk, actor=personas["outsider"].user)
    scim_error(globex("get", "/Users"), 401)


def test_owners_make_and_revoke_tokens_in_the_console_and_admins_cannot(org, personas):
    owner, admin = personas["owner"].client, personas["admin"].client
    page = owner.get("/org/acme/admin/scim/")
    assert page.status_code == 200 and b"/scim/v2/" in page.content
    made = owner.post("/org/acme/admin/scim/", {"name": "Okta"})
    secret = made.context["new_secret"]
    assert secret.encode() in made.content
    assert secret.encode() not in owner.get("/org/acme/admin/scim/").content  # shown once
    assert Scim(secret)("get", "/Users").status_code == 200

    refused = admin.post("/org/acme/admin/scim/", {"name": "mine"}, follow=True)
    assert refused.context["new_secret"] is None and ScimToken.objects.count() == 1
    token = ScimToken.objects.get()
    admin.post(f"/org/acme/admin/scim/{token.pk}/revoke")
    assert Scim(secret)("get", "/Users").status_code == 200
    assert personas["outsider"].client.get("/org/acme/admin/scim/").status_code == 404

    owner.post(f"/org/acme/admin/scim/{token.pk}/revoke")
    assert Scim(secret)("get", "/Users").status_code == 401
    events = AuditEvent.objects.filter(organization=org, action__startswith="scim.token")
    assert list(events.order_by("id").values_list("action", "actor_email")) == [
        ("scim.token_create", "owner@example.com"),
        ("scim.token_revoke", "owner@example.com"),
    ]


def test_an_account_outside_the_org_is_not_the_providers_to_take(org, scim, personas):
    from orgs.services import user_get_or_create

    # Someone's own account, and another org's owner: neither is pulled in, nor renamed.
    squatter = user_get_or_create(email="ann@example.com", password="pw-squatter-1")
    for email in ("ann@example.com", "outsider@example.com"):
        body = {"schemas": [USER], "userName": email, "name": {"givenName": "Pwned"}}
        scim_error(scim("post", "/Users", body), 409, "uniqueness")
    squatter.refresh_from_db()
    assert squatter.first_name != "Pwned"
    assert not Membership.objects.filter(organization=org, user=squatter).exists()
    assert not ScimUser.objects.exists()


def test_a_member_the_provider_links_keeps_their_own_email_and_name(org, scim, personas):
    owner = personas["owner"].user
    scim_id = scim.user("owner@example.com", name={"givenName": "Renamed"})["id"]
    takeover = scim.patch(
        f"/Users/{scim_id}", {"op": "replace", "path": "userName", "value": "mallory@evil.test"}
    )
    scim_error(takeover, 400, "mutability")
    owner.refresh_from_db()
    assert owner.email == "owner@example.com" and owner.first_name != "Renamed"
    assert owner.emailaddress_set.filter(email="mallory@evil.test").count() == 0
    # What SCIM made, it renames.
    made = scim.user("new@example.com")["id"]
    renamed = scim.patch(
        f"/Users/{made}", {"op": "replace", "path": "userName", "value": "n2@example.com"}
    )
    assert renamed.status_code == 200 and renamed.json()["emails"] == [{"value": "n2@example.com"}]


def test_deprovisioned_people_stay_out_until_the_provider_brings_them_back(org, scim, personas):
    owner = personas["owner"].user
    org_settings_update(organization=org, actor=owner, auto_join_domains="example.com")
    scim_id = scim.user("leaver@example.com")["id"]
    leaver = ScimUser.objects.get(pk=scim_id).user
    assert scim("delete", f"/Users/{scim_id}").status_code == 204
    assert auto_join(user=leaver, email="leaver@example.com") == []  # a tombstone stays
    assert scim("get", '/Users?filter=userName eq "leaver@example.com"').json()["totalResults"] == 0
    back = scim.user("leaver@example.com")  # provisioned again: a member again
    assert back["id"] == scim_id and back["active"] is True
    assert Membership.objects.filter(organization=org, user=leaver).exists()

    # A replace that leaves `active` out does not undo a deactivation.
    path = f"/Users/{scim_id}"
    scim.patch(path, {"op": "replace", "path": "active", "value": False})
    replaced = scim("put", path, {"schemas": [USER], "userName": "leaver@example.com"})
    assert "active" not in replaced.json()  # unassigned now, and still no membership
    assert not Membership.objects.filter(organization=org, user=leaver).exists()
    assert auto_join(user=leaver, email="leaver@example.com") == []
    # Someone an admin removed is not brought back by the provider's next update.
    scim.patch(path, {"op": "replace", "path": "active", "value": True})
    assert Membership.objects.filter(organization=org, user=leaver).exists()

    member_remove(organization=org, email="leaver@example.com", actor=owner)
    scim("put", path, {"schemas": [USER], "userName": "leaver@example.com", "active": True})
    assert not Membership.objects.filter(organization=org, user=leaver).exists()
    # A deactivated owner comes back an admin: a provider never makes an owner.
    scim_id = scim.user("admin@example.com")["id"]
    member_role_change(organization=org, email="admin@example.com", role=Role.OWNER, actor=owner)
    scim.patch(f"/Users/{scim_id}", {"op": "replace", "path": "active", "value": False})
    scim.patch(f"/Users/{scim_id}", {"op": "replace", "path": "active", "value": True})
    assert (
        Membership.objects.get(organization=org, user__email="admin@example.com").role == Role.ADMIN
    )


def test_odd_input_gets_a_scim_answer_never_a_crash(org, scim):
    scim_error(
        scim(
            "post",
            "/Users",
            {"schemas": [USER], "userName": "n@example.com", "name": {"givenName": "a\u0000"}},
        ),
        400,
        "invalidValue",
    )
    scim_error(
        scim("post", "/Groups", {"schemas": [GROUP], "displayName": "g\u0000"}), 400, "invalidValue"
    )
    deep = b'{"a":' * 5000 + b"1" + b"}" * 5000
    scim_error(scim("post", "/Users", raw=deep), 400, "invalidSyntax")
    huge = scim("get", "/Users?startIndex=99999999999999999999")
    assert huge.status_code == 200 and huge.json()["totalResults"] == 0
    long_filter = 'userName eq "' + "x" * 5000 + '"'
    scim_error(scim("get", f"/Users?filter={long_filter}"), 400, "invalidFilter")
    for bad in (
        'meta.created gt "9999-12-31T23:59:59-14:00"',
        'meta.created gt "2026-13-01T00:00:00Z"',
    ):
        scim_error(scim("get", f"/Users?filter={bad}"), 400, "invalidFilter")
    assert not ScimUser.objects.exists() and not Group.objects.exists()
