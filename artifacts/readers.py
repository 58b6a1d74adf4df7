"""Who read it: each open of a version in the viewer by a member, recorded once per member,
version and half hour, and what the author and the org's admins see of it (other members
see nothing). The viewer page never waits on the write: a cache key dedupes the opens,
and a Celery task writes the row; the live refresh's polls are not opens."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import shared_task
from django.core.cache import cache
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from orgs.errors import Forbidden
from orgs.models import Organization
from orgs.permissions import Can, membership_require, role_can

from .models import Artifact, View

logger = logging.getLogger(__name__)

ONCE_PER = timedelta(minutes=30)  # one record per member, version and half hour


def views_visible_to(user, artifact: Artifact) -> bool:
    """SECURITY: the author and the org's admins see who read an artifact; nobody else."""
    try:
        membership = membership_require(user, artifact.organization, Can.VIEW_SHARED)
    except Forbidden:
        return False
    return artifact.author_id == user.pk or role_can(membership.role, Can.DELETE_ANY)


def views_require(user, artifact: Artifact) -> None:
    if not views_visible_to(user, artifact):
        raise Forbidden("Only the author or an org admin sees who opened this artifact.")


def open_note(user, artifact: Artifact, number: int) -> None:
    """A member opened version `number` in the viewer: recorded in the background, at most
    once per half hour. The author's own opens are not readers'. A failure to enqueue loses
    a view, never the page."""
    if artifact.author_id == user.pk:
        return
    key = f"artifact-view:{artifact.pk}:{number}:{user.pk}"
    try:
        if not cache.add(key, 1, int(ONCE_PER.total_seconds())):
            return
        view_record.delay(artifact.pk, number, user.pk, timezone.now().isoformat())
    except Exception:  # the broker or the cache is down: the page still opens
        logger.warning("could not record a view of %s v%s", artifact.pk, number, exc_info=True)


@shared_task(ignore_result=True)
def view_record(artifact_id: str, number: int, user_id: int, viewed_at: str) -> None:
    """The row of one open; none if the artifact was purged meanwhile. (Registered with the
    app's other tasks: artifacts.tasks imports it.)"""
    if Artifact.objects.filter(pk=artifact_id).exists():
        View.objects.create(
            artifact_id=artifact_id,
            number=number,
            user_id=user_id,
            viewed_at=datetime.fromisoformat(viewed_at),
        )


@dataclass
class ViewCounts:
    views: int
    unique_viewers: int
    last_viewed_at: datetime | None


def views_summary(artifact: Artifact) -> tuple[ViewCounts, list[dict]]:
    """The artifact's counts, and each version's (newest first), from one query: its opens
    grouped by version and reader (at most versions × members rows, read from the index
    that holds the four columns), summed here. COUNT(DISTINCT) per version and overall
    took two passes over every record: 87 ms for 60,000 (docs/benchmarks.md)."""
    groups = (
        artifact.views.values("number", "user")
        .annotate(views=Count("*"), last=Max("viewed_at"))  # "*": the index has no id
        .order_by()
    )
    per_version: dict[int, dict] = {}
    readers, total, last_of_all = set(), 0, None
    for group in groups:
        version = per_version.setdefault(
            group["number"],
            {"number": group["number"], "views": 0, "unique_viewers": 0, "last_viewed_at": None},
        )
        version["views"] += group["views"]
        version["unique_viewers"] += 1
        version["last_viewed_at"] = _later(version["last_viewed_at"], group["last"])
        readers.add(group["user"])
        total += group["views"]
        last_of_all = _later(last_of_all, group["last"])
    versions = [per_version[n] for n in sorted(per_version, reverse=True)]
    return ViewCounts(total, len(readers), last_of_all), versions


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


def views_of(artifact: Artifact) -> QuerySet[View]:
    """Who opened the artifact and when, newest first."""
    return artifact.views.select_related("user").order_by("-viewed_at", "-pk")


def views_prune(organization: Organization, as_of: datetime, batch_size: int) -> int:
    """Drops the org's view records older than its retention_view_days, a batch at a time."""
    cutoff = as_of - timedelta(days=organization.retention_view_days)
    old = View.objects.filter(artifact__organization=organization, viewed_at__lt=cutoff)
    removed = 0
    while ids := list(old.values_list("pk", flat=True)[:batch_size]):
        removed += View.objects.filter(pk__in=ids).delete()[0]
    return removed
