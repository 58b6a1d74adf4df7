"""Role → capability table, and the membership lookups every permission check starts from."""

from enum import StrEnum

from .errors import Forbidden, NotFound
from .mfa import mfa_satisfied, user_has_mfa
from .models import ROLE_RANK, Membership, Organization, Role
from .sso_session import sso_satisfied


class Can(StrEnum):
    VIEW_SHARED = "view_shared"  # see artifacts shared with the org
    CREATE = "create"  # create artifacts and push versions to one's own
    DELETE_ANY = "delete_any"  # delete anyone's artifact
    MANAGE_MEMBERS = "manage_members"  # members, invitations, roles below owner
    MANAGE_OWNERS = "manage_owners"
    MANAGE_ORG = "manage_org"  # toggles, retention, audit log


CAPABILITIES: dict[str, frozenset[Can]] = {
    Role.OWNER: frozenset(Can),
    Role.ADMIN: frozenset(
        {Can.VIEW_SHARED, Can.CREATE, Can.DELETE_ANY, Can.MANAGE_MEMBERS, Can.MANAGE_ORG}
    ),
    Role.MEMBER: frozenset({Can.VIEW_SHARED, Can.CREATE}),
    Role.VIEWER: frozenset({Can.VIEW_SHARED}),
}


def role_can(role: str, capability: Can) -> bool:
    return capability in CAPABILITIES.get(role, frozenset())


def membership_get(user, organization: Organization) -> Membership | None:
    """The user's *current* membership, or None. Inactive users have none."""
    if not user.is_authenticated or not user.is_active:
        return None
    return Membership.objects.filter(user=user, organization=organization).first()


class MfaRequired(Forbidden):
    code = "mfa_required"

    def __init__(self, organization: Organization, user=None):
        if user is not None and user_has_mfa(user):
            how = "sign out, then sign in again with your second factor"
        else:
            how = "set it up at /accounts/2fa/ (an authenticator app or a passkey)"
        super().__init__(f"{organization.name} requires two-factor authentication: {how}.")


class SsoRequired(Forbidden):
    code = "sso_required"

    def __init__(self, organization: Organization):
        super().__init__(
            f"{organization.name} requires signing in through its identity provider: "
            f"sign out, then sign in at /accounts/sso/?org={organization.slug}."
        )


def membership_require(
    user, organization: Organization, capability: Can, *, break_glass: bool = False
) -> Membership:
    """The membership if its role has the capability; 404 for outsiders, 403 for low roles,
    for members of an org that requires MFA whose sign-in did not use a second factor, and
    of one that requires SSO whose sign-in did not go through its provider.

    SECURITY: `break_glass` (the console's page, and turning require_sso off) also lets in
    an owner whose sign-in used a second factor but not the provider, for when the
    provider is down or misconfigured; nothing else does, so such a session can neither
    reach artifacts nor change the provider."""
    membership = membership_get(user, organization)
    if membership is None:
        raise NotFound()
    if organization.require_mfa and not mfa_satisfied(user):
        raise MfaRequired(organization, user)
    if not sso_satisfied(user, organization) and not (
        break_glass and membership.role == Role.OWNER and mfa_satisfied(user)
    ):
        raise SsoRequired(organization)
    if not role_can(membership.role, capability):
        raise Forbidden(f"Your role ({membership.role}) may not do this.")
    if (
        capability == Can.CREATE
        and ROLE_RANK[membership.role] < ROLE_RANK[organization.min_create_role]
    ):
        raise Forbidden(
            f"In {organization.slug}, only {organization.min_create_role}s and above may create."
        )
    return membership
