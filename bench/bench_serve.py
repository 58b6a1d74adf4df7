"""Serve throughput and push latency through the production stack, in one run (SPEC §4.4, §8):
nginx with TLS and the rendered deploy/nginx/artifacts.conf in front of gunicorn
(config/gunicorn.conf.py) with X-Accel-Redirect, driven by wrk.

    .venv/bin/python bench/bench_serve.py [--duration 20] [--connections 16]
    REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/bench_serve.py --own-postgres

The local settings (SQLite) unless DATABASE_URL and REDIS_URL are set: then the production
settings on PostgreSQL + Redis, as deployed. `--own-postgres` runs a throwaway PostgreSQL
cluster (same binaries, a free port, a temp folder) instead of DATABASE_URL, so that the
load test can restart it without cutting anyone else's connections; on a server of your
own, `--pg-restart-cmd 'pg_ctlcluster 15 main restart'` restarts that one instead. Without
either, the restart is skipped (and reported so). Needs nginx, wrk and openssl.

Measures:
1. 16 MiB artifact through the sandbox (grant check in Django, bytes by nginx through
   X-Accel-Redirect) against nginx serving the same file from a plain static location of
   the same server block: requests/s and their ratio (target >= 75 %).
2. 100 KiB the same way (target >= 6 % of nginx static), and against WhiteNoise serving
   the same file as a static asset of the same gunicorn through the same nginx (>= 50 %).
3. 16 MiB push (`POST /api/v1/artifacts` through nginx) against sha256 + write + fsync of
   the same bytes in this process (target <= 10x), medians.
4. Load: --load-connections for --load-duration s on the 100 KiB sandbox URL (errors,
   latency percentiles); then again while one gunicorn worker is SIGKILLed and PostgreSQL
   restarted mid-run, with pushes going on meanwhile; errors binned by time from nginx's
   access log; afterwards every artifact (and every acknowledged push) must still serve
   its exact bytes.

Every wrk run gets a fresh grant minted by the viewer page (grants start loads for 120 s);
wrk needs `Sec-Fetch-Dest: iframe` (anything else gets the "open it in the app" page) and
connects to 127.0.0.1 naming the host in the Host header. nginx's access log of each run
is checked too: every sandbox answer must be a 200 of exactly the file's size.
"""

import argparse
import glob
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: deploy/ is importable from the root
from deploy.nginx.render import render  # noqa: E402

SMALL, BIG = 100 * 1024, 16 * 1024 * 1024
GRANT_TTL = 120  # settings.ARTIFACTS_GRANT_TTL: a wrk run must start and end within it
STATIC_PREFIX = "/_bench_static/"
TARGETS = {
    "big_vs_static": 0.75,
    "small_vs_static": 0.06,
    "small_vs_whitenoise": 0.50,
    "push_vs_floor": 10.0,
}


# --- helpers ------------------------------------------------------------------------------


