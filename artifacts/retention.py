"""Retention (SPEC §6, §2.8): expire, prune, purge and collect, in bounded batches.

What a policy selects at a given time is a `Plan` of querysets, used both by the admin
preview and by the enforcement, so the preview shows exactly what a run would delete.

Each batch is one transaction that changes its rows and writes their audit events
together: a run killed at any point leaves every deletion audited and everything else
whole. Rows are claimed with FOR UPDATE SKIP LOCKED and the claim's conditions are
re-checked in the write, so two runs at once never delete or audit anything twice (on
SQLite, IMMEDIATE transactions serialise the batches instead).

The life of an expired artifact: a notice to its author `retention_notice_days` before,
then the trash (invisible to all, restorable by an admin) for `retention_grace_days`, then
the purge of its rows; its blobs go once no version refers to them (`blobs_collect`).
"""

import fcntl
import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from orgs.audit import audit_record
from orgs.models import AuditEvent, Notification, Organization

from . import authz, storage
from .models import (
    Artifact,
    AuthzGeneration,
    Blob,
    PushReceipt,
    SandboxGrant,
    Share,
    Version,
    Visibility,
)

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


def _age_base():
    """An artifact's age counts from its last version, or from its restore if later."""
    return Greatest("updated_at", Coalesce("restored_at", "updated_at"))


def _shared() -> Q:
    """Shared: with the whole org, or with any member or group (suspended shares count)."""
    return Q(visibility=Visibility.ORG) | Q(Exists(Share.objects.filter(artifact=OuterRef("pk"))))


def _is_shared() -> ExpressionWrapper:
    return ExpressionWrapper(_shared(), output_field=BooleanField())


def _live(organization: Organization) -> QuerySet[Artifact]:
    """Artifacts a policy may touch: not pinned, not already in the trash."""
    return Artifact.objects.filter(
        organization=organization, pinned=False, trashed_at__isnull=True, latest_version__gt=0
    )


def _aged_since(cutoff: datetime) -> Q:
    """Age base (see _age_base) at or before `cutoff`, in plain lookups so that it can be
    negated and used in subqueries."""
    return Q(updated_at__lte=cutoff) & (Q(restored_at__isnull=True) | Q(restored_at__lte=cutoff))


def _due(organization: Organization, moment: datetime) -> Q | None:
    """Artifacts whose policy deletes them at or before `moment`; None if no policy."""
    rules = []
    if organization.retention_unshared_days is not None:
        cutoff = moment - timedelta(days=organization.retention_unshared_days)
        rules.append(~_shared() & _aged_since(cutoff))
    if organization.retention_shared_days is not None:
        cutoff = moment - timedelta(days=organization.retention_shared_days)
        rules.append(_shared() & _aged_since(cutoff))
    if not rules:
        return None
    q = rules[0]
    for rule in rules[1:]:
        q |= rule
    return q


@dataclass
class Plan:
    """What the policy of one org selects at `as_of`."""

    organization: Organization
    as_of: datetime
    expire: QuerySet[Artifact]  # to the trash
    notify: QuerySet[Artifact]  # expiring within the notice period, author not told yet
    prune: QuerySet[Version]  # beyond the K most recent of their artifact
    purge: QuerySet[Artifact]  # in the trash for longer than the grace period


def retention_plan(organization: Organization, as_of: datetime | None = None) -> Plan:
    as_of = as_of or timezone.now()
    live = _live(organization)
    due_now = _due(organization, as_of)
    due_soon = _due(organization, as_of + timedelta(days=organization.retention_notice_days))
    none = Artifact.objects.none()
    expire = live.filter(due_now) if due_now is not None else none
    notify = (
        live.filter(due_soon)
        .exclude(due_now)
        .filter(
            Q(expiry_noticed_for__isnull=True)
            | Q(expiry_noticed_for__lt=F("updated_at"))
            | Q(expiry_noticed_for__lt=F("restored_at"))
        )
        if due_soon is not None
        else none
    )
    keep = organization.retention_keep_versions
    prune = Version.objects.none()
    if keep is not None:
        # Numbers are never reused and pruning takes the oldest, so the K most recent are
        # exactly those above latest - K. The version the stable URL shows stays too.
        prune = (
            Version.objects.filter(
                artifact__in=live if due_now is None else live.exclude(due_now),
                number__lte=F("artifact__latest_version") - max(keep, 1),
            )
            .exclude(number=F("artifact__viewer_version"))
            .order_by("artifact_id", "number")
        )
    purge = Artifact.objects.filter(
        organization=organization,
        trashed_at__lte=as_of - timedelta(days=organization.retention_grace_days),
    )
    return Plan(organization, as_of, expire, notify, prune, purge)


