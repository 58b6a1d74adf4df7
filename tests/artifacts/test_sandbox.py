"""The sandbox origin: exact headers, iframe-only serving, grants re-checked on every
request, nothing of the app reachable, and the viewer page's own CSP."""

import re
import tracemalloc

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orgs.models import Role
from orgs.services import member_remove
from tests.helpers import SANDBOX_HOST, frame_src, sandbox_get

CSP_SCRIPTS = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data: blob:; media-src data: blob:; font-src data:; "
    "connect-src 'none'; frame-src 'none'; child-src 'none'; worker-src 'none'; "
    "object-src 'none'; manifest-src 'none'; form-action 'none'; base-uri 'none'; "
    "frame-ancestors http://localhost:8000; sandbox allow-scripts allow-forms allow-downloads; "
    "webrtc 'block'"
)
CSP_NO_SCRIPTS = CSP_SCRIPTS.replace(
    "script-src 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval'", "script-src 'none'"
).replace("sandbox allow-scripts allow-forms", "sandbox allow-forms")


def assert_sandbox_headers(response, csp=CSP_NO_SCRIPTS):
    assert response["Content-Security-Policy"] == csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Cache-Control"] == "private, no-cache"
    assert "camera=()" in response["Permissions-Policy"]
    assert "Set-Cookie" not in response
    assert not response.cookies
    assert "X-Frame-Options" not in response


@pytest.fixture
def shared_artifact(personas):
    return personas["member"].push(visibility="org").json()["id"]


def open_viewer(persona, artifact_id, path=""):
    page = persona.client.get(f"/a/{artifact_id}/{path}")
    assert page.status_code == 200
    return frame_src(page)


def test_content_has_the_exact_sandbox_headers_and_a_strong_etag(member, shared_artifact):
    response = sandbox_get(open_viewer(member, shared_artifact))
    assert response.status_code == 200
    assert_sandbox_headers(response, CSP_SCRIPTS)
    assert re.fullmatch(r'"[0-9a-f]{64}"', response["ETag"])
    assert response["Content-Type"] == "text/html; charset=utf-8"


def test_if_none_match_gives_304(member, shared_artifact):
    url = open_viewer(member, shared_artifact)
    etag = sandbox_get(url)["ETag"]
    response = sandbox_get(url, **{"If-None-Match": etag})
    assert response.status_code == 304
    assert_sandbox_headers(response, CSP_SCRIPTS)  # a revalidation must not drop the scripts


@pytest.mark.parametrize("dest", [None, "document", "empty", "script"])
def test_without_iframe_destination_the_sandbox_shows_open_in_app(member, shared_artifact, dest):
    response = sandbox_get(open_viewer(member, shared_artifact), dest=dest)
    assert response.status_code == 404
    assert b"Open this in the app" in response.content
    assert b"Hello" not in response.content
    assert_sandbox_headers(response)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/g/unknown-grant-aaaaaaaaaaaaaaaa/",
        "/admin/",
        "/api/v1/openapi.json",
        "/accounts/login/",
        "/tokens/",
        "/static/app.css",
    ],
)
def test_nothing_of_the_app_is_reachable_on_the_sandbox_host(db, path):
    response = Client(HTTP_HOST=SANDBOX_HOST).get(path, headers={"Sec-Fetch-Dest": "iframe"})
    assert response.status_code == 404
    assert b"Open this in the app" in response.content
    assert_sandbox_headers(response)


def test_sandbox_ignores_app_cookies(member, shared_artifact):
    session_cookie = member.client.cookies["sessionid"].value
    client = Client(HTTP_HOST=SANDBOX_HOST)
    client.cookies["sessionid"] = session_cookie
    response = client.get("/", headers={"Sec-Fetch-Dest": "iframe"})
    assert response.status_code == 404
    assert "Set-Cookie" not in response


def test_sandbox_requests_never_reach_the_apps_middleware(member, shared_artifact):
    """The sandbox has its own stack: a POST without a CSRF token is not refused by the
    app's CSRF middleware (403) but answered by the sandbox (404), and no session, CSRF
    or message cookie is ever set, whatever the request carried."""
    url = open_viewer(member, shared_artifact)
    path = url.split(SANDBOX_HOST, 1)[1]
    client = Client(HTTP_HOST=SANDBOX_HOST, enforce_csrf_checks=True)
    client.cookies["sessionid"] = member.client.cookies["sessionid"].value
    client.cookies["messages"] = "x"
    posted = client.post(path, headers={"Sec-Fetch-Dest": "iframe"})
    assert posted.status_code == 404 and b"Open this in the app" in posted.content
    assert_sandbox_headers(posted)
    got = client.get(path, headers={"Sec-Fetch-Dest": "iframe"})
    assert got.status_code == 200 and not got.cookies
    assert got.wsgi_request.COOKIES == {}
    assert not hasattr(got.wsgi_request, "session") and not hasattr(got.wsgi_request, "user")


