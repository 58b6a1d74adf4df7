"""Web pages of orgs: personal API tokens (create — shown once —, list, revoke), the org
admin console (toggles, members, groups, invitations, SSO: one view per form) and its audit
log."""

import re
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from .audit import audit_csv_response, audit_json_response
from .cli_wheel import setup_lines
from .errors import NotFound, ServiceError
from .mfa import mfa_satisfied
from .models import ApiToken, Organization, Role
from .params import whole_number
from .permissions import Can, membership_require, role_can
from .scim.resources import base_url as scim_base_url
from .scim.selectors import scim_tokens_live
from .scim.services import scim_token_create, scim_token_revoke
from .selectors import audit_events, groups_of, invitations_pending, members_of
from .services import (
    group_create,
    group_delete,
    group_members_set,
    invitation_accept,
    invitation_create,
    invitation_get,
    invitation_revoke,
    member_remove,
    member_role_change,
    org_settings_update,
    token_create,
    token_revoke,
)
from .sso import views as sso_views


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    memberships = request.user.memberships.select_related("organization").order_by(
        "organization__slug"
    )
    new_secret = None
    if request.method == "POST":
        membership = memberships.filter(organization__slug=request.POST.get("org")).first()
        if membership is None:
            messages.error(request, "Choose one of your organisations.")
        else:
            try:
                # The org's rules (MFA required) bind a token's creation like any other use.
                membership_require(request.user, membership.organization, Can.VIEW_SHARED)
                _, new_secret = token_create(
                    user=request.user,
                    organization=membership.organization,
                    name=request.POST.get("name", ""),
                    mfa_used=mfa_satisfied(request.user),
                )
            except ServiceError as exc:
                messages.error(request, exc.message)
    context = {
        "memberships": memberships,
        "tokens": request.user.api_tokens.select_related("organization")
        .filter(revoked_at__isnull=True)
        .order_by("-created_at"),
        "new_secret": new_secret,
        "cli_lines": setup_lines(),
    }
    return render(request, "orgs/tokens.html", context)


@login_required
@require_POST
def token_delete(request, token_id):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    token_revoke(token=token, actor=request.user)
    messages.success(request, f"Revoked token “{token.name}”.")
    return redirect("tokens")


def _int_or_zero(value: str | None) -> int:
    return whole_number(value) or 0  # 0 matches nothing: a 404-like error


def org_for_admin(request, slug: str):
    """The org if the user may administer it: 404 for outsiders, 403 for lower roles."""
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        raise Http404
    try:
        # Each form's service checks again, without the break-glass path of SSO.
        membership = membership_require(request.user, org, Can.MANAGE_ORG, break_glass=True)
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        raise PermissionDenied(exc.message) from exc
    return org, membership


@login_required
@require_safe  # each form posts to its own view below
def console(request, slug):
    """The org admin console: toggles, members, groups, invitations. Each of its forms
    posts to a view of its own below."""
    org, membership = org_for_admin(request, slug)
    context = {
        "org": org,
        "members": members_of(org),
        "roles": Role.choices,
        "create_roles": [(r, label) for r, label in Role.choices if r != Role.VIEWER],
        "visibility_choices": Organization._meta.get_field("default_visibility").choices,
        "join_roles": Organization._meta.get_field("auto_join_role").choices,
        "can_manage_owners": role_can(membership.role, Can.MANAGE_OWNERS),
        "groups": groups_of(org),
        "invitations": invitations_pending(org),
        "sso": sso_views.console_context(org),
    }
    return render(request, "orgs/console.html", context)


def console_form(change):
    """A form of the console: the admin's org (404 for outsiders, 403 for lower roles),
    the change through its service, a message saying how it went, back to the console."""

    @login_required
    @require_POST
    @wraps(change)
    def view(request, slug):
        org, _ = org_for_admin(request, slug)
        try:
            change(request, org)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Saved.")
        return redirect("org-console", slug=org.slug)

    return view


@console_form
def settings_save(request, org):
    org_settings_update(
        organization=org,
        actor=request.user,
        artifacts_enabled="artifacts_enabled" in request.POST,
        sharing_enabled="sharing_enabled" in request.POST,
        scripts_allowed="scripts_allowed" in request.POST,
        require_mfa="require_mfa" in request.POST,
        min_create_role=request.POST.get("min_create_role"),
        default_visibility=request.POST.get("default_visibility"),
        default_group=request.POST.get("default_group"),
        auto_join_domains=request.POST.get("auto_join_domains"),
        auto_join_role=request.POST.get("auto_join_role"),
    )


