"""Two app nodes (gunicorn processes on two ports) on the same database, cache and blob
storage, as behind a load balancer: whatever one node hands out or revokes, the other
honours on its next request. Nothing a node needs lives in another node's memory."""

import pytest

from orgs.models import Role
from orgs.services import member_add, org_create, token_create
from tests.nodes import APP, PAGE, Node, grant_of, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people():
    org = org_create(slug="acme")
    admin = member_add(organization=org, email="admin@example.com", role=Role.ADMIN).user
    ann = member_add(
        organization=org, email="ann@example.com", role=Role.MEMBER, password="pw-ann-node"
    ).user
    bob = member_add(
        organization=org, email="bob@example.com", role=Role.MEMBER, password="pw-bob-node"
    ).user
    tokens = {
        u.email: token_create(user=u, organization=org, name="t", mfa_used=True)[1]
        for u in (admin, ann, bob)
    }
    return tokens


@pytest.fixture
def nodes():
    started = []

    def start(**env):
        node = Node(**env)
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


def test_a_grant_minted_on_one_node_is_honoured_and_revoked_on_the_other(people, nodes):
    a, b = nodes(), nodes()
    pushed = a.api(
        people["ann@example.com"],
        "POST",
        "/artifacts",
        files={"file": ("p.html", PAGE)},
        data={"visibility": "org"},
    )
    assert pushed.status_code == 201
    artifact_id = pushed.json()["id"]
    bob_on_a = sign_in(a, "bob@example.com", "pw-bob-node")
    bob_on_b = b.client(cookies=bob_on_a.cookies)  # the same session, on the other node
    # Minted on A, served by B; minted on B, served by A (twice: the second from the cache).
    from_a = grant_of(bob_on_a, artifact_id)
    from_b = grant_of(bob_on_b, artifact_id)
    for node, url in ((b, from_a), (a, from_b), (b, from_a), (a, from_b)):
        response = node.sandbox(url)
        assert response.status_code == 200 and response.content == PAGE
    # Revoked on A (the admin removes Bob through A's API): B refuses the very next request.
    removed = a.api(people["admin@example.com"], "DELETE", "/org/members/bob@example.com")
    assert removed.status_code == 204
    assert b.sandbox(from_a).status_code == 404
    assert a.sandbox(from_b).status_code == 404
    assert bob_on_b.get(f"/a/{artifact_id}/").status_code == 404


def test_logout_on_one_node_ends_the_session_on_the_other(people, nodes):
    a, b = nodes(), nodes()
    artifact_id = a.api(
        people["ann@example.com"], "POST", "/artifacts", files={"file": ("p.html", PAGE)}
    ).json()["id"]
    ann_on_a = sign_in(a, "ann@example.com", "pw-ann-node")
    url = grant_of(ann_on_a, artifact_id)
    assert b.sandbox(url).status_code == 200
    ann_on_b = b.client(cookies=ann_on_a.cookies)
    ann_on_b.post(
        "/accounts/logout/",
        data={"csrfmiddlewaretoken": ann_on_a.cookies["csrftoken"]},
        headers={"Referer": f"http://{APP}/"},
    )
    assert a.sandbox(url).status_code == 404


def test_the_api_rate_limit_counts_across_nodes(people, nodes):
    a, b = nodes(ARTIFACTS_API_RATE="4/m"), nodes(ARTIFACTS_API_RATE="4/m")
    token = people["ann@example.com"]
    statuses = [node.api(token, "GET", "/me").status_code for node in (a, b, a, b, a)]
    assert statuses == [200, 200, 200, 200, 429]
    assert b.api(people["bob@example.com"], "GET", "/me").status_code == 200


def test_idempotency_keys_hold_across_nodes(people, nodes):
    a, b = nodes(), nodes()
    token = people["ann@example.com"]
    key = {"Idempotency-Key": "push-once-across-nodes"}
    first = a.api(token, "POST", "/artifacts", files={"file": ("p.html", PAGE)}, headers=key)
    again = b.api(token, "POST", "/artifacts", files={"file": ("p.html", PAGE)}, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(a.api(token, "GET", "/artifacts").json()["items"]) == 1
