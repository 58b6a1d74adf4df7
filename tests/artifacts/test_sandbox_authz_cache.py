"""Sandbox authorisation is re-checked on every request, and cheap: a decision cached in the
shared cache serves the next requests in a bounded number of queries, and every change
that can revoke access makes the very next request 404, even with the decision cached."""

import time
from collections import OrderedDict
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from artifacts.models import Artifact, Share
from artifacts.retention.enforce import retention_enforce
from artifacts.sandbox import authz
from orgs.models import Role
from orgs.services import (
    group_create,
    group_members_set,
    member_remove,
    member_role_change,
    org_settings_update,
)
from orgs.sessions import Session, SessionStore
from tests.helpers import PAGE, frame_src, sandbox_get

# Warm: the grant with its live session and its generations (one query), the decision (the
# cache: Redis in CI, where it costs no query; the database cache locally: one more, and a
# few to store it).
ON_REDIS = "redis" in settings.CACHES["default"]["BACKEND"].lower()
WARM_MAX = 1 if ON_REDIS else 2
COLD_MAX = 7 if ON_REDIS else 13


def _grant(persona, artifact_id) -> str:
    response = persona.client.get(f"/a/{artifact_id}/")
    assert response.status_code == 200
    return frame_src(response)


def _served(url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = sandbox_get(url)
    return response.status_code, len(queries.captured_queries)


def test_the_first_request_checks_in_full_and_the_next_ones_in_one_query(personas):
    member, other = personas["member"], personas["other_member"]
    artifact_id = member.push(visibility="org").json()["id"]
    url = _grant(other, artifact_id)
    status, cold = _served(url)
    assert status == 200 and cold <= COLD_MAX
    for _ in range(3):
        status, warm = _served(url)
        assert status == 200 and warm <= WARM_MAX, warm
    # A new grant in the same session is warm at once (the decision is per session).
    assert _served(_grant(other, artifact_id))[1] <= WARM_MAX


def _revoke_by_unsharing(ctx):
    ctx["member"].api(
        "patch",
        f"/artifacts/{ctx['id']}",
        data={"visibility": "private"},
        content_type="application/json",
    )


def _revoke_by_removal(ctx):
    member_remove(organization=ctx["org"], email="other@example.com", actor=ctx["owner"])


def _revoke_by_deactivation(ctx):
    get_user_model().objects.filter(email="other@example.com").update(is_active=False)
    get_user_model().objects.get(email="other@example.com").save()  # as the admin site does


def _revoke_by_logout(ctx):
    ctx["other"].client.post("/accounts/logout/")


def _revoke_by_session_delete(ctx):  # e.g. allauth's "sign out other sessions"
    SessionStore(ctx["other"].client.session.session_key).delete()


def _revoke_by_session_sql(ctx):  # an operator empties the session table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Session._meta.db_table}")  # noqa: S608


def _revoke_by_session_expiry(ctx):
    key = ctx["other"].client.session.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )


def _revoke_by_toggle(ctx):
    org_settings_update(organization=ctx["org"], actor=ctx["owner"], artifacts_enabled=False)


def _revoke_by_sharing_off(ctx):
    org_settings_update(organization=ctx["org"], actor=ctx["owner"], sharing_enabled=False)


def _revoke_by_trash(ctx):
    ctx["member"].api("delete", f"/artifacts/{ctx['id']}")


def _revoke_by_retention(ctx):
    org_settings_update(organization=ctx["org"], actor=ctx["owner"], retention_shared_days=0)
    retention_enforce()


def _revoke_by_mfa_requirement(ctx):
    ctx["org"].require_mfa = True
    ctx["org"].save(update_fields=["require_mfa"])  # (the service asks the actor for MFA)


REVOCATIONS = {
    "unshare": _revoke_by_unsharing,
    "remove member": _revoke_by_removal,
    "deactivate user": _revoke_by_deactivation,
    "logout": _revoke_by_logout,
    "session deleted": _revoke_by_session_delete,
    "session table emptied": _revoke_by_session_sql,
    "session expired": _revoke_by_session_expiry,
    "artifacts off": _revoke_by_toggle,
    "sharing off": _revoke_by_sharing_off,
    "delete (trash)": _revoke_by_trash,
    "retention expiry": _revoke_by_retention,
    "require MFA": _revoke_by_mfa_requirement,
}


