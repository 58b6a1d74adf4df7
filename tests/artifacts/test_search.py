"""Full-text search over titles, version messages and the text of the version each link
shows: ranked, with a highlighted snippet, kept up to date in the background (a push, a
pin, a delete and a restore), and only ever within what the searcher may see."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from artifacts.models import Artifact, SearchText
from artifacts.retention.enforce import retention_enforce

HTML = b"""<!doctype html><title>t</title><style>.zebracorn{}</style>
<h1>Quarterly numbers</h1><p>The zebracorn grew 3 &lt; 5 times.</p>
<script>var hiddenword = 1;</script>"""
PAGE_2 = b"<!doctype html><p>second</p>"
MARKDOWN = b"# Runbook\n\nRestart the **flux capacitor** before the zebracorn wakes.\n"


@pytest.fixture
def indexed(django_capture_on_commit_callbacks):
    """Run what the pushes queue after their commit (the background indexing, eagerly)."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


def _search(persona, words, **query):
    response = persona.api("get", "/artifacts", data={"q": words, **query})
    assert response.status_code == 200, response.content
    return response.json()["items"]


def test_the_text_messages_and_titles_match_ranked_with_a_snippet(member, indexed):
    page = indexed(lambda: member.push(data=HTML, name="q.html", title="Numbers").json()["id"])
    notes = indexed(lambda: member.push(data=MARKDOWN, name="r.md", title="Ops notes").json()["id"])
    titled = indexed(lambda: member.push(title="All about the zebracorn").json()["id"])
    second = indexed(
        lambda: member.push(data=b"# Plain", name="r.md", to=notes, message="mention capacitor")
    )
    assert second.status_code == 201, second.content

    found = _search(member, "zebracorn")
    assert [a["id"] for a in found][0] == titled  # the title outranks the text
    assert {a["id"] for a in found} == {page, titled}  # the runbook's v2 has no zebracorn
    snippet = next(a["snippet"] for a in found if a["id"] == page)
    assert "<mark>zebracorn</mark>" in snippet and "3 &lt; 5" in snippet
    assert _search(member, "hiddenword") == []  # scripts and styles are not the page's text
    # The text of the version each link shows: v2 of the runbook says nothing of "flux".
    assert _search(member, "flux") == []
    assert [a["id"] for a in _search(member, "capacitor")] == [notes]  # its message
    assert [a["id"] for a in _search(member, '"quarterly numbers" -runbook')] == [page]
    for odd in ('"unbalanced', "-", "AND OR (", "*", "NEAR(a b)"):
        _search(member, odd)  # no syntax error reaches anyone


def test_only_what_the_searcher_may_see_is_ever_matched(personas, indexed):
    member, other, outsider = personas["member"], personas["other_member"], personas["outsider"]
    secret = b"<p>zebracorn secretplan acquisition</p>"
    indexed(lambda: member.push(data=secret, visibility="private", title="Draft"))
    shared = indexed(lambda: member.push(data=b"<p>zebracorn public</p>", visibility="org"))
    shared_id = shared.json()["id"]

    for persona in (other, outsider):
        response = persona.api("get", "/artifacts", data={"q": "zebracorn"})
        assert b"secretplan" not in response.content
        assert b"acquisition" not in response.content
    assert [a["id"] for a in _search(other, "zebracorn")] == [shared_id]
    assert _search(other, "secretplan") == []
    assert _search(outsider, "zebracorn") == []
    home = other.client.get("/", {"q": "secretplan"})
    assert b"secretplan</mark>" not in home.content and list(home.context["artifacts"]) == []
    assert [a["id"] for a in _search(member, "secretplan")] != []  # the author finds it


def test_the_index_follows_pins_deletes_restores_and_purges(personas, indexed):
    member, admin = personas["member"], personas["admin"]
    artifact_id = indexed(lambda: member.push(data=b"<p>alphaword</p>").json()["id"])
    indexed(lambda: member.push(data=b"<p>betaword</p>", to=artifact_id))
    assert _search(member, "alphaword") == [] and len(_search(member, "betaword")) == 1
    pin = {"viewer_version": 1}
    indexed(
        lambda: member.api(
            "patch", f"/artifacts/{artifact_id}", data=pin, content_type="application/json"
        )
    )
    assert len(_search(member, "alphaword")) == 1 and _search(member, "betaword") == []

    indexed(lambda: member.api("delete", f"/artifacts/{artifact_id}"))
    assert not SearchText.objects.filter(artifact_id=artifact_id).exists()
    indexed(lambda: admin.api("post", f"/org/trash/{artifact_id}/restore"))
    assert len(_search(member, "alphaword")) == 1

    row = SearchText.objects.get(artifact_id=artifact_id)
    Artifact.objects.filter(pk=artifact_id).delete()  # as the purge does
    assert not SearchText.objects.filter(pk=row.pk).exists()
    if connection.vendor == "sqlite":  # the FTS5 row went with it (a trigger)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM artifacts_searchtext_fts WHERE rowid = %s", [row.pk]
            )
            assert cursor.fetchone()[0] == 0


