"""Sandbox grants: opaque tokens that let one browser session load one version in the sandbox.

A grant is 256 random bits, recorded (as its sha256) in the database: shared by every web
process, and independent of Redis. It is bound to user, session, artifact, version and
blob, and valid for ARTIFACTS_GRANT_TTL seconds to start a load. It carries no data a
page's script could read. Redeeming it re-checks everything, so logout, removal,
deactivation and unsharing take effect on the very next sandbox request.

The row names its session by the sha256 of the session's key, the column by which the
session table (orgs.sessions) is found: one query reads the grant, the session behind it
(still there, not expired) and the generations its cached decision depends on.
"""

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.db import connection
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from orgs.errors import NotFound
from orgs.mfa import mfa_mark, session_used_mfa
from orgs.sessions import Session, SessionStore, session_key_hash
from orgs.sso_session import session_sso_providers, sso_mark

from ..models import Artifact, AuthzGeneration, SandboxGrant, Version
from ..selectors import artifact_get_visible
from . import authz
from .authz import Access


def _hash(token: str) -> str:
    # The table holds a hash of the token, so a database dump does not yield usable URLs.
    return hashlib.sha256(token.encode()).hexdigest()


def grant_mint(*, user, session_key: str, artifact: Artifact, version: Version) -> str:
    token = secrets.token_urlsafe(32)
    SandboxGrant.objects.create(
        token_hash=_hash(token),
        user_id=user.pk,
        organization_id=artifact.organization_id,
        artifact_id=artifact.pk,
        version_number=version.number,
        sha256=version.blob_id,
        session_hash=session_key_hash(session_key),
        expires_at=timezone.now() + timedelta(seconds=settings.ARTIFACTS_GRANT_TTL),
    )
    return token


def grant_url(token: str) -> str:
    return f"{settings.ARTIFACTS_SANDBOX_URL}/g/{token}/"


@cache
def _grant_sql() -> str:
    """The grant, its session and the three generations its cached decision depends on,
    in one query. Raw, and built once: compiling the ORM's version of it cost more than
    running it."""
    grant, gen = SandboxGrant._meta.db_table, AuthzGeneration._meta.db_table
    session = Session._meta.db_table

    def generation(prefix: str, column: str) -> str:
        return (
            f"COALESCE((SELECT value FROM {gen} WHERE key = '{prefix}:' || "  # noqa: S608
            f"CAST(g.{column} AS TEXT)), 0)"
        )

    # SECURITY: the join is the session check of every request, warm or cold: a session
    # deleted (logout, an admin, any SQL) or expired takes its grants with it at once.
    return (
        "SELECT g.user_id, g.organization_id, g.artifact_id, g.version_number, g.sha256, "  # noqa: S608 (names from the models)
        f"g.session_hash, s.session_data, {generation('user', 'user_id')}, "
        f"{generation('org', 'organization_id')}, {generation('artifact', 'artifact_id')} "
        f"FROM {grant} g JOIN {session} s ON s.key_hash = g.session_hash "
        "WHERE g.token_hash = %s AND g.expires_at > %s AND s.expire_date > %s"
    )


@dataclass(frozen=True)
class _Grant:
    user_id: int
    organization_id: int
    artifact_id: str
    version_number: int
    sha256: str
    session_hash: str
    session_data: str
    gen_user: int
    gen_org: int
    gen_artifact: int


def _grant_get(token: str) -> _Grant | None:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_grant_sql(), [_hash(token), now, now])
        row = cursor.fetchone()
    return None if row is None else _Grant(*row)


def grant_redeem(token: str) -> Access:
    """What a grant still entitles its user to see, or NotFound. Checked in full, or found
    among the decisions of the shared cache that no change has invalidated since
    (artifacts.sandbox.authz). One query reads the grant with its live session and the
    generations its decision depends on; with the decision cached, that is all the
    database sees."""
    if not 20 <= len(token) <= 64:
        raise NotFound()
    grant = _grant_get(token)
    if grant is None:  # unknown, expired, or its session is gone
        raise NotFound()
    gens = f"{grant.gen_user}.{grant.gen_org}.{grant.gen_artifact}"
    key = authz.decision_key(
        grant.session_hash, grant.user_id, grant.artifact_id, grant.version_number, gens
    )
    access = authz.decision_get(key)
    if access is not None and access.sha256 == grant.sha256:
        return access
    access = _check(grant)
    authz.decision_set(key, access)
    return access


def _check(grant: _Grant) -> Access:
    # SECURITY: the app session (alive: the query joined it) must still be this user's and
    # still carry the user's current auth hash (as django.contrib.auth.get_user checks):
    # changing the password revokes every grant minted in another session.
    session = SessionStore().decode(grant.session_data)
    if str(session.get(SESSION_KEY)) != str(grant.user_id):
        raise NotFound()
    user = get_user_model().objects.filter(pk=grant.user_id, is_active=True).first()
    if user is None or not constant_time_compare(
        session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()
    ):
        raise NotFound()
    mfa_mark(user, used=session_used_mfa(session, user))  # for orgs that require MFA
    sso_mark(user, providers=session_sso_providers(session, user))  # ... or SSO
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
        valid_until=time.time() + authz.DECISION_TTL,
    )
