"""Rows as SCIM resources: what a provisioned user or a group looks like to the identity
provider (orgs.scim.schemas.User/Group), and as the full RFC model a PATCH is applied to."""

from django.conf import settings
from scim2_models import GroupMember, Meta, Name

from ..models import Group, ScimGroup, ScimUser
from .schemas import Group as GroupResource
from .schemas import GroupMember as PublishedMember
from .schemas import GroupRequest, RequestEmail, User, UserEmail, UserName, UserRequest


def base_url() -> str:
    """The SCIM base URL, from the configured app URL (not the request's Host)."""
    return f"{settings.ARTIFACTS_APP_URL}/scim/v2"


def user_location(scim_id) -> str:
    return f"{base_url()}/Users/{scim_id}"


def group_location(scim_id) -> str:
    return f"{base_url()}/Groups/{scim_id}"


def _meta(resource_type: str, location: str, created, modified) -> Meta:
    return Meta(
        resource_type=resource_type, created=created, last_modified=modified, location=location
    )


def active_shown(scim_user: ScimUser, *, member: bool) -> bool | None:
    """`active` as SCIM shows it: the truth of access (a membership now), or unassigned
    while the provider leaves it so (a PATCH "remove", RFC 7644 §3.5.2.2), which changes
    no membership."""
    return None if scim_user.active is None else member


def user_resource(scim_user: ScimUser, *, member: bool) -> User:
    """`member`: the user holds a membership of the org now (else they are inactive)."""
    account = scim_user.user
    name = UserName(given_name=account.first_name or None, family_name=account.last_name or None)
    return User(
        id=str(scim_user.id),
        external_id=scim_user.external_id or None,
        user_name=scim_user.user_name,
        name=name if name.given_name or name.family_name else None,
        active=active_shown(scim_user, member=member),
        emails=[UserEmail(value=account.email)],
        meta=_meta("User", user_location(scim_user.id), scim_user.created_at, scim_user.updated_at),
    )


def user_request_of(scim_user: ScimUser, *, member: bool) -> UserRequest:
    """The user's current state as the RFC model PATCH operations apply to."""
    account = scim_user.user
    name = Name(given_name=account.first_name or None, family_name=account.last_name or None)
    return UserRequest(
        id=str(scim_user.id),
        external_id=scim_user.external_id or None,
        user_name=scim_user.user_name,
        name=name if name.given_name or name.family_name else None,
        active=active_shown(scim_user, member=member),
        # As Entra's paths name it (emails[type eq "work"].value).
        emails=[RequestEmail(value=account.email, type="work", primary=True)],
    )


def group_resource(scim_group: ScimGroup, members: list[ScimUser]) -> GroupResource:
    group: Group = scim_group.group
    return GroupResource(
        id=str(scim_group.id),
        external_id=scim_group.external_id or None,
        display_name=group.name,
        members=[PublishedMember(value=str(m.id), ref=user_location(m.id)) for m in members]
        or None,
        meta=_meta("Group", group_location(scim_group.id), group.created_at, scim_group.updated_at),
    )


def group_request_of(scim_group: ScimGroup, members: list[ScimUser]) -> GroupRequest:
    """The group's current state as the RFC model PATCH operations apply to."""
    return GroupRequest(
        id=str(scim_group.id),
        external_id=scim_group.external_id or None,
        display_name=scim_group.group.name,
        members=[GroupMember(value=str(m.id)) for m in members] or None,
    )
