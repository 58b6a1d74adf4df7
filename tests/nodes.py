"""App nodes for black-box tests on the suite's own database and blob folder: gunicorn with
the production gunicorn config, serving the public names of one install, as behind a load
balancer. The test must commit its data (`django_db(transaction=True)`)."""

import re
import subprocess
import sys
import time

import httpx

from tests import subproc
from tests.liveserver import ROOT, free_port

APP = "localhost:8000"  # the public names both nodes serve, as behind a load balancer
SANDBOX = "usercontent.localhost:8000"
PAGE = b"<!doctype html><title>a node</title><p>one page, any node</p>"


class Node:
    def __init__(self, **env):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=subproc.env(
                GUNICORN_BIND=f"127.0.0.1:{self.port}",
                GUNICORN_WORKERS="2",
                GUNICORN_ACCESS_LOG="/dev/null",
                ARTIFACTS_APP_URL=f"http://{APP}",
                ARTIFACTS_SANDBOX_URL=f"http://{SANDBOX}",
                **env,
            ),
        )
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(150):
            try:
                if httpx.get(f"{self.base}/_/health", headers={"Host": APP}).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("node did not start")

    def client(self, cookies=None) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Host": APP}, cookies=cookies)

    def sandbox(self, grant_url: str) -> httpx.Response:
        path = grant_url.split(SANDBOX, 1)[1]
        return httpx.get(
            f"{self.base}{path}", headers={"Host": SANDBOX, "Sec-Fetch-Dest": "iframe"}
        )

    def api(self, token: str, method: str, path: str, headers=None, **kwargs) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.base}/api/v1{path}",
            headers={"Host": APP, "Authorization": f"Bearer {token}", **(headers or {})},
            **kwargs,
        )

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def sign_in(node: Node, email: str, password: str) -> httpx.Client:
    client = node.client()
    client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/",
        data={
            "login": email,
            "password": password,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        headers={"Referer": f"http://{APP}/accounts/login/"},
    )
    assert response.status_code == 302, response.text[:300]
    return client


def grant_of(client: httpx.Client, artifact_id: str) -> str:
    page = client.get(f"/a/{artifact_id}/")
    assert page.status_code == 200
    return re.search(r'<iframe[^>]*\ssrc="([^"]+)"', page.text).group(1)
