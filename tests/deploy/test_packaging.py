"""What each side installs is complete on its own.

- The server from the runtime lock alone (requirements.lock, as docs/deploy.md installs it)
  in a fresh environment: gunicorn serves it with the production settings, and a Celery
  worker on Redis answers `inspect ping`.
- The `artifact` command from the wheel a running server offers (the tokens page's
  line): installed in a fresh environment with its own dependencies only, no Django.

Fresh environments are made with uv (seconds; pip takes half a minute for the lock).
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
from artifact_cli import __version__ as cli_version

from tests.liveserver import ROOT, free_port, process_stop, server_fixture  # noqa: F401
from tests.redisproc import REDIS_SERVER, Redis, until

UV = Path(sys.executable).parent / "uv"
pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None and os.environ.get("CI") != "true",
    reason="redis-server not installed (apt-get install redis-server); CI runs these",
)


def _fresh_env(folder: Path) -> Path:
    """A new virtual environment of this Python, with nothing installed; its python."""
    subprocess.run(
        [str(UV), "venv", "--quiet", "--python", sys.executable, str(folder)], check=True
    )
    return folder / "bin" / "python"


def _uv_install(python: Path, *args: str) -> None:
    result = subprocess.run(
        [str(UV), "pip", "install", "--quiet", "--python", str(python), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def _has(python: Path, module: str) -> bool:
    """Installed in that environment (asked away from the checkout, which is importable)."""
    code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([str(python), "-c", code], cwd=python.parent, check=False).returncode == 0


def test_the_runtime_lock_alone_runs_the_web_server_and_a_worker_on_redis(tmp_path):
    python = _fresh_env(tmp_path / "venv")
    _uv_install(python, "--require-hashes", "-r", str(ROOT / "requirements.lock"))
    for dev_only in ("pytest", "ruff", "playwright", "moto", "flask", "artifact_cli", "mcp"):
        assert not _has(python, dev_only), f"{dev_only} is in the runtime lock"

    redis = Redis()
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "packaging-test-" + "k" * 50,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": redis.url,
        "ARTIFACTS_APP_URL": f"https://localhost:{port}",
        "ARTIFACTS_SANDBOX_URL": f"https://usercontent.localhost:{port}",
        "ARTIFACTS_DATA_DIR": str(tmp_path / "data"),
    }
    web = worker = None
    try:
        # Run from the checkout, as docs/deploy.md does: no install of the project itself.
        for command in (["migrate", "--verbosity=0"], ["collectstatic", "--noinput", "-v0"]):
            subprocess.run([str(python), "-m", "django", *command], cwd=ROOT, env=env, check=True)
        web = subprocess.Popen(
            [str(python), "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def healthy() -> bool:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/_/health", headers={"Host": f"localhost:{port}"}
                )
            except httpx.TransportError:
                return False
            return response.status_code == 200

        until(healthy, 30, "gunicorn from the runtime lock did not answer /_/health")
        worker = subprocess.Popen(
            [str(python), "-m", "celery", "-A", "config", "worker", "--pool=solo", "-l", "warning"],
            cwd=ROOT,
            env=env,
        )
        ping = None
        for _ in range(20):
            ping = subprocess.run(
                [str(python), "-m", "celery", "-A", "config", "inspect", "ping", "--timeout=2"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if ping.returncode == 0:
                break
        assert ping.returncode == 0, ping.stdout + ping.stderr
        assert "pong" in ping.stdout
    finally:
        process_stop(worker)
        process_stop(web)
        redis.stop()


@pytest.mark.parametrize("source", ["the server's wheel", "the cli/ folder"])
def test_the_cli_installs_on_its_own(server, tmp_path, source):
    """The tokens page's first line, run (the wheel from the server, no sign-in needed), or
    an install from a checkout's cli/: its dependencies come from the index, none of the
    server's; then `artifact --version` names both versions."""
    wheel = f"artifact_cli-{cli_version}-py3-none-any.whl"
    download = httpx.get(f"{server.app_url}/cli/{wheel}")  # no cookie, no token
    assert download.status_code == 200 and download.content[:2] == b"PK"
    assert httpx.get(f"{server.app_url}/cli/artifact_cli-0.0.1-py3-none-any.whl").status_code == 404

    python = _fresh_env(tmp_path / "laptop")
    if source == "the server's wheel":
        _uv_install(python, f"{server.app_url}/cli/{wheel}")
    else:
        _uv_install(python, str(ROOT / "cli"))
    assert not _has(python, "django") and not _has(python, "artifacts")
    artifact = python.parent / "artifact"
    version = subprocess.run(
        [str(artifact), "--version"],
        env={
            "PATH": os.environ["PATH"],
            "HOME": tempfile.mkdtemp(),
            "ARTIFACT_URL": server.app_url,
            "ARTIFACT_TOKEN": server.token,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert version.returncode == 0, version.stderr
    lines = version.stdout.splitlines()
    assert lines[0] == f"artifact-cli {cli_version}"
    assert lines[1].startswith(f"server {server.app_url}: 0.")
