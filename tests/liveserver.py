"""A real server for black-box tests: gunicorn on its own data dir, set up with the
operator commands and driven over HTTP only (the browser and CLI tests use it)."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    # Concurrent test runs (two checkouts, CI beside a developer) must not share a server.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    app_url: str
    sandbox_url: str
    email: str
    password: str
    token: str

    def push(self, name: str, data: bytes, **fields) -> dict:
        response = httpx.post(
            f"{self.app_url}/api/v1/artifacts",
            headers={"Authorization": f"Bearer {self.token}"},
            files={"file": (name, data)},
            data=fields,
            timeout=30,
        )
        assert response.status_code == 201, response.text
        return response.json()


def _manage(env, *args) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture(scope="session", name="server")
def server_fixture():
    port = _free_port()
    data_dir = tempfile.mkdtemp(prefix="artifacts-live-")
    env = {
        **os.environ,
        "ARTIFACTS_DATA_DIR": data_dir,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",
        "ARTIFACTS_APP_URL": f"http://localhost:{port}",
        "ARTIFACTS_SANDBOX_URL": f"http://usercontent.localhost:{port}",
    }
    for name in ("DATABASE_URL", "REDIS_URL"):  # its own SQLite: the test DB is not shared
        env.pop(name, None)
    _manage(env, "migrate", "--verbosity=0")
    _manage(env, "createcachetable")
    _manage(env, "collectstatic", "--noinput", "--verbosity=0")
    _manage(env, "create_org", "acme")
    _manage(
        env,
        "add_member",
        "acme",
        "ann@example.com",
        "--role",
        "member",
        "--password",
        "browser-pass-1",
    )
    token = _manage(env, "create_token", "acme", "ann@example.com").splitlines()[-1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            # Threads: Chromium opens speculative idle connections that would each pin a
            # sync worker until its timeout.
            "--worker-class",
            "gthread",
            "--threads",
            "8",
            "--graceful-timeout",
            "3",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    app_url = f"http://localhost:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{app_url}/accounts/login/", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    yield Server(
        app_url, f"http://usercontent.localhost:{port}", "ann@example.com", "browser-pass-1", token
    )
    proc.terminate()
    proc.wait()
    shutil.rmtree(data_dir, ignore_errors=True)
