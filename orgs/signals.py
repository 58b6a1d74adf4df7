"""allauth signal receivers: a verified email at an org's auto-join domain joins the org,
every sign-in is recorded in the audit log of each org the user belongs to, and a second
factor set up in a session counts as used by it."""

from allauth.account.signals import email_confirmed, user_logged_in
from allauth.mfa.signals import authenticator_added
from django.dispatch import receiver

from .mfa import factor_added_count
from .services import auto_join, sign_in_record


@receiver(email_confirmed)
def join_on_verified_email(sender, request, email_address, **kwargs):
    auto_join(user=email_address.user, email=email_address.email)


@receiver(user_logged_in)
def audit_sign_in(sender, request, user, **kwargs):
    sign_in_record(user=user, address=request.META.get("REMOTE_ADDR", "") if request else "")


@receiver(authenticator_added)
def count_factor_added(sender, request, user, authenticator, **kwargs):
    factor_added_count(request, user, authenticator)