@console_form
def member_role(request, org):
    member_role_change(
        organization=org,
        email=request.POST.get("email", ""),
        role=request.POST.get("role", ""),
        actor=request.user,
    )


@console_form
def member_delete(request, org):
    member_remove(organization=org, email=request.POST.get("email", ""), actor=request.user)


@console_form
def invitation_new(request, org):
    invitation_create(
        organization=org,
        actor=request.user,
        email=request.POST.get("email", ""),
        role=request.POST.get("role", ""),
    )


@console_form
def invitation_delete(request, org):
    invitation_revoke(
        organization=org,
        actor=request.user,
        invitation_id=_int_or_zero(request.POST.get("invitation")),
    )


@console_form
def group_new(request, org):
    group_create(
        organization=org,
        actor=request.user,
        slug=request.POST.get("slug", "").strip(),
        name=request.POST.get("name", "").strip(),
    )


@console_form
def group_members(request, org):
    group_members_set(
        organization=org,
        actor=request.user,
        slug=request.POST.get("slug", ""),
        emails=re.split(r"[,\s]+", request.POST.get("members", "")),
    )


@console_form
def group_remove(request, org):
    group_delete(organization=org, actor=request.user, slug=request.POST.get("slug", ""))


@login_required
@require_http_methods(["GET", "POST"])
def scim(request, slug):
    """SCIM provisioning: the base URL to paste into the identity provider, its tokens,
    and (POST) a new one, whose secret this one answer shows."""
    org, membership = org_for_admin(request, slug)
    new_secret = None
    if request.method == "POST":
        try:
            _, new_secret = scim_token_create(
                organization=org, name=request.POST.get("name", ""), actor=request.user
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
    context = {
        "org": org,
        "base_url": scim_base_url(),
        "tokens": scim_tokens_live(org),
        "new_secret": new_secret,
        "can_manage_owners": role_can(membership.role, Can.MANAGE_OWNERS),
    }
    return render(request, "orgs/scim.html", context)


@login_required
@require_POST
def scim_token_delete(request, slug, token_id):
    org, _ = org_for_admin(request, slug)
    try:
        token = scim_token_revoke(organization=org, token_id=token_id, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Revoked SCIM token “{token.name}”.")
    return redirect("org-scim", slug=org.slug)


sso_save = console_form(sso_views.save)
sso_remove = console_form(sso_views.remove)


@console_form
def sso_require(request, org):
    org_settings_update(
        organization=org, actor=request.user, require_sso="require_sso" in request.POST
    )


@login_required
def audit(request, slug):
    """The audit log with filters, 100 a page, and CSV/JSON export of the filtered log."""
    org, _ = org_for_admin(request, slug)
    filters = {k: request.GET.get(k, "").strip() for k in ("action", "actor")}
    events = audit_events(org, action=filters["action"] or None, actor=filters["actor"] or None)
    export = request.GET.get("format")
    if export == "csv":
        return audit_csv_response(events, f"{org.slug}-audit.csv")
    if export == "json":
        return audit_json_response(events, f"{org.slug}-audit.json")
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request, "orgs/audit.html", {"org": org, "page": page, "filters": filters, "query": query}
    )


@login_required
@require_POST
def notice_dismiss(request, notice_id):
    request.user.notifications.filter(pk=notice_id).update(read_at=timezone.now())
    return redirect("home")


@require_http_methods(["GET", "POST"])
def invitation(request, secret):
    """An invitation link: sign up or sign in (allauth), then accept."""
    try:
        invite = invitation_get(secret)
    except NotFound:
        return render(request, "orgs/invitation.html", {"invalid": True}, status=404)
    if request.method == "POST" and request.user.is_authenticated:
        try:
            membership = invitation_accept(secret=secret, user=request.user)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"You joined {membership.organization.name}.")
            return redirect("home")
    here = request.get_full_path()
    return render(
        request,
        "orgs/invitation.html",
        {
            "invite": invite,
            "login_url": f"/accounts/login/?{urlencode({'next': here})}",
            "signup_url": f"/accounts/signup/?{urlencode({'next': here})}",
        },
    )
