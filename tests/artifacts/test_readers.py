"""Who read it: opens in the viewer are recorded once per member, version and half hour
(the live refresh's polls are not opens), seen by the author and the org's admins only,
and gone with the artifact or after the org's retention_view_days."""

from datetime import timedelta

from django.utils import timezone

from artifacts.models import Artifact, View
from artifacts.retention.enforce import retention_enforce
from tests.helpers import PAGE


def test_opens_are_counted_once_per_half_hour_and_per_version(personas):
    member, other, viewer = personas["member"], personas["other_member"], personas["viewer"]
    artifact_id = member.push(visibility="org").json()["id"]
    member.push(data=PAGE + b"2", to=artifact_id)
    for _ in range(3):
        assert other.client.get(f"/a/{artifact_id}/").status_code == 200
    other.client.get(f"/a/{artifact_id}/live", {"v": 1})  # a poll: not an open
    other.client.get(f"/a/{artifact_id}/v/1/")
    viewer.client.get(f"/a/{artifact_id}/")
    assert View.objects.filter(artifact_id=artifact_id).count() == 3

    views = member.api("get", f"/artifacts/{artifact_id}/views").json()
    assert (views["views"], views["unique_viewers"]) == (3, 2)
    assert views["versions"] == [
        {
            "number": 2,
            "views": 2,
            "unique_viewers": 2,
            "last_viewed_at": views["versions"][0]["last_viewed_at"],
        },
        {
            "number": 1,
            "views": 1,
            "unique_viewers": 1,
            "last_viewed_at": views["versions"][1]["last_viewed_at"],
        },
    ]
    assert [(v["email"], v["number"]) for v in views["items"]] == [
        ("viewer@example.com", 2),
        ("other@example.com", 1),
        ("other@example.com", 2),
    ]
    page = member.api("get", f"/artifacts/{artifact_id}/views", data={"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    detail = member.api("get", f"/artifacts/{artifact_id}").json()
    assert detail["views"]["views"] == 3 and detail["views"]["unique_viewers"] == 2


def test_only_the_author_and_admins_see_who_read_it(personas):
    member, other, admin = personas["member"], personas["other_member"], personas["admin"]
    artifact_id = member.push(visibility="org").json()["id"]
    other.client.get(f"/a/{artifact_id}/")
    path = f"/artifacts/{artifact_id}/views"
    assert admin.api("get", path).json()["views"] == 1
    assert b"Opened 1 time by 1 member" in member.client.get(f"/a/{artifact_id}/").content
    assert b"other@example.com opened v1" in admin.client.get(f"/a/{artifact_id}/").content
    refused = other.api("get", path)
    assert refused.status_code == 403
    assert other.api("get", f"/artifacts/{artifact_id}").json()["views"] is None
    assert b'id="readers"' not in other.client.get(f"/a/{artifact_id}/").content
    assert personas["outsider"].api("get", path).status_code == 404
    assert personas["anonymous"].api("get", path).status_code == 401


def test_view_records_go_with_the_artifact_and_after_the_orgs_bound(personas, org):
    member, other = personas["member"], personas["other_member"]
    kept = member.push(visibility="org").json()["id"]
    gone = member.push(visibility="org").json()["id"]
    for artifact_id in (kept, gone):
        other.client.get(f"/a/{artifact_id}/")
    Artifact.objects.filter(pk=gone).delete()  # as the purge does, after the trash
    assert not View.objects.filter(artifact_id=gone).exists()

    org.retention_view_days = 30
    org.save()
    View.objects.create(
        artifact_id=kept, number=1, user=other.user, viewed_at=timezone.now() - timedelta(days=31)
    )
    report = retention_enforce(organization=org)
    assert report.views == 1
    assert View.objects.filter(artifact_id=kept).count() == 1  # the recent one stays
    response = personas["owner"].api(
        "patch", "/org/settings", data={"retention_view_days": 0}, content_type="application/json"
    )
    assert response.status_code == 400


def test_the_counts_sum_each_version_and_reader(personas):
    from artifacts.readers import views_summary

    member, other, viewer = personas["member"], personas["other_member"], personas["viewer"]
    artifact_id = member.push(visibility="org").json()["id"]
    member.push(data=PAGE + b"2", to=artifact_id)
    now = timezone.now()
    opens = [(other, 1, 50), (other, 1, 40), (viewer, 1, 30), (other, 2, 20), (other, 2, 5)]
    View.objects.bulk_create(
        View(artifact_id=artifact_id, user=p.user, number=n, viewed_at=now - timedelta(minutes=m))
        for p, n, m in opens
    )
    counts, versions = views_summary(Artifact.objects.get(pk=artifact_id))
    assert (counts.views, counts.unique_viewers) == (5, 2)
    assert counts.last_viewed_at == now - timedelta(minutes=5)
    assert versions == [
        {
            "number": 2,
            "views": 2,
            "unique_viewers": 1,
            "last_viewed_at": now - timedelta(minutes=5),
        },
        {
            "number": 1,
            "views": 3,
            "unique_viewers": 2,
            "last_viewed_at": now - timedelta(minutes=30),
        },
    ]
    empty = Artifact.objects.get(pk=member.push().json()["id"])
    assert views_summary(empty) == (type(counts)(0, 0, None), [])
