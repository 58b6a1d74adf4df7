"""Collections in the HTTP API (/api/v1/collections...), mounted on the API root in
config/api.py. An artifact's collections are set with PATCH /artifacts/{id}
{"collections": [...]}, or at push time (`collection`); its list filters by one
(GET /artifacts?collection=SLUG)."""

from datetime import datetime

from django.http import HttpResponse
from ninja import Query, Router, Schema, Status

from orgs.errors import ERRORS
from orgs.paging import PageQuery, page_answer, page_of

from .collections import collection_create, collection_delete, collection_get, collections_of

router = Router(tags=["collections"])


class CollectionOut(Schema):
    slug: str
    name: str
    artifacts: int  # how many it holds, whoever may see them
    created_by: str | None
    created_at: datetime


class CollectionPage(Schema):
    items: list[CollectionOut]
    next_cursor: str | None


class CollectionIn(Schema):
    name: str


def collection_out(collection) -> dict:
    return {
        "slug": collection.slug,
        "name": collection.name,
        "artifacts": collection.size
        if hasattr(collection, "size")
        else collection.artifacts.filter(trashed_at__isnull=True).count(),
        "created_by": collection.created_by.email if collection.created_by else None,
        "created_at": collection.created_at,
    }


@router.get("/collections", response={200: CollectionPage, **ERRORS})
def collections_list(request, response: HttpResponse, paging: Query[PageQuery]):
    """The org's collections by name, a page at a time (any member)."""
    rows = collections_of(request.auth.user, request.auth.organization).select_related("created_by")
    page = page_of(rows, ("slug", "pk"), limit=paging.limit, cursor=paging.cursor)
    items = [collection_out(c) for c in page.items]
    return page_answer(request, response, page, items, paging.limit)


@router.post("/collections", response={201: CollectionOut, **ERRORS})
def collections_create(request, payload: CollectionIn):
    """A new collection, or the org's collection of that name if it has one."""
    collection = collection_create(
        user=request.auth.user, organization=request.auth.organization, name=payload.name
    )
    return Status(201, collection_out(collection))


@router.get("/collections/{slug}", response={200: CollectionOut, **ERRORS})
def collections_get(request, slug: str):
    """One collection; its artifacts are GET /artifacts?collection=SLUG (what you may see)."""
    return collection_out(collection_get(request.auth.user, request.auth.organization, slug))


@router.delete("/collections/{slug}", response={204: None, **ERRORS})
def collections_delete(request, slug: str):
    """Delete a collection (its creator or an admin); its artifacts stay."""
    collection_delete(user=request.auth.user, organization=request.auth.organization, slug=slug)
    return Status(204, None)
