"""Production settings, health endpoints and gunicorn's logs, checked on real processes."""

import json
import os
import subprocess
import sys
import tempfile
import time

import httpx
import pytest

from tests.liveserver import ROOT, free_port

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "x" * 60 + "-production-test-key-not-secret",
    "DATABASE_URL": "sqlite:////tmp/never-opened.sqlite3",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ARTIFACTS_APP_URL": "https://artifacts.example.com",
    "ARTIFACTS_SANDBOX_URL": "https://usercontent.example.net",
}


def _manage(*args, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "ARTIFACTS_DATA_DIR": tempfile.mkdtemp(prefix="artifacts-prod-"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_with_no_warnings():
    result = _manage("check", "--deploy", "--fail-level=WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"])
def test_a_missing_required_variable_fails_loudly_by_name(missing):
    env = {**PRODUCTION, missing: ""}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert f"Production settings need {missing}" in result.stderr


def test_plain_http_origins_are_refused_in_production():
    result = _manage("check", **{**PRODUCTION, "ARTIFACTS_SANDBOX_URL": "http://u.example.net"})
    assert result.returncode != 0
    assert "ARTIFACTS_SANDBOX_URL must be an https:// URL" in result.stderr


def test_production_cookies_are_host_only_secure_and_prefixed():
    script = (
        "from django.conf import settings as s; print(s.SESSION_COOKIE_NAME, "
        "s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SESSION_COOKIE_DOMAIN, s.SECURE_HSTS_SECONDS)"
    )
    result = _manage("shell", "-c", script, **PRODUCTION)
    assert result.stdout.splitlines()[-1].split() == [
        "__Host-sessionid",
        "__Host-csrftoken",
        "True",
        "True",
        "None",
        "31536000",
    ]


def test_health_is_ok_on_both_hosts(client, db):
    for host in ("localhost:8000", "usercontent.localhost:8000"):
        response = client.get("/_/health", HTTP_HOST=host)
        assert response.status_code == 200, host
        assert response.json()["checks"]["database"] == "ok"
        assert response.json()["checks"]["storage"] == "ok"


def test_health_is_503_naming_the_database_when_it_is_down():
    script = (
        "from django.test import Client; r = Client().get('/_/health', "
        "HTTP_HOST='localhost:8000'); print(r.status_code, r.content.decode())"
    )
    result = _manage("shell", "-c", script, DATABASE_URL="postgres://postgres@127.0.0.1:9/none")
    status, body = result.stdout.splitlines()[-1].split(" ", 1)
    assert status == "503", result.stderr
    assert json.loads(body)["checks"]["database"] == "unavailable"
    assert json.loads(body)["checks"]["storage"] == "ok"


def test_gunicorn_config_logs_json_lines_without_grants(tmp_path):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",
        "ARTIFACTS_DATA_DIR": str(tmp_path),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "ARTIFACTS_SANDBOX_URL": f"http://usercontent.localhost:{port}",
        "ARTIFACTS_APP_URL": f"http://localhost:{port}",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    log = tmp_path / "access.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.conf.py",
            "config.wsgi",
            "--access-logfile",
            str(log),
        ],
        cwd=ROOT,
        env=env,
    )
    grant = "A" * 43
    try:
        for _ in range(100):
            try:
                health = httpx.get(
                    f"http://127.0.0.1:{port}/_/health", headers={"Host": f"localhost:{port}"}
                )
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        sandbox = httpx.get(
            f"http://127.0.0.1:{port}/g/{grant}/",
            headers={"Host": f"usercontent.localhost:{port}", "Sec-Fetch-Dest": "iframe"},
        )
        assert sandbox.status_code == 404
    finally:
        proc.terminate()
        proc.wait(10)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["path"], e["status"]) for e in lines] == [
        ("/_/health", 200),
        ("/g/[grant]/", 404),
    ]
    assert grant not in log.read_text()
    assert {"time", "method", "duration_ms", "remote_addr", "user_agent"} <= lines[0].keys()


def _python(code: str, **env) -> subprocess.CompletedProcess:
    base = {
        k: v for k, v in os.environ.items() if k not in PRODUCTION and k != "DJANGO_SETTINGS_MODULE"
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "ARTIFACTS_DATA_DIR": tempfile.mkdtemp(prefix="artifacts-prod-"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi", "config.celery_app"])
def test_servers_started_without_settings_run_production_never_debug(module):
    """gunicorn config.wsgi, an ASGI server or `celery -A config` with no
    DJANGO_SETTINGS_MODULE: the production settings, which want their variables."""
    code = f"import {module}; from django.conf import settings; print(settings.DEBUG)"
    bare = _python(code)
    assert bare.returncode != 0 and "Production settings need" in bare.stderr
    configured = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SETTINGS_MODULE"}
    ready = _python(code, DJANGO_DEBUG="true", **configured)
    assert ready.returncode == 0, ready.stderr
    assert ready.stdout.strip().splitlines()[-1] == "False"


def test_an_unreadable_yes_no_variable_stops_the_start_naming_it():
    result = _manage("check", DJANGO_DEBUG="ture")
    assert result.returncode != 0
    assert "DJANGO_DEBUG='ture'" in result.stderr
    assert _manage("check", DJANGO_DEBUG="").returncode == 0  # empty: the default
