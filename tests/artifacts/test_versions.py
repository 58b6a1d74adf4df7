"""Restore as a new version, pinning the version the stable URL shows, and the cheap live
poll the viewer uses to follow new pushes."""

from artifacts import storage
from artifacts.models import Version
from orgs.models import AuditEvent
from tests.helpers import frame_src, sandbox_get


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_restore_makes_a_new_version_with_identical_bytes_and_is_audited(member):
    artifact_id = member.push(data=b"<p>one</p>").json()["id"]
    member.push(data=b"<p>two</p>", to=artifact_id)
    response = member.api("post", f"/artifacts/{artifact_id}/versions/1/restore")
    assert response.status_code == 201
    assert response.json()["version"] == 3
    v1, v3 = (Version.objects.get(artifact_id=artifact_id, number=n) for n in (1, 3))
    assert v3.blob_id == v1.blob_id and v3.message == "Restored from v1"
    with storage.blob_open(v3.blob_id) as fh:
        assert fh.read() == b"<p>one</p>"
    event = AuditEvent.objects.get(action="artifact.restore")
    assert (event.target, event.details["restored"], event.details["version"]) == (
        artifact_id,
        1,
        3,
    )


def test_restore_permissions(personas):
    artifact_id = personas["member"].push(visibility="org").json()["id"]
    path = f"/artifacts/{artifact_id}/versions/1/restore"
    assert personas["other_member"].api("post", path).status_code == 403
    assert personas["outsider"].api("post", path).status_code == 404
    assert (
        personas["member"].api("post", f"/artifacts/{artifact_id}/versions/9/restore").status_code
        == 404
    )
    assert Version.objects.count() == 1


def test_restore_button_on_the_web(member):
    artifact_id = member.push(data=b"<p>one</p>").json()["id"]
    member.push(data=b"<p>two</p>", to=artifact_id)
    response = member.client.post(f"/a/{artifact_id}/v/1/restore")
    assert response.status_code == 302
    assert Version.objects.filter(artifact_id=artifact_id).count() == 3


def test_pinned_version_is_what_the_stable_url_shows(personas):
    member, viewer = personas["member"], personas["viewer"]
    artifact_id = member.push(data=b"<p>one</p>", visibility="org").json()["id"]
    pin = member.api(
        "patch",
        f"/artifacts/{artifact_id}",
        data={"viewer_version": 1},
        content_type="application/json",
    )
    assert pin.status_code == 200 and pin.json()["viewer_version"] == 1
    member.push(data=b"<p>two</p>", to=artifact_id)
    stable = viewer.client.get(f"/a/{artifact_id}/")
    assert body_of(sandbox_get(frame_src(stable))) == b"<p>one</p>"
    assert b"(pinned)" in stable.content
    member.api(
        "patch",
        f"/artifacts/{artifact_id}",
        data={"viewer_version": 0},
        content_type="application/json",
    )
    stable = viewer.client.get(f"/a/{artifact_id}/")
    assert body_of(sandbox_get(frame_src(stable))) == b"<p>two</p>"


def test_pinning_a_missing_version_is_400(member):
    artifact_id = member.push().json()["id"]
    response = member.api(
        "patch",
        f"/artifacts/{artifact_id}",
        data={"viewer_version": 5},
        content_type="application/json",
    )
    assert response.status_code == 400


def test_live_poll_is_204_until_a_new_version_then_hands_a_fresh_grant(
    personas, django_assert_max_num_queries
):
    member, viewer = personas["member"], personas["viewer"]
    artifact_id = member.push(data=b"<p>one</p>", visibility="org").json()["id"]
    with django_assert_max_num_queries(4):  # session, user, artifact (+ savepoint noise)
        assert viewer.client.get(f"/a/{artifact_id}/live?v=1").status_code == 204
    member.push(data=b"<p>two</p>", to=artifact_id)
    update = viewer.client.get(f"/a/{artifact_id}/live?v=1").json()
    assert update["version"] == 2
    assert body_of(sandbox_get(update["frame_src"])) == b"<p>two</p>"
    assert viewer.client.get(f"/a/{artifact_id}/live?v=2").status_code == 204


def test_live_poll_refuses_outsiders_and_versioned_pages_do_not_poll(personas):
    member = personas["member"]
    artifact_id = member.push(visibility="org").json()["id"]
    assert personas["outsider"].client.get(f"/a/{artifact_id}/live?v=1").status_code == 404
    assert b'data-live-url=""' in member.client.get(f"/a/{artifact_id}/v/1/").content
    assert b'data-live-url="/a/' in member.client.get(f"/a/{artifact_id}/").content


def test_the_version_picker_works_without_script(member):
    artifact_id = member.push().json()["id"]
    member.push(data=b"<p>2</p>", to=artifact_id)
    response = member.client.get(f"/a/{artifact_id}/?v=1")
    assert (response.status_code, response["Location"]) == (302, f"/a/{artifact_id}/v/1/")
