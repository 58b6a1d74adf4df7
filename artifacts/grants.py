"""Sandbox grants: opaque tokens that let one browser session load one version in the sandbox.

A grant is 256 random bits recorded in the "grants" cache (the database: shared by every
web process, and independent of Redis), bound to user, session, artifact, version and
blob, and valid for ARTIFACTS_GRANT_TTL seconds to start a load. It carries no data a
page's script could read. Redeeming it re-checks everything, so logout, removal,
deactivation and unsharing take effect on the very next sandbox request.
"""

import hashlib
import secrets
import time
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import caches
from django.utils.crypto import constant_time_compare

from orgs.errors import NotFound

from . import authz
from .authz import Access
from .models import Artifact, Version
from .selectors import artifact_get_visible


@dataclass(frozen=True)
class Grant:
    user_id: int
    sealed_session_key: bytes  # see _seal: a cache dump must not yield live sessions
    artifact_id: str
    version_number: int
    sha256: str
    organization_id: int = 0  # for the decision cache (artifacts.authz); 0: not cached


def _key(token: str) -> str:
    # The cache holds a hash of the token, so a cache dump does not yield usable URLs.
    return "grant:" + hashlib.sha256(token.encode()).hexdigest()


def _seal(token: str, data: bytes) -> bytes:
    """XOR with a keystream derived from the token, which is never stored: only the holder
    of the grant URL can recover the session key from the cache entry."""
    stream = hashlib.shake_256(b"grant-session:" + token.encode()).digest(len(data))
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def grant_mint(*, user, session_key: str, artifact: Artifact, version: Version) -> str:
    token = secrets.token_urlsafe(32)
    sealed = _seal(token, session_key.encode())
    grant = Grant(
        user.pk, sealed, artifact.pk, version.number, version.blob_id, artifact.organization_id
    )
    caches["grants"].set(_key(token), grant, timeout=settings.ARTIFACTS_GRANT_TTL)
    return token


def grant_url(token: str) -> str:
    return f"{settings.ARTIFACTS_SANDBOX_URL}/g/{token}/"


def _session_store(session_key: str) -> SessionBase:
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def grant_redeem(token: str) -> Access:
    """What a grant still entitles its user to see, or NotFound. Checked in full, or found
    among the decisions of the shared cache that no change has invalidated since
    (artifacts.authz): two queries instead of seven."""
    grant = caches["grants"].get(_key(token)) if 20 <= len(token) <= 64 else None
    if not isinstance(grant, Grant):
        raise NotFound()
    session_key = _seal(token, grant.sealed_session_key).decode("ascii", "replace")
    key = None
    if grant.organization_id:
        gens = authz.generations(grant.user_id, grant.organization_id, grant.artifact_id)
        key = authz.decision_key(
            session_key, grant.user_id, grant.artifact_id, grant.version_number, gens
        )
        access = authz.decision_get(key)
        if access is not None and access.sha256 == grant.sha256:
            return access
    access = _check(grant, session_key)
    if key is not None:
        authz.decision_set(key, access)
    return access


def _check(grant: Grant, session_key: str) -> Access:
    # SECURITY: the app session must still be alive, still be this user's and still carry
    # the user's current auth hash (as django.contrib.auth.get_user checks): logging out
    # or changing the password revokes every grant minted in that session.
    session = _session_store(session_key)
    if str(session.get(SESSION_KEY)) != str(grant.user_id):
        raise NotFound()
    user = get_user_model().objects.filter(pk=grant.user_id, is_active=True).first()
    if user is None or not constant_time_compare(
        session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()
    ):
        raise NotFound()
    artifact = artifact_get_visible(user, grant.artifact_id)  # membership, role, visibility
    version = artifact.versions.filter(number=grant.version_number, blob_id=grant.sha256).first()
    if version is None:
        raise NotFound()
    return authz.Access(
        artifact_id=artifact.pk,
        format=artifact.format,
        scripts_allowed=artifact.scripts_allowed,
        version_number=version.number,
        sha256=version.blob_id,
        session_expires=_session_expiry(session_key),
    )


def _session_expiry(session_key: str) -> float:
    """When the session row expires (database sessions); else a decision lives its TTL."""
    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db":
        from django.contrib.sessions.models import Session

        expires = (
            Session.objects.filter(session_key=session_key)
            .values_list("expire_date", flat=True)
            .first()
        )
        if expires is not None:
            return expires.timestamp()
    return time.time() + authz.DECISION_TTL
