"""Precompressed variants: made once per blob after the push, served by Accept-Encoding with
their own strong ETag, never when they would not help."""

import gzip
import hashlib

import brotli
import pytest

from tests.helpers import frame_src, sandbox_get

PAGE = b"<!doctype html><title>big</title>" + b"<p>the same line, again and again</p>\n" * 5000


@pytest.fixture
def pushed(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the compression task, eagerly
        body = member.push(data=PAGE).json()
    return body


def _get(member, artifact_id, **headers):
    return sandbox_get(frame_src(member.client.get(f"/a/{artifact_id}/")), **headers)


@pytest.mark.parametrize(
    ("accept", "encoding", "decode"),
    [
        ("gzip, deflate, br, zstd", "br", brotli.decompress),
        ("gzip", "gzip", gzip.decompress),
        ("br;q=0, gzip;q=0.5", "gzip", gzip.decompress),
        ("gzip;q=0, br;q=0", "", bytes),
        ("", "", bytes),
    ],
)
def test_the_sandbox_sends_the_best_variant_the_client_accepts(
    member, pushed, accept, encoding, decode
):
    response = _get(member, pushed["id"], **{"Accept-Encoding": accept})
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert decode(body) == PAGE
    assert response.get("Content-Encoding", "") == encoding
    assert response["Vary"] == "Accept-Encoding"
    sha = hashlib.sha256(PAGE).hexdigest()
    assert response["ETag"] == (f'"{sha}-{encoding}"' if encoding else f'"{sha}"')
    if encoding:
        assert len(body) < len(PAGE) / 10
    # The CSP and the rest of the sandbox headers are there whatever the encoding.
    assert response["Content-Security-Policy"].startswith("default-src 'none'")


def test_a_variant_revalidates_with_its_own_etag(member, pushed):
    first = _get(member, pushed["id"], **{"Accept-Encoding": "br"})
    again = _get(member, pushed["id"], **{"Accept-Encoding": "br", "If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again["ETag"] == first["ETag"]
    plain = _get(member, pushed["id"], **{"If-None-Match": first["ETag"]})
    assert plain.status_code == 200  # another representation


def test_small_pages_get_no_variant(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        body = member.push(data=b"<p>tiny</p>").json()
    response = _get(member, body["id"], **{"Accept-Encoding": "br, gzip"})
    assert "Content-Encoding" not in response
    assert b"".join(response.streaming_content) == b"<p>tiny</p>"


def test_rendered_markdown_is_compressed_too(member, django_capture_on_commit_callbacks):
    source = b"# Notes\n\n" + b"* a point worth repeating\n" * 3000
    with django_capture_on_commit_callbacks(execute=True):
        body = member.push(data=source, name="notes.md").json()
    response = _get(member, body["id"], **{"Accept-Encoding": "gzip"})
    assert response["Content-Encoding"] == "gzip"
    page = gzip.decompress(b"".join(response.streaming_content))
    assert page.count(b"<li>") == 3000
    assert response["ETag"].endswith('-md-gzip"')
    assert "script-src 'none'" in response["Content-Security-Policy"]
