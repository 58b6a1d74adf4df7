"""Retention and the trash in the HTTP API (/api/v1/org/retention/preview, /org/trash):
org admins' views of the policy. Operation ids are the ones they had in artifacts.api."""

from datetime import datetime

from django.http import HttpResponse
from ninja import Query, Router, Schema

from orgs.errors import ERRORS
from orgs.paging import PageQuery, page_answer, page_of
from orgs.permissions import Can, membership_require

from .. import services
from ..schemas import ArtifactOut, artifact_out
from ..selectors import artifacts_trashed
from .policy import retention_preview, trash_entry

router = Router(tags=["org"])


class PreviewArtifact(Schema):
    id: str
    title: str
    author: str | None
    last_version_at: datetime
    shared: bool
    trashed_at: datetime | None


class PreviewPrune(Schema):
    id: str
    title: str
    versions: list[int]


class PreviewCounts(Schema):
    notify: int
    expire: int
    prune_versions: int
    purge: int


class RetentionPreview(Schema):
    as_of: datetime
    counts: PreviewCounts
    notify: list[PreviewArtifact]  # authors to be told now
    expire: list[PreviewArtifact]  # to the trash
    prune: list[PreviewPrune]  # versions beyond the K most recent
    purge: list[PreviewArtifact]  # trash older than the grace period: purged for good


class TrashedOut(Schema):
    id: str
    title: str
    author: str | None
    latest_version: int
    trashed_at: datetime
    trashed_by: str | None  # null: the retention policy
    purge_after: datetime


@router.get(
    "/org/retention/preview",
    response={200: RetentionPreview, **ERRORS},
    operation_id="artifacts_api_retention_preview",
    summary="Retention Preview",
    url_name="retention_preview",
)
def retention_preview_get(request, as_of: datetime | None = None):
    """Exactly what the retention policy would do now, or at `as_of` (admins)."""
    org = request.auth.organization
    membership_require(request.auth.user, org, Can.MANAGE_ORG)
    return retention_preview(org, as_of)


class TrashPage(Schema):
    items: list[TrashedOut]
    next_cursor: str | None


@router.get(
    "/org/trash",
    response={200: TrashPage, **ERRORS},
    operation_id="artifacts_api_trash_list",
)
def trash_list(request, response: HttpResponse, paging: Query[PageQuery]):
    """Deleted and expired artifacts, last trashed first, restorable until `purge_after`,
    a page at a time (admins)."""
    org = request.auth.organization
    membership_require(request.auth.user, org, Can.DELETE_ANY)
    page = page_of(
        artifacts_trashed(org), ("-trashed_at", "-pk"), limit=paging.limit, cursor=paging.cursor
    )
    return page_answer(request, response, page, [trash_entry(a) for a in page.items], paging.limit)


@router.post(
    "/org/trash/{artifact_id}/restore",
    response={200: ArtifactOut, **ERRORS},
    operation_id="artifacts_api_trash_restore",
)
def trash_restore(request, artifact_id: str):
    """Bring an artifact back from the trash, with its versions and shares (admins)."""
    artifact = services.artifact_trash_restore(
        user=request.auth.user, organization=request.auth.organization, artifact_id=artifact_id
    )
    return artifact_out(artifact)
