"""Retention enforced (SPEC §6, §2.8): expire, prune, purge and collect, in bounded batches.

Each batch is one transaction that changes its rows and writes their audit events
together: a run killed at any point leaves every deletion audited and everything else
whole. Rows are claimed with FOR UPDATE SKIP LOCKED and the claim's conditions are
re-checked in the write, so two runs at once never delete or audit anything twice (on
SQLite, IMMEDIATE transactions serialise the batches instead). What each phase takes is
the org's `Plan` (artifacts.retention.policy).
"""

import fcntl
import logging
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone

from orgs.audit import SYSTEM, actor_fields, audit_record
from orgs.models import AuditEvent, Notification, Organization

from .. import storage
from ..models import (
    Artifact,
    AuthzGeneration,
    Blob,
    Collection,
    PushReceipt,
    SandboxGrant,
    SearchText,
    Share,
    Version,
    View,
)
from ..readers import views_prune
from ..sandbox import authz
from ..search import search_index_later
from .notices import expired_notices, expiring_notices, notices_email_later
from .policy import Plan, Report, age_base, is_shared, plan_counts, retention_plan

logger = logging.getLogger(__name__)

BATCH = 500
# A push touches its blob before it writes or reuses the bytes, and has this long to commit
# its version; the collector leaves younger blobs alone. Pushes take seconds.
BLOB_LEASE = timedelta(hours=1)
# Idempotency-Keys are honoured this long (a CLI retries for minutes, not days).
RECEIPT_TTL = timedelta(days=7)
# Read in-app notices are kept this long.
NOTIFICATION_TTL = timedelta(days=90)

Progress = Callable[[str, int], None]  # (phase, rows just done)


def _claim(qs: QuerySet, size: int, *fields) -> list:
    """Lock and return up to `size` rows no concurrent run holds (PostgreSQL); a run that
    meets a locked row skips it, and the holder deals with it."""
    return list(qs.select_for_update(skip_locked=True, of=("self",)).values(*fields)[:size])


def _audit(organization: Organization, action: str, rows: list[dict], **details) -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(
            organization=organization,
            **actor_fields(SYSTEM),
            action=action,
            target=row["pk"],
            details={
                "title": row["title"],
                "reason": "retention policy",
                **details,
                **row.get("extra", {}),
            },
        )
        for row in rows
    )


def _batches(work: Callable[[], int], phase: str, progress: Progress | None) -> int:
    total = 0
    while done := work():
        total += done
        if progress:
            progress(phase, done)
    return total


def _notify_batch(plan: Plan, size: int) -> int:
    org = plan.organization
    with transaction.atomic():
        rows = _claim(
            plan.notify.annotate(base=age_base(), shared=is_shared()),
            size,
            *("pk", "title", "author_id", "base", "shared"),
        )
        if not rows:
            return 0
        Artifact.objects.filter(pk__in=[r["pk"] for r in rows]).update(
            expiry_noticed_for=age_base()
        )
        notices_email_later(expiring_notices(org, rows))
    return len(rows)


def _expire_batch(plan: Plan, size: int) -> int:
    org = plan.organization
    with transaction.atomic():
        rows = _claim(plan.expire, size, "pk", "title", "author_id", "visibility")
        if not rows:
            return 0
        ids = [r["pk"] for r in rows]
        Artifact.objects.filter(pk__in=ids, trashed_at__isnull=True).update(
            trashed_at=plan.as_of, trashed_by=None
        )
        authz.bump("artifact", *ids)  # cached sandbox decisions about them are void
        SearchText.objects.filter(artifact_id__in=ids).delete()  # their words leave search
        _audit(org, "artifact.expire", rows, grace_days=org.retention_grace_days)
        notices_email_later(expired_notices(org, rows, plan.as_of))
    return len(rows)


