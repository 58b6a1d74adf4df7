"""Idempotency-Key: a retried push returns the first result instead of a second version."""

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from artifacts.models import Artifact, PushReceipt, Version
from tests.helpers import PAGE


def push(persona, key=None, to=None, data=PAGE):
    headers = {"Authorization": f"Bearer {persona.token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    path = f"/api/v1/artifacts/{to}/versions" if to else "/api/v1/artifacts"
    return Client().post(path, {"file": SimpleUploadedFile("p.html", data)}, headers=headers)


def test_same_key_twice_gives_one_artifact_and_the_first_result(member):
    first = push(member, key="k-1")
    again = push(member, key="k-1", data=PAGE + b"changed")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Artifact.objects.count() == 1 and Version.objects.count() == 1


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
def test_concurrent_twins_with_one_key_make_one_version(personas):
    member = personas["member"]
    artifact_id = push(member).json()["id"]
    barrier, results = threading.Barrier(4), []

    def twin():
        from django.db import connections

        barrier.wait()
        try:
            results.append(push(member, key="race", to=artifact_id, data=b"<p>r</p>").json())
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
