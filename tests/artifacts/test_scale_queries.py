"""Each list costs the same number of queries at 100 artifacts as at 100,000 (issue 13): the
home page's pages, filters and searches, the API's list and the views of one artifact,
on PostgreSQL (the production database; bench/bench_scale.py times the same requests at
full size). The rows are made in SQL by bench/scale_data.py."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from artifacts.models import Artifact, Collection
from artifacts.selectors import ListFilters, artifact_list
from bench import scale_data
from orgs.paging import cursor_after
from orgs.services import token_create
from tests.helpers import APP_HOST

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the scale data is made in PostgreSQL's SQL"
)

# The most a request may make: the session or token and its user, the page's rows, their
# collections, the filters' and notices' lookups. The database cache of a machine without
# Redis adds the rate limit's and the MFA marker's reads.
ON_REDIS = "redis" in settings.CACHES["default"]["BACKEND"].lower()
HOME_QUERIES = 8 if ON_REDIS else 10
API_QUERIES = 7 if ON_REDIS else 13
VIEWS_QUERIES = 10 if ON_REDIS else 16


@pytest.fixture
def people(db):
    return scale_data.org_make(members=40, groups=3)


def _requests(people) -> list[tuple[str, Client, str]]:
    reader, author, org = people.reader, people.author, people.organization
    browser = Client(HTTP_HOST=APP_HOST)
    browser.force_login(reader)
    mine = Client(HTTP_HOST=APP_HOST)
    mine.force_login(author)

    def api(user):
        _, secret = token_create(user=user, organization=org, name="t", mfa_used=True)
        return Client(HTTP_HOST=APP_HOST, headers={"Authorization": f"Bearer {secret}"})

    def cursor(filters: ListFilters) -> str:
        return cursor_after(artifact_list(reader, filters=filters)[20], filters.order)

    collection = Collection.objects.get(organization=org, slug="c0")
    read_most = scale_data.most_read(org, author=author)
    since = (timezone.now() - timedelta(days=90)).date().isoformat()
    word = scale_data.word(3)
    home = [
        {},
        {"cursor": cursor(ListFilters())},
        {"sort": "title", "cursor": cursor(ListFilters(sort="title"))},
        {"scope": "shared"},
        {"scope": "org", "author": author.email, "format": "html", "updated_since": since},
        {"collection": collection.pk},
        {"q": word},
        {"q": word, "sort": "updated"},
    ]
    reader_api, author_api = api(reader), api(author)
    return [
        *[(f"home {sorted(q)}", browser, "/?" + urlencode(q)) for q in home],
        ("home, mine", mine, "/?scope=mine"),
        ("API list", reader_api, "/api/v1/artifacts"),
        ("API page", reader_api, "/api/v1/artifacts?cursor=" + cursor(ListFilters())),
        ("API search", reader_api, f"/api/v1/artifacts?q={word}"),
        ("API views", author_api, f"/api/v1/artifacts/{read_most.pk}/views"),
        ("API detail", author_api, f"/api/v1/artifacts/{read_most.pk}"),
    ]


def _counts(people, django_assert_max_num_queries) -> dict[str, int]:
    counts = {}
    for name, client, path in _requests(people):
        assert client.get(path).status_code == 200, name  # warm: what a first request reads
        bound = (
            VIEWS_QUERIES
            if "views" in name or "detail" in name
            else API_QUERIES
            if name.startswith("API")
            else HOME_QUERIES
        )
        with django_assert_max_num_queries(bound) as captured:
            response = client.get(path)
        assert response.status_code == 200, name
        body = response.json() if name.startswith("API") else None
        assert body is None or body.get("items") or body.get("versions"), name
        counts[name] = len(captured)
    return counts


def test_every_list_costs_the_same_queries_at_100_artifacts_as_at_100000(
    people, django_assert_max_num_queries
):
    scale_data.artifacts_add(people, 100, versions_each=2, views=300, words_each=20)
    small = _counts(people, django_assert_max_num_queries)

    scale_data.artifacts_add(people, 99_900, versions_each=1, views=100_000, words_each=8)
    assert Artifact.objects.filter(organization=people.organization).count() == 100_000
    assert _counts(people, django_assert_max_num_queries) == small
