"""Retention purge rate on PostgreSQL: `manage.py enforce_retention` against a raw SQL DELETE
of the same rows, in one run, at several sizes (SPEC §8, issue 6).

    .venv/bin/python bench/bench_retention.py [--sizes 10000,50000,100000] [--batch-size 500]

Each size is N versions across N/10 artifacts of one org, all in the trash for longer than
the grace period. The enforcement (a subprocess, as the periodic task or the command runs
it) deletes them in batches with one `artifact.purge` audit event per artifact; its peak
RSS is read from the process itself. Then the same rows are made again and deleted with two
plain DELETE statements in one transaction. Needs PostgreSQL: DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/bench_retention, created if missing).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_retention"
VERSIONS_PER_ARTIFACT = 10

# The command in a fresh process: its run time (without interpreter and Django start-up,
# about 1.5 s here) and the process's own peak RSS (KiB).
MEASURED = """
import resource, sys, time
sys.path.insert(0, ".")
import django
django.setup()
from django.core.management import call_command
started = time.perf_counter()
call_command("enforce_retention", "--org", "bench", "--batch-size", sys.argv[1])
print("RUN_SECONDS", time.perf_counter() - started)
print("PEAK_RSS_KIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


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


def make_trash(versions: int) -> int:
    """N versions over N/10 artifacts, trashed 60 days ago; returns the artifact count."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from artifacts.models import Artifact, Blob, Version
    from orgs.models import Organization

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE artifacts_pushreceipt, artifacts_share, artifacts_version, "
            "artifacts_artifact, orgs_auditevent, orgs_notification CASCADE"
        )
    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    blob, _ = Blob.objects.get_or_create(sha256="b" * 64, defaults={"size": 1000})
    count = versions // VERSIONS_PER_ARTIFACT
    trashed = timezone.now() - timedelta(days=60)
    for start in range(0, count, 2000):
        artifacts = Artifact.objects.bulk_create(
            Artifact(
                organization=org,
                title=f"bench {n}",
                format="html",
                latest_version=VERSIONS_PER_ARTIFACT,
                trashed_at=trashed,
            )
            for n in range(start, min(start + 2000, count))
        )
        Version.objects.bulk_create(
            Version(artifact=a, number=v, blob=blob, size=1000)
            for a in artifacts
            for v in range(1, VERSIONS_PER_ARTIFACT + 1)
        )
    return count


def counts() -> tuple[int, int, int]:
    from artifacts.models import Artifact, Version
    from orgs.models import AuditEvent

    return (
        Artifact.objects.count(),
        Version.objects.count(),
        AuditEvent.objects.filter(action="artifact.purge").count(),
    )


def enforce(env: dict, batch_size: int) -> tuple[float, int]:
    result = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-c", MEASURED, str(batch_size)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = float(result.stdout.rsplit("RUN_SECONDS", 1)[1].split()[0])
    peak = int(result.stdout.rsplit("PEAK_RSS_KIB", 1)[1].split()[0])
    return seconds, peak


def raw_delete() -> float:
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM artifacts_version WHERE artifact_id IN "
            "(SELECT id FROM artifacts_artifact WHERE trashed_at IS NOT NULL)"
        )
        cursor.execute("DELETE FROM artifacts_artifact WHERE trashed_at IS NOT NULL")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    database_create(url)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",  # as in production (DEBUG keeps a log of 9000 queries)
        "ARTIFACTS_DATA_DIR": tempfile.mkdtemp(prefix="bench-retention-"),
    }
    env.pop("REDIS_URL", None)
    subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    setup_django(env)
    rows = []
    for versions in (int(s) for s in args.sizes.split(",")):
        artifacts = make_trash(versions)
        seconds, peak = enforce(env, args.batch_size)
        left_artifacts, left_versions, events = counts()
        assert (left_artifacts, left_versions) == (0, 0), "the run left rows behind"
        assert events == artifacts, f"{events} purge events for {artifacts} artifacts"
        make_trash(versions)
        raw = raw_delete()
        rows.append((versions, artifacts, seconds, raw, peak))
        print(
            f"{versions:>7} versions / {artifacts:>6} artifacts: enforce {seconds:6.2f} s "
            f"({versions / seconds:8.0f} versions/s, peak RSS {peak / 1024:.0f} MiB), "
            f"raw DELETE {raw:5.2f} s ({versions / raw:8.0f} versions/s), "
            f"ratio {seconds / raw:4.1f}×",
            flush=True,
        )
    print("\n| versions | artifacts | enforce_retention | raw DELETE | ratio | peak RSS |")
    print("| --- | --- | --- | --- | --- | --- |")
    for versions, artifacts, seconds, raw, peak in rows:
        print(
            f"| {versions:,} | {artifacts:,} | {seconds:.2f} s ({versions / seconds:,.0f}/s) "
            f"| {raw:.2f} s ({versions / raw:,.0f}/s) | {seconds / raw:.1f}× "
            f"| {peak / 1024:.0f} MiB |"
        )


if __name__ == "__main__":
    main()