def _prune_batch(plan: Plan, size: int) -> int:
    """Whole artifacts at a time (their row locked, like a push), up to `size` versions."""
    org = plan.organization
    with transaction.atomic():
        candidates = (
            plan.prune.values("artifact_id").annotate(n=Count("pk")).order_by("artifact_id")
        )
        picked, count = [], 0
        for row in candidates[:size]:
            picked.append(row["artifact_id"])
            count += row["n"]
            if count >= size:
                break
        if not picked:
            return 0
        locked = _claim(
            Artifact.objects.filter(pk__in=picked, trashed_at__isnull=True),
            len(picked),
            "pk",
            "title",
        )
        if not locked:
            return 0
        ids = [r["pk"] for r in locked]
        doomed = plan.prune.filter(artifact_id__in=ids)
        authz.bump("artifact", *ids)
        numbers: dict[str, list[int]] = {}
        for artifact_id, number in doomed.values_list("artifact_id", "number"):
            numbers.setdefault(artifact_id, []).append(number)
        PushReceipt.objects.filter(version__in=doomed.values("pk")).delete()
        deleted, _ = Version.objects.filter(
            pk__in=list(doomed.values_list("pk", flat=True))
        ).delete()
        for artifact_id in ids:  # the pruned versions' messages leave search
            search_index_later(artifact_id)
        for row in locked:
            row["extra"] = {"versions": numbers.get(row["pk"], [])}
        _audit(
            org,
            "artifact.versions_prune",
            [r for r in locked if r["extra"]["versions"]],
            keep=org.retention_keep_versions,
        )
    return deleted


def _rows_delete(artifact_ids: list[str]) -> None:
    """The artifacts and everything that hangs on them, one DELETE per table. Django's
    delete() would first load every version of the batch to cascade by hand: 5000 model
    instances a batch, for rows nothing else refers to (blobs go by the collector)."""
    receipts, shares, versions, artifacts, generations, views, search = (
        m._meta.db_table
        for m in (PushReceipt, Share, Version, Artifact, AuthzGeneration, View, SearchText)
    )
    filed = Collection.artifacts.through._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(artifact_ids), 500):  # SQLite's limit on parameters
            ids = artifact_ids[start : start + 500]
            marks = ", ".join(["%s"] * len(ids))
            # Table names come from the models, values are parameters.
            for sql in (
                f"DELETE FROM {receipts} WHERE version_id IN "  # noqa: S608
                f"(SELECT id FROM {versions} WHERE artifact_id IN ({marks}))",
                f"DELETE FROM {shares} WHERE artifact_id IN ({marks})",  # noqa: S608
                f"DELETE FROM {views} WHERE artifact_id IN ({marks})",  # noqa: S608
                f"DELETE FROM {filed} WHERE artifact_id IN ({marks})",  # noqa: S608
                # On SQLite a trigger takes the FTS5 rows along (artifacts.search).
                f"DELETE FROM {search} WHERE artifact_id IN ({marks})",  # noqa: S608
                f"DELETE FROM {versions} WHERE artifact_id IN ({marks})",  # noqa: S608
                f"DELETE FROM {artifacts} WHERE id IN ({marks})",  # noqa: S608
            ):
                cursor.execute(sql, ids)
            # Their sandbox generations too. Safe: a generation is at least 1 from the
            # artifact's creation on, so no cached decision holds the 0 it now reads as;
            # and ids are random, never reused, so nothing bumps or grants this one again.
            cursor.execute(
                f"DELETE FROM {generations} WHERE key IN ({marks})",  # noqa: S608
                [f"artifact:{i}" for i in ids],
            )


def _purge_batch(plan: Plan, size: int) -> int:
    org = plan.organization
    with transaction.atomic():
        rows = _claim(plan.purge, size, "pk", "title", "latest_version", "trashed_at")
        if not rows:
            return 0
        ids = [r["pk"] for r in rows]
        _rows_delete(ids)  # (no bump: going to the trash bumped them already)
        for row in rows:
            row["extra"] = {
                "versions": row.pop("latest_version"),
                "trashed_at": row.pop("trashed_at").isoformat(),
            }
        _audit(org, "artifact.purge", rows)
    return len(rows)


