"""The HTTP API (/api/v1/), documented at /api/v1/openapi.json. Thin: every rule is in
services and selectors; this module maps HTTP to them and errors to JSON."""

from datetime import datetime, timedelta
from typing import Literal

from django.conf import settings
from django.db import transaction
from django.http import Http404
from ninja import File, Form, NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.files import UploadedFile
from ninja.security import HttpBearer
from ninja.throttling import SimpleRateThrottle

from orgs.api import router as org_router
from orgs.errors import NotFound, ServiceError, error_code
from orgs.models import ApiToken
from orgs.permissions import Can, membership_require
from orgs.services import token_authenticate

from . import retention, services, storage
from .models import Artifact, Version
from .selectors import (
    artifact_audience,
    artifact_get_visible,
    artifact_list,
    artifacts_trashed,
    version_get,
)
from .uploads import upload_from_request


class BearerToken(HttpBearer):
    def authenticate(self, request, token: str) -> ApiToken | None:
        return token_authenticate(token)


class TokenRateThrottle(SimpleRateThrottle):
    """ARTIFACTS_API_RATE requests per token (e.g. "600/m"), counted in the shared cache so
    that every node counts together; 429 with Retry-After beyond it. With Redis down it
    lets requests through (the cache misses) rather than refuse work."""

    scope = "token"

    def get_rate(self) -> str:
        return settings.ARTIFACTS_API_RATE

    def allow_request(self, request) -> bool:
        self.rate = self.get_rate()  # read per request: settings may change
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    def get_cache_key(self, request) -> str | None:
        token = getattr(request, "auth", None)
        # The secret's hash, not the row id: ids come back after a database is recreated,
        # and a shared Redis would still hold the old counts.
        return f"throttle:token:{token.token_hash[:32]}" if isinstance(token, ApiToken) else None


api = NinjaAPI(
    title="Org artifact server",
    version="1",
    description="Push self-contained HTML or Markdown pages; share them inside your organisation.",
    auth=BearerToken(),
    throttle=[TokenRateThrottle()],
    urls_namespace="api",
)


api.add_router("/org", org_router)


def error_response(request, status: int, code: str, message: str, **extra):
    return api.create_response(
        request, {"error": {"code": code, "message": message, **extra}}, status=status
    )


@api.exception_handler(ServiceError)
def _service_error(request, exc: ServiceError):
    return error_response(request, exc.status, exc.code, exc.message, **exc.extra)


@api.exception_handler(AuthenticationError)
def _unauthorized(request, exc):
    return error_response(
        request,
        401,
        "unauthorized",
        "A valid API token is required: Authorization: Bearer <token>.",
    )


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    if getattr(request, "upload_error", None) is not None:  # the file was refused mid-stream
        return _service_error(request, request.upload_error)
    first = exc.errors[0] if exc.errors else {}
    where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
    return error_response(
        request, 400, "invalid", f"{where}: {first.get('msg', 'invalid')}", details=exc.errors
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):  # e.g. a malformed JSON body
    return error_response(request, exc.status_code, error_code(exc.status_code), str(exc))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(request, 404, "not_found", "Not found.")


# --- Schemas ------------------------------------------------------------------------------
class VersionOut(Schema):
    number: int
    size: int
    sha256: str
    created_at: datetime
    created_by: str | None
    message: str


class ArtifactOut(Schema):
    id: str
    title: str
    format: str
    visibility: str
    author: str | None
    latest_version: int
    viewer_version: int | None  # the version the stable URL shows when pinned; None: latest
    pinned: bool  # exempt from the org's retention policy
    url: str
    created_at: datetime
    updated_at: datetime


class Audience(Schema):
    org: bool  # visibility "org": every member
    members: list[str]  # emails it is shared with
    groups: list[str]  # group slugs it is shared with


class ArtifactDetail(ArtifactOut):
    versions: list[VersionOut]
    shared_with: Audience


class PushOut(Schema):
    id: str
    title: str
    version: int
    url: str
    version_url: str
    visibility: str
    warnings: list[str]


class ArtifactPatch(Schema):
    title: str | None = None
    visibility: Literal["private", "org"] | None = None
    viewer_version: int | None = None  # 0: always the latest; N: pin version N
    pinned: bool | None = None  # exempt from retention (the author or an admin)
    members: list[str] | None = None  # replace the members it is shared with (emails)
    groups: list[str] | None = None  # replace the groups it is shared with (slugs)