def page(size: int, salt: bytes = b"") -> bytes:
    """An HTML report of exactly `size` bytes (a table: the push scanner's realistic worst)."""
    row = b"<tr><td>row</td><td>12345</td><td><a href='#x'>link</a></td></tr>\n"
    head = (
        b"<!doctype html><meta charset=utf-8><title>bench " + salt + b"</title>"
        b"<style>td{padding:2px}</style><table>\n"
    )
    body = head + row * ((size - len(head)) // len(row))
    return body + b" " * (size - len(body))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def render_with_yardstick(values: dict, static_dir: Path) -> str:
    """The shipped configuration (deploy/nginx/render.py), plus one plain static location
    in the sandbox server block: the yardstick, same TLS, same worker."""
    text = render(values)
    anchor = "    client_max_body_size 1k;  # nothing is uploaded here\n"
    assert text.count(anchor) == 1, "the sandbox server block changed: update the bench"
    extra = f"    location {STATIC_PREFIX} {{ alias {static_dir}/; }}  # bench only\n"
    return text.replace(anchor, anchor + extra)


def stat_fields(stat: str) -> list[str] | None:
    """The fields of a /proc/<pid>/stat after the command name (None if it is gone)."""
    try:
        return Path(stat).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def children(pid: int) -> list[int]:
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        fields = stat_fields(stat)
        if fields and int(fields[1]) == pid:
            found.append(int(stat.split("/")[2]))
    return sorted(found)


def cpu_ticks(pids: list[int]) -> dict[int, int]:
    """utime + stime of each process, in clock ticks (a process's own, not its children's)."""
    ticks = {}
    for pid in pids:
        if fields := stat_fields(f"/proc/{pid}/stat"):
            ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


def redis_pids() -> list[int]:
    found = []
    for comm in glob.glob("/proc/[0-9]*/comm"):
        try:
            if Path(comm).read_text().strip() == "redis-server":
                found.append(int(comm.split("/")[2]))
        except OSError:
            continue
    return found


def median(values):
    return statistics.median(values) if values else float("nan")


# --- PostgreSQL -----------------------------------------------------------------------------


class OwnPostgres:
    """A throwaway cluster: initdb in a temp folder, a free port, trust auth on loopback.
    Run as the postgres user when we are root (PostgreSQL refuses to run as root)."""

    def __init__(self, tmp: Path):
        pg_ctl = shutil.which("pg_ctl")
        candidates = [os.path.dirname(os.path.realpath(pg_ctl))] if pg_ctl else []
        candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
        bindir = next((d for d in candidates if os.path.exists(f"{d}/initdb")), None)
        if bindir is None:
            raise SystemExit("--own-postgres: no initdb/pg_ctl found")
        self.bindir = bindir
        self.folder = tmp / "pg"
        self.folder.mkdir()
        self.data = self.folder / "data"
        self.port = free_port()
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.prefix:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", "-D", self.data, "-l", self.folder / "log", "-o", options, "-w", "start"
        )
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/bench_serve"

    def _run(self, tool, *args):
        subprocess.run(
            [*self.prefix, f"{self.bindir}/{tool}", *map(str, args)],
            check=True,
            capture_output=True,
        )

    def pids(self) -> list[int]:
        """The postmaster and its backends (it changes pid when restarted)."""
        try:
            postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [postmaster, *children(postmaster)]

    def restart_command(self) -> list[str]:
        pg_ctl = f"{self.bindir}/pg_ctl"
        log = str(self.folder / "log")  # else the new server keeps our stdout pipe open
        return [
            *self.prefix,
            pg_ctl,
            "-D",
            str(self.data),
            "-l",
            log,
            "-w",
            "-m",
            "fast",
            "restart",
        ]

    def stop(self):
        subprocess.run(
            [*self.prefix, f"{self.bindir}/pg_ctl", "-D", str(self.data), "-m", "fast", "stop"],
            capture_output=True,
        )


