"""Django's admin site, for operators. It signs in through allauth's flow only (its rate
limits, the second factor of a user who has one): Django's own login form, which skips
both, never runs. A staff member with a second factor reaches it only from a session that
used that factor."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from orgs.mfa import mfa_satisfied, user_has_mfa


class OperatorAdminSite(admin.AdminSite):
    def has_permission(self, request):
        user = request.user
        return super().has_permission(request) and (mfa_satisfied(user) or not user_has_mfa(user))

    def login(self, request, extra_context=None):
        # SECURITY: never Django's LoginView, not even for someone signed in already
        # (posting another staff member's password there would switch accounts).
        here = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(here, allowed_hosts={request.get_host()}):
            here = reverse("admin:index", current_app=self.name)
        if self.has_permission(request):
            return redirect(here)
        if request.user.is_authenticated:
            raise PermissionDenied(
                "The admin site is for staff, signed in with their second factor if they have one."
            )
        return redirect(f"{settings.LOGIN_URL}?{urlencode({'next': here})}")