@dataclass
class Report:
    notified: int = 0
    expired: int = 0
    pruned: int = 0  # versions
    purged: int = 0  # artifacts
    blobs: int = 0
    receipts: int = 0
    notifications: int = 0
    orgs: list[str] = field(default_factory=list)

    def add(self, other: "Report") -> None:
        for name in ("notified", "expired", "pruned", "purged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _claim(qs: QuerySet, size: int, *fields) -> list:
    """Lock and return up to `size` rows no concurrent run holds (PostgreSQL); a run that
    meets a locked row skips it, and the holder deals with it."""
    return list(qs.select_for_update(skip_locked=True, of=("self",)).values(*fields)[:size])


def _audit(organization: Organization, action: str, rows: list[dict], **details) -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(
            organization=organization,
            actor=None,
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
            plan.notify.annotate(base=_age_base(), shared=_is_shared()),
            size,
            *("pk", "title", "author_id", "base", "shared"),
        )
        if not rows:
            return 0
        Artifact.objects.filter(pk__in=[r["pk"] for r in rows]).update(
            expiry_noticed_for=_age_base()
        )
        notices = Notification.objects.bulk_create(
            Notification(
                user_id=row["author_id"],
                organization=org,
                kind="expiry",
                text=(
                    f"“{row['title']}” will be deleted on {_expiry(org, row):%Y-%m-%d} by "
                    f"{org.name or org.slug}'s retention policy. Push a new version or pin "
                    "it to keep it."
                )[:500],
                url=f"/a/{row['pk']}/",
            )
            for row in rows
            if row["author_id"] is not None
        )
        _email_later(notices)
    return len(rows)


def _expiry(org: Organization, row: dict) -> datetime:
    days = org.retention_shared_days if row["shared"] else org.retention_unshared_days
    return row["base"] + timedelta(days=days)


def _email_later(notices: list[Notification]) -> None:
    ids = [n.pk for n in notices if n.pk is not None]
    if not ids:
        return

    def send():
        from .tasks import notices_email

        try:
            notices_email.delay(ids)
        except Exception:  # the in-app notice is there; a broker outage must not undo it
            logger.exception("could not queue the email of %d notices", len(ids))

    transaction.on_commit(send)


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
        _audit(org, "artifact.expire", rows, grace_days=org.retention_grace_days)
        grace_end = plan.as_of + timedelta(days=org.retention_grace_days)
        notices = Notification.objects.bulk_create(
            Notification(
                user_id=row["author_id"],
                organization=org,
                kind="expiry",
                text=(
                    f"“{row['title']}” expired under {org.name or org.slug}'s retention "
                    f"policy and is in the trash; an admin can restore it until "
                    f"{grace_end:%Y-%m-%d}."
                )[:500],
            )
            for row in rows
            if row["author_id"] is not None
        )
        _email_later(notices)
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
    receipts, shares, versions, artifacts, generations = (
        m._meta.db_table for m in (PushReceipt, Share, Version, Artifact, AuthzGeneration)
    )
    with connection.cursor() as cursor:
        for start in range(0, len(artifact_ids), 500):  # SQLite's limit on parameters
            ids = artifact_ids[start : start + 500]
            marks = ", ".join(["%s"] * len(ids))
            # Table names come from the models, values are parameters.
            for sql in (
                f"DELETE FROM {receipts} WHERE version_id IN "  # noqa: S608
                f"(SELECT id FROM {versions} WHERE artifact_id IN ({marks}))",
                f"DELETE FROM {shares} WHERE artifact_id IN ({marks})",  # noqa: S608
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
            actor=None,
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
        report.orgs.append(org.slug)
    if not dry_run:
        report.blobs = blobs_collect(batch_size=batch_size, progress=progress)
        report.receipts, report.notifications = housekeeping(timezone.now())


def plan_counts(plan: Plan) -> Report:
    return Report(
        notified=plan.notify.count(),
        expired=plan.expire.count(),
        pruned=plan.prune.count(),
        purged=plan.purge.count(),
    )


PREVIEW_ROWS = 50


def retention_preview(organization: Organization, as_of: datetime | None = None) -> dict:
    """What a run at `as_of` would do to the org: counts, and the first rows of each kind
    (the same querysets the run uses). For the admin console and the org API."""
    plan = retention_plan(organization, as_of)
    counts = plan_counts(plan)

    def artifacts(qs, limit=PREVIEW_ROWS) -> list[dict]:
        rows = qs.annotate(shared=_is_shared()).select_related("author").order_by("updated_at")
        return [
            {
                "id": a.pk,
                "title": a.title,
                "author": a.author.email if a.author else None,
                "last_version_at": a.updated_at,
                "shared": a.shared,
                "trashed_at": a.trashed_at,
            }
            for a in rows[:limit]
        ]

    pruned: dict[str, dict] = {}
    for version in plan.prune.select_related("artifact")[: PREVIEW_ROWS * 10]:
        entry = pruned.setdefault(
            version.artifact_id,
            {"id": version.artifact_id, "title": version.artifact.title, "versions": []},
        )
        entry["versions"].append(version.number)
    return {
        "as_of": plan.as_of,
        "counts": {
            "notify": counts.notified,
            "expire": counts.expired,
            "prune_versions": counts.pruned,
            "purge": counts.purged,
        },
        "notify": artifacts(plan.notify),
        "expire": artifacts(plan.expire),
        "prune": list(pruned.values())[:PREVIEW_ROWS],
        "purge": artifacts(plan.purge),
    }


def artifact_expires_at(artifact: Artifact) -> datetime | None:
    """When the org's policy will move the artifact to the trash; None if never."""
    org = artifact.organization
    if artifact.pinned or artifact.trashed_at is not None:
        return None
    shared = artifact.visibility == Visibility.ORG or artifact.shares.exists()
    days = org.retention_shared_days if shared else org.retention_unshared_days
    if days is None:
        return None
    base = max(artifact.updated_at, artifact.restored_at or artifact.updated_at)
    return base + timedelta(days=days)
