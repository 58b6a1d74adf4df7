"""The `artifact` command run as a subprocess (stdin closed) against the live server, and an
API client to check what it did from the outside."""

import os
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from artifact_cli.client import MAX_PAGE_SIZE

from tests.liveserver import (
    ROOT,
    server_fixture,  # noqa: F401  (registers `server`)
)

PAGE = "<!doctype html><title>Report</title><h1>Ünïcødé ✓ 日本語</h1>\n".encode()


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def cli_env(server, tmp_path) -> dict:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),  # never the developer's ~/.config
        "ARTIFACT_URL": server.app_url,
        "ARTIFACT_TOKEN": server.token,
        "ARTIFACT_CONFIG": str(tmp_path / "config" / "artifact.json"),
        "COLUMNS": "200",
    }


@pytest.fixture
def run(cli_env, tmp_path):
    """run(*args, input=bytes, env={...}) → CompletedProcess with bytes out/err."""

    def run(*args: str, input: bytes | None = None, env: dict | None = None, cwd=None):
        return subprocess.run(
            [sys.executable, "-m", "artifact_cli", *args],
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            env={**cli_env, **(env or {})},
            cwd=cwd or tmp_path,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture
def api(server):
    with httpx.Client(
        base_url=f"{server.app_url}/api/v1",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=30,
    ) as client:
        yield client


@pytest.fixture
def page(tmp_path) -> Path:
    path = tmp_path / "report.html"
    path.write_bytes(PAGE)
    return path


def one_error_line(result) -> str:
    """The failure contract: no stdout, exactly one `error: ...` line on stderr."""
    err = result.stderr.decode()
    assert result.stdout == b"", result.stdout
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err.strip()


@dataclass(frozen=True)
class Pushed:
    """Artifacts titled `tag` + a number, more than one page of the API holds."""

    tag: str
    ids: list[str]  # in the list's order: last updated (last pushed) first


@pytest.fixture(scope="session")
def many(server) -> Pushed:
    tag = f"paged-{uuid.uuid4().hex[:8]}"
    ids = []
    with httpx.Client(
        base_url=f"{server.app_url}/api/v1",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=30,
    ) as client:
        for i in range(MAX_PAGE_SIZE + 3):
            response = client.post(
                "/artifacts",
                files={"file": ("p.html", b"<p>paged</p>")},
                data={"title": f"{tag} {i:03d}"},
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
    return Pushed(tag, ids[::-1])
