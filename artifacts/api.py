"""The artifacts part of the HTTP API (/api/v1/artifacts...), mounted on the API root in
config/api.py. Thin: every rule is in services and selectors; this maps HTTP to them."""

from typing import Literal

from django.http import HttpResponse
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from orgs.errors import ERRORS, ErrorOut, NotFound
from orgs.paging import PageQuery, page_answer, page_of

from . import services
from .collections import collection_add, collection_get, collection_name_check
from .models import Artifact
from .readers import views_of, views_require, views_summary, views_visible_to
from .schemas import (
    ArtifactDetail,
    ArtifactOut,
    ArtifactPage,
    ArtifactPatch,
    PushOut,
    VersionPage,
    ViewsPage,
    artifact_out,
    push_out,
    version_out,
)
from .selectors import (
    artifact_audience,
    artifact_get_visible,
    artifact_list,
    list_filters,
    version_get,
)
from .source import source_response
from .uploads import upload_from_request

router = Router(tags=["artifacts"])


# --- Schemas ------------------------------------------------------------------------------
PUSH_ERRORS = {**ERRORS, 422: ErrorOut}  # an Idempotency-Key reused for another push


def _push_answer(response: HttpResponse, result: services.PushResult):
    if result.replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(201, push_out(result.artifact, result.version, result.warnings))


def _artifact_for_token(request, artifact_id: str) -> Artifact:
    """Visible to the token's user *and* in the token's organisation; 404 otherwise."""
    artifact = artifact_get_visible(request.auth.user, artifact_id)
    if artifact.organization_id != request.auth.organization_id:
        raise NotFound()
    return artifact


