"""Retention purge rate on PostgreSQL: `manage.py enforce_retention` against a raw SQL DELETE
of the same rows, at several sizes (SPEC §6 and §8, issue 6).

    .venv/bin/python bench/bench_retention.py [--sizes 10000,50000,100000] [--batch-size 500]
                                              [--runs 3]

Each size is N versions across N/10 artifacts of one org (10 versions each, over a handful
of shared blobs), all in the trash for longer than the org's grace period; the rows are
made with bulk_create, then ANALYZEd. Then, for each run:

- A, the enforcement: `manage.py enforce_retention --org bench` in a subprocess, as an
  operator or the periodic task runs it (PostgreSQL through DATABASE_URL, DEBUG off as in
  production, blobs in a temporary ARTIFACTS_DATA_DIR). It deletes the rows in batches with
  one `artifact.purge` audit event per artifact; the bench checks that every row is gone
  and that each artifact has exactly one event. Timed from spawn to exit, and inside the
  process around the command's handle() (everything the command does once Python, Django
  and the system checks are up: counts, the batches, the blob collector); the rates and
  the ratio use the latter. Peak RSS of that process, measured by /usr/bin/time (GNU time).
- B, the floor: the same rows (same ids) are made again and deleted with two plain DELETE
  statements (versions, then artifacts) in one transaction, from this process.

Medians over the runs. DATABASE_URL defaults to
postgres://postgres@127.0.0.1:5432/bench_retention (created if missing; its artifact,
version, audit, notification and authz-generation tables are emptied before each load).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv/bin/python")
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_retention"
ORG = "bench"
VERSIONS_PER_ARTIFACT = 10
BLOBS = 5
GRACE_DAYS = 30
CHUNK = 2000  # artifacts per bulk_create


def database_create(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(env: dict) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def tables_empty() -> None:
    from django.db import connection

    from artifacts.models import Artifact, AuthzGeneration, PushReceipt, Share, Version
    from orgs.models import AuditEvent, Notification

    models = (PushReceipt, Share, Version, Artifact, AuditEvent, Notification, AuthzGeneration)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(m._meta.db_table for m in models)}")


def org_get():
    from orgs.models import Organization

    org, _ = Organization.objects.update_or_create(
        slug=ORG,
        defaults={
            "name": "Bench",
            "retention_grace_days": GRACE_DAYS,
            "retention_unshared_days": None,
            "retention_shared_days": None,
            "retention_keep_versions": None,
        },
    )
    return org


def trash_make(versions: int) -> list[str]:
    """Empty tables, then N versions over N/10 artifacts trashed twice the grace period
    ago (the same ids for a given N); returns the artifact ids."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from artifacts.models import Artifact, Blob, Version

    tables_empty()
    org = org_get()
    blobs = [
        Blob.objects.get_or_create(sha256=f"{n:064x}", defaults={"size": 1000})[0]
        for n in range(BLOBS)
    ]
    ids = [f"bench-{n:08d}" for n in range(versions // VERSIONS_PER_ARTIFACT)]
    trashed = timezone.now() - timedelta(days=2 * GRACE_DAYS)
    for start in range(0, len(ids), CHUNK):
        artifacts = Artifact.objects.bulk_create(
            Artifact(
                id=pk,
                organization=org,
                title=f"bench {pk}",
                format="html",
                latest_version=VERSIONS_PER_ARTIFACT,
                trashed_at=trashed,
            )
            for pk in ids[start : start + CHUNK]
        )
        Version.objects.bulk_create(
            (
                Version(artifact=a, number=n, blob=blobs[(i + n) % BLOBS], size=1000)
                for i, a in enumerate(artifacts)
                for n in range(1, VERSIONS_PER_ARTIFACT + 1)
            ),
            batch_size=5000,
        )
    with connection.cursor() as cursor:  # autocommit: VACUUM may run
        cursor.execute(
            f"VACUUM ANALYZE {Artifact._meta.db_table}, {Version._meta.db_table}, "
            f"{Blob._meta.db_table}"
        )
    return ids


# `manage.py enforce_retention ARGS` as run from a shell, with a stopwatch around the
# command's handle(): what it takes once Python, Django and the system checks are up.
TIMED = """
import runpy, sys, time
import django
django.setup()
from artifacts.management.commands import enforce_retention
handle = enforce_retention.Command.handle
def timed(self, *args, **options):
    started = time.perf_counter()
    try:
        return handle(self, *args, **options)
    finally:
        print("HANDLE_SECONDS", time.perf_counter() - started, file=sys.stderr)
enforce_retention.Command.handle = timed
sys.argv = ["manage.py", *sys.argv[1:]]
runpy.run_path("manage.py", run_name="__main__")
"""


def enforce(env: dict, batch_size: int) -> tuple[float, float, int, str]:
    """`manage.py enforce_retention` in its own process: (seconds from spawn to exit, seconds
    in the command's handle(), peak RSS KiB, stdout).

    The peak comes from /usr/bin/time, not from wait4() here: a child spawned by this
    (large) process inherits its RSS high-water mark through the fork and exec."""
    command = [PYTHON, "-c", TIMED, "enforce_retention", "--org", ORG, "--batch-size"]
    with tempfile.NamedTemporaryFile() as peak:
        started = time.perf_counter()
        result = subprocess.run(
            ["/usr/bin/time", "-o", peak.name, "-f", "%M", *command, str(batch_size)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
        if result.returncode:
            raise RuntimeError(f"enforce_retention failed:\n{result.stdout}{result.stderr}")
        peak_kib = int(Path(peak.name).read_text().split()[-1])
    handle = float(result.stderr.rsplit("HANDLE_SECONDS", 1)[1].split()[0])
    return seconds, handle, peak_kib, result.stdout


def purge_check(ids: list[str], stdout: str) -> None:
    """Every row gone; exactly one `artifact.purge` event per artifact, one run event."""
    from artifacts.models import Artifact, Version
    from orgs.models import AuditEvent

    assert f"purged {len(ids)} artifacts" in stdout, stdout
    assert not Artifact.objects.exists(), "artifacts left behind"
    assert not Version.objects.exists(), "versions left behind"
    events = AuditEvent.objects.filter(organization__slug=ORG, action="artifact.purge")
    targets = list(events.values_list("target", flat=True))
    assert len(targets) == len(ids), f"{len(targets)} purge events for {len(ids)} artifacts"
    assert set(targets) == set(ids), "purge events for the wrong artifacts"
    assert events.filter(details__versions=VERSIONS_PER_ARTIFACT).count() == len(ids)
    runs = AuditEvent.objects.filter(organization__slug=ORG, action="retention.run")
    assert [r.details["purged"] for r in runs] == [len(ids)], "not one retention.run event"


def raw_delete(ids: list[str]) -> float:
    """Two DELETEs (versions, then artifacts) in one transaction, commit included."""
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    from artifacts.models import Artifact, Version

    org = org_get()
    cutoff = timezone.now() - timedelta(days=org.retention_grace_days)
    artifacts, versions = Artifact._meta.db_table, Version._meta.db_table
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {versions} WHERE artifact_id IN "
            f"(SELECT id FROM {artifacts} WHERE organization_id = %s AND trashed_at <= %s)",
            [org.pk, cutoff],
        )
        deleted_versions = cursor.rowcount
        cursor.execute(
            f"DELETE FROM {artifacts} WHERE organization_id = %s AND trashed_at <= %s",
            [org.pk, cutoff],
        )
        deleted_artifacts = cursor.rowcount
    seconds = time.perf_counter() - started
    assert deleted_artifacts == len(ids), deleted_artifacts
    assert deleted_versions == len(ids) * VERSIONS_PER_ARTIFACT, deleted_versions
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="10000,50000,100000", help="versions, comma-separated")
    parser.add_argument("--batch-size", type=int, default=500, help="enforce_retention's")
    parser.add_argument("--runs", type=int, default=3, help="per size; medians are reported")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    database_create(url)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",  # as in production (DEBUG keeps a log of every query)
        "ARTIFACTS_DATA_DIR": tempfile.mkdtemp(prefix="bench-retention-"),
    }
    env.pop("REDIS_URL", None)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup_django(env)

    # The same command with nothing to purge: start-up and memory before any row.
    tables_empty()
    org_get()
    base_seconds, base_handle, base_peak, _ = enforce(env, args.batch_size)
    print(
        f"enforce_retention on an empty trash: {base_seconds:.2f} s "
        f"(handle() {base_handle:.2f} s), peak RSS {base_peak / 1024:.0f} MiB",
        flush=True,
    )

    rows = []
    for versions in sizes:
        walls, handles, raws, peaks = [], [], [], []
        for run in range(args.runs):
            started = time.perf_counter()
            ids = trash_make(versions)
            made = time.perf_counter() - started
            seconds, handle, peak, stdout = enforce(env, args.batch_size)
            purge_check(ids, stdout)
            trash_make(versions)
            raw = raw_delete(ids)
            walls.append(seconds)
            handles.append(handle)
            raws.append(raw)
            peaks.append(peak)
            print(
                f"{versions:>8,} versions, run {run + 1}: made in {made:.1f} s; "
                f"enforce_retention {seconds:.2f} s (handle() {handle:.2f} s), "
                f"peak RSS {peak / 1024:.0f} MiB; raw DELETE {raw:.2f} s",
                flush=True,
            )
        median = statistics.median
        rows.append((versions, len(ids), median(walls), median(handles), median(raws), max(peaks)))

    print(
        f"\nbatch size {args.batch_size}, median of {args.runs} runs (peak RSS: the highest); "
        f"on an empty trash the command takes {base_seconds:.2f} s and "
        f"{base_peak / 1024:.0f} MiB\n"
    )
    print(
        "| versions | artifacts | enforce_retention, spawn to exit | its handle() | versions/s "
        "| raw DELETE | versions/s | ratio | peak RSS |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for versions, artifacts, wall, handle, raw, peak in rows:
        print(
            f"| {versions:,} | {artifacts:,} | {wall:.2f} s | {handle:.2f} s "
            f"| {versions / handle:,.0f} | {raw:.2f} s | {versions / raw:,.0f} "
            f"| {handle / raw:.1f}× | {peak / 1024:.0f} MiB |"
        )


if __name__ == "__main__":
    main()
