"""Cached sandbox authorisation: every request is still checked, most in one query.

The full check of a grant (session alive and this user's, auth hash current, user active,
membership, role, visibility, toggles, MFA, the version still there) costs six queries. Its
outcome is kept in the shared cache (Redis in production) under a key that holds the
*generations* of the user, the org and the artifact, read from the database with the grant
itself (artifacts.sandbox.grants), before the check runs. Every change that can revoke access
bumps one of those generations in the same transaction (signals below, and explicit calls
where rows change by bulk update), so a decision taken before the change is never found
again: correct on every node at once, and when Redis forgets or is down the full check
simply runs. A session can end without any of that (deleted on the server by any means,
or expired): the query that reads the grant joins its live session, so a grant whose
session is gone is not found at all. Each process also keeps the decisions it used lately,
in front of Redis: as safe, since the key holds the generations read on this very request,
and a warm request then costs one query and no round trip to Redis.
"""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from allauth.mfa.models import Authenticator
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.core.cache import cache
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save

from orgs.models import Group, Membership, Organization, SsoConnection

from ..models import Artifact, AuthzGeneration, Share

DECISION_TTL = 300  # seconds
LOCAL_MAX = 10_000  # decisions kept per process (about 5 MiB), oldest dropped first


@dataclass(frozen=True)
class Access:
    """What the sandbox needs to serve one version, once authorised."""

    artifact_id: str
    format: str
    scripts_allowed: bool
    version_number: int
    sha256: str
    valid_until: float  # epoch seconds: DECISION_TTL after the check


_local: OrderedDict[str, Access] = OrderedDict()
_local_lock = threading.Lock()  # gthread workers: several threads share _local


def _local_put(key: str, access: Access) -> None:
    with _local_lock:
        _local[key] = access
        while len(_local) > LOCAL_MAX:
            _local.popitem(last=False)  # the oldest


def decision_key(session_hash: str, user_id: int, artifact_id: str, number: int, gens: str) -> str:
    # The session by the hash of its key, never the key itself. "authz3": decisions of an
    # earlier shape, cached before an upgrade, are never read.
    return f"authz3:{user_id}:{session_hash[:32]}:{artifact_id}:{number}:{gens}"


def decision_get(key: str) -> Access | None:
    access = _local.get(key)
    if access is None:
        access = cache.get(key)
        if not isinstance(access, Access):
            return None
        _local_put(key, access)
    return access if access.valid_until > time.time() else None


def decision_set(key: str, access: Access) -> None:
    ttl = int(access.valid_until - time.time())
    if ttl > 0:
        _local_put(key, access)
        cache.set(key, access, timeout=ttl)


def bump(kind: str, *ids) -> None:
    """Invalidate every cached decision about these users, orgs or artifacts. Call inside
    the transaction of the change: the bump commits (or rolls back) with it."""
    keys = [f"{kind}:{i}" for i in ids]
    if not keys:
        return
    AuthzGeneration.objects.filter(key__in=keys).update(value=F("value") + 1)
    AuthzGeneration.objects.bulk_create(
        [AuthzGeneration(key=key, value=1) for key in keys], ignore_conflicts=True
    )


# --- What revokes access ------------------------------------------------------------------


def _user_changed(sender, instance, **kwargs):  # deactivated, password (auth hash) changed
    bump("user", instance.pk)


def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        bump("user", user.pk)


def _authenticator_changed(sender, instance, **kwargs):  # MFA added or removed
    bump("user", instance.user_id)


def _org_changed(sender, instance, **kwargs):  # toggles
    bump("org", instance.pk)


def _membership_changed(sender, instance, **kwargs):  # role changed, member removed
    bump("org", instance.organization_id)


def _sso_changed(sender, instance, **kwargs):  # another provider: require_sso means another
    bump("org", instance.organization_id)


def _group_members_changed(sender, instance, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):
        org_id = instance.organization_id if isinstance(instance, Group) else None
        if org_id is None:  # changed from the user's side: every org of that user
            org_ids = Membership.objects.filter(user=instance).values_list(
                "organization_id", flat=True
            )
            bump("org", *org_ids)
        else:
            bump("org", org_id)


def _artifact_changed(sender, instance, **kwargs):  # visibility, trash, restore
    bump("artifact", instance.pk)


def _share_changed(sender, instance, **kwargs):
    bump("artifact", instance.artifact_id)


def connect() -> None:
    user_model = get_user_model()
    post_save.connect(_user_changed, sender=user_model, dispatch_uid="authz-user")
    user_logged_out.connect(_logged_out, dispatch_uid="authz-logout")
    for signal in (post_save, post_delete):
        signal.connect(
            _authenticator_changed, sender=Authenticator, dispatch_uid=f"authz-mfa-{signal}"
        )
        signal.connect(_membership_changed, sender=Membership, dispatch_uid=f"authz-ms-{signal}")
        signal.connect(_share_changed, sender=Share, dispatch_uid=f"authz-share-{signal}")
        signal.connect(_sso_changed, sender=SsoConnection, dispatch_uid=f"authz-sso-{signal}")
    post_save.connect(_org_changed, sender=Organization, dispatch_uid="authz-org")
    post_save.connect(_artifact_changed, sender=Artifact, dispatch_uid="authz-artifact")
    post_delete.connect(_org_changed_by_group, sender=Group, dispatch_uid="authz-group")
    m2m_changed.connect(
        _group_members_changed, sender=Group.members.through, dispatch_uid="authz-group-members"
    )


def _org_changed_by_group(sender, instance, **kwargs):  # a deleted group takes its shares
    bump("org", instance.organization_id)
