"""Idempotency-Key: a retried push returns the first result instead of a second version."""

import hashlib
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from artifacts.models import Artifact, PushReceipt, Version
from tests.helpers import PAGE


def push(persona, key=None, to=None, data=PAGE, **fields):
    headers = {"Authorization": f"Bearer {persona.token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    path = f"/api/v1/artifacts/{to}/versions" if to else "/api/v1/artifacts"
    body = {"file": SimpleUploadedFile("p.html", data), **fields}
    return Client().post(path, body, headers=headers)


def test_same_key_twice_gives_one_artifact_and_the_first_result(member):
    first = push(member, key="k-1")
    again = push(member, key="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Artifact.objects.count() == 1 and Version.objects.count() == 1


def _refused_as_reused(response):
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert "Idempotent-Replayed" not in response


def test_a_key_reused_with_other_bytes_is_refused_and_nothing_is_stored(member):
    first = push(member, key="k", data=b"<p>one</p>").json()
    _refused_as_reused(push(member, key="k", data=b"<p>two</p>"))
    _refused_as_reused(push(member, key="k", to=first["id"], data=b"<p>two</p>"))
    assert Artifact.objects.count() == 1 and Version.objects.count() == 1
    assert not Version.objects.filter(blob__sha256=hashlib.sha256(b"<p>two</p>").hexdigest())


def test_a_key_reused_for_another_artifact_is_refused_and_nothing_is_stored(member):
    """Create A with key k, create B, then push a version to B with k: B must not be told
    it got A's version 1."""
    a = push(member, key="k", data=b"<p>a</p>").json()
    b = push(member, data=b"<p>b</p>").json()
    _refused_as_reused(push(member, key="k", to=b["id"], data=b"<p>a</p>"))
    assert Version.objects.filter(artifact_id=b["id"]).count() == 1
    # A version of A with key v, then v again for B: refused too.
    assert push(member, key="v", to=a["id"], data=b"<p>a2</p>").status_code == 201
    _refused_as_reused(push(member, key="v", to=b["id"], data=b"<p>a2</p>"))
    assert Version.objects.filter(artifact_id=b["id"]).count() == 1


def test_a_key_reused_with_other_fields_is_refused(member):
    headers = {"Authorization": f"Bearer {member.token}", "Idempotency-Key": "f"}

    def create(**fields):
        return Client().post(
            "/api/v1/artifacts",
            {"file": SimpleUploadedFile("p.html", PAGE), **fields},
            headers=headers,
        )

    first = create(title="Report", message="first")
    assert first.status_code == 201
    assert create(title="Report", message="first")["Idempotent-Replayed"] == "true"
    _refused_as_reused(create(title="Other", message="first"))
    _refused_as_reused(create(title="Report", message="second"))
    _refused_as_reused(create(title="Report", message="first", visibility="org"))
    assert Artifact.objects.count() == 1


def test_two_keys_give_two_versions(member):
    artifact_id = push(member).json()["id"]
    a = push(member, key="a", to=artifact_id, data=b"<p>a</p>").json()
    b = push(member, key="b", to=artifact_id, data=b"<p>b</p>").json()
    assert (a["version"], b["version"]) == (2, 3)
    assert push(member, key="a", to=artifact_id, data=b"<p>a</p>").json()["version"] == 2
    assert Version.objects.count() == 3


def test_keys_are_per_user(personas):
    push(personas["member"], key="shared-key")
    other = push(personas["other_member"], key="shared-key")
    assert other.status_code == 201 and "Idempotent-Replayed" not in other
    assert Artifact.objects.count() == 2


def test_an_overlong_key_is_400_and_nothing_stored(member):
    response = push(member, key="x" * 201)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert Artifact.objects.count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL; CI runs it")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fields", [{}, {"base_version": "1"}], ids=["plain", "base_version"])
def test_concurrent_twins_with_one_key_make_one_version(personas, fields):
    """Retries that overlap the first attempt: each gets its result (with base_version too:
    the twin that waited for the lock replays, it does not see a 409)."""
    member = personas["member"]
    artifact_id = push(member).json()["id"]
    barrier, results = threading.Barrier(4), []

    def twin():
        from django.db import connections

        barrier.wait()
        try:
            response = push(member, key="race", to=artifact_id, data=b"<p>r</p>", **fields)
            results.append(response.json())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=twin) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r["version"] for r in results} == {2}
    assert Version.objects.filter(artifact_id=artifact_id).count() == 2
    assert PushReceipt.objects.count() == 1


def test_me_tells_who_the_token_is(personas):
    response = personas["viewer"].api("get", "/me")
    assert response.json() == {
        "email": "viewer@example.com",
        "organization": "acme",
        "role": "viewer",
        "token_name": "test",
    }


def test_a_receipt_kept_from_before_fields_were_recorded_still_checks_target_and_bytes(member):
    a = push(member, key="old", data=b"<p>a</p>").json()
    PushReceipt.objects.update(fields=None)  # as migration 0009 leaves older receipts
    assert push(member, key="old", data=b"<p>a</p>")["Idempotent-Replayed"] == "true"
    _refused_as_reused(push(member, key="old", data=b"<p>b</p>"))
    _refused_as_reused(push(member, key="old", to=a["id"], data=b"<p>a</p>"))