@pytest.mark.parametrize("how", REVOCATIONS)
def test_each_revocation_reaches_a_cached_decision_on_the_next_request(personas, org, how):
    member, other = personas["member"], personas["other_member"]
    artifact_id = member.push(visibility="org").json()["id"]
    url = _grant(other, artifact_id)
    assert _served(url)[0] == 200
    status, warm = _served(url)
    assert status == 200 and warm <= WARM_MAX  # the decision is cached now
    ctx = {"member": member, "other": other, "org": org, "owner": personas["owner"].user}
    REVOCATIONS[how]({**ctx, "id": artifact_id})
    assert sandbox_get(url).status_code == 404


def test_group_share_revoked_by_leaving_the_group_and_by_removing_the_share(personas, org):
    member, other, owner = personas["member"], personas["other_member"], personas["owner"].user
    group_create(organization=org, actor=owner, slug="team")
    group_members_set(organization=org, actor=owner, slug="team", emails=["other@example.com"])
    artifact_id = member.push().json()["id"]
    member.api(
        "patch",
        f"/artifacts/{artifact_id}",
        data={"groups": ["team"]},
        content_type="application/json",
    )
    url = _grant(other, artifact_id)
    assert _served(url)[0] == 200 and _served(url)[1] <= WARM_MAX
    group_members_set(organization=org, actor=owner, slug="team", emails=[])
    assert sandbox_get(url).status_code == 404
    # Back in the group: visible again; then the share itself goes.
    group_members_set(organization=org, actor=owner, slug="team", emails=["other@example.com"])
    url = _grant(other, artifact_id)
    assert _served(url)[0] == 200 and _served(url)[1] <= WARM_MAX
    Share.objects.filter(artifact_id=artifact_id).delete()
    assert sandbox_get(url).status_code == 404


def test_a_pruned_version_stops_being_served_from_the_cache(personas, org):
    member, owner = personas["member"], personas["owner"].user
    artifact_id = member.push().json()["id"]
    url = frame_src(member.client.get(f"/a/{artifact_id}/v/1/"))
    member.push(to=artifact_id, data=PAGE + b"2")
    assert _served(url)[0] == 200 and _served(url)[1] <= WARM_MAX
    org_settings_update(organization=org, actor=owner, retention_keep_versions=1)
    retention_enforce()
    assert not Artifact.objects.get(pk=artifact_id).versions.filter(number=1).exists()
    assert sandbox_get(url).status_code == 404


def test_a_role_change_is_seen_by_the_cache(personas, org):
    """Viewers see shared artifacts too, so demotion keeps access; the decision is re-taken
    all the same (the org's generation moved)."""
    member, other = personas["member"], personas["other_member"]
    artifact_id = member.push(visibility="org").json()["id"]
    url = _grant(other, artifact_id)
    assert _served(url)[0] == 200 and _served(url)[1] <= WARM_MAX
    member_role_change(
        organization=org, email="other@example.com", role=Role.VIEWER, actor=personas["owner"].user
    )
    status, queries = _served(url)
    assert status == 200 and queries > WARM_MAX  # checked in full again


def _access(**changes) -> authz.Access:
    fields = dict(
        artifact_id="a",
        format="html",
        scripts_allowed=True,
        version_number=1,
        sha256="0" * 64,
        valid_until=time.time() + 60,
    )
    return authz.Access(**{**fields, **changes})


def test_each_process_keeps_a_bounded_number_of_decisions(db, monkeypatch):
    monkeypatch.setattr(authz, "LOCAL_MAX", 3)
    monkeypatch.setattr(authz, "_local", OrderedDict())
    for i in range(5):
        authz.decision_set(f"test-bound-{i}", _access())
    assert list(authz._local) == ["test-bound-2", "test-bound-3", "test-bound-4"]
    assert authz.decision_get("test-bound-4") is not None
    # The oldest left this process's memory; the shared cache still has it.
    assert authz.decision_get("test-bound-0") is not None


def test_a_decision_past_its_validity_is_never_used(monkeypatch):
    monkeypatch.setattr(authz, "_local", OrderedDict())
    authz._local["test-stale"] = _access(valid_until=time.time() - 1)
    assert authz.decision_get("test-stale") is None
