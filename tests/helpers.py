"""Helpers the tests share: personas as a dataclass, the sample page, sandbox requests,
signing in through allauth's own flow (password, then a TOTP code)."""

import random
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


def totp_code(secret: str) -> str:
    """The current code of an authenticator app holding this secret."""
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def random_address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def sign_in(email: str, password: str, totp_secret: str | None = None) -> Client:
    """A browser's sign-in at /accounts/login/: password, then the TOTP step if the user
    has one. Returns the client, signed in (asserted). From an address of its own: allauth
    counts sign-ins per address in the cache, which Redis keeps across tests and runs."""
    client = Client(HTTP_HOST=APP_HOST)
    extra = {"REMOTE_ADDR": random_address()}
    response = client.post("/accounts/login/", {"login": email, "password": password}, **extra)
    assert response.status_code == 302, response.content.decode()[:500]
    if totp_secret is not None:
        assert response["Location"] == "/accounts/2fa/authenticate/"
        response = client.post(response["Location"], {"code": totp_code(totp_secret)}, **extra)
        assert response.status_code == 302, response.content.decode()[:500]
    assert client.get("/").status_code == 200  # signed in: the home page, not the login
    return client
