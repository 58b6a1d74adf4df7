"""allauth signal receivers: a verified email at an org's auto-join domain joins the org,
and every sign-in is recorded in the audit log of each org the user belongs to."""

from allauth.account.signals import email_confirmed, user_logged_in
from django.dispatch import receiver

from .services import auto_join, sign_in_record


@receiver(email_confirmed)
def join_on_verified_email(sender, request, email_address, **kwargs):
    auto_join(user=email_address.user, email=email_address.email)


@receiver(user_logged_in)
def audit_sign_in(sender, request, user, **kwargs):
    sign_in_record(user=user, address=request.META.get("REMOTE_ADDR", "") if request else "")
