"""Writing the audit log (call it inside the transaction of the change it records), and
reading it out as JSON or CSV."""

import csv
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse

from .models import ActorKind, AuditEvent, Organization, ScimToken


class _System:
    """The actor of background work (retention runs): pass `actor=SYSTEM`."""

    def __repr__(self):
        return "SYSTEM"


SYSTEM = _System()


def actor_fields(actor) -> dict:
    """Who acted, as an event stores it: a user (with the email they had), None for an
    operator's manage.py command (as every service takes it), SYSTEM for a task, or the
    ScimToken of an identity provider's SCIM client (by the token's name)."""
    if actor is SYSTEM:
        return {"actor": None, "actor_kind": ActorKind.SYSTEM, "actor_email": ""}
    if isinstance(actor, ScimToken):
        return {"actor": None, "actor_kind": ActorKind.IDP, "actor_email": f"scim:{actor.name}"}
    if actor is None or not actor.is_authenticated:
        return {"actor": None, "actor_kind": ActorKind.OPERATOR, "actor_email": ""}
    return {"actor": actor, "actor_kind": ActorKind.USER, "actor_email": actor.email}


def audit_record(*, organization: Organization, actor, action: str, target: str = "", **details):
    return AuditEvent.objects.create(
        organization=organization,
        **actor_fields(actor),
        action=action,
        target=str(target)[:200],
        details=details,
    )


def audit_event_dict(event: AuditEvent) -> dict:
    return {
        "id": event.pk,
        "created_at": event.created_at,
        "actor": event.actor_email or None,
        "actor_kind": event.actor_kind,
        "action": event.action,
        "target": event.target,
        "details": event.details,
    }


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, "CSV
# injection"): an invitee's address like =cmd|'/C calc'!A0@x.test would run on an admin's
# machine when the export is opened.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A value as a CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


class _Echo:
    def write(self, value):
        return value


def audit_csv_response(events, filename: str) -> StreamingHttpResponse:
    """The whole filtered log as CSV, streamed in batches (an export, not a page)."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(
            ["id", "created_at", "actor", "actor_kind", "action", "target", "details"]
        )
        for event in events.iterator(chunk_size=1000):
            e = audit_event_dict(event)
            row = [
                e["id"],
                e["created_at"].isoformat(),
                e["actor"] or "",
                e["actor_kind"],
                e["action"],
                e["target"],
                json.dumps(e["details"]),
            ]
            yield writer.writerow([csv_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def audit_json_response(events, filename: str) -> StreamingHttpResponse:
    """The whole filtered log as a JSON array, streamed."""

    def chunks():
        yield "["
        for n, event in enumerate(events.iterator(chunk_size=1000)):
            yield ("," if n else "") + json.dumps(audit_event_dict(event), cls=DjangoJSONEncoder)
        yield "]"

    response = StreamingHttpResponse(chunks(), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