def test_sandbox_gets_https_redirect_and_hsts_like_the_app(member, shared_artifact, settings):
    url = open_viewer(member, shared_artifact)
    path = url.split(SANDBOX_HOST, 1)[1]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    client = Client(HTTP_HOST=SANDBOX_HOST)  # a new client loads the middleware anew
    plain = client.get(path, headers={"Sec-Fetch-Dest": "iframe"})
    assert plain.status_code == 301 and plain["Location"] == f"https://{SANDBOX_HOST}{path}"
    assert_sandbox_headers(plain)
    secure = client.get(path, headers={"Sec-Fetch-Dest": "iframe"}, secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=3600"
    assert_sandbox_headers(secure, CSP_SCRIPTS)


@pytest.mark.parametrize("path", ["/nothing/", "/raises/"])
def test_a_failing_sandbox_view_gets_the_sandbox_500_with_its_headers(db, settings, path):
    settings.SANDBOX_URLCONF = "tests.artifacts.sandbox_broken_urls"
    client = Client(HTTP_HOST=SANDBOX_HOST, raise_request_exception=False)
    response = client.get(path, headers={"Sec-Fetch-Dest": "iframe"})
    assert response.status_code == 500
    assert b"Open this in the app" in response.content
    assert_sandbox_headers(response)


def test_markdown_is_served_rendered_without_scripts(member):
    body = member.push(
        data=b"# Title\n\n<script>alert(1)</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        name="notes.md",
    ).json()
    response = sandbox_get(open_viewer(member, body["id"]))
    assert response.status_code == 200
    html = b"".join(response.streaming_content).decode()
    assert "<h1" in html and "<table" in html
    assert "<script" not in html.lower()
    assert_sandbox_headers(response, CSP_NO_SCRIPTS)


def test_removing_the_member_revokes_a_grant_already_handed_out(personas, shared_artifact, org):
    url = open_viewer(personas["other_member"], shared_artifact)
    assert sandbox_get(url).status_code == 200
    member_remove(organization=org, email="other@example.com")
    response = sandbox_get(url)
    assert response.status_code == 404
    assert_sandbox_headers(response)


def test_unsharing_revokes_other_members_grants_but_not_the_authors(personas, shared_artifact):
    author_url = open_viewer(personas["member"], shared_artifact)
    other_url = open_viewer(personas["other_member"], shared_artifact)
    personas["member"].api(
        "patch",
        f"/artifacts/{shared_artifact}",
        data={"visibility": "private"},
        content_type="application/json",
    )
    assert sandbox_get(other_url).status_code == 404
    assert sandbox_get(author_url).status_code == 200


def test_logout_revokes_grants_of_that_session(personas, shared_artifact):
    url = open_viewer(personas["viewer"], shared_artifact)
    personas["viewer"].client.post("/accounts/logout/")
    assert sandbox_get(url).status_code == 404


def test_deactivating_the_user_revokes_grants(personas, shared_artifact):
    url = open_viewer(personas["viewer"], shared_artifact)
    get_user_model().objects.filter(pk=personas["viewer"].user.pk).update(is_active=False)
    assert sandbox_get(url).status_code == 404


def test_demoting_to_viewer_keeps_access_to_shared_artifacts(personas, shared_artifact, org):
    from orgs.services import member_add

    url = open_viewer(personas["other_member"], shared_artifact)
    member_add(organization=org, email="other@example.com", role=Role.VIEWER)
    assert sandbox_get(url).status_code == 200


def test_versioned_grant_serves_exactly_that_version(member):
    first = member.push(data=b"<p>one</p>").json()
    member.push(data=b"<p>two</p>", to=first["id"])
    v1 = sandbox_get(open_viewer(member, first["id"], "v/1/"))
    latest = sandbox_get(open_viewer(member, first["id"]))
    assert b"".join(v1.streaming_content) == b"<p>one</p>"
    assert b"".join(latest.streaming_content) == b"<p>two</p>"


def test_serving_16_mib_streams_without_holding_the_file(member):
    data = b"<p>" + b"x" * (16 * 1024 * 1024 - 3)
    body = member.push(data=data).json()
    url = open_viewer(member, body["id"])
    tracemalloc.start()
    response = sandbox_get(url)
    total = sum(len(chunk) for chunk in response.streaming_content)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert total == len(data)
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes while serving 16 MiB"


def test_viewer_page_frames_only_the_sandbox_origin(member, shared_artifact):
    page = member.client.get(f"/a/{shared_artifact}/")
    csp = page["Content-Security-Policy"]
    assert "frame-src http://usercontent.localhost:8000;" in csp + ";"
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if " " in d.strip())
    assert directives["frame-src"] == "http://usercontent.localhost:8000"
    html = page.content.decode()
    iframe = re.search(r"<iframe[^>]*>", html).group(0)
    sandbox_attr = re.search(r'sandbox="([^"]*)"', iframe).group(1).split()
    assert "allow-scripts" in sandbox_attr
    for forbidden in (
        "allow-same-origin",
        "allow-popups",
        "allow-top-navigation",
        "allow-top-navigation-by-user-activation",
    ):
        assert forbidden not in sandbox_attr
    assert 'referrerpolicy="no-referrer"' in iframe
    nonce = re.search(r"'nonce-([^']+)'", directives["script-src"]).group(1)
    assert all(f'nonce="{nonce}"' in tag for tag in re.findall(r"<script[^>]*>", html))


def test_markdown_viewer_iframe_has_no_allow_scripts(member):
    body = member.push(data=b"# hi", name="a.md").json()
    page = member.client.get(f"/a/{body['id']}/")
    iframe = re.search(r"<iframe[^>]*>", page.content.decode()).group(0)
    assert "allow-scripts" not in iframe


def test_grants_are_redacted_from_access_logs():
    import logging

    from config.logfilters import RedactGrantsFilter

    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        "",
        0,
        '"%s" %s %s',
        ("GET /g/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd/ HTTP/1.1", "200", "5"),
        None,
    )
    RedactGrantsFilter().filter(record)
    assert record.getMessage() == '"GET /g/[grant]/ HTTP/1.1" 200 5'
