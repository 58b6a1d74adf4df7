"""pysaml2's SAML 2.0 identity provider (`saml2.server.Server`, from PyPI) started on
loopback in a subprocess, and a browser's part of a sign-in through it.

The provider, at http://127.0.0.1:PORT, serves:

- GET  /metadata          its metadata (entityID, SSO endpoint, signing certificate);
- POST /sp                a service provider's metadata (the app's, as its admin would
                          upload it): the provider answers only the SPs it knows;
- GET  /sso/redirect      its SSO endpoint (HTTP-Redirect binding): it parses and checks
                          the AuthnRequest, signs in the user named by `login` (its sign-in
                          page stood in for by that query parameter) and answers with the
                          HTTP-POST binding's auto-submitting form (SAMLResponse, RelayState).

An attacker's knobs, query parameters of /sso/redirect next to `login`: `sign` (assertion,
the default; response; both; none; rogue: the assertion signed with a key that is not in
the metadata), `issuer` (another entityID named as the issuer), `audience` (another SP's
entityID as the audience), `unsolicited` (any value: an IdP-initiated response, answering
no AuthnRequest). A clock of its own (`clock_shift`, run under libfaketime) makes its
assertions arrive expired; a test replays a captured form itself. Accounts are a dict like
tests/orgs/conftest.py's ACCOUNTS: each attribute is sent as a SAML attribute of that name
(basic name format; lists as several values, True as "true"); the NameID is the account's
`uid`, else its login.

Run `python -m tests.idp.saml_idp CONFIG.json` to start one by hand; tests call
`saml_idp_start`.
"""

import contextlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
XMLSEC = "/usr/bin/xmlsec1"
ATTRIBUTES = ("uid", "email", "email_verified", "name", "groups", "role")


# --- the test side ------------------------------------------------------------------------


def _missing(what: str, why: str):
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing: .ci/run installs it ({why})")
    pytest.skip(f"{what} not installed; CI runs the SAML identity-provider tests")


def saml_ready() -> str:
    """xmlsec1 (pysaml2 signs with it) and openssl (the provider's keys)."""
    try:
        import saml2  # noqa: F401
    except ImportError:
        _missing("pysaml2", "pip install -r requirements-dev.lock")
    xmlsec = shutil.which("xmlsec1") or (XMLSEC if Path(XMLSEC).exists() else None)
    if xmlsec is None:
        _missing("xmlsec1", "apt-get install xmlsec1")
    if shutil.which("openssl") is None:
        _missing("openssl", "apt-get install openssl")
    return xmlsec


def key_pair(directory: Path, name: str) -> tuple[str, str]:
    """A fresh RSA key and its self-signed certificate, as an IdP's admin makes them."""
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(key), str(cert)


@dataclass
class SamlProvider:
    url: str
    process: subprocess.Popen
    workdir: tempfile.TemporaryDirectory

    @property
    def entity_id(self) -> str:
        return f"{self.url}/metadata"

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/metadata"

    @property
    def sso_url(self) -> str:
        return f"{self.url}/sso/redirect"

    def sp_register(self, metadata_xml: bytes) -> None:
        import httpx

        response = httpx.post(f"{self.url}/sp", content=metadata_xml, timeout=10)
        assert response.status_code == 204, response.text

    def answer(self, location: str, *, login: str, **knobs) -> "PostForm":
        """Follow the app's redirect to the provider, signed in there as `login`: the
        form the provider's page would auto-submit to the app's ACS."""
        import httpx

        query = {k: v for k, v in knobs.items() if v is not None}
        url = f"{location}&{urlencode({'login': login, **query})}"
        response = httpx.get(url, timeout=20)
        assert response.status_code == 200, f"{response.status_code} {response.text[:500]}"
        return PostForm.parse(response.text)

    def stop(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)
        self.workdir.cleanup()


