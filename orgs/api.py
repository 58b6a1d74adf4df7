"""The org part of the API (/api/v1/org/...): the token's organisation managed as code.
Mounted on the API root in config/api.py; every rule lives in services and permissions."""

from datetime import datetime
from typing import Literal

from django.http import HttpResponse
from ninja import Query, Router, Schema, Status

from .audit import audit_csv_response, audit_event_dict
from .paging import PageQuery, page_answer, page_of
from .permissions import Can, membership_require
from .selectors import audit_events, groups_of, invitations_pending, members_of
from .services import (
    RETENTION,
    group_create,
    group_delete,
    group_members_set,
    invitation_create,
    invitation_revoke,
    member_remove,
    member_role_change,
    org_settings_update,
)
from .sso.api import router as sso_router

router = Router(tags=["org"])
router.add_router("", sso_router)  # /org/sso

AUDIT_PAGE_MAX = 500
AUDIT_PAGE_LAST = 10**6  # pages past it answer empty, like any page past the end


class SettingsOut(Schema):
    organization: str
    name: str
    artifacts_enabled: bool
    sharing_enabled: bool
    scripts_allowed: bool
    min_create_role: str
    require_mfa: bool
    require_sso: bool
    default_visibility: str
    default_group: str | None  # slug of the group new artifacts are shared with
    auto_join_domains: list[str]
    auto_join_role: str
    # Retention policy (SPEC §6); null keeps forever.
    retention_unshared_days: int | None
    retention_shared_days: int | None
    retention_keep_versions: int | None
    retention_notice_days: int
    retention_grace_days: int
    retention_view_days: int  # who opened what, and when, is kept this long


class SettingsPatch(Schema):
    artifacts_enabled: bool | None = None
    sharing_enabled: bool | None = None
    scripts_allowed: bool | None = None
    min_create_role: Literal["member", "admin", "owner"] | None = None
    require_mfa: bool | None = None
    # On only from a session signed in through the org's provider: never from a token.
    require_sso: bool | None = None
    default_visibility: Literal["private", "org"] | None = None
    default_group: str | None = None  # a group slug; "" for none
    auto_join_domains: list[str] | None = None  # [] turns auto-join off
    auto_join_role: Literal["viewer", "member"] | None = None
    # Days after the last version; null: keep forever (absent: unchanged).
    retention_unshared_days: int | None = None
    retention_shared_days: int | None = None
    retention_keep_versions: int | None = None  # null: keep every version
    retention_notice_days: int | None = None
    retention_grace_days: int | None = None
    retention_view_days: int | None = None


class MemberOut(Schema):
    email: str
    role: str
    joined_at: datetime


class MemberPatch(Schema):
    role: Literal["owner", "admin", "member", "viewer"]


class InvitationIn(Schema):
    email: str
    role: Literal["owner", "admin", "member", "viewer"] = "member"
    days: int = 7


class InvitationOut(Schema):
    id: int
    email: str
    role: str
    expires_at: datetime
    invited_by: str | None


class GroupIn(Schema):
    slug: str
    name: str = ""


class GroupOut(Schema):
    slug: str
    name: str
    members: list[str]


class GroupMembersIn(Schema):
    members: list[str]


class AuditEventOut(Schema):
    id: int
    created_at: datetime
    actor: str | None  # the user's email at the time; None for an operator or the system
    actor_kind: Literal["user", "operator", "system", "idp"]
    action: str
    target: str
    details: dict


class AuditPage(Schema):
    count: int
    page: int
    page_size: int
    events: list[AuditEventOut]


class AuditFilters(Schema):
    action: str | None = None
    actor: str | None = None  # email
    since: datetime | None = None
    until: datetime | None = None
    page: int = 1
    page_size: int = 100
    format: Literal["json", "csv"] = "json"


def _settings_out(org) -> dict:
    return {
        "organization": org.slug,
        "name": org.name,
        "artifacts_enabled": org.artifacts_enabled,
        "sharing_enabled": org.sharing_enabled,
        "scripts_allowed": org.scripts_allowed,
        "min_create_role": org.min_create_role,
        "require_mfa": org.require_mfa,
        "require_sso": org.require_sso,
        "default_visibility": org.default_visibility,
        "default_group": org.default_group.slug if org.default_group else None,
        "auto_join_domains": org.auto_join_domain_list,
        "auto_join_role": org.auto_join_role,
        **{name: getattr(org, name) for name in RETENTION},
    }


@router.get("/settings", response=SettingsOut)
def settings_get(request):
    """The token's organisation and its toggles (any member may read them)."""
    membership_require(request.auth.user, request.auth.organization, Can.VIEW_SHARED)  # MFA
    return _settings_out(request.auth.organization)


@router.patch("/settings", response=SettingsOut)
def settings_patch(request, payload: SettingsPatch):
    """Change toggles and the retention policy (admins and owners; audited)."""
    changes = payload.model_dump(exclude_none=True)
    for name, value in payload.model_dump(exclude_unset=True).items():
        if name in RETENTION and value is None:  # an explicit null: keep forever
            changes[name] = ""
    if "auto_join_domains" in changes:
        changes["auto_join_domains"] = ",".join(changes["auto_join_domains"])
    org = org_settings_update(
        organization=request.auth.organization, actor=request.auth.user, **changes
    )
    return _settings_out(org)


