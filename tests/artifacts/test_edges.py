"""Edges found in review: refused uploads on every entry point, JSON errors for every API
failure, grants after a password change, app files on the sandbox, background rendering."""

import hashlib
import json

from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from artifacts import storage
from artifacts.models import Artifact
from artifacts.render import RENDER_SYNC_LIMIT
from artifacts.tasks import blob_render
from tests.helpers import APP_HOST, SANDBOX_HOST, frame_src, sandbox_get

MAX = 16 * 1024 * 1024


def test_a_file_of_another_type_posted_anywhere_is_not_a_500(db):
    response = Client(HTTP_HOST=APP_HOST).post(
        "/accounts/login/",
        {"login": "x@example.com", "file": SimpleUploadedFile("x.png", b"\x89PNG")},
    )
    assert response.status_code == 200  # the login form again, the file ignored


def test_an_oversized_web_upload_says_413_not_csrf(member):
    client = Client(HTTP_HOST=APP_HOST, enforce_csrf_checks=True)
    client.force_login(member.user)
    client.get("/upload/")  # sets the CSRF cookie, as a browser has it
    response = client.post(
        "/upload/",
        data=b"--x\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(MAX + 1024 * 1024),
    )
    assert response.status_code == 413
    assert "larger than the limit" in response.content.decode()