class ErrorBody(Schema):
    code: str
    message: str


class ErrorOut(Schema):
    error: ErrorBody


ERRORS = {code: ErrorOut for code in (400, 401, 403, 404, 409, 413, 415)}
PUSH_ERRORS = {**ERRORS, 422: ErrorOut}  # an Idempotency-Key reused for another push


def artifact_url(artifact: Artifact) -> str:
    return f"{settings.ARTIFACTS_APP_URL}/a/{artifact.pk}/"


def version_url(artifact: Artifact, number: int) -> str:
    return f"{settings.ARTIFACTS_APP_URL}/a/{artifact.pk}/v/{number}/"


def _artifact_out(artifact: Artifact) -> dict:
    return {
        "id": artifact.pk,
        "title": artifact.title,
        "format": artifact.format,
        "visibility": artifact.visibility,
        "author": artifact.author.email if artifact.author else None,
        "latest_version": artifact.latest_version,
        "viewer_version": artifact.viewer_version,
        "pinned": artifact.pinned,
        "url": artifact_url(artifact),
        "created_at": artifact.created_at,
        "updated_at": artifact.updated_at,
    }


def _version_out(version: Version) -> dict:
    return {
        "number": version.number,
        "size": version.size,
        "sha256": version.blob_id,
        "created_at": version.created_at,
        "created_by": version.created_by.email if version.created_by else None,
        "message": version.message,
    }


def _push_out(artifact: Artifact, version: Version, warnings: list[str]) -> dict:
    return {
        "id": artifact.pk,
        "title": artifact.title,
        "version": version.number,
        "url": artifact_url(artifact),
        "version_url": version_url(artifact, version.number),
        "visibility": artifact.visibility,
        "warnings": warnings,
    }


def _push_response(request, result: services.PushResult):
    response = api.create_response(
        request, _push_out(result.artifact, result.version, result.warnings), status=201
    )
    if result.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _artifact_for_token(request, artifact_id: str) -> Artifact:
    """Visible to the token's user *and* in the token's organisation; 404 otherwise."""
    artifact = artifact_get_visible(request.auth.user, artifact_id)
    if artifact.organization_id != request.auth.organization_id:
        raise NotFound()
    return artifact


# --- Endpoints ----------------------------------------------------------------------------
class MeOut(Schema):
    email: str
    organization: str
    role: str
    token_name: str


@api.get("/me", response={200: MeOut, **ERRORS}, tags=["account"])
def me(request):
    """Who the token belongs to, in which organisation and with which role."""
    token = request.auth
    return {
        "email": token.user.email,
        "organization": token.organization.slug,
        "role": token.membership.role,
        "token_name": token.name,
    }