FORM = re.compile(r'<form[^>]*action="([^"]+)"', re.S)
INPUT = re.compile(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"')


@dataclass
class PostForm:
    action: str
    fields: dict

    @classmethod
    def parse(cls, page: str) -> "PostForm":
        form = FORM.search(page)
        assert form, f"the provider showed no form: {page[:500]}"
        fields = {html.unescape(k): html.unescape(v) for k, v in INPUT.findall(page)}
        assert "SAMLResponse" in fields, page[:500]
        return cls(html.unescape(form.group(1)), fields)


def saml_idp_start(*, accounts: dict, clock_shift: str = "", lifetime_minutes: int = 5):
    """A provider at http://127.0.0.1:PORT with fresh keys. `clock_shift` (libfaketime,
    e.g. "-20m") runs it on a clock of its own: its `lifetime_minutes` assertions arrive
    expired."""
    from tests.liveserver import free_port

    xmlsec = saml_ready()
    workdir = tempfile.TemporaryDirectory(prefix="saml-idp-")
    directory = Path(workdir.name)
    key, cert = key_pair(directory, "idp")
    rogue_key, rogue_cert = key_pair(directory, "rogue")
    port = free_port()
    config = {
        "port": port,
        "url": f"http://127.0.0.1:{port}",
        "dir": str(directory),
        "key": key,
        "cert": cert,
        "rogue_key": rogue_key,
        "rogue_cert": rogue_cert,
        "xmlsec": xmlsec,
        "accounts": accounts,
        "lifetime_minutes": lifetime_minutes,
    }
    (directory / "config.json").write_text(json.dumps(config))
    command = [sys.executable, "-m", "tests.idp.saml_idp", str(directory / "config.json")]
    if clock_shift:
        faketime = shutil.which("faketime")
        if faketime is None:
            _missing("faketime", "apt-get install faketime")
        command = [faketime, "-f", clock_shift, *command]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    # A session of its own: faketime runs the provider as its child, and both must stop.
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.strip() == "ready":
            return SamlProvider(config["url"], process, workdir)
        if process.poll() is not None:
            break
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    workdir.cleanup()
    raise RuntimeError(f"the SAML provider did not start: {process.stderr.read()}")


# --- the provider's side (the subprocess) -------------------------------------------------


def _attribute_map(directory: Path) -> str:
    """pysaml2 names attributes through maps: this one keeps ours as they are, in SAML's
    basic name format (how e.g. Okta or Keycloak send "email")."""
    maps = directory / "attribute_maps"
    maps.mkdir(exist_ok=True)
    names = {name: name for name in ATTRIBUTES}
    (maps / "artifacts_test_attributes.py").write_text(
        "MAP = "
        + repr(
            {
                "identifier": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
                "fro": names,
                "to": names,
            }
        )
        + "\n"
    )
    return str(maps)


def _server(config: dict, *, key: str, cert: str):
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
    from saml2.config import IdPConfig
    from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_PERSISTENT
    from saml2.server import Server

    url = config["url"]
    idp_config = IdPConfig()
    idp_config.load(
        {
            "entityid": f"{url}/metadata",
            "service": {
                "idp": {
                    "name": "Test IdP (pysaml2)",
                    "endpoints": {
                        "single_sign_on_service": [
                            (f"{url}/sso/redirect", BINDING_HTTP_REDIRECT),
                            (f"{url}/sso/post", BINDING_HTTP_POST),
                        ],
                    },
                    "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": config["lifetime_minutes"]},
                            "name_form": NAME_FORMAT_BASIC,
                        }
                    },
                    "want_authn_requests_signed": False,
                    # pysaml2's default is rsa-sha1, which python3-saml refuses.
                    "signing_algorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                    "digest_algorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
                },
            },
            "key_file": key,
            "cert_file": cert,
            "xmlsec_binary": config["xmlsec"],
            "attribute_map_dir": _attribute_map(Path(config["dir"])),
            "metadata": {},
        }
    )
    return Server(config=idp_config)


def _identity(account: dict) -> dict:
    identity = {}
    for name, value in account.items():
        values = value if isinstance(value, list) else [value]
        identity[name] = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
    return identity


class Provider:
    def __init__(self, config: dict):
        self.config = config
        self.idp = _server(config, key=config["key"], cert=config["cert"])
        self.rogue = _server(config, key=config["rogue_key"], cert=config["rogue_cert"])
        self.sps: list[str] = []

    def metadata(self) -> bytes:
        from saml2.metadata import create_metadata_string

        return create_metadata_string(None, self.idp.config, sign=False)

    def sp_register(self, xml: str) -> None:
        for server in (self.idp, self.rogue):
            server.metadata.load("inline", xml)

    def sso(self, query: dict) -> tuple[str, str]:
        """(status, the auto-posting form or an error message)."""
        from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
        from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID

        def one(name, default=""):
            return (query.get(name) or [default])[0]

        login = one("login")
        account = self.config["accounts"].get(login)
        if account is None:
            return "403 Forbidden", f"No account {login!r} at this provider."
        try:
            request = self.idp.parse_authn_request(one("SAMLRequest"), BINDING_HTTP_REDIRECT)
            args = self.idp.response_args(request.message, [BINDING_HTTP_POST])
        except Exception as exc:  # an unknown SP, an ACS not in its metadata, bad XML
            return "400 Bad Request", f"Refused AuthnRequest: {exc!r}"
        sign = one("sign", "assertion")
        server = self.rogue if sign == "rogue" else self.idp
        audience = one("audience")
        sp_entity_id = audience or args["sp_entity_id"]
        response = server.create_authn_response(
            _identity(account),
            in_response_to=None if one("unsolicited") else args["in_response_to"],
            destination=args["destination"],
            sp_entity_id=sp_entity_id,
            name_id=NameID(
                format=NAMEID_FORMAT_PERSISTENT,
                sp_name_qualifier=sp_entity_id,
                text=str(account.get("uid", login)),
            ),
            authn={
                "class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                "authn_auth": self.idp.config.entityid,
            },
            issuer=one("issuer") or None,
            sign_assertion=sign in ("assertion", "both", "rogue"),
            sign_response=sign in ("response", "both"),
        )
        http_args = self.idp.apply_binding(
            BINDING_HTTP_POST,
            str(response),
            args["destination"],
            one("RelayState"),
            response=True,
        )
        return "200 OK", http_args["data"]

    def __call__(self, environ, start_response):
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        status, body, kind = "404 Not Found", b"not found", "text/plain"
        try:
            if path == "/metadata" and method == "GET":
                status, body, kind = "200 OK", self.metadata(), "application/samlmetadata+xml"
            elif path == "/sp" and method == "POST":
                size = int(environ.get("CONTENT_LENGTH") or 0)
                self.sp_register(environ["wsgi.input"].read(size).decode())
                status, body = "204 No Content", b""
            elif path == "/sso/redirect" and method == "GET":
                status, text = self.sso(parse_qs(environ.get("QUERY_STRING", "")))
                body, kind = text.encode(), "text/html" if status == "200 OK" else "text/plain"
        except Exception as exc:  # shown to the test, which fails on it
            status, body = "500 Internal Server Error", repr(exc).encode()
        if isinstance(body, str):
            body = body.encode()
        start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [body]


def main(config_path: str) -> None:
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    config = json.loads(Path(config_path).read_text())
    provider = Provider(config)
    host = urlsplit(config["url"]).hostname
    with make_server(host, config["port"], provider, handler_class=QuietHandler) as server:
        print("ready", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