def org_retention_enforce(
    plan: Plan, *, batch_size: int = BATCH, progress: Progress | None = None
) -> Report:
    report = Report(orgs=[plan.organization.slug])
    report.notified = _batches(lambda: _notify_batch(plan, batch_size), "notify", progress)
    report.expired = _batches(lambda: _expire_batch(plan, batch_size), "expire", progress)
    report.pruned = _batches(lambda: _prune_batch(plan, batch_size), "prune", progress)
    report.purged = _batches(lambda: _purge_batch(plan, batch_size), "purge", progress)
    if report.expired or report.pruned or report.purged:
        audit_record(
            organization=plan.organization,
            actor=SYSTEM,
            action="retention.run",
            as_of=plan.as_of.isoformat(),
            expired=report.expired,
            pruned_versions=report.pruned,
            purged=report.purged,
        )
    return report


def blobs_collect(*, batch_size: int = BATCH, progress: Progress | None = None) -> int:
    """Delete blobs no version refers to, except those a push touched within BLOB_LEASE.

    Race-safe with pushes: a push first upserts its blob's touched_at, then writes or
    reuses the bytes, then commits its version. Here the row is deleted (and locked) first,
    then the file, then the transaction commits; a push touching the row meanwhile waits
    for that commit, finds the row gone, inserts it again and writes the bytes anew.
    Uses the real clock whatever `--as-of` says: leases are about pushes happening now.
    """
    cutoff = timezone.now() - BLOB_LEASE
    unreferenced = Blob.objects.filter(touched_at__lt=cutoff).filter(
        ~Exists(Version.objects.filter(blob=OuterRef("pk")))
    )

    def batch() -> int:
        with transaction.atomic():
            shas = [r["pk"] for r in _claim(unreferenced, batch_size, "pk")]
            if not shas:
                return 0
            unreferenced.filter(pk__in=shas).delete()
            for sha in shas:
                storage.blob_delete(sha)
        return len(shas)

    return _batches(batch, "blobs", progress)


def housekeeping(now: datetime) -> tuple[int, int]:
    """Idempotency receipts, read notices and sandbox grants past their time (small tables,
    one DELETE each)."""
    SandboxGrant.objects.filter(expires_at__lt=now).delete()
    receipts, _ = PushReceipt.objects.filter(created_at__lt=now - RECEIPT_TTL).delete()
    notices, _ = Notification.objects.filter(
        read_at__isnull=False, read_at__lt=now - NOTIFICATION_TTL
    ).delete()
    return receipts, notices


def retention_enforce(
    *,
    as_of: datetime | None = None,
    organization: Organization | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH,
    progress: Progress | None = None,
) -> Report:
    """Every org's policy (or one org's), then the blob collector. The periodic task and
    `manage.py enforce_retention` both run this."""
    as_of = as_of or timezone.now()
    orgs = [organization] if organization else Organization.objects.order_by("pk").iterator()
    report = Report()
    with _one_run_at_a_time_on_sqlite():
        _enforce(report, orgs, as_of, dry_run, batch_size, progress)
    return report


@contextmanager
def _one_run_at_a_time_on_sqlite():
    """SQLite has one writer: two runs alternating batches starve each other past the busy
    timeout. There a second run waits for the first (then finds nothing left to do); on
    PostgreSQL runs share the work through SKIP LOCKED."""
    if connection.vendor != "sqlite":
        yield
        return
    with open(f"{connection.settings_dict['NAME']}.retention-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _enforce(report, orgs, as_of, dry_run, batch_size, progress) -> None:
    for org in orgs:
        plan = retention_plan(org, as_of)
        if dry_run:
            report.add(plan_counts(plan))
            report.orgs.append(org.slug)
            continue
        report.add(org_retention_enforce(plan, batch_size=batch_size, progress=progress))
        report.views += views_prune(org, as_of, batch_size)
        report.orgs.append(org.slug)
    if not dry_run:
        report.blobs = blobs_collect(batch_size=batch_size, progress=progress)
        report.receipts, report.notifications = housekeeping(timezone.now())
