"""`artifact --version`, and `artifact push FILE --watch` against a live server that goes
down and comes back: one version per change, none for bytes already pushed, none lost or
made twice by the restart, Ctrl-C exits 130."""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import httpx
import pytest
from artifact_cli import __version__

from tests.liveserver import app_env, free_port, gunicorn_start, install, manage, process_stop


def test_version_names_the_cli_and_the_server(run, server):
    result = run("--version")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0] == f"artifact-cli {__version__}"
    assert lines[1].startswith(f"server {server.app_url}: ") and "unknown" not in lines[1]
    offline = run("--version", env={"ARTIFACT_URL": "http://127.0.0.1:9"})
    assert offline.returncode == 0
    assert "cannot reach" in offline.stdout.decode().splitlines()[1]


@pytest.fixture
def own_server():
    """A server this test may stop and start again, on the same port and data."""
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="artifacts-watch-")
    env = app_env(data_dir, port)
    install(env)
    manage(env, "create_org", "acme")
    manage(env, "add_member", "acme", "w@example.com", "--role", "member")
    token = manage(env, "create_token", "acme", "w@example.com").splitlines()[-1]
    state = {"proc": gunicorn_start(env, port), "env": env, "port": port, "token": token}
    yield state
    process_stop(state["proc"])
    shutil.rmtree(data_dir, ignore_errors=True)


def _line(proc, timeout=20.0) -> dict:
    """The next JSON line the watcher prints."""
    deadline = time.monotonic() + timeout
    buffer = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            buffer += os.read(proc.stdout.fileno(), 1)
            if buffer.endswith(b"\n"):
                return json.loads(buffer)
        assert proc.poll() is None, proc.stderr.read().decode()
    raise AssertionError("no version line in time")


def _quiet(proc, seconds: float) -> bool:
    ready, _, _ = select.select([proc.stdout], [], [], seconds)
    return not ready


def test_watch_pushes_each_change_once_and_rides_out_a_restart(own_server, tmp_path):
    url = f"http://localhost:{own_server['port']}"
    page = tmp_path / "live.html"
    page.write_bytes(b"<p>one</p>")
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "ARTIFACT_URL": url,
        "ARTIFACT_TOKEN": own_server["token"],
        "ARTIFACT_CONFIG": str(tmp_path / "none.json"),
    }
    watcher = subprocess.Popen(
        [sys.executable, "-m", "artifact_cli", "push", str(page), "--watch", "--json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        # Ctrl-C's default, whatever this run inherited: a shell that starts the suite in
        # the background has it ignored, and the watcher would not hear the SIGINT below.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    try:
        first = _line(watcher)
        assert first["version"] == 1
        page.write_bytes(b"<p>two</p>")
        assert _line(watcher)["version"] == 2
        page.write_bytes(b"<p>two</p>")  # rewritten, same bytes: nothing to push
        assert _quiet(watcher, 1.5)
        page.write_bytes(b"<p>\xff half-saved</p>")  # not UTF-8: reported, the watch goes on
        assert _quiet(watcher, 1.5)
        # The server goes away; the next change waits for it, then lands once.
        process_stop(own_server["proc"])
        page.write_bytes(b"<p>three</p>")
        time.sleep(3)
        own_server["proc"] = gunicorn_start(own_server["env"], own_server["port"])
        third = _line(watcher, timeout=30)
        assert third["version"] == 3
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(10) == 130
        stderr = watcher.stderr.read()
        assert b"trying again" in stderr and b"not pushed: " in stderr and b"UTF-8" in stderr
    finally:
        process_stop(watcher)
    detail = httpx.get(
        f"{url}/api/v1/artifacts/{first['id']}",
        headers={"Authorization": f"Bearer {own_server['token']}"},
    ).json()
    assert [v["number"] for v in detail["versions"]] == [1, 2, 3]
    source = httpx.get(
        f"{url}/api/v1/artifacts/{first['id']}/versions/3/source",
        headers={"Authorization": f"Bearer {own_server['token']}"},
    )
    assert source.content == b"<p>three</p>"


def test_watch_is_refused_on_stdin_and_with_base_version(run, page):
    assert run("push", "-", "--name", "x.html", "--watch", input=b"<p>x</p>").returncode == 2
    assert (
        run("push", str(page), "--to", "X" * 22, "--base-version", "1", "--watch").returncode == 2
    )
