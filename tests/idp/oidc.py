"""node-oidc-provider (OpenID Certified, from the npm registry) started on loopback, and a
browser's part of a sign-in through it: its sign-in and consent pages, followed as a
browser follows them, until it sends the browser back to the app."""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.liveserver import free_port

HERE = Path(__file__).resolve().parent
SECRET = "artifacts-test-client-secret-0123456789"  # noqa: S105  (the test provider's)


def node_ready() -> str:
    """The node binary, with tests/idp's packages installed (npm ci, from its lock file)."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is missing: .ci/run installs it (apt-get install nodejs npm)")
        pytest.skip("node not installed; CI runs the identity-provider tests")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(HERE)],
            check=True,
            capture_output=True,
        )
    return node


@dataclass
class OidcProvider:
    issuer: str
    process: subprocess.Popen

    def stop(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)


def client(client_id: str, redirect_uri: str, **extra) -> dict:
    return {
        "client_id": client_id,
        "client_secret": SECRET,
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        **extra,
    }


def oidc_provider_start(
    *,
    clients: list[dict],
    accounts: dict,
    clock_shift: str = "",
    id_token_algs=("RS256",),
    id_token_ttl: int = 3600,
) -> OidcProvider:
    """A provider at http://127.0.0.1:PORT. `clock_shift` (libfaketime, e.g. "-5m") runs it
    on a clock of its own: with a short `id_token_ttl`, its ID tokens arrive expired."""
    node = node_ready()
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    config = {
        "port": port,
        "issuer": issuer,
        "clients": clients,
        "accounts": accounts,
        "idTokenAlgs": list(id_token_algs),
        "idTokenTtl": id_token_ttl,
    }
    command = [node, str(HERE / "oidc_provider.mjs"), json.dumps(config)]
    if clock_shift:
        faketime = shutil.which("faketime")
        if faketime is None:
            if os.environ.get("CI"):
                pytest.fail("faketime is missing: .ci/run installs it (apt-get install faketime)")
            pytest.skip("faketime not installed; CI runs this test")
        command = [faketime, "-f", clock_shift, *command]
    # A session of its own: faketime runs node as its child, and both must stop (stop()).
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=HERE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.strip() == "ready":
            return OidcProvider(issuer, process)
        if process.poll() is not None:
            break
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError(f"oidc-provider did not start: {process.stderr.read()}")


FORM = re.compile(r'<form[^>]*action="([^"]+)"', re.S)
HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"')


def browse_provider(url: str, *, login: str, app_prefix: str, browser=None) -> str:
    """Follow the provider from its authorisation URL: sign in as `login`, consent, and
    return the URL it sends the browser back to (on the app, under `app_prefix`)."""
    browser = browser or httpx.Client(timeout=10)
    for _ in range(12):
        if url.startswith(app_prefix):
            return url
        response = browser.get(url)
        if response.is_redirect:
            url = str(response.url.join(response.headers["location"]))
            continue
        html = response.text
        form = FORM.search(html)
        assert form, f"the provider showed no form: {response.status_code} {html[:500]}"
        fields = dict(HIDDEN.findall(html))
        if 'name="login"' in html:
            fields.update(login=login, password="any")  # its development sign-in page
        response = browser.post(str(response.url.join(form.group(1))), data=fields)
        assert response.is_redirect, f"{response.status_code} {response.text[:500]}"
        url = str(response.url.join(response.headers["location"]))
    raise AssertionError(f"the provider never sent the browser back: {url}")