def database_create(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


# --- wrk ------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk_command(url, host, duration, connections, threads):
    return [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "--latency",
        "-H",
        f"Host: {host}",
        "-H",
        "Sec-Fetch-Dest: iframe",
        url,
    ]


def wrk_parse(out: str) -> dict:
    def number(pattern, default=0.0):
        found = re.search(pattern, out)
        return float(found.group(1)) if found else default

    latency = {}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M):
        latency[pct] = float(value) * UNITS[unit]
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    return {
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "requests": int(number(r"(\d+) requests in")),
        "non2xx": int(number(r"Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
        "socket_detail": socket_errors.group(0) if socket_errors else "",
        "latency_ms": latency,
        "raw": out,
    }


# --- the stack ------------------------------------------------------------------------------


class Stack:
    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="artifacts-bench-serve-"))
        self.tmp.chmod(0o755)  # nginx's workers (nobody) read the blobs and the static files
        self.data = self.tmp / "data"
        self.static_dir = self.tmp / "static-plain"
        self.port, self.upstream = free_port(), free_port()
        self.app_host = f"localhost:{self.port}"
        self.sandbox_host = f"usercontent.localhost:{self.port}"
        self.app = f"https://{self.app_host}"
        self.base = f"https://127.0.0.1:{self.port}"
        self.procs = []
        self.pg = None
        self.log_offset = 0

    # setup

    def environment(self):
        env = {**os.environ}
        for name in ("DATABASE_URL", "REDIS_URL"):
            if not env.get(name):
                env.pop(name, None)
        if self.args.own_postgres:
            self.pg = OwnPostgres(self.tmp)
            env["DATABASE_URL"] = self.pg.url
        if env.get("DATABASE_URL", "").startswith("postgres"):
            database_create(env["DATABASE_URL"])
        production = bool(env.get("DATABASE_URL") and env.get("REDIS_URL"))
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": (
                    "config.settings.production" if production else "config.settings.local"
                ),
                "DJANGO_DEBUG": "false",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "ARTIFACTS_DATA_DIR": str(self.data),
                "ARTIFACTS_APP_URL": self.app,
                "ARTIFACTS_SANDBOX_URL": f"https://{self.sandbox_host}",
                "ARTIFACTS_ACCEL_REDIRECT": "/_blobs/",
                "GUNICORN_BIND": f"127.0.0.1:{self.upstream}",
                "GUNICORN_WORKERS": str(self.args.workers),
                "GUNICORN_ACCESS_LOG": str(self.tmp / "gunicorn-access.log"),
                "LOG_LEVEL": "INFO",  # gunicorn logs each worker (re)boot
            }
        )
        self.env = env
        database = env.get("DATABASE_URL", "sqlite").split("@")[-1]
        self.backend = (
            f"PostgreSQL ({database}) + Redis ({env['REDIS_URL'].split('@')[-1]}), "
            "config.settings.production"
            if production
            else f"{'PostgreSQL ' + database if 'DATABASE_URL' in env else 'SQLite'}, "
            "config.settings.local (DJANGO_DEBUG=false)"
        )
        self.on_postgres = env.get("DATABASE_URL", "").startswith("postgres")

    def manage(self, *args) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def setup(self, small: bytes, big: bytes):
        self.environment()
        self.manage("migrate", "-v0")
        self.manage("createcachetable")
        self.manage("collectstatic", "--noinput", "-v0")
        # A fresh slug: DATABASE_URL may hold the rows of an earlier run.
        self.org = f"bench-{secrets.token_hex(3)}"
        self.email = f"{self.org}@example.com"
        self.password = secrets.token_urlsafe(12)  # may start with "-": passed as --password=
        self.manage("create_org", self.org)
        self.manage(
            "add_member", self.org, self.email, "--role", "member", f"--password={self.password}"
        )
        self.token = self.manage("create_token", self.org, self.email).splitlines()[-1]
        (self.data / "blobs").mkdir(parents=True, exist_ok=True)
        if not self.env.get("REDIS_URL"):  # the folder broker, as `manage.py up` makes it
            for sub in ("broker", "broker-done", "broker-control"):
                (self.data / sub).mkdir(exist_ok=True)
        for folder in (self.data, self.data / "blobs"):
            folder.chmod(0o755)
        # The same bytes as plain files for nginx, and as a static asset for WhiteNoise
        # (which indexes STATIC_ROOT when gunicorn starts).
        self.static_dir.mkdir(mode=0o755)
        (self.static_dir / "small.html").write_bytes(small)
        (self.static_dir / "big.html").write_bytes(big)
        (self.data / "static" / "bench").mkdir(parents=True)
        (self.data / "static" / "bench" / "small.html").write_bytes(small)
        for path in self.static_dir.iterdir():
            path.chmod(0o644)
        self.certificate()
        (self.tmp / "artifacts.conf").write_text(
            render_with_yardstick(
                {
                    "APP_HOST": "localhost",
                    "SANDBOX_HOST": "usercontent.localhost",
                    "UPSTREAM": f"127.0.0.1:{self.upstream}",
                    "BLOB_ROOT": self.data / "blobs",
                    "TLS_CERT": self.tmp / "tls.crt",
                    "TLS_KEY": self.tmp / "tls.key",
                    "HTTPS_PORT": self.port,
                    "HTTP_PORT": free_port(),
                    "LOG_DIR": self.tmp,
                },
                self.static_dir,
            )
        )
        tmp = self.tmp
        # The http { } of Debian's stock /etc/nginx/nginx.conf (sendfile, tcp_nopush, one
        # worker per core), with the deploy config included as in production.
        (tmp / "nginx.conf").write_text(
            f"""daemon off; worker_processes auto; pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 768; }}
http {{
  sendfile on; tcp_nopush on; types_hash_max_size 2048;
  include /etc/nginx/mime.types; default_type application/octet-stream;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  include {tmp}/artifacts.conf;
}}
"""
        )

    def certificate(self):
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-keyout",
                self.tmp / "tls.key",
                "-out",
                self.tmp / "tls.crt",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,DNS:usercontent.localhost",
            ],
            check=True,
            capture_output=True,
        )
        self.tls = ssl.create_default_context(cafile=self.tmp / "tls.crt")

    def start(self):
        log = open(self.tmp / "gunicorn.log", "wb")  # noqa: SIM115 (lives as long as gunicorn)
        self.gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(self.gunicorn)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.nginx = subprocess.Popen(
            [nginx, "-p", str(self.tmp), "-c", str(self.tmp / "nginx.conf")]
        )
        self.procs.append(self.nginx)
        for _ in range(300):
            try:
                if httpx.get(f"{self.app}/_/health", verify=self.tls, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit(f"the stack never answered; see {self.tmp}/gunicorn.log")
        self.api = httpx.Client(
            base_url=self.app,
            verify=self.tls,
            timeout=120,
            headers={"Authorization": f"Bearer {self.token}"},
        )

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.pg:
            self.pg.stop()
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # the app, through nginx

    def push(self, name: str, body: bytes) -> dict:
        response = self.api.post("/api/v1/artifacts", files={"file": (name, body, "text/html")})
        assert response.status_code == 201, (response.status_code, response.text[:300])
        return response.json()

    def sign_in(self):
        """Like a browser: the login form and its CSRF token, through nginx."""
        self.session = httpx.Client(base_url=self.app, verify=self.tls, timeout=30)
        form = self.session.get("/accounts/login/")
        assert form.status_code == 200, form.status_code
        csrf = next(v for k, v in self.session.cookies.items() if k.endswith("csrftoken"))
        signed_in = self.session.post(
            "/accounts/login/",
            data={"login": self.email, "password": self.password, "csrfmiddlewaretoken": csrf},
            headers={"Referer": f"{self.app}/accounts/login/"},
        )
        assert signed_in.status_code == 302, signed_in.text[:500]

    def grant_path(self, artifact_id: str) -> str:
        """A fresh grant, minted by the viewer page as for a browser: its iframe's path."""
        viewer = self.session.get(f"/a/{artifact_id}/")
        assert viewer.status_code == 200, viewer.status_code
        url = re.search(r'<iframe[^>]*\ssrc="([^"]+)"', viewer.text).group(1)
        prefix = f"https://{self.sandbox_host}"
        assert url.startswith(prefix + "/g/"), url
        return url.removeprefix(prefix)

    def get(self, path: str, host: str, **headers) -> httpx.Response:
        """127.0.0.1, naming the host in TLS (SNI) and HTTP (*.localhost resolves only in
        browsers)."""
        with httpx.Client(verify=self.tls, timeout=60) as client:
            request = client.build_request(
                "GET",
                self.base + path,
                headers={"Host": host, **headers},
                extensions={"sni_hostname": host.rsplit(":", 1)[0]},
            )
            return client.send(request)

    # logs

    def log_mark(self):
        path = self.tmp / "artifacts-access.log"
        self.log_offset = path.stat().st_size if path.exists() else 0

    def log_since_mark(self) -> list[dict]:
        with open(self.tmp / "artifacts-access.log", "rb") as fh:
            fh.seek(self.log_offset)
            return [json.loads(line) for line in fh.read().splitlines() if line.strip()]

    def process_groups(self) -> dict[str, list[int]]:
        """Whose CPU a request costs: gunicorn, nginx, PostgreSQL (our own cluster only: a
        shared server's other clients would count too) and Redis."""
        gunicorn, nginx = self.gunicorn.pid, self.nginx.pid
        groups = {
            "gunicorn": [gunicorn, *children(gunicorn)],
            "nginx": [nginx, *children(nginx)],
            "redis": redis_pids(),
        }
        if self.pg:
            groups["postgres"] = self.pg.pids()
        return groups

    def worker_boots(self) -> int:
        return (self.tmp / "gunicorn.log").read_text().count("Booting worker with pid")

    def wrk(self, path: str, host: str, *, duration, connections, expect_size=None) -> dict:
        assert duration < GRANT_TTL
        self.log_mark()
        boots = self.worker_boots()
        before = {name: cpu_ticks(pids) for name, pids in self.process_groups().items()}
        out = subprocess.run(
            wrk_command(self.base + path, host, duration, connections, self.args.threads),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        after = {name: cpu_ticks(pids) for name, pids in self.process_groups().items()}
        result = wrk_parse(out)
        result["worker_boots"] = self.worker_boots() - boots
        # CPU per request, by /proc: steadier than req/s on a machine others share. A
        # process started during the run (a new backend) counts from zero.
        tick, requests = os.sysconf("SC_CLK_TCK"), max(result["requests"], 1)
        result["cpu_ms"] = {
            name: sum(t - before[name].get(pid, 0) for pid, t in ticks.items())
            / tick
            / requests
            * 1000
            for name, ticks in after.items()
        }
        self.log_check(result, path, expect_size, ended=time.time())
        return result

    def log_check(self, result: dict, path: str, expect_size, ended: float):
        """nginx's view of the same run: every answer a 200 of exactly the file's size.
        Not errors: what wrk itself abandons when its time is up, in flight (499) or half
        received (a 200 cut short, logged as wrk stops)."""
        logged_path = re.sub(r"/g/[A-Za-z0-9_-]+/", "/g/[grant]/", path)
        entries = [e for e in self.log_since_mark() if e["path"] == logged_path]
        for e in entries:
            short = expect_size is not None and e["bytes"] != expect_size
            abandoned = e["status"] == 499 or (
                e["status"] == 200 and short and parse_time(e) >= ended - 2
            )
            e["bad"] = not abandoned and (e["status"] != 200 or short)
        bad = [e for e in entries if e["bad"]]
        result["logged"] = len(entries)
        result["log_bad"] = len(bad)
        result["log_statuses"] = sorted({e["status"] for e in bad})
        result["entries"] = entries


# --- the measurements -----------------------------------------------------------------------


THROUGHPUT = ("big_static", "big_sandbox", "small_static", "small_sandbox", "small_whitenoise")


def throughput(stack, args, targets: dict) -> dict:
    """Each way of serving in turn, `--rounds` times over: interleaved, so that a busy
    neighbour on the machine weighs on all of them alike. Returns the runs per way."""
    runs = {key: [] for key in targets}
    for n in range(args.rounds):
        print(f"  round {n + 1}/{args.rounds}", flush=True)
        for key, (label, make_path, host, size) in targets.items():
            result = stack.wrk(
                make_path(),
                host,
                duration=args.duration,
                connections=args.connections,
                expect_size=size,
            )
            print(
                f"    {label}: {result['rps']:.1f} req/s, "
                f"p50 {result['latency_ms'].get('50', 0):.1f} ms, errors "
                f"{result['non2xx'] + result['socket_errors'] + result['log_bad']}, "
                f"worker boots {result['worker_boots']} "
                f"{result['socket_detail'] if result['socket_errors'] else ''}",
                flush=True,
            )
            runs[key].append(result)
    return runs


def push_timings(stack, big: bytes, runs: int):
    floors, pushes = [], []
    for i in range(runs):
        variant = big[:-8] + f"{i:8d}".encode()  # new bytes each time: no dedup shortcut
        start = time.perf_counter()
        with tempfile.NamedTemporaryFile(dir=stack.data) as out:
            hashlib.sha256(variant).hexdigest()
            out.write(variant)
            out.flush()
            os.fsync(out.fileno())
        floors.append(time.perf_counter() - start)
        start = time.perf_counter()
        stack.push(f"push-{i}.html", variant)
        pushes.append(time.perf_counter() - start)
        print(f"  push {i + 1}: {pushes[-1] * 1000:.0f} ms (floor {floors[-1] * 1000:.0f} ms)")
    return median(pushes), median(floors), pushes, floors


def parse_time(entry) -> float:
    return datetime.fromisoformat(entry["time"]).timestamp()


def chaos_load(stack, small_id, args, restart):
    """The load again, with a worker SIGKILLed at 1/4 of the run and PostgreSQL restarted
    at 1/2, while a client pushes a small page every 0.5 s. Returns the wrk result, the
    events and the acknowledged pushes."""
    path = stack.grant_path(small_id)
    stack.log_mark()
    boots = stack.worker_boots()
    started = time.time()
    wrk = subprocess.Popen(
        wrk_command(
            stack.base + path,
            stack.sandbox_host,
            args.load_duration,
            args.load_connections,
            args.threads,
        ),
        stdout=subprocess.PIPE,
        text=True,
    )
    acknowledged, push_failures, stop = [], [], threading.Event()

    def pusher():
        with httpx.Client(
            base_url=stack.app,
            verify=stack.tls,
            timeout=30,
            headers={"Authorization": f"Bearer {stack.token}"},
        ) as client:
            n = 0
            while not stop.is_set():
                body = page(4096, salt=f"chaos {n} {secrets.token_hex(4)}".encode())
                try:
                    r = client.post(
                        "/api/v1/artifacts", files={"file": (f"c{n}.html", body, "text/html")}
                    )
                    if r.status_code == 201:
                        acknowledged.append((r.json()["id"], body))
                    else:
                        push_failures.append((time.time(), r.status_code))
                except httpx.HTTPError as exc:
                    push_failures.append((time.time(), type(exc).__name__))
                n += 1
                stop.wait(0.5)

    thread = threading.Thread(target=pusher, daemon=True)
    thread.start()
    events = []
    time.sleep(args.load_duration / 4)
    workers = children(stack.gunicorn.pid)
    victim = workers[0]
    os.kill(victim, signal.SIGKILL)
    events.append(("SIGKILL worker", time.time(), time.time(), f"pid {victim} of {workers}"))
    time.sleep(max(0.0, started + args.load_duration / 2 - time.time()))
    if restart:
        t0 = time.time()
        # Output to a file: a server started by the command may hold a pipe open forever.
        with open(stack.tmp / "pg-restart.log", "w+") as out:
            done = subprocess.run(restart, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
            out.seek(0)
            output = out.read()
        events.append(
            (
                "PostgreSQL restart",
                t0,
                time.time(),
                "ok" if done.returncode == 0 else f"FAILED: {output.strip()[-200:]}",
            )
        )
    out, _ = wrk.communicate(timeout=args.load_duration + 60)
    stop.set()
    thread.join(40)
    result = wrk_parse(out)
    result["worker_boots"] = stack.worker_boots() - boots
    stack.log_check(result, path, SMALL, ended=time.time())
    result["started"] = started
    return result, events, acknowledged, push_failures


def bin_errors(entries, started, events, window=5.0):
    """Errors (non-200 or short) per phase, from nginx's log: during = from an event's
    start to `window` s after its end; after = the rest of the run after the first event."""
    during, after, before, timeline = 0, 0, 0, {}
    first = min((e[1] for e in events), default=float("inf"))
    for entry in entries:
        if not entry["bad"]:
            continue
        t = parse_time(entry)
        second = int(t) - int(started)  # nginx logs whole seconds
        timeline[second] = timeline.get(second, 0) + 1
        if any(start - 1 <= t <= end + window for _, start, end, _ in events):
            during += 1
        elif t < first:
            before += 1
        else:
            after += 1
    return before, during, after, dict(sorted(timeline.items()))


# --- report ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="s per throughput wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs of each")
    parser.add_argument("--workers", type=int, default=2, help="GUNICORN_WORKERS")
    parser.add_argument("--push-runs", type=int, default=5)
    parser.add_argument("--load-duration", type=int, default=60)
    parser.add_argument("--load-connections", type=int, default=64)
    parser.add_argument(
        "--own-postgres",
        action="store_true",
        help="run a throwaway PostgreSQL cluster (and restart it mid-load)",
    )
    parser.add_argument(
        "--pg-restart-cmd",
        default="",
        help="shell command restarting the server of DATABASE_URL mid-load, e.g. "
        "'pg_ctlcluster 15 main restart' (never by default: it cuts every other client)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs)")
    args = parser.parse_args()
    for tool in ("wrk", "openssl"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found")
    assert args.duration < GRANT_TTL and args.load_duration < GRANT_TTL

    # A SIGTERM (or a timeout's) still stops nginx, gunicorn and PostgreSQL: see finally.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    small, big = page(SMALL, b"small"), page(BIG, b"big")
    stack = Stack(args)
    try:
        print(f"setting up in {stack.tmp} ...", flush=True)
        stack.setup(small, big)
        stack.start()
        print(f"backend: {stack.backend}; gunicorn workers {args.workers}", flush=True)
        small_id = stack.push("small.html", small)["id"]
        big_id = stack.push("big.html", big)["id"]
        stack.sign_in()
        figures = run(stack, args, small, big, small_id, big_id)
        report(stack, args, figures)
    finally:
        stack.stop()


def run(stack, args, small, big, small_id, big_id) -> dict:
    sandbox, app = stack.sandbox_host, stack.app_host
    static_small, static_big = STATIC_PREFIX + "small.html", STATIC_PREFIX + "big.html"
    whitenoise = "/static/bench/small.html"

    # Each way of serving answers the right bytes, and the sandbox's come from nginx.
    for path, host, body in (
        (stack.grant_path(small_id), sandbox, small),
        (stack.grant_path(big_id), sandbox, big),
        (static_small, sandbox, small),
        (static_big, sandbox, big),
        (whitenoise, app, small),
    ):
        headers = {"Sec-Fetch-Dest": "iframe"} if path.startswith("/g/") else {}
        response = stack.get(path, host, **headers)
        assert response.status_code == 200 and response.content == body, (path, response)
    gunicorn_log = (stack.tmp / "gunicorn-access.log").read_text().splitlines()
    grants = [json.loads(line) for line in gunicorn_log if '"/g/[grant]/"' in line]
    assert grants and all(e["bytes"] in (0, None) for e in grants), "bytes not offloaded"

    print("warm-up ...", flush=True)
    for path, host in (
        (stack.grant_path(small_id), sandbox),
        (static_small, sandbox),
        (whitenoise, app),
    ):
        stack.wrk(path, host, duration=3, connections=args.connections)

    print("1-2. throughput: 16 MiB and 100 KiB", flush=True)
    f = throughput(
        stack,
        args,
        {
            "big_static": ("16 MiB nginx static", lambda: static_big, sandbox, BIG),
            "big_sandbox": ("16 MiB sandbox", lambda: stack.grant_path(big_id), sandbox, BIG),
            "small_static": ("100 KiB nginx static", lambda: static_small, sandbox, SMALL),
            "small_sandbox": (
                "100 KiB sandbox",
                lambda: stack.grant_path(small_id),
                sandbox,
                SMALL,
            ),
            "small_whitenoise": ("100 KiB WhiteNoise", lambda: whitenoise, app, SMALL),
        },
    )
    print("3. 16 MiB push", flush=True)
    f["push"], f["floor"], f["pushes"], f["floors"] = push_timings(stack, big, args.push_runs)

    print(f"4. load: {args.load_connections} connections, {args.load_duration} s", flush=True)
    f["load"] = stack.wrk(
        stack.grant_path(small_id),
        sandbox,
        duration=args.load_duration,
        connections=args.load_connections,
        expect_size=SMALL,
    )
    restart, f["restart_note"] = None, ""
    if args.own_postgres:
        restart = stack.pg.restart_command()
    elif args.pg_restart_cmd and stack.on_postgres:
        restart = shlex.split(args.pg_restart_cmd)
    elif stack.on_postgres:
        f["restart_note"] = "PostgreSQL restart skipped: no --pg-restart-cmd / --own-postgres"
    else:
        f["restart_note"] = "PostgreSQL restart n/a: SQLite"
    print("   again, with a worker SIGKILLed and PostgreSQL restarted", flush=True)
    chaos, events, acknowledged, push_failures = chaos_load(stack, small_id, args, restart)
    f["chaos"], f["events"] = chaos, events
    f["chaos_bins"] = bin_errors(chaos["entries"], chaos["started"], events)
    push_entries = [
        e for e in stack.log_since_mark() if e["path"] == "/api/v1/artifacts" and e["status"] != 201
    ]
    f["push_failures"], f["push_error_log"] = push_failures, len(push_entries)
    print("   recovery run", flush=True)
    f["recovery"] = stack.wrk(
        stack.grant_path(small_id),
        sandbox,
        duration=min(20, args.load_duration),
        connections=args.load_connections,
        expect_size=SMALL,
    )
    # Nothing lost: both artifacts and every acknowledged push still serve their bytes.
    lost = []
    for artifact_id, body in [(small_id, small), (big_id, big), *acknowledged]:
        response = stack.get(stack.grant_path(artifact_id), sandbox, **{"Sec-Fetch-Dest": "iframe"})
        if response.status_code != 200 or hashlib.sha256(response.content).digest() != (
            hashlib.sha256(body).digest()
        ):
            lost.append((artifact_id, response.status_code, len(response.content)))
    f["acknowledged"], f["lost"] = len(acknowledged), lost
    f["workers_after"] = children(stack.gunicorn.pid)
    return f


def report(stack, args, f):
    def rps(key):
        return median([r["rps"] for r in f[key]])

    def errors(r):
        return r["non2xx"] + r["socket_errors"] + r["log_bad"]

    def per_round(num, den):  # ratio of each interleaved round, then their median
        return [a["rps"] / b["rps"] for a, b in zip(f[num], f[den], strict=True)]

    rounds = {
        "big_vs_static": per_round("big_sandbox", "big_static"),
        "small_vs_static": per_round("small_sandbox", "small_static"),
        "small_vs_whitenoise": per_round("small_sandbox", "small_whitenoise"),
    }
    ratios = {key: median(values) for key, values in rounds.items()}
    ratios["push_vs_floor"] = f["push"] / f["floor"]
    met = {
        key: ratios[key] <= target if key == "push_vs_floor" else ratios[key] >= target
        for key, target in TARGETS.items()
    }
    c, mib = args.connections, BIG / 2**20
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print()
    print(f"tree: {commit or '?'}; backend: {stack.backend}")
    print(
        f"gunicorn -c config/gunicorn.conf.py ({args.workers} workers, gthread); nginx "
        f"worker_processes auto; wrk -t{args.threads} -c{c} -d{args.duration}s x {args.rounds} "
        "interleaved rounds, HTTPS to 127.0.0.1, no Accept-Encoding"
    )
    print()
    print("| way of serving | req/s (median) | per round | p50 / p99 ms | errors | worker boots |")
    print("| --- | --- | --- | --- | --- | --- |")
    for key, label in (
        ("big_static", "16 MiB, nginx static"),
        ("big_sandbox", "16 MiB, sandbox (grant + X-Accel)"),
        ("small_static", "100 KiB, nginx static"),
        ("small_sandbox", "100 KiB, sandbox (grant + X-Accel)"),
        ("small_whitenoise", "100 KiB, WhiteNoise (gunicorn)"),
    ):
        runs = f[key]
        extra = f" ({rps(key) * mib:.0f} MiB/s)" if key.startswith("big") else ""
        print(
            f"| {label} | {rps(key):.1f}{extra} | "
            + " ".join(f"{r['rps']:.1f}" for r in runs)
            + f" | {median([r['latency_ms'].get('50', 0) for r in runs]):.1f} / "
            f"{median([r['latency_ms'].get('99', 0) for r in runs]):.1f} | "
            f"{sum(errors(r) for r in runs)} | {sum(r['worker_boots'] for r in runs)} |"
        )
    print()
    groups = [
        g
        for g in ("gunicorn", "postgres", "redis", "nginx")
        if g in f["small_sandbox"][0]["cpu_ms"]
    ]
    print("CPU per request, ms (median over the rounds; /proc utime + stime during each run):")
    print("| way of serving | " + " | ".join(groups) + " | total |")
    print("| --- |" + " --- |" * (len(groups) + 1))
    for key, label in (
        ("small_static", "100 KiB, nginx static"),
        ("small_sandbox", "100 KiB, sandbox (grant + X-Accel)"),
        ("small_whitenoise", "100 KiB, WhiteNoise (gunicorn)"),
    ):
        cells = [median([r["cpu_ms"][g] for r in f[key]]) for g in groups]
        total = median([sum(r["cpu_ms"][g] for g in groups) for r in f[key]])
        print(f"| {label} | " + " | ".join(f"{c:.3f}" for c in cells) + f" | {total:.3f} |")
    print()
    print("| target | figure | per round | target | |")
    print("| --- | --- | --- | --- | --- |")
    for key, label in (
        ("big_vs_static", "16 MiB: sandbox / nginx static"),
        ("small_vs_static", "100 KiB: sandbox / nginx static"),
        ("small_vs_whitenoise", "100 KiB: sandbox / WhiteNoise"),
    ):
        print(
            f"| {label} | {ratios[key]:.0%} | "
            + " ".join(f"{v:.0%}" for v in rounds[key])
            + f" | ≥ {TARGETS[key]:.0%} | {verdict(met[key])} |"
        )
    print(
        f"| 16 MiB push / (sha256 + write + fsync), medians of {args.push_runs} | "
        f"{f['push'] * 1000:.0f} ms / {f['floor'] * 1000:.0f} ms = "
        f"{ratios['push_vs_floor']:.1f}× | "
        + " ".join(
            f"{p * 1000:.0f}/{q * 1000:.0f}" for p, q in zip(f["pushes"], f["floors"], strict=True)
        )
        + f" | ≤ {TARGETS['push_vs_floor']:.0f}× | {verdict(met['push_vs_floor'])} |"
    )
    print()
    n = args.load_connections
    print(
        f"| 100 KiB sandbox, {n} connections | s | req/s | requests | errors: non-2xx / "
        "socket / nginx log | p50 | p90 | p99 | worker boots |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, r, seconds in (
        ("steady", f["load"], args.load_duration),
        ("worker SIGKILL + PostgreSQL restart", f["chaos"], args.load_duration),
        ("recovery, right after", f["recovery"], min(20, args.load_duration)),
    ):
        lat = r["latency_ms"]
        print(
            f"| {label} | {seconds} | {r['rps']:.0f} | {r['requests']} | {r['non2xx']} / "
            f"{r['socket_errors']} / {r['log_bad']} | {lat.get('50', 0):.1f} ms | "
            f"{lat.get('90', 0):.1f} ms | {lat.get('99', 0):.1f} ms | {r['worker_boots']} |"
        )
    print()
    started = f["chaos"]["started"]
    for name, start, end, note in f["events"]:
        print(f"event: {name} at t={start - started:.1f} s, took {end - start:.1f} s: {note}")
    if f["restart_note"]:
        print(f["restart_note"])
    before, during, after, timeline = f["chaos_bins"]
    print(
        f"chaos-run errors (nginx log): before the events {before}, during (an event to 5 s "
        f"after it) {during}, after {after}; per second of the run: {timeline or 'none'}"
    )
    statuses, detail = f["chaos"]["log_statuses"], f["chaos"]["socket_detail"]
    print(f"  statuses of the failed answers: {statuses or 'none'}; wrk: {detail}")
    print(
        f"pushes during the chaos run: {f['acknowledged']} acknowledged, "
        f"{len(f['push_failures'])} failed {f['push_failures'][:10]}"
    )
    print(
        f"afterwards: gunicorn workers {f['workers_after']}; lost or altered: "
        f"{f['lost'] or 'none'} (sha256 of what the sandbox serves, {f['acknowledged'] + 2} "
        "artifacts: the two measured and every acknowledged push)"
    )
    steady, recovery = errors(f["load"]), errors(f["recovery"])
    print()
    print("targets:")
    for key, target in TARGETS.items():
        print(f"  {key}: {ratios[key]:.3g} (target {target}) {verdict(met[key])}")
    print(f"  steady load without errors: {verdict(steady == 0)} ({steady})")
    print(
        f"  load right after the disruption without errors: {verdict(recovery == 0)} ({recovery})"
    )
    print(f"  nothing lost: {verdict(not f['lost'])}")
    if args.keep:
        print(f"logs kept in {stack.tmp}")


if __name__ == "__main__":
    main()
