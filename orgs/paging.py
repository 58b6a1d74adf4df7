"""Keyset pagination for the API's lists: `?limit=` (default 50, at most 200) and
`?cursor=`, answered as {"items": [...], "next_cursor": "…" | null} with a
`Link: <…>; rel="next"` header.

A cursor holds the sort key of the last row a page showed, and the next page starts
strictly after it, so rows added while someone pages (a push lands at the top) cause
no duplicate and no skip, where OFFSET pages would shift. Each order ends with the
primary key, which makes the key unique. The cursor is opaque to clients (base64 of
JSON) but not a secret: a forged one only moves where a page of the client's own
list starts, and the query still filters by what the client may see."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db import DataError
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.utils.dateparse import parse_datetime
from ninja import Schema

from .errors import Invalid
from .query_plans import planned_per_query

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageQuery(Schema):
    limit: int = DEFAULT_LIMIT
    cursor: str = ""


@dataclass
class Page:
    items: list
    next_cursor: str | None


CURSOR_MAX = 1000  # characters: any cursor this module makes is far shorter
_REFUSED = "This cursor is not one a page of this list gave."


def _value_of(row, field: str):
    value = row
    for part in field.split("__"):
        value = getattr(value, part)
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _encoded(order: tuple[str, ...], values: list) -> str:
    # The order goes with the values: a cursor of one sort is refused by another.
    text = json.dumps([",".join(order), *values], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decoded(cursor: str, order: tuple[str, ...]) -> list:
    if len(cursor) > CURSOR_MAX:
        raise Invalid(_REFUSED, field="cursor")
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"==="))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise Invalid(_REFUSED, field="cursor") from exc
    if not isinstance(values, list) or values[:1] != [",".join(order)]:
        raise Invalid(_REFUSED, field="cursor")
    values = values[1:]
    if len(values) != len(order):
        raise Invalid(_REFUSED, field="cursor")
    decoded = []
    for value in values:
        if isinstance(value, dict) and isinstance(value.get("t"), str):
            try:
                value = parse_datetime(value["t"])
            except ValueError:
                value = None
        # A sort key is never null here; anything else the query itself checks (page_of).
        if not isinstance(value, str | int | float | datetime) or isinstance(value, bool):
            raise Invalid(_REFUSED, field="cursor")
        if isinstance(value, int) and abs(value) >= 2**63:  # no column of ours holds it
            raise Invalid(_REFUSED, field="cursor")
        decoded.append(value)
    return decoded


def _after(order: tuple[str, ...], values: list) -> Q:
    """Rows strictly after the row with these sort values, in this order:
    a >= x and ((a > x) or (a = x and b > y) or …), with < for descending fields. The
    first term says nothing new, but it is what lets the database start an index scan
    at the cursor instead of at the top of the list."""
    first = order[0].lstrip("-")
    bound = Q(**{f"{first}__{'lte' if order[0].startswith('-') else 'gte'}": values[0]})
    after = Q(pk__in=[])
    for i, field in enumerate(order):
        name = field.lstrip("-")
        step = Q(**{f"{name}__{'lt' if field.startswith('-') else 'gt'}": values[i]})
        for earlier, value in zip(order[:i], values[:i], strict=True):
            step &= Q(**{earlier.lstrip("-"): value})
        after |= step
    return bound & after


def limit_clean(limit: int) -> int:
    if limit < 1 or limit > MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    return limit


def page_of(queryset: QuerySet, order: tuple[str, ...], *, limit: int, cursor: str = "") -> Page:
    """One page of the queryset in this order (its last field the primary key). Reads
    limit + 1 rows to know whether another page follows; the query costs one round trip."""
    limit = limit_clean(limit)
    queryset = queryset.order_by(*order)
    try:
        if cursor:
            queryset = queryset.filter(_after(order, _decoded(cursor, order)))
        with planned_per_query():  # a list's best plan depends on what it asks
            rows = list(queryset[: limit + 1])
    except (TypeError, ValueError, OverflowError, ValidationError, DataError) as exc:
        # A value of the wrong kind for its field (a forged cursor): refused, not a 500.
        raise Invalid(_REFUSED, field="cursor") from exc
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, cursor_after(rows[-1], order))


def cursor_after(row, order: tuple[str, ...]) -> str:
    """The cursor of the page that starts after this row."""
    return _encoded(order, [_value_of(row, field.lstrip("-")) for field in order])


def page_answer(request, response: HttpResponse, page: Page, items: list, limit: int) -> dict:
    """The body of a page, and its Link header for the next one (the same query, with
    the cursor)."""
    if page.next_cursor:
        query = {k: v for k, v in request.GET.items() if k not in ("cursor", "limit")}
        query |= {"limit": limit, "cursor": page.next_cursor}
        url = request.build_absolute_uri(f"{request.path}?{urlencode(query)}")
        response["Link"] = f'<{url}>; rel="next"'
    return {"items": items, "next_cursor": page.next_cursor}
