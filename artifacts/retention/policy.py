"""Retention policy (SPEC §6): what an org's policy selects at a given time.

What a policy selects at a moment is a `Plan` of querysets, used both by the admin preview
and by the enforcement (artifacts.retention.enforce), so the preview shows exactly what a
run would delete.

The life of an expired artifact: a notice to its author `retention_notice_days` before,
then the trash (invisible to all, restorable by an admin) for `retention_grace_days`, then
the purge of its rows; its blobs go once no version refers to them.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from orgs.models import Organization

from ..models import Artifact, Share, Version, Visibility


def age_base():
    """An artifact's age counts from its last version, or from its restore if later."""
    return Greatest("updated_at", Coalesce("restored_at", "updated_at"))


def _shared() -> Q:
    """Shared: with the whole org, or with any member or group (suspended shares count)."""
    return Q(visibility=Visibility.ORG) | Q(Exists(Share.objects.filter(artifact=OuterRef("pk"))))


def is_shared() -> ExpressionWrapper:
    return ExpressionWrapper(_shared(), output_field=BooleanField())


def _live(organization: Organization) -> QuerySet[Artifact]:
    """Artifacts a policy may touch: not pinned, not already in the trash."""
    return Artifact.objects.filter(
        organization=organization, pinned=False, trashed_at__isnull=True, latest_version__gt=0
    )


def _aged_since(cutoff: datetime) -> Q:
    """Age base (see age_base) at or before `cutoff`, in plain lookups so that it can be
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
    views: int = 0  # view records past the org's retention_view_days
    orgs: list[str] = field(default_factory=list)

    def add(self, other: "Report") -> None:
        for name in ("notified", "expired", "pruned", "purged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


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
        rows = qs.annotate(shared=is_shared()).select_related("author").order_by("updated_at")
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


def trash_entry(artifact: Artifact) -> dict:
    """An artifact in the trash as the admin page and the API list it: who put it there
    (None: the policy) and when its grace period ends."""
    grace = timedelta(days=artifact.organization.retention_grace_days)
    return {
        "id": artifact.pk,
        "title": artifact.title,
        "author": artifact.author.email if artifact.author else None,
        "latest_version": artifact.latest_version,
        "trashed_at": artifact.trashed_at,
        "trashed_by": artifact.trashed_by.email if artifact.trashed_by else None,
        "purge_after": artifact.trashed_at + grace,
    }
