"""Helpers the tests share: personas as a dataclass, the sample page, sandbox requests."""

import re
from dataclasses import dataclass

from django.conf import settings
from django.test import Client

APP_HOST = "localhost:8000"
SANDBOX_HOST = "usercontent.localhost:8000"
PAGE = b"<!doctype html><title>t</title><h1>Hello</h1><script>document.title='ran'</script>"


@dataclass
class Persona:
    name: str
    user: object
    token: str | None
    client: Client  # signed in on the app host

    def api(self, method: str, path: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return getattr(Client(), method)(f"/api/v1{path}", headers=headers, **kwargs)

    def push(self, data: bytes = PAGE, name: str = "page.html", to: str | None = None, **fields):
        from django.core.files.uploadedfile import SimpleUploadedFile

        path = f"/artifacts/{to}/versions" if to else "/artifacts"
        return self.api("post", path, data={"file": SimpleUploadedFile(name, data), **fields})


FRAME_SRC = re.compile(r'<iframe[^>]*\ssrc="([^"]+)"')


def frame_src(response) -> str:
    """The sandbox URL the viewer page embeds (present in the HTML, as SPEC §4.1 asks)."""
    match = FRAME_SRC.search(response.content.decode())
    assert match, "viewer page has no iframe with a src"
    return match.group(1)


def sandbox_get(url: str, dest: str | None = "iframe", **headers):
    """GET a sandbox URL the way a browser's iframe would: no cookies, Sec-Fetch-Dest set."""
    assert url.startswith(settings.ARTIFACTS_SANDBOX_URL)
    path = url[len(settings.ARTIFACTS_SANDBOX_URL) :]
    if dest:
        headers["Sec-Fetch-Dest"] = dest
    return Client(HTTP_HOST=SANDBOX_HOST).get(path, headers=headers)
