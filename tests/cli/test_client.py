"""The CLI's API client against the live server: idempotent pushes, retries that reuse the
key (through a loopback proxy that loses answers), a streamed 16 MiB upload."""

import io
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from artifact_cli.client import ApiClient
from artifact_cli.errors import ArtifactError
from artifact_cli.upload import MAX_BYTES, upload_from_bytes, upload_from_path

from .conftest import PAGE


@pytest.fixture
def client(server):
    with ApiClient(server.app_url, server.token, backoff=0.05) as api:
        yield api


def _upload(data: bytes = PAGE, name: str = "page.html"):
    return upload_from_bytes(data, name)


def test_the_same_key_twice_makes_one_version(client, api):
    key = str(uuid.uuid4())
    first = client.push(_upload(), idempotency_key=key)
    again = client.push(_upload(), idempotency_key=key)
    assert again == first
    nxt = client.push(_upload(), artifact_id=first["id"], idempotency_key=key + "-v2")
    replay = client.push(_upload(), artifact_id=first["id"], idempotency_key=key + "-v2")
    assert (nxt["version"], replay["version"]) == (2, 2)
    assert len(api.get(f"/artifacts/{first['id']}").json()["versions"]) == 2


def test_different_keys_make_two_versions(client, api):
    first = client.push(_upload())
    client.push(_upload(), artifact_id=first["id"], idempotency_key=str(uuid.uuid4()))
    client.push(_upload(), artifact_id=first["id"], idempotency_key=str(uuid.uuid4()))
    assert len(api.get(f"/artifacts/{first['id']}").json()["versions"]) == 3


class LossyProxy(BaseHTTPRequestHandler):
    """Forwards pushes to the live server, but the 1st answer is lost (connection cut after
    the server acted) and the 2nd is a 503: the client must retry with the same key."""

    upstream = ""
    seen: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        attempt = len(self.seen) + 1
        self.seen.append(self.headers.get("Idempotency-Key"))
        if attempt == 2:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        forwarded = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        answer = httpx.post(self.upstream + self.path, content=body, headers=forwarded)
        if attempt == 1:
            self.close_connection = True  # the version exists; the client never hears of it
            return
        self.send_response(answer.status_code)
        for name in ("Content-Type", "Idempotent-Replayed"):
            if name in answer.headers:
                self.send_header(name, answer.headers[name])
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *args):
        pass


def test_lost_answers_are_retried_with_the_same_key(server, api):
    LossyProxy.upstream, LossyProxy.seen = server.app_url, []
    title = f"lossy {uuid.uuid4()}"
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), LossyProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{proxy.server_port}"
        with ApiClient(url, server.token, backoff=0.05) as lossy:
            result = lossy.push(_upload(), title=title)
    finally:
        proxy.shutdown()
    assert len(LossyProxy.seen) == 3 and len(set(LossyProxy.seen)) == 1
    assert result["version"] == 1
    listed = api.get("/artifacts", params={"q": title}).json()
    assert [a["id"] for a in listed["items"]] == [result["id"]]  # one artifact, not two
    assert len(api.get(f"/artifacts/{result['id']}").json()["versions"]) == 1


def test_a_16_mib_file_streams_with_progress(client, api, tmp_path):
    path = tmp_path / "big.md"
    path.write_bytes(b"# big\n" + b"x" * (MAX_BYTES - 6))
    seen = []
    with upload_from_path(str(path)) as upload:
        result = client.push(upload, progress=lambda sent, total: seen.append((sent, total)))
    assert seen[-1] == (MAX_BYTES, MAX_BYTES)
    assert api.get(f"/artifacts/{result['id']}").json()["versions"][0]["size"] == MAX_BYTES


def test_download_gives_the_exact_bytes(client):
    data = "<p>naïve — ✓</p>\r\n".encode()
    result = client.push(_upload(data))
    sink = io.BytesIO()
    assert client.download(result["id"], 1, sink) == len(data)
    assert sink.getvalue() == data


def test_errors_carry_status_code_and_details(client):
    first = client.push(_upload())
    client.push(_upload(), artifact_id=first["id"])
    with pytest.raises(ArtifactError) as caught:
        client.push(_upload(), artifact_id=first["id"], base_version=1)
    error = caught.value
    assert (error.status, error.code, error.exit_code) == (409, "conflict", 5)
    assert error.details["current_version"] == 2
