"""Push and serve benchmark over HTTP on loopback, against the real WSGI stack (gunicorn).

    .venv/bin/python bench/bench_push.py [--runs 7]

Measures, in one run:
- push of a 16 MiB HTML file (multipart upload, validation, warning scan, sha256, store,
  commit): median wall time, against the floor of sha256 + writing the same bytes to disk;
- peak RSS of the gunicorn worker before and after serving that artifact 10 times through
  the sandbox, to show serving streams (the peak must not grow by the file's size).
"""

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PORT = 8765
SIZE = 16 * 1024 * 1024


def page(size: int) -> bytes:
    row = b"<tr><td>row</td><td>12345</td><td><a href='#x'>link</a></td></tr>\n"
    head = (
        b"<!doctype html><meta charset=utf-8><title>bench</title>"
        b"<style>td{padding:2px}</style><table>\n"
    )
    body = head + row * ((size - len(head)) // len(row))
    return body + b" " * (size - len(body))


def manage(env, *args) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def start_server(env, client):
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-b",
            f"127.0.0.1:{PORT}",
            "-w",
            "1",
            "--log-level",
            "warning",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            client.get("/api/v1/artifacts")  # also warms the worker up
            return server
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    data_dir = tempfile.mkdtemp(prefix="artifacts-bench-")
    env = {
        **os.environ,
        "ARTIFACTS_DATA_DIR": data_dir,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "ARTIFACTS_APP_URL": f"http://localhost:{PORT}",
        "ARTIFACTS_SANDBOX_URL": f"http://usercontent.localhost:{PORT}",
        "DJANGO_DEBUG": "false",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    manage(env, "migrate", "--verbosity=0")
    manage(env, "createcachetable")
    manage(env, "collectstatic", "--noinput", "--verbosity=0")
    manage(env, "create_org", "bench")
    manage(env, "add_member", "bench", "bench@example.com", "--role", "member")
    token = manage(env, "create_token", "bench", "bench@example.com").splitlines()[-1]

    client = httpx.Client(
        base_url=f"http://127.0.0.1:{PORT}",
        timeout=120,
        headers={"Authorization": f"Bearer {token}", "Host": f"localhost:{PORT}"},
    )
    server = start_server(env, client)
    try:
        body = page(SIZE)
        assert len(body) == SIZE

        floors, pushes, artifact_id = [], [], None
        for i in range(runs):
            variant = body[:-8] + f"{i:8d}".encode()  # new bytes each time: no dedup shortcut
            start = time.perf_counter()
            with tempfile.NamedTemporaryFile(dir=data_dir) as out:
                hashlib.sha256(variant).hexdigest()
                out.write(variant)
                out.flush()
                os.fsync(out.fileno())
            floors.append(time.perf_counter() - start)

            start = time.perf_counter()
            response = client.post(
                "/api/v1/artifacts", files={"file": ("bench.html", variant, "text/html")}
            )
            pushes.append(time.perf_counter() - start)
            assert response.status_code == 201, response.text
            artifact_id = response.json()["id"]

        floor, push = statistics.median(floors), statistics.median(pushes)
        print(f"16 MiB push over HTTP (median of {runs}): {push * 1000:.0f} ms")
        print(f"sha256 + write + fsync of the same bytes:   {floor * 1000:.0f} ms")
        print(f"ratio: {push / floor:.1f}x  (budget: <= 10x)")

        # Serving: a grant needs a live session; make one the way the viewer does.
        url = manage(
            env,
            "shell",
            "-c",
            (
                "from django.contrib.auth import get_user_model;"
                "from orgs.sessions import SessionStore;"
                "from artifacts.models import Artifact;"
                "from artifacts.sandbox.grants import grant_mint, grant_url;"
                "u=get_user_model().objects.get(email='bench@example.com');"
                "s=SessionStore(); s['_auth_user_id']=str(u.pk);"
                "s['_auth_user_hash']=u.get_session_auth_hash(); s.create();"
                f"a=Artifact.objects.get(pk='{artifact_id}');"
                "v=a.versions.get();"
                "t=grant_mint(user=u, session_key=s.session_key, artifact=a, version=v);"
                "print(grant_url(t))"
            ),
        ).strip()
        path = url.split(f":{PORT}", 1)[1]
        # A fresh worker, so the push's own peak does not mask the serving's.
        server.terminate()
        server.wait()
        server = start_server(env, client)
        worker = int(
            subprocess.run(
                ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
            ).stdout.split()[0]
        )
        before = peak_rss_kib(worker)
        for _ in range(10):
            r = client.get(
                path, headers={"Host": f"usercontent.localhost:{PORT}", "Sec-Fetch-Dest": "iframe"}
            )
            assert r.status_code == 200 and len(r.content) == SIZE
        after = peak_rss_kib(worker)
        print(
            f"gunicorn worker peak RSS: {before / 1024:.1f} MiB before, "
            f"{after / 1024:.1f} MiB after "
            f"serving 16 MiB x10 (growth {(after - before) / 1024:.1f} MiB)"
        )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
