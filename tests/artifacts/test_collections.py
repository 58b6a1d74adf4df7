"""Collections: made and used from the API, at push time and in the UI; a collection's
list shows each reader only what they may see of it; only the author or an admin files
an artifact; every change audited."""

from artifacts.models import Artifact, Collection
from orgs.models import AuditEvent
from tests.helpers import PAGE


def _json(persona, method, path, body):
    return persona.api(method, path, data=body, content_type="application/json")


def test_collections_are_made_filed_at_push_and_listed_for_what_each_may_see(personas, org):
    member, other, outsider = personas["member"], personas["other_member"], personas["outsider"]
    made = _json(member, "post", "/collections", {"name": "Q3  Reports"})
    assert made.status_code == 201 and made.json()["slug"] == "q3-reports"
    assert made.json()["name"] == "Q3 Reports"
    again = _json(other, "post", "/collections", {"name": "q3 reports"})  # the same one
    assert again.status_code == 201 and Collection.objects.count() == 1

    shared = member.push(visibility="org", collection="Q3 Reports").json()["id"]
    private = member.push(visibility="private", collection="q3-reports").json()["id"]
    member.push(visibility="org")  # in no collection
    mine = member.api("get", "/artifacts", data={"collection": "q3-reports"}).json()["items"]
    assert {a["id"] for a in mine} == {shared, private}
    assert all(a["collections"] == ["q3-reports"] for a in mine)
    theirs = other.api("get", "/artifacts", data={"collection": "q3-reports"}).json()["items"]
    assert [a["id"] for a in theirs] == [shared]  # the private one stays the author's
    listed = other.api("get", "/collections").json()
    assert listed["items"][0]["slug"] == "q3-reports" and listed["next_cursor"] is None
    assert outsider.api("get", "/collections/q3-reports").status_code == 404
    assert outsider.api("get", "/artifacts", data={"collection": "q3-reports"}).status_code == 404
    actions = AuditEvent.objects.filter(organization=org).values_list("action", flat=True)
    assert list(actions).count("collection.create") == 1
    assert list(actions).count("artifact.collections") == 2


def test_only_the_author_or_an_admin_files_an_artifact(personas, org):
    member, other, admin = personas["member"], personas["other_member"], personas["admin"]
    artifact_id = member.push(visibility="org").json()["id"]
    path = f"/artifacts/{artifact_id}"
    assert _json(other, "patch", path, {"collections": ["Mine now"]}).status_code == 403
    changed = _json(member, "patch", path, {"collections": ["Design", "Onboarding"]})
    assert changed.status_code == 200 and changed.json()["collections"] == ["design", "onboarding"]
    by_admin = _json(admin, "patch", path, {"collections": ["Design"]})
    assert by_admin.json()["collections"] == ["design"]
    assert Collection.objects.filter(slug="mine-now").count() == 0  # refused: nothing made
    assert other.api("delete", "/collections/design").status_code == 403  # not its creator
    assert member.api("delete", "/collections/design").status_code == 204
    assert Artifact.objects.filter(pk=artifact_id).exists()  # its artifacts stay


def test_a_bad_collection_name_pushes_nothing(member):
    before = Artifact.objects.count()
    for bad in ("   ", "!!!", "x" * 101):
        response = member.push(data=PAGE, collection=bad)
        assert response.status_code == 400, response.content
    assert Artifact.objects.count() == before
    assert _json(member, "post", "/collections", {"name": ""}).status_code == 400


def test_the_ui_files_artifacts_and_a_collection_page_lists_them(personas, other_org):
    member, other = personas["member"], personas["other_member"]
    artifact_id = member.push(visibility="org", title="Dash").json()["id"]
    page = member.client.get(f"/a/{artifact_id}/")
    assert b'name="collections"' in page.content
    assert b'name="collections"' not in other.client.get(f"/a/{artifact_id}/").content
    member.client.post(f"/a/{artifact_id}/collections", {"collections": "Ops, Weekly"})
    collection = Collection.objects.get(slug="weekly")
    home = other.client.get("/", {"collection": collection.pk})
    assert [a.pk for a in home.context["artifacts"]] == [artifact_id]
    assert b"Collection: Weekly" in home.content
    assert (
        f"?collection={collection.pk}".encode() in member.client.get(f"/a/{artifact_id}/").content
    )
    # Another org's collection is not one this member can open.
    elsewhere = Collection.objects.create(organization=other_org, name="Theirs", slug="theirs")
    assert other.client.get("/", {"collection": elsewhere.pk}).status_code == 302
    refused = other.client.post(f"/a/{artifact_id}/collections", {"collections": "Mine"})
    assert refused.status_code == 302 and not Collection.objects.filter(slug="mine").exists()


def test_collections_follow_the_orgs_rules_and_purges_take_their_filings(personas, org):
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from artifacts.retention.enforce import retention_enforce

    member, other = personas["member"], personas["other_member"]
    artifact_id = member.push(visibility="org", collection="Kept names").json()["id"]
    other.client.get(f"/a/{artifact_id}/")  # a view record
    org.require_mfa = True
    org.save()
    assert b"Kept names" not in other.client.get("/").content  # no second factor here
    org.require_mfa = False
    org.artifacts_enabled = False
    org.save()
    assert member.api("get", "/collections").status_code == 403
    assert _json(member, "post", "/collections", {"name": "x"}).status_code == 403
    assert b"Kept names" not in member.client.get("/").content
    org.artifacts_enabled = True
    org.save()
    # Deleted, then purged past the grace period: its filing and view records go too.
    assert member.api("delete", f"/artifacts/{artifact_id}").status_code == 204
    retention_enforce(organization=org, as_of=timezone.now() + timedelta(days=400))
    assert not Artifact.objects.filter(pk=artifact_id).exists()
    if connection.vendor == "sqlite":
        connection.check_constraints()
    assert Collection.objects.get(slug="kept-names").artifacts.count() == 0