@api.post("/artifacts", response={201: PushOut, **PUSH_ERRORS}, tags=["artifacts"])
def artifact_create(
    request,
    file: File[UploadedFile],
    title: Form[str | None] = None,
    visibility: Form[Literal["private", "org"] | None] = None,
    message: Form[str | None] = None,
):
    """Create an artifact from an `.html`/`.htm`/`.md`/`.markdown` file (≤ 16 MiB, UTF-8)."""
    result = services.artifact_create(
        user=request.auth.user,
        organization=request.auth.organization,
        upload=upload_from_request(request),
        title=title,
        visibility=visibility,
        message=message,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return _push_response(request, result)


@api.post(
    "/artifacts/{artifact_id}/versions", response={201: PushOut, **PUSH_ERRORS}, tags=["artifacts"]
)
def version_create(
    request,
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
    return _push_response(request, result)


@api.get("/artifacts", response={200: list[ArtifactOut], **ERRORS}, tags=["artifacts"])
def artifact_index(request, q: str = ""):
    """Artifacts the token's user can see in the token's organisation, newest first."""
    rows = artifact_list(request.auth.user, organization=request.auth.organization, search=q)
    return [_artifact_out(a) for a in rows[:500]]


@api.get("/artifacts/{artifact_id}", response={200: ArtifactDetail, **ERRORS}, tags=["artifacts"])
def artifact_detail(request, artifact_id: str):
    artifact = _artifact_for_token(request, artifact_id)
    versions = artifact.versions.select_related("created_by").order_by("number")
    return {
        **_artifact_out(artifact),
        "versions": [_version_out(v) for v in versions],
        "shared_with": artifact_audience(artifact),
    }


@api.patch("/artifacts/{artifact_id}", response={200: ArtifactOut, **ERRORS}, tags=["artifacts"])
def artifact_patch(request, artifact_id: str, payload: ArtifactPatch):
    """Change title, visibility, the version the stable URL shows, the members/groups it
    is shared with, or `pinned` (exempt from retention; the author or an admin) — all or
    nothing; never the bytes of a version."""
    artifact = _artifact_for_token(request, artifact_id)
    changes = payload.model_dump(exclude_none=True)
    with transaction.atomic():
        if changes.pop("pinned", None) is not None:
            artifact = services.artifact_pin(
                user=request.auth.user, artifact=artifact, pinned=payload.pinned
            )
        if changes:  # the rest is the author's alone
            artifact = services.artifact_update(
                user=request.auth.user, artifact=artifact, **changes
            )
    return _artifact_out(artifact)


@api.delete("/artifacts/{artifact_id}", response={204: None, **ERRORS}, tags=["artifacts"])
def artifact_remove(request, artifact_id: str):
    artifact = _artifact_for_token(request, artifact_id)
    services.artifact_delete(user=request.auth.user, artifact=artifact)
    return Status(204, None)


@api.get(
    "/artifacts/{artifact_id}/versions/{number}/source",
    response={200: None, **ERRORS},
    tags=["artifacts"],
)
def version_source(request, artifact_id: str, number: int):
    """The exact bytes that were pushed, streamed."""
    artifact = _artifact_for_token(request, artifact_id)
    return source_response(request, artifact, version_get(artifact, number))


@api.post(
    "/artifacts/{artifact_id}/versions/{number}/restore",
    response={201: PushOut, **ERRORS},
    tags=["artifacts"],
)
def version_restore(request, artifact_id: str, number: int):
    """A new version with the bytes of version `number` (audited)."""
    artifact = _artifact_for_token(request, artifact_id)
    version = services.version_restore(user=request.auth.user, artifact=artifact, number=number)
    return Status(201, _push_out(artifact, version, []))


# --- Retention and the trash (org admins) --------------------------------------------------


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


@api.get("/org/retention/preview", response={200: RetentionPreview, **ERRORS}, tags=["org"])
def retention_preview(request, as_of: datetime | None = None):
    """Exactly what the retention policy would do now, or at `as_of` (admins)."""
    org = request.auth.organization
    membership_require(request.auth.user, org, Can.MANAGE_ORG)
    return retention.retention_preview(org, as_of)


@api.get("/org/trash", response={200: list[TrashedOut], **ERRORS}, tags=["org"])
def trash_list(request):
    """Deleted and expired artifacts, restorable until `purge_after` (admins)."""
    org = request.auth.organization
    membership_require(request.auth.user, org, Can.DELETE_ANY)
    return [trashed_out(a) for a in artifacts_trashed(org)[:500]]


@api.post("/org/trash/{artifact_id}/restore", response={200: ArtifactOut, **ERRORS}, tags=["org"])
def trash_restore(request, artifact_id: str):
    """Bring an artifact back from the trash, with its versions and shares (admins)."""
    artifact = services.artifact_trash_restore(
        user=request.auth.user, organization=request.auth.organization, artifact_id=artifact_id
    )
    return _artifact_out(artifact)


def trashed_out(artifact: Artifact) -> dict:
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


def source_response(request, artifact: Artifact, version: Version):
    """A download of a version's source on the app origin: an attachment, never rendered."""
    from django.http import HttpResponseRedirect

    from .serving import bytes_response, etag_for

    ext = "md" if artifact.format == "markdown" else "html"
    filename = f"{artifact.pk}-v{version.number}.{ext}"
    signed = storage.signed_url(
        storage.blob_name(version.blob_id),
        ResponseContentType="text/plain; charset=utf-8",
        ResponseContentDisposition=f'attachment; filename="{filename}"',
    )
    if signed is not None:  # object storage sends the bytes (an attachment: safe anywhere)
        return HttpResponseRedirect(signed)
    response = bytes_response(
        request,
        name=storage.blob_name(version.blob_id),
        etag=etag_for(version.blob_id),
        content_type="text/plain; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
