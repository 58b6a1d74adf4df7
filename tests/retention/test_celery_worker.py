"""Retention by a real Celery worker and beat on a real Redis (a redis-server started here,
so that it can be stopped): the beat enqueues, the worker enforces; with Redis down the
app keeps working and retention waits; when Redis is back, retention resumes."""

import subprocess
import sys
import time

import httpx
import pytest

from artifacts.models import Artifact
from orgs.models import AuditEvent, Role
from orgs.services import member_add, org_create, token_create
from tests import subproc
from tests.liveserver import ROOT
from tests.nodes import APP, PAGE, Node, grant_of, sign_in
from tests.redisproc import REDIS_SERVER, Redis, until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        REDIS_SERVER is None and __import__("os").environ.get("CI") != "true",
        reason="redis-server not installed (apt-get install redis-server); CI runs these",
    ),
]


def _worker(schedule, **env) -> subprocess.Popen:
    """A real Celery worker with its beat, consuming the broker `env` names."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--beat", "--pool=solo",
         "--loglevel=warning", "--schedule", str(schedule)],
        cwd=ROOT,
        env=subproc.env(ARTIFACTS_TEST_EAGER="0", **env),
    )  # fmt: skip


@pytest.fixture
def stack(tmp_path):
    """A redis-server, an app node and a worker with its beat (retention every second)."""
    redis = Redis()
    env = {"REDIS_URL": redis.url, "ARTIFACTS_RETENTION_EVERY": "1"}
    node = Node(**env)
    worker = _worker(tmp_path / "beat-schedule", **env)
    try:
        yield redis, node
    finally:
        worker.terminate()
        node.stop()
        redis.stop()
        worker.wait(20)


@pytest.fixture
def people():
    org = org_create(slug="acme")
    admin = member_add(
        organization=org, email="admin@example.com", role=Role.ADMIN, password="pw-admin-w"
    ).user
    ann = member_add(
        organization=org, email="ann@example.com", role=Role.MEMBER, password="pw-ann-w"
    ).user
    return {
        u.email: token_create(user=u, organization=org, name="t", mfa_used=True)[1]
        for u in (admin, ann)
    }


def test_the_embedded_default_enforces_on_its_folder_broker(people, tmp_path):
    """No Redis at all: `up` runs the same worker and beat on a folder broker."""
    env = {"ARTIFACTS_DATA_DIR": str(tmp_path), "ARTIFACTS_RETENTION_EVERY": "1"}
    for folder in ("broker", "broker-done", "broker-control"):
        (tmp_path / folder).mkdir()
    node = Node(REDIS_URL="", **env)
    worker = _worker(tmp_path / "beat-schedule", REDIS_URL="", **env)
    try:
        pushed = node.api(
            people["ann@example.com"], "POST", "/artifacts", files={"file": ("p.html", PAGE)}
        )
        artifact_id = pushed.json()["id"]
        _expire_at_once(node, people["admin@example.com"])
        until(lambda: _trashed(artifact_id), 30, "the folder broker's worker did not enforce")
    finally:
        worker.terminate()
        node.stop()
        worker.wait(20)


def _expire_at_once(node: Node, admin_token: str):
    response = node.api(admin_token, "PATCH", "/org/settings", json={"retention_unshared_days": 0})
    assert response.status_code == 200, response.text


def _trashed(artifact_id: str) -> bool:
    return Artifact.objects.filter(pk=artifact_id, trashed_at__isnull=False).exists()


def test_the_beat_enqueues_and_the_worker_enforces_on_redis(stack, people):
    _, node = stack
    pushed = node.api(
        people["ann@example.com"], "POST", "/artifacts", files={"file": ("p.html", PAGE)}
    )
    artifact_id = pushed.json()["id"]
    _expire_at_once(node, people["admin@example.com"])
    until(lambda: _trashed(artifact_id), 30, "no retention run expired the artifact")
    assert (
        node.api(people["ann@example.com"], "GET", f"/artifacts/{artifact_id}").status_code == 404
    )
    assert AuditEvent.objects.filter(action="artifact.expire", target=artifact_id).count() == 1
    until(
        lambda: AuditEvent.objects.filter(action="retention.run", actor=None).exists(),
        10,
        "the run was not audited",
    )


def test_with_redis_down_the_app_works_and_retention_resumes_when_it_returns(stack, people):
    redis, node = stack
    redis.stop()

    def timed(call):
        started = time.monotonic()
        response = call()
        assert time.monotonic() - started < 5, "a request waited on Redis"
        return response

    ann = people["ann@example.com"]
    pushed = timed(lambda: node.api(ann, "POST", "/artifacts", files={"file": ("p.html", PAGE)}))
    assert pushed.status_code == 201
    artifact_id = pushed.json()["id"]
    ann_web = timed(lambda: sign_in(node, "ann@example.com", "pw-ann-w"))
    url = timed(lambda: grant_of(ann_web, artifact_id))
    served = timed(lambda: node.sandbox(url))
    assert served.status_code == 200 and served.content == PAGE
    admin_web = sign_in(node, "admin@example.com", "pw-admin-w")
    assert timed(lambda: admin_web.get("/org/acme/admin/")).status_code == 200
    assert timed(lambda: admin_web.get("/org/acme/admin/retention/")).status_code == 200
    health = httpx.get(f"{node.base}/_/health", headers={"Host": APP}).json()
    assert health["status"] == "ok" and health["checks"]["redis"] == "unavailable"
    # Retention cannot be queued meanwhile: the artifact stays.
    _expire_at_once(node, people["admin@example.com"])
    time.sleep(3)
    assert not _trashed(artifact_id)
    # Redis is back: the beat queues again, the worker reconnects and enforces.
    redis.start()
    until(lambda: _trashed(artifact_id), 60, "retention did not resume after Redis returned")
    assert AuditEvent.objects.filter(action="artifact.expire", target=artifact_id).count() == 1
