"""The push API: create, new version, limits and bad input, metadata, delete, source."""

import json
import os

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from artifacts import storage
from artifacts.models import Artifact, Blob, Version
from orgs.models import AuditEvent
from tests.helpers import PAGE

MAX = 16 * 1024 * 1024


def error(response) -> dict:
    body = json.loads(response.content)
    assert set(body) == {"error"}, body
    return body["error"]


def nothing_stored():
    tmp = settings.FILE_UPLOAD_TEMP_DIR
    leftovers = os.listdir(tmp) if os.path.isdir(tmp) else []
    return (Artifact.objects.count(), Version.objects.count(), Blob.objects.count(), leftovers) == (
        0,
        0,
        0,
        [],
    )


def test_push_creates_private_version_1_with_stable_and_versioned_urls(member):
    response = member.push(title="Report", message="first")
    assert response.status_code == 201
    body = response.json()
    assert body["version"] == 1
    assert body["visibility"] == "private"
    assert body["url"] == f"http://localhost:8000/a/{body['id']}/"
    assert body["version_url"] == f"http://localhost:8000/a/{body['id']}/v/1/"
    assert len(body["id"]) >= 22 and not body["id"].isdigit()  # 128 random bits, not a row id
    version = Version.objects.get(artifact_id=body["id"])
    assert (version.number, version.size, version.message) == (1, len(PAGE), "first")


def test_push_to_existing_artifact_makes_version_2_at_the_same_url(member):
    first = member.push().json()
    second = member.push(data=PAGE + b"<p>2</p>", to=first["id"], message="two")
    assert second.status_code == 201
    assert second.json()["version"] == 2
    assert second.json()["url"] == first["url"]
    assert Artifact.objects.get(pk=first["id"]).latest_version == 2


def test_a_push_leaves_no_temporary_file_behind(member):
    assert member.push().status_code == 201
    assert member.push().status_code == 201  # same bytes: the blob exists already
    assert os.listdir(settings.FILE_UPLOAD_TEMP_DIR) == []


def test_same_bytes_are_stored_once(member):
    a = member.push().json()
    b = member.push().json()
    assert a["id"] != b["id"]
    assert Blob.objects.count() == 1
    sha = Blob.objects.get().sha256
    with storage.blob_open(sha) as fh:
        assert fh.read() == PAGE


def test_source_returns_the_exact_bytes(member):
    data = "<p>ünïcödé ✓</p>\r\n".encode()
    body = member.push(data=data).json()
    response = member.api("get", f"/artifacts/{body['id']}/versions/1/source")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_exactly_16_mib_is_accepted(member):
    data = b"<p>" + b"x" * (MAX - 3)
    assert len(data) == MAX
    response = member.push(data=data)
    assert response.status_code == 201
    assert Version.objects.get().size == MAX


def test_one_byte_over_16_mib_is_413_and_nothing_is_stored(member):
    response = member.push(data=b"<p>" + b"x" * (MAX - 2))
    assert response.status_code == 413
    assert error(response)["code"] == "too_large"
    assert nothing_stored()


def test_oversized_content_length_is_refused_before_reading(member):
    response = Client().post(
        "/api/v1/artifacts",
        data=b"--x\r\n",
        content_type="multipart/form-data; boundary=x",
        headers={"Authorization": f"Bearer {member.token}"},
        CONTENT_LENGTH=str(MAX + 10 * 1024 * 1024),
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("page.pdf", PAGE, 415, "unsupported_type"),
        ("page", PAGE, 415, "unsupported_type"),
        ("page.html", b"<p>\x00\x01binary</p>", 415, "unsupported_type"),
        ("page.html", b"<p>caf\xe9</p>", 415, "unsupported_type"),  # latin-1, not UTF-8
        ("page.md", b"# ok \xe2\x82", 415, "unsupported_type"),  # ends mid-character
        ("page.html", b"", 400, "invalid"),
    ],
    ids=["wrong-extension", "no-extension", "binary", "invalid-utf8", "truncated-utf8", "empty"],
)
def test_bad_file_is_refused_with_a_json_error_and_nothing_stored(member, name, data, status, code):
    response = member.push(data=data, name=name)
    assert response.status_code == status
    assert error(response)["code"] == code
    assert error(response)["message"]
    assert nothing_stored()


def test_missing_file_field_is_400(member):
    response = member.api("post", "/artifacts", data={"title": "x"})
    assert response.status_code == 400
    assert error(response)["code"] == "invalid"
    assert "file" in error(response)["message"]


def test_oversized_title_is_400_and_nothing_stored(member):
    response = member.push(title="t" * 201)
    assert response.status_code == 400
    assert error(response)["message"] == "Title is longer than 200 characters."
    assert Artifact.objects.count() == 0 and Version.objects.count() == 0


