"""What the API answers about artifacts (and takes to change one): the schemas, and the
plain functions that fill them."""

from datetime import datetime
from typing import Literal

from ninja import Schema

from .links import artifact_url, version_url
from .models import Artifact, Version
from .search import snippet_html


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
    collections: list[str]  # slugs
    snippet: str | None = None  # a search's match in the text: escaped HTML, words in <mark>


class Audience(Schema):
    org: bool  # visibility "org": every member
    members: list[str]  # emails it is shared with
    groups: list[str]  # group slugs it is shared with


class ArtifactPage(Schema):
    items: list[ArtifactOut]
    next_cursor: str | None


class VersionPage(Schema):
    items: list[VersionOut]
    next_cursor: str | None


class ViewCountsOut(Schema):
    views: int
    unique_viewers: int
    last_viewed_at: datetime | None


class VersionViewsOut(ViewCountsOut):
    number: int


class ViewOut(Schema):
    email: str
    number: int  # the version opened
    viewed_at: datetime


class ViewsPage(ViewCountsOut):
    """Who opened an artifact: its counts, each version's, and the opens a page at a time."""

    versions: list[VersionViewsOut]
    items: list[ViewOut]
    next_cursor: str | None


class ArtifactDetail(ArtifactOut):
    versions: list[VersionOut]
    shared_with: Audience
    views: ViewCountsOut | None  # for the author and the org's admins; null for others


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
    collections: list[str] | None = None  # the collections it is in (names; made if new)


def artifact_out(artifact: Artifact) -> dict:
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
        "collections": sorted(c.slug for c in artifact.collections.all()),  # prefetched in lists
        # Only a search's rows have one (artifacts.search).
        "snippet": snippet_html(getattr(artifact, "snippet_raw", None)) or None,
    }


def version_out(version: Version) -> dict:
    return {
        "number": version.number,
        "size": version.size,
        "sha256": version.blob_id,
        "created_at": version.created_at,
        "created_by": version.created_by.email if version.created_by else None,
        "message": version.message,
    }


def push_out(artifact: Artifact, version: Version, warnings: list[str]) -> dict:
    return {
        "id": artifact.pk,
        "title": artifact.title,
        "version": version.number,
        "url": artifact_url(artifact),
        "version_url": version_url(artifact, version.number),
        "visibility": artifact.visibility,
        "warnings": warnings,
    }
