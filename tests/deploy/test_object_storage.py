"""Blobs on S3-compatible object storage, a configuration change (STORAGES["blobs"]): tested
against moto's S3 server, started here. Pushes land as objects, the sandbox streams them
with its headers, source downloads go by a short-lived signed URL, variants and the
collector work the same."""

import gzip
import hashlib
import socket
import subprocess
import sys
import time

import boto3
import httpx
import pytest
from django.test import override_settings
from django.utils import timezone

from artifacts.models import Blob
from artifacts.retention.enforce import BLOB_LEASE, blobs_collect
from tests.helpers import frame_src, sandbox_get

BUCKET = "artifacts-test"
CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region_name": "us-east-1"}
PAGE = b"<!doctype html><title>s3</title>" + b"<p>stored as an object, streamed back</p>\n" * 2000


@pytest.fixture(scope="module")
def s3_endpoint():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(endpoint, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=BUCKET)
        yield endpoint, client
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def on_s3(s3_endpoint, settings):
    endpoint, client = s3_endpoint
    prefix = f"run-{time.monotonic_ns()}"  # each test its own objects
    with override_settings(
        STORAGES={
            **settings.STORAGES,
            "blobs": {
                "BACKEND": "artifacts.storage.S3BlobStorage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "endpoint_url": endpoint,
                    "location": prefix,
                    "querystring_expire": 60,
                    "max_memory_size": 1024 * 1024,
                    **CREDENTIALS,
                },
            },
        }
    ):
        yield client, prefix


def _keys(client, prefix) -> set[str]:
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/").get("Contents", [])
    return {item["Key"].removeprefix(prefix + "/") for item in listed}


def test_a_push_lands_as_an_object_and_the_sandbox_streams_it_back(member, on_s3):
    client, prefix = on_s3
    body = member.push(data=PAGE).json()
    sha = hashlib.sha256(PAGE).hexdigest()
    assert f"{sha[:2]}/{sha[2:4]}/{sha}" in _keys(client, prefix)
    response = sandbox_get(frame_src(member.client.get(f"/a/{body['id']}/")))
    assert response.status_code == 200 and response.streaming
    assert b"".join(response.streaming_content) == PAGE
    assert response["Content-Length"] == str(len(PAGE))
    assert response["ETag"] == f'"{sha}"'
    assert response["Content-Security-Policy"].startswith("default-src 'none'")


def test_source_downloads_go_by_a_short_lived_signed_url(member, on_s3, s3_endpoint):
    endpoint, _ = s3_endpoint
    body = member.push(data=PAGE).json()
    response = member.api("get", f"/artifacts/{body['id']}/versions/1/source")
    assert response.status_code == 302
    url = response["Location"]
    assert url.startswith(f"{endpoint}/{BUCKET}/")
    assert "X-Amz-Expires=60" in url or "Expires=" in url  # signed, short-lived
    fetched = httpx.get(url)
    assert fetched.status_code == 200 and fetched.content == PAGE
    assert fetched.headers["Content-Disposition"].startswith("attachment;")
    assert httpx.get(url.split("?")[0]).status_code == 403  # private without the signature


def test_markdown_and_variants_are_stored_and_served_from_s3(
    member, on_s3, django_capture_on_commit_callbacks
):
    client, prefix = on_s3
    source = b"# On S3\n\n" + b"* rendered once, compressed once\n" * 2000
    with django_capture_on_commit_callbacks(execute=True):
        body = member.push(data=source, name="notes.md").json()
    sha = hashlib.sha256(source).hexdigest()
    assert {f"rendered/{sha[:2]}/{sha}.html", f"rendered/{sha[:2]}/{sha}.html.gz"} <= _keys(
        client, prefix
    )
    response = sandbox_get(
        frame_src(member.client.get(f"/a/{body['id']}/")), **{"Accept-Encoding": "gzip"}
    )
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(b"".join(response.streaming_content)).count(b"<li>") == 2000


def test_the_collector_deletes_unreferenced_objects(member, on_s3):
    client, prefix = on_s3
    body = member.push(data=PAGE).json()
    sha = hashlib.sha256(PAGE).hexdigest()
    member.api("delete", f"/artifacts/{body['id']}")
    from artifacts.models import Artifact

    Artifact.objects.filter(pk=body["id"]).delete()  # as the purge does, after the grace
    Blob.objects.filter(pk=sha).update(touched_at=timezone.now() - 2 * BLOB_LEASE)
    assert blobs_collect() == 1
    assert f"{sha[:2]}/{sha[2:4]}/{sha}" not in _keys(client, prefix)


def test_health_checks_the_object_storage(client, on_s3, db):
    response = client.get("/_/health", HTTP_HOST="localhost:8000")
    assert response.status_code == 200 and response.json()["checks"]["storage"] == "ok"
