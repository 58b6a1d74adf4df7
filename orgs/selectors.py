"""Reads of org data shared by the console and the API."""

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from .mfa import mfa_satisfied
from .models import AuditEvent, Group, Invitation, Membership, Notification, Organization
from .sso_session import sso_reachable


def members_of(organization: Organization) -> QuerySet[Membership]:
    """The org's memberships with their users, by email."""
    return organization.memberships.select_related("user").order_by("user__email")


def notices_unread(user) -> QuerySet[Notification]:
    """The user's unread notices, newest first, from the orgs this request may reach.
    SECURITY: a notice names an artifact; one from an org the user has left, or that
    requires a second factor or SSO this sign-in lacks, stays hidden (as its artifacts)."""
    notices = user.notifications.filter(
        read_at__isnull=True, organization__memberships__user=user
    ).filter(sso_reachable(user))
    if not mfa_satisfied(user):
        notices = notices.filter(organization__require_mfa=False)
    return notices


def invitations_pending(organization: Organization) -> QuerySet[Invitation]:
    """Invitations not accepted yet and not expired, with who sent them."""
    return organization.invitations.filter(
        accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def groups_of(organization: Organization) -> QuerySet[Group]:
    """The org's groups with their members, by slug."""
    return organization.groups.prefetch_related("members").order_by("slug")


def audit_events(
    organization: Organization,
    *,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    """The org's audit log, newest first, filtered by action, actor email and time."""
    events = AuditEvent.objects.filter(organization=organization)
    if action:
        events = events.filter(action=action)
    if actor:
        events = events.filter(actor_email__iexact=actor)
    if since:
        events = events.filter(created_at__gte=since)
    if until:
        events = events.filter(created_at__lt=until)
    return events