# --- Endpoints ----------------------------------------------------------------------------
@router.post("/artifacts", response={201: PushOut, **PUSH_ERRORS})
def artifact_create(
    request,
    response: HttpResponse,
    file: File[UploadedFile],
    title: Form[str | None] = None,
    visibility: Form[Literal["private", "org"] | None] = None,
    message: Form[str | None] = None,
    collection: Form[str | None] = None,
):
    """Create an artifact from an `.html`/`.htm`/`.md`/`.markdown` file (≤ 16 MiB, UTF-8),
    filed in `collection` if given (a name; made if the org has none of that name)."""
    if collection:
        collection_name_check(collection)  # before the push: a bad name pushes nothing
    result = services.artifact_create(
        user=request.auth.user,
        organization=request.auth.organization,
        upload=upload_from_request(request),
        title=title,
        visibility=visibility,
        message=message,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    if collection:
        collection_add(user=request.auth.user, artifact=result.artifact, name=collection)
    return _push_answer(response, result)


@router.post("/artifacts/{artifact_id}/versions", response={201: PushOut, **PUSH_ERRORS})
def version_create(
    request,
    response: HttpResponse,
    artifact_id: str,
    file: File[UploadedFile],
    message: Form[str | None] = None,
    base_version: Form[int | None] = None,
):
    """Push the next version. With `base_version`, refuse (409) if the artifact moved past it."""
    artifact = _artifact_for_token(request, artifact_id)
    result = services.version_publish(
        user=request.auth.user,
        artifact=artifact,
        upload=upload_from_request(request),
        message=message,
        base_version=base_version,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return _push_answer(response, result)


class ArtifactQuery(Schema):
    q: str = ""  # words to search for: title, messages, text (ranked, with a snippet)
    scope: Literal["org", "mine", "shared"] = "org"  # all I may see; mine; shared with me
    author: str = ""  # an email
    format: str = ""
    updated_since: str = ""  # a date or an ISO 8601 time
    # relevance: the default with q; created: stable while paging
    sort: Literal["relevance", "updated", "title", "created"] | None = None
    collection: str = ""  # a collection's slug


@router.get("/artifacts", response={200: ArtifactPage, **ERRORS})
def artifact_index(
    request, response: HttpResponse, paging: Query[PageQuery], query: Query[ArtifactQuery]
):
    """Artifacts the token's user can see in the token's organisation, filtered and sorted
    (last updated first unless `sort=title`), a page at a time (`next_cursor` and the
    Link header lead to the next)."""
    filters = list_filters(
        search=query.q,
        scope=query.scope,
        author=query.author,
        format=query.format,
        updated_since=query.updated_since,
        sort=query.sort or "",
        collection=collection_get(request.auth.user, request.auth.organization, query.collection)
        if query.collection
        else None,
    )
    rows = artifact_list(request.auth.user, organization=request.auth.organization, filters=filters)
    page = page_of(rows, filters.order, limit=paging.limit, cursor=paging.cursor)
    items = [artifact_out(a) for a in page.items]
    return page_answer(request, response, page, items, paging.limit)


@router.get("/artifacts/{artifact_id}/versions", response={200: VersionPage, **ERRORS})
def version_index(request, response: HttpResponse, artifact_id: str, paging: Query[PageQuery]):
    """The artifact's version history, newest first, a page at a time."""
    artifact = _artifact_for_token(request, artifact_id)
    versions = artifact.versions.select_related("created_by")
    page = page_of(versions, ("-number",), limit=paging.limit, cursor=paging.cursor)
    return page_answer(request, response, page, [version_out(v) for v in page.items], paging.limit)


@router.get("/artifacts/{artifact_id}", response={200: ArtifactDetail, **ERRORS})
def artifact_detail(request, artifact_id: str):
    artifact = _artifact_for_token(request, artifact_id)
    versions = artifact.versions.select_related("created_by").order_by("number")
    views = None
    if views_visible_to(request.auth.user, artifact):
        views = views_summary(artifact)[0]
    return {
        **artifact_out(artifact),
        "versions": [version_out(v) for v in versions],
        "shared_with": artifact_audience(artifact),
        "views": views,
    }


@router.get("/artifacts/{artifact_id}/views", response={200: ViewsPage, **ERRORS})
def artifact_views(request, response: HttpResponse, artifact_id: str, paging: Query[PageQuery]):
    """Who opened the artifact in the viewer, and when (one record per member, version and
    half hour): counts, each version's, and the opens newest first, a page at a time. The
    author and the org's admins only (403 for other members)."""
    artifact = _artifact_for_token(request, artifact_id)
    views_require(request.auth.user, artifact)
    counts, versions = views_summary(artifact)
    page = page_of(
        views_of(artifact), ("-viewed_at", "-pk"), limit=paging.limit, cursor=paging.cursor
    )
    items = [
        {"email": v.user.email, "number": v.number, "viewed_at": v.viewed_at} for v in page.items
    ]
    body = page_answer(request, response, page, items, paging.limit)
    return {**vars(counts), "versions": versions, **body}


@router.patch("/artifacts/{artifact_id}", response={200: ArtifactOut, **ERRORS})
def artifact_patch(request, artifact_id: str, payload: ArtifactPatch):
    """Change title, visibility, the version the stable URL shows, the members/groups it
    is shared with, or `pinned` (exempt from retention; the author or an admin) — all or
    nothing; never the bytes of a version."""
    artifact = _artifact_for_token(request, artifact_id)
    artifact = services.artifact_change(
        user=request.auth.user, artifact=artifact, **payload.model_dump(exclude_none=True)
    )
    return artifact_out(artifact)


@router.delete("/artifacts/{artifact_id}", response={204: None, **ERRORS})
def artifact_remove(request, artifact_id: str):
    artifact = _artifact_for_token(request, artifact_id)
    services.artifact_delete(user=request.auth.user, artifact=artifact)
    return Status(204, None)


@router.get(
    "/artifacts/{artifact_id}/versions/{number}/source",
    response={200: None, **ERRORS},
)
def version_source(request, artifact_id: str, number: int):
    """The exact bytes that were pushed, streamed."""
    artifact = _artifact_for_token(request, artifact_id)
    return source_response(request, artifact, version_get(artifact, number))


@router.post(
    "/artifacts/{artifact_id}/versions/{number}/restore",
    response={201: PushOut, **ERRORS},
)
def version_restore(request, artifact_id: str, number: int):
    """A new version with the bytes of version `number` (audited)."""
    artifact = _artifact_for_token(request, artifact_id)
    version = services.version_restore(user=request.auth.user, artifact=artifact, number=number)
    return Status(201, push_out(artifact, version, []))
