"""allauth signal receivers: a verified email at an org's auto-join domain joins the org,
a sign-in through an org's provider makes (and keeps in step) the membership, every
sign-in is recorded in the audit log of each org the user belongs to, and a second factor
set up in a session counts as used by it."""

from allauth.account.signals import email_confirmed, user_logged_in
from allauth.mfa.signals import authenticator_added
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .mfa import factor_added_count
from .models import SsoConnection
from .services import auto_join, sign_in_record
from .sso.login import claims_of
from .sso.services import connection_for_app, sign_in_apply


@receiver(email_confirmed)
def join_on_verified_email(sender, request, email_address, **kwargs):
    auto_join(user=email_address.user, email=email_address.email)


@receiver(user_logged_in)
def audit_sign_in(sender, request, user, sociallogin=None, **kwargs):
    connection = connection_for_app(sociallogin.provider.app) if sociallogin else None
    if connection is not None:  # orgs.adapters let it in: the email is at its domains
        sign_in_apply(connection=connection, user=user, claims=claims_of(sociallogin))
    sign_in_record(user=user, address=request.META.get("REMOTE_ADDR", "") if request else "")


@receiver(authenticator_added)
def count_factor_added(sender, request, user, authenticator, **kwargs):
    factor_added_count(request, user, authenticator)


@receiver(post_delete, sender=SsoConnection)
def provider_goes_with_connection(sender, instance, **kwargs):
    # Removed, or its org deleted: no later org of the same slug inherits its links.
    SocialAccount.objects.filter(provider=instance.app.provider_id).delete()
    SocialApp.objects.filter(pk=instance.app_id).delete()
