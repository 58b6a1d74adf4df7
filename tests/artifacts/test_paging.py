"""The API's artifact list pages (keyset: `limit`, `cursor`, `next_cursor`, a Link header)
and never truncates: every artifact is reached once, even with pushes while paging."""

import base64
import json

from django.conf import settings
from django.test import Client

from orgs.paging import MAX_LIMIT
from tests.helpers import PAGE

# Token, membership, MFA, the page's rows and their collections; the rate limit's counter
# is in the cache (Redis in CI, where it costs no query; the database cache locally: six).
ON_REDIS = "redis" in settings.CACHES["default"]["BACKEND"].lower()
PAGE_QUERIES = 5 if ON_REDIS else 11


def _page(persona, **query):
    response = persona.api("get", "/artifacts", data=query)
    assert response.status_code == 200, response.content
    return response


def _all_ids(persona, limit: int, during=None) -> list[str]:
    ids, cursor, pages = [], "", 0
    while True:
        body = _page(persona, limit=limit, **({"cursor": cursor} if cursor else {})).json()
        ids += [a["id"] for a in body["items"]]
        pages += 1
        if during and pages == 1:
            during()
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


def test_pages_reach_every_artifact_once_even_with_pushes_while_paging(member):
    before = [member.push(name=f"p{n}.html").json()["id"] for n in range(7)]
    first = _page(member, limit=3)
    body = first.json()
    assert len(body["items"]) == 3 and body["next_cursor"]
    link = first["Link"]
    assert link.startswith("<http://") and link.endswith('>; rel="next"')
    assert f"cursor={body['next_cursor']}" in link and "limit=3" in link

    pushed_meanwhile = []
    seen = _all_ids(
        member,
        3,
        during=lambda: pushed_meanwhile.extend(member.push().json()["id"] for _ in range(2)),
    )
    assert sorted(seen) == sorted(before)  # none twice, none skipped; new ones are on top
    assert _page(member, limit=3).json()["items"][0]["id"] == pushed_meanwhile[-1]
    last = _page(member, limit=9).json()
    assert (
        len(last["items"]) == 9
        and last["next_cursor"] is None
        and "Link" not in _page(member, limit=9)
    )


def test_the_default_page_is_50_and_limits_out_of_range_are_refused(member):
    for n in range(51):
        member.push(data=PAGE, name=f"{n}.html")
    body = _page(member).json()
    assert len(body["items"]) == 50 and body["next_cursor"]
    for bad in (0, MAX_LIMIT + 1, "many"):
        response = member.api("get", "/artifacts", data={"limit": bad})
        assert response.status_code in (400, 422), response.content
    assert member.api("get", "/artifacts", data={"cursor": "not-a-cursor"}).status_code == 400
    forged = base64.urlsafe_b64encode(json.dumps(["x"]).encode()).decode()
    assert member.api("get", "/artifacts", data={"cursor": forged}).status_code == 400


def test_a_page_shows_only_what_the_reader_may_see(personas):
    member, other = personas["member"], personas["other_member"]
    secret = member.push(visibility="private").json()["id"]
    shared = member.push(visibility="org").json()["id"]
    assert _all_ids(other, 1) == [shared]
    # A cursor made by the author's own paging does not carry their view over.
    cursor = _page(member, limit=1).json()["next_cursor"]
    assert secret not in [a["id"] for a in _page(other, limit=5, cursor=cursor).json()["items"]]


def test_a_page_costs_the_same_queries_at_any_size(member, django_assert_max_num_queries):
    for n in range(30):
        member.push(name=f"{n}.html")
    cursor = _page(member, limit=10).json()["next_cursor"]
    with django_assert_max_num_queries(PAGE_QUERIES):
        response = member.api("get", "/artifacts", data={"limit": 10, "cursor": cursor})
    assert len(response.json()["items"]) == 10
    assert Client().get("/api/v1/artifacts", data={"limit": 10}).status_code == 401


def test_a_version_history_pages_newest_first(personas):
    member = personas["member"]
    artifact_id = member.push().json()["id"]
    for n in range(4):
        member.push(data=PAGE + str(n).encode(), to=artifact_id)
    first = member.api("get", f"/artifacts/{artifact_id}/versions", data={"limit": 3}).json()
    assert [v["number"] for v in first["items"]] == [5, 4, 3]
    rest = member.api(
        "get", f"/artifacts/{artifact_id}/versions", data={"cursor": first["next_cursor"]}
    ).json()
    assert [v["number"] for v in rest["items"]] == [2, 1] and rest["next_cursor"] is None
    assert personas["outsider"].api("get", f"/artifacts/{artifact_id}/versions").status_code == 404


