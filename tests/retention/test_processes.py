"""Retention under concurrency and faults, with real processes on the real database:
two runs at once, a run killed mid-way, and the blob collector racing pushes."""

import hashlib
import io
import signal
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from artifacts import storage
from artifacts.models import Artifact, Blob, Version
from artifacts.retention.enforce import BLOB_LEASE, blobs_collect
from orgs.models import AuditEvent, Role
from orgs.services import member_add, org_create, org_settings_update, token_create
from tests import subproc

pytestmark = pytest.mark.django_db(transaction=True)

VERSIONS = 3


@pytest.fixture
def expired_org():
    """An org whose policy expires every artifact made by `make` (last version 10 days ago)."""
    org = org_create(slug="acme")
    owner = member_add(organization=org, email="o@example.com", role=Role.OWNER).user
    org_settings_update(organization=org, actor=owner, retention_unshared_days=1)
    org.refresh_from_db()

    def make(count: int) -> list[str]:
        data = b"<p>retention</p>"
        sha = hashlib.sha256(data).hexdigest()
        storage.blob_store(sha256=sha, fileobj=io.BytesIO(data))
        blob, _ = Blob.objects.get_or_create(sha256=sha, defaults={"size": len(data)})
        old = timezone.now() - timedelta(days=10)
        artifacts = Artifact.objects.bulk_create(
            Artifact(
                organization=org,
                author=owner,
                title=f"a{i}",
                format="html",
                latest_version=VERSIONS,
            )
            for i in range(count)
        )
        Artifact.objects.filter(organization=org).update(updated_at=old)
        Version.objects.bulk_create(
            Version(artifact=a, number=n, blob=blob, size=len(data))
            for a in artifacts
            for n in range(1, VERSIONS + 1)
        )
        return [a.pk for a in artifacts]

    return org, make


def _assert_consistent(org) -> int:
    """Every trashed artifact has exactly one expire event; every other is whole."""
    events = list(
        AuditEvent.objects.filter(organization=org, action="artifact.expire").values_list(
            "target", flat=True
        )
    )
    assert len(events) == len(set(events)), "an artifact expired twice"
    trashed = set(
        Artifact.objects.filter(organization=org, trashed_at__isnull=False).values_list(
            "pk", flat=True
        )
    )
    assert trashed == set(events)
    for artifact in Artifact.objects.filter(organization=org, trashed_at__isnull=True):
        numbers = list(artifact.versions.values_list("number", flat=True))
        assert numbers == list(range(1, VERSIONS + 1)), artifact.pk
    return len(trashed)


def test_two_runs_at_once_expire_each_artifact_once_without_errors(expired_org):
    org, make = expired_org
    ids = make(300)
    runs = [subproc.manage("enforce_retention", "--batch-size=10") for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
    assert _assert_consistent(org) == len(ids)
    # Between them they expired everything, each artifact once.
    summaries = [line for out, _ in outputs for line in out.splitlines() if "Notified" in line]
    reported = sum(int(line.split("expired ")[1].split(",")[0]) for line in summaries)
    assert reported == len(ids)


def test_a_run_killed_mid_way_leaves_audited_deletions_and_whole_artifacts(expired_org):
    org, make = expired_org
    ids = make(1500)
    run = subproc.manage("enforce_retention", "--batch-size=10")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = AuditEvent.objects.filter(organization=org, action="artifact.expire").count()
        if done >= 50:
            break
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=30)
    connection.close()  # a fresh connection: see only what the killed run committed
    partial = _assert_consistent(org)
    assert 0 < partial < len(ids), "kill the run while it works"
    # The next run finishes the work, without repeating any of it.
    again = subproc.manage("enforce_retention")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert _assert_consistent(org) == len(ids)
    assert f"expired {len(ids) - partial}," in out


def _race(token: str, data: bytes, delay: float) -> tuple[int, object]:
    """The collector (`delay` seconds late) and a push of `data`, released together."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    start, results = threading.Barrier(2), {}

    def collect():
        start.wait()
        time.sleep(delay)
        results["collected"] = blobs_collect()
        connection.close()

    def push():
        start.wait()
        results["push"] = Client().post(
            "/api/v1/artifacts",
            {"file": SimpleUploadedFile("r.html", data)},
            headers={"Authorization": f"Bearer {token}"},
        )
        connection.close()

    threads = [threading.Thread(target=collect), threading.Thread(target=push)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results["collected"], results["push"]


def test_the_blob_collector_never_deletes_a_blob_a_concurrent_push_is_about_to_use(
    expired_org,
):
    """Each round: an unreferenced blob whose lease ran out, then the collector and a push
    of the same bytes started together. Whoever wins, the pushed version's bytes are there."""
    org, _ = expired_org
    owner = org.memberships.get().user
    _, token = token_create(user=owner, organization=org, name="race", mfa_used=True)
    rounds, collected = 20, 0
    for n in range(rounds):
        data = f"<p>race {n}</p>".encode()
        sha = hashlib.sha256(data).hexdigest()
        storage.blob_store(sha256=sha, fileobj=io.BytesIO(data))
        Blob.objects.create(sha256=sha, size=len(data), touched_at=timezone.now() - 2 * BLOB_LEASE)
        # Staggered starts, so that each side wins some rounds and some meet mid-way.
        won, pushed = _race(token, data, delay=(n % 5) * 0.01)
        assert pushed.status_code == 201, pushed.content
        collected += won
        version = Version.objects.get(blob_id=sha)
        with storage.blob_open(version.blob_id) as stored:
            assert stored.read() == data, f"round {n}: the version's bytes are gone"
    # Referenced blobs are never collected, however old their lease.
    Blob.objects.update(touched_at=timezone.now() - 2 * BLOB_LEASE)
    assert blobs_collect() == 0
    print(f"\nGC race: the collector won {collected} of {rounds} rounds; no push lost its bytes")