def test_search_pages_by_rank_and_a_title_matches_before_indexing(member, indexed):
    ids = [
        indexed(lambda n=n: member.push(data=b"<p>gammaword</p>" * (n + 1)).json()["id"])
        for n in range(5)
    ]
    first = member.api("get", "/artifacts", data={"q": "gammaword", "limit": 2}).json()
    rest = member.api(
        "get", "/artifacts", data={"q": "gammaword", "limit": 10, "cursor": first["next_cursor"]}
    ).json()
    seen = [a["id"] for a in first["items"] + rest["items"]]
    assert sorted(seen) == sorted(ids) and len(set(seen)) == 5
    # Not indexed yet (no commit ran the background task): its title is found at once.
    fresh = member.push(title="Deltaword report").json()["id"]
    assert [a["id"] for a in _search(member, "deltaword")] == [fresh]
    assert member.api("get", "/artifacts", data={"sort": "relevance"}).status_code == 400


def test_the_reindex_command_indexes_what_came_before_search(member):
    artifact_id = member.push(data=b"<p>epsilonword</p>").json()["id"]  # never indexed
    assert _search(member, "epsilonword") == []
    out = io.StringIO()
    call_command("search_reindex", "--org", "acme", stdout=out, stderr=io.StringIO())
    assert out.getvalue().strip() == "Indexed 1 artifacts."
    assert [a["id"] for a in _search(member, "epsilonword")] == [artifact_id]


def test_negation_and_odd_input_behave_as_web_search(member, indexed):
    both = indexed(lambda: member.push(data=b"<p>xxword yyword zzword</p>").json()["id"])
    only_x = indexed(lambda: member.push(data=b"<p>xxword</p>").json()["id"])
    x_and_z = indexed(lambda: member.push(data=b"<p>xxword zzword</p>").json()["id"])
    assert {a["id"] for a in _search(member, "xxword -yyword")} == {only_x, x_and_z}
    assert [a["id"] for a in _search(member, "xxword -yyword zzword")] == [x_and_z]
    assert both not in {a["id"] for a in _search(member, "-yyword")}
    assert len(_search(member, "\x00")) == 3  # no words: no search, the whole list
    assert _search(member, "xx\x00word") == []  # "xx word": two words, none of them here


def test_a_rank_tells_nothing_of_other_orgs(personas, indexed):
    member, outsider = personas["member"], personas["outsider"]
    for _ in range(2):
        indexed(lambda: member.push(data=b"<p>nightingale</p>"))
    first = member.api("get", "/artifacts", data={"q": "nightingale", "limit": 1}).json()
    for _ in range(5):  # another org's private pages with the word
        indexed(lambda: outsider.push(data=b"<p>nightingale nightingale</p>"))
    again = member.api("get", "/artifacts", data={"q": "nightingale", "limit": 1}).json()
    assert first["next_cursor"] == again["next_cursor"]


def test_pruned_versions_leave_search(personas, org, indexed):
    member = personas["member"]
    artifact_id = indexed(lambda: member.push(message="codename bluefalcon").json()["id"])
    indexed(lambda: member.push(data=PAGE_2, to=artifact_id, message="v2"))
    assert len(_search(member, "bluefalcon")) == 1
    org.retention_keep_versions = 1
    org.save()
    indexed(lambda: retention_enforce(organization=org))
    assert _search(member, "bluefalcon") == []


def test_a_title_as_typed_ranks_first_then_one_with_all_the_words_then_the_text(member, indexed):
    from django.db import connection

    typed = indexed(lambda: member.push(title="Report: kestrel owl").json()["id"])
    all_words = indexed(lambda: member.push(title="Owl and kestrel").json()["id"])
    text = indexed(lambda: member.push(data=b"<p>kestrel owl</p>", title="Birds").json()["id"])
    ranked = [a["id"] for a in _search(member, "kestrel owl")]
    assert ranked[0] == typed and set(ranked) == {typed, all_words, text}
    if connection.vendor == "postgresql":  # FTS5 tells a title's words from the text's only
        assert ranked == [typed, all_words, text]  # not the newest first
    newest_first = [a["id"] for a in _search(member, "kestrel owl", sort="updated")]
    assert newest_first == [text, all_words, typed]
