"""A real server for black-box tests: gunicorn on its own data dir, set up with the
operator commands and driven over HTTP only (the browser and CLI tests use it).

Its pieces: `app_env` (the environment of one install), `manage` (an operator command),
`install` (a fresh data dir), `gunicorn_start` and `process_stop`."""

import contextlib
import os
import shutil
import signal
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


def free_port() -> int:
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


def app_env(data_dir: str | Path, port: int, **extra: str) -> dict:
    """The environment of an install on `data_dir` served on `port`: its own SQLite and
    blobs (the suite's test database and Redis are not shared), local settings, no debug.
    `extra` adds to it (e.g. REDIS_URL, ARTIFACTS_RETENTION_EVERY)."""
    env = {
        **os.environ,
        "ARTIFACTS_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",
        "ARTIFACTS_APP_URL": f"http://localhost:{port}",
        "ARTIFACTS_SANDBOX_URL": f"http://usercontent.localhost:{port}",
    }
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    env.update(extra)
    return env


def manage(env: dict, *args: str) -> str:
    """An operator command (`manage.py ...`); its output, or an error showing its stderr."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def install(env: dict) -> None:
    """A fresh data dir: the database, its cache table and the collected static files."""
    manage(env, "migrate", "--verbosity=0")
    manage(env, "createcachetable")
    manage(env, "collectstatic", "--noinput", "--verbosity=0")


def process_stop(proc: subprocess.Popen | None, timeout: float = 15, group: bool = False) -> None:
    """Terminate a process this suite started, killing it if it does not stop in time.
    `group`: it was started in a session of its own (start_new_session=True), and what is
    left of its process group is killed too."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    if group:
        with contextlib.suppress(ProcessLookupError):  # nothing left of it
            os.killpg(proc.pid, signal.SIGKILL)


def gunicorn_start(env: dict, port: int, timeout: float = 30, **popen) -> subprocess.Popen:
    """gunicorn serving the install of `env` on 127.0.0.1:`port`, once it answers HTTP."""
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
            "--no-control-socket",  # its default path is one per user, shared by every node
        ],
        cwd=ROOT,
        env=env,
        **popen,
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(
                f"http://127.0.0.1:{port}/_/health",
                headers={"Host": f"localhost:{port}"},
                timeout=1,
            )
            return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            process_stop(proc)
            raise AssertionError(f"gunicorn on port {port} did not start (exit {proc.returncode})")
        time.sleep(0.1)


@pytest.fixture(scope="session", name="server")
def server_fixture():
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="artifacts-live-")
    proc = None
    try:
        env = app_env(data_dir, port)
        install(env)
        manage(env, "create_org", "acme")
        manage(
            env,
            "add_member",
            "acme",
            "ann@example.com",
            "--role",
            "member",
            "--password",
            "browser-pass-1",
        )
        token = manage(env, "create_token", "acme", "ann@example.com").splitlines()[-1]
        proc = gunicorn_start(env, port)
        yield Server(
            f"http://localhost:{port}",
            f"http://usercontent.localhost:{port}",
            "ann@example.com",
            "browser-pass-1",
            token,
        )
    finally:
        process_stop(proc)
        shutil.rmtree(data_dir, ignore_errors=True)
