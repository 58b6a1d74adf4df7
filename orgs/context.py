"""Template context: the orgs the signed-in user administers, for the navigation."""

from .models import Membership
from .permissions import CAPABILITIES, Can

_ADMIN_ROLES = [role for role, caps in CAPABILITIES.items() if Can.MANAGE_ORG in caps]


def admin_orgs(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:  # the sandbox host has no user at all
        return {"admin_orgs": []}
    memberships = Membership.objects.filter(user=user, role__in=_ADMIN_ROLES)
    return {"admin_orgs": [m.organization for m in memberships.select_related("organization")]}
