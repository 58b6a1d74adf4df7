"""Retention notices by email: the in-app Notification rows, batched per author."""

from collections import defaultdict

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from orgs.models import Notification


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
