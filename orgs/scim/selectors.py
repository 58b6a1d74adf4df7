"""Reads of SCIM provisioning: an org's provisioned users and its groups as SCIM sees
them, the columns their filters run on, and the members of a page of groups."""

import uuid

from allauth.socialaccount.models import SocialAccount
from django.db.models import BooleanField, Case, Exists, OuterRef, Q, Value, When

from ..models import Group, Membership, Organization, ScimGroup, ScimUser, SsoConnection
from .filters import Column


def uuid_or_none(value: str) -> uuid.UUID | None:
    """A SCIM id as the UUID it should be; None (which matches no row) if it is not one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def account_is_orgs_own(user, organization: Organization) -> bool:
    """SECURITY: an org's provider writes the profile (email, name) of an account, or
    signs into one it provisioned, only when the account is that org's alone; an account
    that is also another org's, or an operator's, keeps its profile whatever one org's
    provider says."""
    return not (
        user.is_staff
        or user.is_superuser
        or Membership.objects.filter(user=user).exclude(organization=organization).exists()
        or ScimUser.objects.filter(user=user).exclude(organization=organization).exists()
    )


def account_is_provisioned(scim_user: ScimUser) -> bool:
    """SECURITY: SCIM made the account, and it is still the org's provider's: the org's
    alone (account_is_orgs_own), nobody set a password on it, and no provider but the
    org's own signs into it. Only such an account's email and name are the provider's to
    write, and (provisioned_account) the provider's to sign into."""
    if not scim_user.account_created or scim_user.deleted_at is not None:
        return False
    user, organization = scim_user.user, scim_user.organization
    own_provider = SsoConnection.objects.filter(organization=organization).values(
        "app__provider_id"
    )
    return not (
        user.has_usable_password()
        or not account_is_orgs_own(user, organization)
        or SocialAccount.objects.filter(user=user).exclude(provider__in=own_provider).exists()
    )


def provisioned_account(organization: Organization, email: str):
    """The account the org's SCIM client made for this email (account_is_provisioned),
    still active, or None. Its address is unverified (SCIM vouches for no domain): the
    org's own provider may sign into it all the same."""
    scim_user = (
        ScimUser.objects.select_related("user", "organization")
        .filter(organization=organization, user__email__iexact=email, deleted_at__isnull=True)
        .exclude(active=False)
        .first()
    )
    if scim_user is None or not account_is_provisioned(scim_user):
        return None
    return scim_user.user


def scim_deactivated(organization: Organization, email: str) -> bool:
    """The org's identity provider deactivated or deleted the account with this email
    (SCIM), or left it not active, and nobody has made it a member again since."""
    member = Membership.objects.filter(organization=organization, user=OuterRef("user"))
    return (
        ScimUser.objects.filter(organization=organization, user__email__iexact=email)
        .exclude(active=True)
        .exclude(Exists(member))
        .exists()
    )


def scim_tokens_live(organization: Organization):
    """The org's SCIM tokens that still work, newest first."""
    return organization.scim_tokens.filter(revoked_at__isnull=True).order_by("-created_at")


def scim_users(organization: Organization):
    """The org's provisioned users, each with `member`: whether they hold a membership now
    (a deactivated user does not), oldest first."""
    member = Membership.objects.filter(organization=organization, user=OuterRef("user"))
    return (
        ScimUser.objects.filter(organization=organization, deleted_at__isnull=True)
        .select_related("user")
        .annotate(member=Exists(member))
        .annotate(  # `active` as SCIM shows it (resources.user_resource), for filters
            scim_active=Case(
                When(active__isnull=True, then=Value(None)),
                When(member=False, then=Value(False)),
                default=Value(True),
                output_field=BooleanField(null=True),
            )
        )
        .order_by("created_at", "id")
    )


def scim_groups(organization: Organization):
    """Every group of the org (made in the console or by SCIM), oldest first. Groups that
    SCIM never saw get their SCIM id here, once."""
    unseen = Group.objects.filter(organization=organization, scim__isnull=True)
    if unseen.exists():
        ScimGroup.objects.bulk_create(
            [ScimGroup(group=group) for group in unseen], ignore_conflicts=True
        )
    return (
        ScimGroup.objects.filter(group__organization=organization)
        .select_related("group")
        .order_by("group__created_at", "group_id")
    )


def members_by_group(organization: Organization, groups: list[ScimGroup]) -> dict:
    """{group id: [ScimUser]}: the provisioned users among each group's members (people
    added in the console are the console's to manage, and SCIM does not show them)."""
    through = Group.members.through.objects.filter(group_id__in=[g.group_id for g in groups])
    pairs = list(through.values_list("group_id", "user_id"))
    provisioned = {
        s.user_id: s
        for s in ScimUser.objects.filter(
            organization=organization,
            user_id__in={user for _, user in pairs},
            deleted_at__isnull=True,
        ).order_by("created_at", "id")
    }
    members: dict = {g.group_id: [] for g in groups}
    for group_id, user_id in pairs:
        if user_id in provisioned:
            members[group_id].append(provisioned[user_id])
    return members


def _member_of_groups(organization: Organization):
    def equals(scim_id: str) -> Q:
        users = ScimUser.objects.filter(
            organization=organization, id=uuid_or_none(scim_id), deleted_at__isnull=True
        )
        users = users.values("user")
        return Q(group__members__in=users)

    return equals


USER_COLUMNS = {
    "id": Column("id", "uuid"),
    "externalid": Column("external_id", "exact"),
    "username": Column("user_name"),
    "emails": Column("user__email"),
    "emails.value": Column("user__email"),
    "name.givenname": Column("user__first_name"),
    "name.familyname": Column("user__last_name"),
    "active": Column("scim_active", "bool"),
    "meta.created": Column("created_at", "datetime"),
    "meta.lastmodified": Column("updated_at", "datetime"),
}


def group_columns(organization: Organization) -> dict[str, Column]:
    members = Column("", "custom", equals=_member_of_groups(organization))
    return {
        "id": Column("id", "uuid"),
        "externalid": Column("external_id", "exact"),
        "displayname": Column("group__name"),
        "members": members,
        "members.value": members,
        "meta.created": Column("group__created_at", "datetime"),
        "meta.lastmodified": Column("updated_at", "datetime"),
    }
