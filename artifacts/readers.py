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
    """The artifact's counts, and each version's (newest first): two queries."""
    rows = artifact.views.aggregate(
        views=Count("pk"), unique=Count("user", distinct=True), last=Max("viewed_at")
    )
    total = ViewCounts(rows["views"], rows["unique"], rows["last"])
    per_version = (
        artifact.views.values("number")
        .annotate(views=Count("pk"), unique=Count("user", distinct=True), last=Max("viewed_at"))
        .order_by("-number")
    )
    versions = [
        {
            "number": v["number"],
            "views": v["views"],
            "unique_viewers": v["unique"],
            "last_viewed_at": v["last"],
        }
        for v in per_version
    ]
    return total, versions


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
