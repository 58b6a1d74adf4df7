"""`artifact ls` and the client over the API's keyset pages: every artifact exactly once
with --all, --limit N shows N (several pages above one page's worth) and says on stderr
that more exist, never a silent cut."""

import json

import pytest
from artifact_cli import client as client_module
from artifact_cli.client import MAX_PAGE_SIZE, ApiClient, Page
from artifact_cli.errors import ArtifactError


def _listed(result) -> list[str]:
    assert result.returncode == 0, result.stderr.decode()
    return [row["id"] for row in json.loads(result.stdout)]


def test_ls_all_lists_every_artifact_once_across_pages(run, many):
    result = run("ls", many.tag, "--all", "--json")
    assert _listed(result) == many.ids  # 203: two pages, last updated first
    assert result.stderr == b""


def test_ls_limit_shows_n_and_says_more_exist(run, many):
    result = run("ls", many.tag, "--limit", "2", "--json")
    assert _listed(result) == many.ids[:2]  # stdout stays a JSON list
    note = result.stderr.decode()
    assert note.count("\n") == 1 and "more exist" in note
    assert "--all" in note and "--limit" in note

    human = run("ls", many.tag, "--limit", "2")
    assert human.returncode == 0, human.stderr.decode()
    assert human.stdout.decode().count(many.tag) == 2
    assert "more exist" in human.stderr.decode()


def test_ls_limit_above_one_page_fetches_several(run, many):
    beyond = run("ls", many.tag, "--limit", str(MAX_PAGE_SIZE + 1), "--json")
    assert _listed(beyond) == many.ids[: MAX_PAGE_SIZE + 1]
    assert "more exist" in beyond.stderr.decode()
    exact = run("ls", many.tag, "--limit", str(len(many.ids)), "--json")
    assert _listed(exact) == many.ids
    assert exact.stderr == b""  # all shown: nothing to say


def test_ls_default_limit_and_usage_errors(run, many):
    default = run("ls", many.tag, "--json")
    assert _listed(default) == many.ids[:50]
    assert "more exist" in default.stderr.decode()
    for args in (["--all", "--limit", "3"], ["--limit", "0"]):
        result = run("ls", *args)
        assert result.returncode == 2 and result.stdout == b""
        assert result.stderr.decode().startswith("error: ")


@pytest.fixture
def client(server):
    with ApiClient(server.app_url, server.token, backoff=0.05) as api:
        yield api


def test_client_pages_follow_the_cursor_with_the_same_query_and_limit(client, many, api):
    first = client.list(many.tag, limit=2)
    assert isinstance(first, Page) and [a["id"] for a in first.items] == many.ids[:2]
    second = client.list(many.tag, limit=2, cursor=first.next_cursor)
    assert [a["id"] for a in second.items] == many.ids[2:4]
    assert [a["id"] for a in client.list_all(many.tag, limit=7)] == many.ids
    assert client.list(many.tag, limit=3, cursor=second.next_cursor).next_cursor
    assert client.list_first(many.tag, len(many.ids)).next_cursor is None  # none beyond
    raw = api.get("/artifacts", params={"q": many.tag, "limit": 2})
    assert 'rel="next"' in raw.headers["Link"] and raw.json()["next_cursor"]


def test_client_list_first_takes_pages_of_at_most_the_max(client, many, monkeypatch):
    monkeypatch.setattr(client_module, "MAX_PAGE_SIZE", 4)  # count 10: pages of 4, 4, 2
    sent = []
    real = client.list
    monkeypatch.setattr(client, "list", lambda *a, **kw: sent.append(kw["limit"]) or real(*a, **kw))
    page = client.list_first(many.tag, 10)
    assert sent == [4, 4, 2]
    assert [a["id"] for a in page.items] == many.ids[:10]
    rest = client.list_first(many.tag, 1000, cursor=page.next_cursor)
    assert [a["id"] for a in rest.items] == many.ids[10:] and rest.next_cursor is None


def test_client_refuses_a_bad_limit_or_cursor(client):
    with pytest.raises(ArtifactError) as caught:
        client.list(limit=MAX_PAGE_SIZE + 1)
    assert (caught.value.status, caught.value.exit_code) == (400, 1)
    with pytest.raises(ArtifactError) as caught:
        client.list(cursor="not-a-cursor")
    assert caught.value.status == 400 and "cursor" in caught.value.message


def test_ls_filters_and_sorts_through_the_api(run, many, server):
    by_title = run("ls", many.tag, "--sort", "title", "--limit", "3", "--json")
    assert _listed(by_title) == sorted(many.ids, key=many.ids.index, reverse=True)[:3]
    assert _listed(run("ls", many.tag, "--mine", "--sort", "created", "--json")) == many.ids[:50]
    assert _listed(run("ls", many.tag, "--shared", "--json")) == []  # pushed, not shared
    assert _listed(run("ls", many.tag, "--format", "markdown", "--json")) == []
    assert _listed(run("ls", many.tag, "--author", server.email, "--limit", "1", "--json")) == [
        many.ids[0]
    ]
    assert _listed(run("ls", many.tag, "--since", "2999-01-01", "--json")) == []
    bad = run("ls", "--since", "someday")
    assert bad.returncode != 0 and "updated_since" in bad.stderr.decode()