def test_unknown_visibility_is_400(member):
    response = member.push(visibility="public")
    assert response.status_code == 400
    assert Artifact.objects.count() == 0


def test_new_version_of_another_format_is_415(member):
    body = member.push().json()
    response = member.push(data=b"# md", name="x.md", to=body["id"])
    assert response.status_code == 415
    assert Version.objects.count() == 1


def test_base_version_behind_the_latest_is_409_with_the_current_version(member):
    body = member.push().json()
    member.push(to=body["id"], data=PAGE + b"2")
    response = member.push(to=body["id"], data=PAGE + b"3", base_version="1")
    assert response.status_code == 409
    assert error(response)["code"] == "conflict"
    assert error(response)["current_version"] == 2
    assert member.push(to=body["id"], data=PAGE + b"3", base_version="2").status_code == 201


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer art_wrong", "Basic abc"])
def test_missing_or_bad_token_is_401(member, header):
    headers = {"Authorization": header} if header else {}
    response = Client().get("/api/v1/artifacts", headers=headers)
    assert response.status_code == 401
    assert error(response)["code"] == "unauthorized"


def test_revoked_token_is_401(member):
    from orgs.models import ApiToken
    from orgs.services import token_revoke

    token_revoke(token=ApiToken.objects.get(user=member.user), actor=member.user)
    assert member.api("get", "/artifacts").status_code == 401


def test_viewer_role_cannot_push(personas):
    response = personas["viewer"].push()
    assert response.status_code == 403
    assert error(response)["code"] == "forbidden"
    assert Artifact.objects.count() == 0


def test_patch_changes_title_and_visibility_and_audits_the_share(member, org):
    body = member.push().json()
    response = member.api(
        "patch",
        f"/artifacts/{body['id']}",
        data={"title": "New", "visibility": "org"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["visibility"]) == ("New", "org")
    event = AuditEvent.objects.get(action="artifact.share")
    assert (event.actor, event.target, event.organization) == (member.user, body["id"], org)


def test_detail_lists_versions_with_size_sha_author_and_message(member):
    body = member.push(message="one").json()
    member.push(to=body["id"], data=PAGE + b"2", message="two")
    detail = member.api("get", f"/artifacts/{body['id']}").json()
    assert [(v["number"], v["message"], v["created_by"]) for v in detail["versions"]] == [
        (1, "one", "member@example.com"),
        (2, "two", "member@example.com"),
    ]
    assert detail["versions"][0]["size"] == len(PAGE)
    assert len(detail["versions"][0]["sha256"]) == 64


def test_delete_moves_the_artifact_to_the_trash_gone_for_everyone_and_is_audited(member):
    body = member.push().json()
    response = member.api("delete", f"/artifacts/{body['id']}")
    assert response.status_code == 204
    trashed = Artifact.objects.get(pk=body["id"])
    assert trashed.trashed_at is not None and trashed.trashed_by == member.user
    assert Version.objects.filter(artifact=trashed).count() == 1  # until the grace period ends
    assert member.api("get", f"/artifacts/{body['id']}").status_code == 404
    assert member.api("delete", f"/artifacts/{body['id']}").status_code == 404
    assert member.push(to=body["id"]).status_code == 404
    assert member.client.get(f"/a/{body['id']}/").status_code == 404
    assert AuditEvent.objects.filter(action="artifact.delete", target=body["id"]).count() == 1


def test_openapi_schema_documents_the_api(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/artifacts",
        "/api/v1/artifacts/{artifact_id}",
        "/api/v1/artifacts/{artifact_id}/versions",
        "/api/v1/artifacts/{artifact_id}/versions/{number}/source",
    ):
        assert path in paths


def test_upload_form_follows_the_same_rules(member):
    response = member.client.post(
        "/upload/",
        {
            "org": "acme",
            "title": "Form",
            "visibility": "org",
            "file": SimpleUploadedFile("f.html", PAGE),
        },
    )
    assert response.status_code == 302
    artifact = Artifact.objects.get()
    assert response["Location"] == f"http://localhost:8000/a/{artifact.pk}/"
    assert (artifact.title, artifact.visibility) == ("Form", "org")
    bad = member.client.post(
        "/upload/", {"org": "acme", "file": SimpleUploadedFile("f.exe", b"MZ")}
    )
    assert bad.status_code == 415
    assert Artifact.objects.count() == 1


def test_public_ids_are_128_random_bits_never_starting_with_a_dash():
    from artifacts.models import new_public_id

    ids = {new_public_id() for _ in range(5000)}
    assert len(ids) == 5000
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