def test_api_errors_are_json_everywhere(member):
    unknown = member.api("get", "/nope")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    wrong_method = member.api("put", "/artifacts")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    artifact_id = member.push().json()["id"]
    malformed = member.api(
        "patch", f"/artifacts/{artifact_id}", data="{not json", content_type="application/json"
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "invalid"


def test_a_password_change_revokes_grants_of_other_sessions(personas):
    viewer = personas["viewer"]
    artifact_id = personas["member"].push(visibility="org").json()["id"]
    url = frame_src(viewer.client.get(f"/a/{artifact_id}/"))
    assert sandbox_get(url).status_code == 200
    viewer.user.set_password("a-new-password-123")
    viewer.user.save()
    assert sandbox_get(url).status_code == 404


def test_the_database_holds_neither_the_grant_nor_the_session_key(member):
    from artifacts.models import SandboxGrant
    from artifacts.sandbox.grants import grant_url

    artifact_id = member.push().json()["id"]
    url = frame_src(member.client.get(f"/a/{artifact_id}/"))
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert url == grant_url(token)
    stored = SandboxGrant.objects.get(artifact_id=artifact_id)
    session_key = member.client.session.session_key
    row = repr(list(SandboxGrant.objects.filter(pk=stored.pk).values_list()))
    assert token not in row and session_key not in row
    assert stored.session_hash == hashlib.sha256(session_key.encode()).hexdigest()


def test_app_static_files_are_not_served_on_the_sandbox_host(db):
    assert Client(HTTP_HOST=APP_HOST).get("/static/app.css").status_code == 200
    response = Client(HTTP_HOST=SANDBOX_HOST).get(
        "/static/app.css", headers={"Sec-Fetch-Dest": "iframe"}
    )
    assert response.status_code == 404
    assert b"Open this in the app" in response.content


def test_big_markdown_renders_in_the_background_and_the_viewer_waits_for_it(
    member, django_capture_on_commit_callbacks
):
    source = ("# Big\n\n" + "Some *text* here.\n\n" * (RENDER_SYNC_LIMIT // 18 + 10)).encode()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        body = member.push(data=source, name="big.md", visibility="org").json()
    sha = Artifact.objects.get(pk=body["id"]).versions.get().blob_id
    # Two things wait for the commit, the search index and the render; nothing ran yet.
    assert len(callbacks) == 2 and not storage.rendered_exists(sha)  # the push did not wait
    # Its render queued (that callback), not run yet: the viewer does not queue it again.
    cache.set(f"render-queued:{sha}", 1)
    page = member.client.get(f"/a/{body['id']}/")
    assert b'id="rendering"' in page.content
    assert member.client.get(f"/a/{body['id']}/v/1/rendered").json() == {"ready": False}
    waiting = sandbox_get(frame_src(page))
    assert waiting.status_code == 202 and b"Rendering" in waiting.content
    cache.delete(f"render-queued:{sha}")
    blob_render(sha)  # what the worker does
    assert member.client.get(f"/a/{body['id']}/v/1/rendered").json() == {"ready": True}
    page = member.client.get(f"/a/{body['id']}/")
    assert b'id="rendering"' not in page.content
    rendered = b"".join(sandbox_get(frame_src(page)).streaming_content)
    assert b"<h1" in rendered and b"<em>text</em>" in rendered


def test_outsider_cannot_poll_render_status(personas):
    body = personas["member"].push(data=b"# x", name="x.md", visibility="org").json()
    assert personas["outsider"].client.get(f"/a/{body['id']}/v/1/rendered").status_code == 404
    assert json.loads(personas["viewer"].client.get(f"/a/{body['id']}/v/1/rendered").content) == {
        "ready": True
    }


def test_numbers_in_requests_are_ascii_digits_or_ignored_never_a_500(personas):
    """str.isdigit() takes '²' and int() refuses it; int() takes '١٢' and ' 7'; a number
    too big for its column fails in PostgreSQL. Each is ignored or refused, never a 500."""
    member, admin = personas["member"], personas["admin"]
    artifact_id = member.push().json()["id"]
    for bad in ("²", "١", " 1", "1_0", "-1", "99999999999"):
        viewer = member.client.get(f"/a/{artifact_id}/", {"v": bad})
        assert viewer.status_code == 200, bad  # the picker's value ignored: the latest
        for end in ("to", "from"):
            diff = member.client.get(f"/a/{artifact_id}/diff", {end: bad})
            assert diff.status_code == 404, bad
        policy = admin.client.post(
            "/org/acme/admin/retention/policy",
            {
                "retention_unshared_days": bad,
                "retention_notice_days": "7",
                "retention_grace_days": "30",
            },
            follow=True,
        )
        # (form fields are trimmed: " 1" is 1 there)
        assert (b"retention_unshared_days must be" in policy.content) == (bad != " 1"), bad
        page = admin.client.post(
            "/org/acme/admin/invitations/revoke", {"invitation": bad}, follow=True
        )
        assert page.status_code == 200 and b"No such pending invitation." in page.content
    audit = admin.api("get", "/org/audit", data={"page": "9" * 30})  # past any OFFSET
    assert audit.status_code == 200 and audit.json()["events"] == []
    assert member.client.get(f"/a/{artifact_id}/", {"v": "1"})["Location"].endswith("/v/1/")


def test_json_errors_made_outside_the_api_carry_the_app_security_headers(member):
    """Django's own 404 and 405 under /api/, rewritten as JSON, leave through the security
    middleware like every other response of the app host."""
    for response in (member.api("get", "/nope"), member.api("put", "/artifacts")):
        assert response["Content-Type"] == "application/json"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_the_viewer_asks_again_for_a_render_the_push_could_not_queue(
    member, django_capture_on_commit_callbacks
):
    """A broker outage at push time costs the queued render, not the page: the viewer asks
    for it (tasks run in-process here, so it is rendered at once)."""
    source = ("# Bigger\n\n" + "Some *text* here.\n\n" * (RENDER_SYNC_LIMIT // 18 + 10)).encode()
    with django_capture_on_commit_callbacks(execute=False):  # the queueing never happens
        body = member.push(data=source, name="big.md").json()
    sha = Artifact.objects.get(pk=body["id"]).versions.get().blob_id
    assert not storage.rendered_exists(sha)
    assert b'id="rendering"' in member.client.get(f"/a/{body['id']}/").content
    assert storage.rendered_exists(sha)  # asked for by that view (and done, in-process)
    assert member.client.get(f"/a/{body['id']}/v/1/rendered").json() == {"ready": True}