def test_the_home_page_pages_too(member):
    titles = [f"Page {n:02}" for n in range(52)]
    for title in titles:
        member.push(title=title)
    first = member.client.get("/")
    assert first.status_code == 200 and len(first.context["artifacts"]) == 50
    older = first.context["older_url"]
    assert older.startswith("?cursor=") and f'href="{older}"' in first.content.decode()
    second = member.client.get("/" + older)
    shown = [a.title for a in first.context["artifacts"]] + [
        a.title for a in second.context["artifacts"]
    ]
    assert sorted(shown) == titles and second.context["older_url"] == ""
    assert 'href="/">← Newest' in second.content.decode()
    assert member.client.get("/?cursor=garbage").status_code == 302


def test_lists_filter_by_whose_author_format_and_date_and_sort_by_title(personas, org):
    from datetime import timedelta

    from django.utils import timezone

    from artifacts.models import Artifact
    from orgs.services import group_create, group_members_set

    member, other = personas["member"], personas["other_member"]
    mine = member.push(title="Beta", visibility="org").json()["id"]
    md = member.push(data=b"# Notes", name="n.md", title="alpha notes", visibility="org").json()[
        "id"
    ]
    theirs = other.push(title="Gamma", visibility="org").json()["id"]
    owner = personas["owner"].user
    group_create(organization=org, actor=owner, slug="eng", name="Eng")
    group_members_set(organization=org, actor=owner, slug="eng", emails=["member@example.com"])
    to_group = other.push(title="Delta", visibility="private").json()["id"]
    shared = other.api(
        "patch", f"/artifacts/{to_group}", data={"groups": ["eng"]}, content_type="application/json"
    )
    assert shared.status_code == 200, shared.content
    Artifact.objects.filter(pk=mine).update(updated_at=timezone.now() - timedelta(days=10))

    def ids(**query):
        response = member.api("get", "/artifacts", data=query)
        assert response.status_code == 200, response.content
        return [a["id"] for a in response.json()["items"]]

    assert set(ids(scope="mine")) == {mine, md}
    assert ids(scope="shared") == [to_group]
    assert set(ids()) == {mine, md, theirs, to_group}
    assert set(ids(author="OTHER@example.com")) == {theirs, to_group}
    assert ids(format="markdown") == [md]
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert mine not in ids(updated_since=since) and len(ids(updated_since=since)) == 3
    assert ids(sort="title") == [md, mine, to_group, theirs]  # alpha, Beta, Delta, Gamma
    two = member.api("get", "/artifacts", data={"sort": "title", "limit": 2}).json()
    rest = member.api(
        "get", "/artifacts", data={"sort": "title", "cursor": two["next_cursor"]}
    ).json()
    assert [a["id"] for a in two["items"] + rest["items"]] == [md, mine, to_group, theirs]
    for bad in (
        {"scope": "everyone"},
        {"format": "pdf"},
        {"updated_since": "yesterday"},
        {"sort": "size"},
    ):
        assert member.api("get", "/artifacts", data=bad).status_code in (400, 422), bad
    home = member.client.get("/", {"scope": "mine", "sort": "title"})
    assert [a.pk for a in home.context["artifacts"]] == [md, mine]


def test_a_forged_or_foreign_cursor_is_refused_never_a_500(member, personas):
    for n in range(3):
        member.push(name=f"{n}.html")
    by_title = member.api("get", "/artifacts", data={"sort": "title", "limit": 1}).json()
    foreign = member.api("get", "/artifacts", data={"cursor": by_title["next_cursor"]})
    assert foreign.status_code == 400  # a cursor of another order

    def forged(values):
        return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()

    order = "-updated_at,-pk"
    for values in (
        [order, 5, "x"],
        [order, "abc", "x"],
        [order, True, "x"],
        [order, None, "x"],
        [order, {"t": "2026-13-45T00:00:00"}, "x"],
        [order, 10**30, "x"],
        "[" * 5000 + "]" * 5000,
    ):
        cursor = (
            forged(values)
            if isinstance(values, list)
            else base64.urlsafe_b64encode(values.encode()).decode()
        )
        for path in ("/artifacts", "/org/members", "/collections"):
            assert member.api("get", path, data={"cursor": cursor}).status_code in (400, 403), (
                path,
                values,
            )
    assert member.client.get("/", {"cursor": forged([order, 5, "x"])}).status_code == 302
    assert (
        member.api(
            "get", "/artifacts", data={"updated_since": "9999-12-31T23:59:59-05:00"}
        ).status_code
        == 400
    )
