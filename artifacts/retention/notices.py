"""Retention notices: the in-app Notification rows an author gets before and at expiry,
and their email, batched per author and sent once by a task."""

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from orgs.models import Notification, Organization

logger = logging.getLogger(__name__)


def _notices(org: Organization, rows: list[dict], text, url=None) -> list[Notification]:
    """One expiry notice per row that still has an author (text(row), url(row))."""
    return Notification.objects.bulk_create(
        Notification(
            user_id=row["author_id"],
            organization=org,
            kind="expiry",
            text=text(row)[:500],
            url=url(row) if url else "",
        )
        for row in rows
        if row["author_id"] is not None
    )


def expiring_notices(org: Organization, rows: list[dict]) -> list[Notification]:
    """Authors of these artifacts are told when the policy will delete them (rows: pk,
    title, author_id, base (their age's start), shared)."""
    return _notices(
        org,
        rows,
        lambda row: (
            f"“{row['title']}” will be deleted on {_expiry(org, row):%Y-%m-%d} by "
            f"{org.name or org.slug}'s retention policy. Push a new version or pin it to "
            "keep it."
        ),
        lambda row: f"/a/{row['pk']}/",
    )


def _expiry(org: Organization, row: dict) -> datetime:
    days = org.retention_shared_days if row["shared"] else org.retention_unshared_days
    return row["base"] + timedelta(days=days)


def expired_notices(org: Organization, rows: list[dict], as_of: datetime) -> list[Notification]:
    """Authors of these artifacts are told they went to the trash, and until when an admin
    can restore them (rows: pk, title, author_id)."""
    grace_end = as_of + timedelta(days=org.retention_grace_days)
    return _notices(
        org,
        rows,
        lambda row: (
            f"“{row['title']}” expired under {org.name or org.slug}'s retention policy and "
            f"is in the trash; an admin can restore it until {grace_end:%Y-%m-%d}."
        ),
    )


def notices_email_later(notices: list[Notification]) -> None:
    """Queue their email once the transaction that made them commits."""
    ids = [n.pk for n in notices if n.pk is not None]
    if not ids:
        return

    def send():
        try:
            notices_email.delay(ids)
        except Exception:  # the in-app notice is there; a broker outage must not undo it
            logger.exception("could not queue the email of %d notices", len(ids))

    transaction.on_commit(send)


# The name it had before it moved here: messages already queued still find it.
@shared_task(name="artifacts.tasks.notices_email")
def notices_email(notification_ids: list[int]) -> None:
    """One email per author with their in-app notices (expiry warnings), sent once: a
    notice already emailed is skipped, so a redelivered task sends nothing twice."""
    notices_email_send(notification_ids)


def notices_email_send(notification_ids: list[int]) -> int:
    """Emails each author their notices not emailed yet, in one message; returns how many
    emails went. The rows stay locked until the send is recorded, so two workers given the
    same ids (a redelivery) do not both send."""
    with transaction.atomic():
        notices = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=notification_ids, emailed_at__isnull=True)
            .select_related("user", "organization")
            .order_by("user_id", "pk")
        )
        by_user = defaultdict(list)
        for notice in notices:
            by_user[notice.user].append(notice)
        for user, items in by_user.items():
            lines = [
                f"- {n.text}" + (f"\n  {settings.ARTIFACTS_APP_URL}{n.url}" if n.url else "")
                for n in items
            ]
            send_mail(
                subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}Artifacts expiring "
                f"in {items[0].organization.name or items[0].organization.slug}",
                message="\n".join(
                    [
                        "Retention policy notices for your artifacts:",
                        "",
                        *lines,
                        "",
                        "Push a new version or pin an artifact to keep it.",
                    ]
                ),
                from_email=None,
                recipient_list=[user.email],
            )
        Notification.objects.filter(pk__in=[n.pk for n in notices]).update(
            emailed_at=timezone.now()
        )
    return len(by_user)
