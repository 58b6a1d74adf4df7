"""Rate limits: the API per token, sign-in per address (allauth), both in the shared cache."""

import random

from django.test import Client, override_settings

from orgs.models import ApiToken
from orgs.services import member_add


@override_settings(ARTIFACTS_API_RATE="3/m")
def test_the_api_limits_each_token_with_a_json_429_and_retry_after(personas):
    member, other = personas["member"], personas["other_member"]
    statuses = [member.api("get", "/me").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = member.api("get", "/artifacts")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused["Retry-After"]) <= 60
    # Counted per token: another token of the same org is not affected.
    assert other.api("get", "/me").status_code == 200
    assert ApiToken.objects.count() >= 2


@override_settings(ARTIFACTS_API_RATE="3/m")
def test_bad_tokens_are_refused_before_counting(personas):
    for _ in range(5):
        response = Client().get("/api/v1/me", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401


def test_sign_in_is_limited_per_address(personas, org):
    """allauth's limits: 30 sign-in attempts a minute per address (then 429), and after 5
    failures for one account, that account's sign-in is refused for 5 minutes."""
    client = Client(HTTP_HOST="localhost:8000")

    def attempt(login, address):
        return client.post(
            "/accounts/login/", {"login": login, "password": "wrong"}, REMOTE_ADDR=address
        )

    # Fresh addresses: with Redis, counts outlive the test database (CI runs, reruns).
    here, there, third, fourth = (
        f"10.{random.randrange(256)}.{random.randrange(256)}.{n}" for n in range(4)
    )
    statuses = [attempt(f"u{n}@example.com", here).status_code for n in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429
    assert attempt("member@example.com", there).status_code == 200  # another address
    # An account of its own: the lock outlives the test in Redis, and would refuse the
    # personas' sign-ins in later tests.
    email = f"locked-{random.randrange(10**9)}@example.com"
    member_add(organization=org, email=email, role="viewer", password="pw-locked")
    for _ in range(5):
        attempt(email, third)
    locked = client.post(
        "/accounts/login/",
        {"login": email, "password": "pw-locked"},  # the right password
        REMOTE_ADDR=fourth,
    )
    assert locked.status_code == 200 and "Too many failed" in locked.content.decode()