class MemberPage(Schema):
    items: list[MemberOut]
    next_cursor: str | None


@router.get("/members", response=MemberPage)
def members_list(request, response: HttpResponse, paging: Query[PageQuery]):
    """The org's members by email, a page at a time (admins)."""
    org = request.auth.organization
    membership_require(request.auth.user, org, Can.MANAGE_MEMBERS)
    page = page_of(members_of(org), ("user__email", "pk"), limit=paging.limit, cursor=paging.cursor)
    items = [{"email": m.user.email, "role": m.role, "joined_at": m.created_at} for m in page.items]
    return page_answer(request, response, page, items, paging.limit)


@router.patch("/members/{email}", response=MemberOut)
def member_patch(request, email: str, payload: MemberPatch):
    """Change a member's role (owners manage owners; the last owner stays)."""
    m = member_role_change(
        organization=request.auth.organization,
        email=email,
        role=payload.role,
        actor=request.auth.user,
    )
    return {"email": m.user.email, "role": m.role, "joined_at": m.created_at}


@router.delete("/members/{email}", response={204: None})
def member_delete(request, email: str):
    """Remove a member; their tokens for this org are revoked."""
    member_remove(organization=request.auth.organization, email=email, actor=request.auth.user)
    return Status(204, None)


def _invitation_out(inv) -> dict:
    return {
        "id": inv.pk,
        "email": inv.email,
        "role": inv.role,
        "expires_at": inv.expires_at,
        "invited_by": inv.invited_by.email if inv.invited_by else None,
    }


class InvitationPage(Schema):
    items: list[InvitationOut]
    next_cursor: str | None


@router.get("/invitations", response=InvitationPage)
def invitations_list(request, response: HttpResponse, paging: Query[PageQuery]):
    """Pending invitations, newest first, a page at a time (admins)."""
    org = request.auth.organization
    membership_require(request.auth.user, org, Can.MANAGE_MEMBERS)
    page = page_of(invitations_pending(org), ("-pk",), limit=paging.limit, cursor=paging.cursor)
    items = [_invitation_out(i) for i in page.items]
    return page_answer(request, response, page, items, paging.limit)


@router.post("/invitations", response={201: InvitationOut})
def invitations_create(request, payload: InvitationIn):
    """Invite by email; the link goes out through allauth's email machinery."""
    invitation, _ = invitation_create(
        organization=request.auth.organization,
        actor=request.auth.user,
        email=payload.email,
        role=payload.role,
        days=payload.days,
    )
    return Status(201, _invitation_out(invitation))


@router.delete("/invitations/{invitation_id}", response={204: None})
def invitations_delete(request, invitation_id: int):
    invitation_revoke(
        organization=request.auth.organization, actor=request.auth.user, invitation_id=invitation_id
    )
    return Status(204, None)


def _group_out(group) -> dict:
    return {
        "slug": group.slug,
        "name": group.name,
        "members": sorted(u.email for u in group.members.all()),
    }


class GroupPage(Schema):
    items: list[GroupOut]
    next_cursor: str | None


@router.get("/groups", response=GroupPage)
def groups_list(request, response: HttpResponse, paging: Query[PageQuery]):
    """The org's groups by slug with their members, a page at a time (any member may read
    them, to share)."""
    org = request.auth.organization
    membership_require(request.auth.user, org, Can.VIEW_SHARED)  # and MFA, when required
    page = page_of(groups_of(org), ("slug", "pk"), limit=paging.limit, cursor=paging.cursor)
    items = [_group_out(g) for g in page.items]
    return page_answer(request, response, page, items, paging.limit)


@router.post("/groups", response={201: GroupOut})
def groups_create(request, payload: GroupIn):
    group = group_create(
        organization=request.auth.organization,
        actor=request.auth.user,
        slug=payload.slug,
        name=payload.name,
    )
    return Status(201, _group_out(group))


@router.put("/groups/{slug}/members", response=GroupOut)
def groups_members(request, slug: str, payload: GroupMembersIn):
    """Replace the group's members (emails of org members)."""
    group = group_members_set(
        organization=request.auth.organization,
        actor=request.auth.user,
        slug=slug,
        emails=payload.members,
    )
    return _group_out(group)


@router.delete("/groups/{slug}", response={204: None})
def groups_delete(request, slug: str):
    group_delete(organization=request.auth.organization, actor=request.auth.user, slug=slug)
    return Status(204, None)


@router.get("/audit", response=AuditPage)
def audit_list(request, filters: Query[AuditFilters]):
    """The audit log, newest first: filter by action, actor, time; JSON pages or CSV."""
    org = request.auth.organization
    membership_require(request.auth.user, org, Can.MANAGE_ORG)
    events = audit_events(
        org, action=filters.action, actor=filters.actor, since=filters.since, until=filters.until
    )
    if filters.format == "csv":
        return audit_csv_response(events, f"{org.slug}-audit.csv")
    page_size = max(1, min(filters.page_size, AUDIT_PAGE_MAX))
    page = max(1, min(filters.page, AUDIT_PAGE_LAST))  # an OFFSET the database can take
    chunk = events[(page - 1) * page_size : page * page_size]
    return {
        "count": events.count(),
        "page": page,
        "page_size": page_size,
        "events": [audit_event_dict(e) for e in chunk],
    }
