"""deploy/nginx/artifacts.conf, for real: nginx from the system packages, with TLS, in
front of gunicorn running the app with X-Accel-Redirect. What reaches the client is
checked header by header, and the bytes came from nginx, not from Python."""

import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from artifacts.sandbox.serving import PERMISSIONS_POLICY
from deploy.nginx.render import render
from tests.liveserver import ROOT, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# Skipped on a laptop without nginx; never in CI (.ci/run installs it).
pytestmark = pytest.mark.skipif(
    not os.path.exists(NGINX) and os.environ.get("CI") != "true",
    reason="nginx not installed (apt-get install nginx-light); CI runs these",
)
PAGE = b"<!doctype html><title>offloaded</title><p id=marker>served by nginx</p>"


def _wait(url: str, **kwargs) -> None:
    for _ in range(150):
        try:
            if httpx.get(url, timeout=1, **kwargs).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


@pytest.fixture(scope="module")
def stack():
    tmp = Path(tempfile.mkdtemp(prefix="artifacts-nginx-"))
    tmp.chmod(0o755)  # nginx's workers (nobody) read the blobs and write their temp files
    data = tmp / "data"
    port, upstream = free_port(), free_port()
    app, sandbox = f"https://localhost:{port}", f"https://usercontent.localhost:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",
        "ARTIFACTS_DATA_DIR": str(data),
        "ARTIFACTS_APP_URL": app,
        "ARTIFACTS_SANDBOX_URL": sandbox,
        "ARTIFACTS_ACCEL_REDIRECT": "/_blobs/",
        "GUNICORN_BIND": f"127.0.0.1:{upstream}",
        "GUNICORN_WORKERS": "2",
    }

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    manage("migrate", "-v0")
    manage("collectstatic", "--noinput", "-v0")
    manage("create_org", "acme")
    manage("add_member", "acme", "ann@example.com", "--role", "member", "--password", "pw-ann-9")
    token = manage("create_token", "acme", "ann@example.com").splitlines()[-1]
    (data / "blobs").mkdir(parents=True, exist_ok=True)
    for folder in (data, data / "blobs"):
        folder.chmod(0o755)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            tmp / "tls.key",
            "-out",
            tmp / "tls.crt",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,DNS:usercontent.localhost",
        ],
        check=True,
        capture_output=True,
    )
    (tmp / "artifacts.conf").write_text(
        render(
            {
                "APP_HOST": "localhost",
                "SANDBOX_HOST": "usercontent.localhost",
                "UPSTREAM": f"127.0.0.1:{upstream}",
                "BLOB_ROOT": data / "blobs",
                "TLS_CERT": tmp / "tls.crt",
                "TLS_KEY": tmp / "tls.key",
                "HTTPS_PORT": port,
                "HTTP_PORT": free_port(),
                "LOG_DIR": tmp,
            }
        )
    )
    (tmp / "nginx.conf").write_text(
        f"""daemon off; worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/error.log warn;
events {{}}
http {{
  include /etc/nginx/mime.types;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  include {tmp}/artifacts.conf;
}}
"""
    )
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.conf.py",
            "config.wsgi",
            "--access-logfile",
            str(tmp / "gunicorn.log"),
        ],
        cwd=ROOT,
        env=env,
    )
    nginx = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf")])
    tls = ssl.create_default_context(cafile=tmp / "tls.crt")  # trust our test certificate
    try:
        _wait(f"{app}/_/health", verify=tls)
        yield {
            "app": app,
            "sandbox": sandbox,
            "token": token,
            "tmp": tmp,
            "tls": tls,
            "manage": manage,
        }
    finally:
        nginx.terminate()
        gunicorn.terminate()
        nginx.wait(10)
        gunicorn.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def session(stack):
    """Signed in through nginx, like a browser: the login form with its CSRF token."""
    client = httpx.Client(base_url=stack["app"], verify=stack["tls"], follow_redirects=False)
    form = client.get("/accounts/login/")
    assert form.status_code == 200, form.status_code
    csrf = client.cookies["csrftoken"]  # the cookie's value is a valid form token too
    signed_in = client.post(
        "/accounts/login/",
        data={"login": "ann@example.com", "password": "pw-ann-9", "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{stack['app']}/accounts/login/"},
    )
    assert signed_in.status_code == 302, signed_in.text[:500]
    return client


@pytest.fixture(scope="module")
def pushed(stack):
    response = httpx.post(
        f"{stack['app']}/api/v1/artifacts",
        headers={"Authorization": f"Bearer {stack['token']}"},
        files={"file": ("page.html", PAGE)},
        verify=stack["tls"],
    )
    assert response.status_code == 201, response.text
    return response.json()


