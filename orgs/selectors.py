"""Reads of org data shared by the console and the API."""

from datetime import datetime

from .models import AuditEvent, Organization


def audit_events(
    organization: Organization,
    *,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    """The org's audit log, newest first, filtered by action, actor email and time."""
    events = AuditEvent.objects.filter(organization=organization).select_related("actor")
    if action:
        events = events.filter(action=action)
    if actor:
        events = events.filter(actor__email__iexact=actor)
    if since:
        events = events.filter(created_at__gte=since)
    if until:
        events = events.filter(created_at__lt=until)
    return events