def _sandbox_get(stack, url: str, **headers) -> httpx.Response:
    """*.localhost does not resolve outside browsers: connect to 127.0.0.1, and name the host
    in TLS (SNI, checked against the certificate) and in HTTP."""
    host = url.split("/")[2]
    with httpx.Client(verify=stack["tls"]) as client:
        request = client.build_request(
            "GET",
            url.replace(host, "127.0.0.1:" + host.rsplit(":", 1)[1]),
            headers={"Host": host, **headers},
            extensions={"sni_hostname": host.rsplit(":", 1)[0]},
        )
        return client.send(request)


def _grant_url(session, stack, pushed) -> str:
    viewer = session.get(f"/a/{pushed['id']}/")
    assert viewer.status_code == 200
    url = re.search(r'<iframe[^>]*\ssrc="([^"]+)"', viewer.text).group(1)
    assert url.startswith(f"{stack['sandbox']}/g/")
    return url


def test_the_sandbox_bytes_come_from_nginx_with_every_sandbox_header(stack, session, pushed):
    url = _grant_url(session, stack, pushed)
    response = _sandbox_get(stack, url, **{"Sec-Fetch-Dest": "iframe", "Cookie": "sessionid=leak"})
    assert response.status_code == 200
    assert response.content == PAGE
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'; script-src 'unsafe-inline'")
    assert f"frame-ancestors {stack['app']}" in csp and "sandbox allow-scripts" in csp
    assert headers.get_list("Content-Security-Policy") == [csp]  # exactly once
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Permissions-Policy"] == PERMISSIONS_POLICY
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "private, no-cache"
    etag = headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{64}"', etag)
    # (nginx adds Last-Modified, the blob file's time: harmless, and no directive drops it.)
    for absent in ("Set-Cookie", "X-Frame-Options", "X-Accel-Redirect"):
        assert absent not in headers, absent
    # A revalidation is answered by the app (304), with the sandbox headers too.
    again = _sandbox_get(
        stack,
        _grant_url(session, stack, pushed),
        **{"Sec-Fetch-Dest": "iframe", "If-None-Match": etag},
    )
    assert again.status_code == 304 and again.headers["Content-Security-Policy"] == csp
    # gunicorn sent none of the bytes: its response to the grant request was empty.
    entries = [
        json.loads(line) for line in (stack["tmp"] / "gunicorn.log").read_text().splitlines()
    ]
    grant_entries = [e for e in entries if e["path"] == "/g/[grant]/" and e["status"] == 200]
    assert grant_entries and all(e["bytes"] in (0, None) for e in grant_entries)


def test_the_internal_location_is_not_reachable_from_outside(stack, pushed):
    for base in (stack["app"], stack["sandbox"]):
        assert _sandbox_get(stack, f"{base}/_blobs/").status_code == 404


def test_top_level_opens_get_the_open_in_the_app_page_with_sandbox_headers(stack, session, pushed):
    response = _sandbox_get(stack, _grant_url(session, stack, pushed))
    assert PAGE not in response.content and "Content-Security-Policy" in response.headers


def test_source_downloads_are_offloaded_too(stack, pushed):
    response = httpx.get(
        f"{stack['app']}/api/v1/artifacts/{pushed['id']}/versions/1/source",
        headers={"Authorization": f"Bearer {stack['token']}"},
        verify=stack["tls"],
    )
    assert response.status_code == 200 and response.content == PAGE
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Content-Type"].startswith("text/plain")


def test_grants_never_reach_nginx_access_log(stack, session, pushed):
    url = _grant_url(session, stack, pushed)
    _sandbox_get(stack, url, **{"Sec-Fetch-Dest": "iframe"})
    token = url.rstrip("/").rsplit("/", 1)[1]
    log = (stack["tmp"] / "artifacts-access.log").read_text()
    assert '"path":"/g/[grant]/"' in log
    assert token not in log
    json.loads(log.splitlines()[-1])  # JSON lines


def test_precompressed_variants_pass_through_nginx_once(stack, session):
    big = b"<!doctype html><title>big</title>" + b"<p>a line nginx will send br</p>\n" * 4000
    pushed = httpx.post(
        f"{stack['app']}/api/v1/artifacts",
        headers={"Authorization": f"Bearer {stack['token']}"},
        files={"file": ("big.html", big)},
        verify=stack["tls"],
    ).json()
    sha = hashlib.sha256(big).hexdigest()
    # No worker runs beside this stack: do the background task's work by hand.
    stack["manage"](
        "shell", "-c", f"from artifacts.tasks import blob_compress; blob_compress('{sha}')"
    )
    url = _grant_url(session, stack, pushed)
    response = _sandbox_get(stack, url, **{"Sec-Fetch-Dest": "iframe", "Accept-Encoding": "br"})
    assert response.status_code == 200
    assert response.headers.get_list("Content-Encoding") == ["br"]
    assert response.headers.get_list("Vary") == ["Accept-Encoding"]
    assert response.headers["ETag"] == f'"{sha}-br"'
    assert response.content == big  # httpx decoded the brotli body
    assert int(response.headers["Content-Length"]) < len(big) / 10
