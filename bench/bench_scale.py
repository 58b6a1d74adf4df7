"""Lists, search and "who read it" at an organisation's size after a year (issue 13): the
median request time of each list a member opens, and whether indexing keeps up with
pushes, on PostgreSQL.

    .venv/bin/python bench/bench_scale.py [--artifacts 100000] [--versions-each 10]
                                          [--views 1000000] [--runs 30] [--reload]

One org of 300 members (bench/scale_data.py): 100,000 artifacts over a year, 1,000,000
versions, 1,000,000 view records (the first artifacts read tens of thousands of times,
most a handful), shares, 40 collections and the search rows. Loaded once into
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_scale, created if missing)
and kept for later runs; --reload makes it again.

Each request goes through Django's whole stack in this process (middleware, session or
token, the view, the template or the JSON), as a gunicorn worker runs it, with DEBUG off,
without a network in between: the time is the server's. The first requests warm the
caches and are not counted; then --runs requests each, median and 95th percentile, and the
queries each request made. Targets: 50 ms median, a search 100 ms.

Indexing: pushes of a 40 KiB page through services.artifact_create (what the web process
does per push) against search_index_now of the same artifacts (what a worker does per
push), one process each, on the full database: indexing keeps up when its rate is at
least the push rate.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_scale"
TARGET_MS, SEARCH_TARGET_MS = 50, 100
APP_HOST = "localhost:8000"


def database_create(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load(args):
    from artifacts.models import Artifact, Version, View
    from bench import scale_data

    people = scale_data.org_make()
    have = Artifact.objects.filter(organization=people.organization).count()
    if have < args.artifacts:
        print(f"loading {args.artifacts - have:,} artifacts…", flush=True)
        started = time.perf_counter()
        scale_data.artifacts_add(
            people,
            args.artifacts - have,
            versions_each=args.versions_each,
            views=args.views,
        )
        print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
    from django.db import connection

    with connection.cursor() as cursor:  # what autovacuum has done by then on a live server
        cursor.execute("VACUUM ANALYZE")
    org = people.organization
    print(
        f"org {org.slug}: {Artifact.objects.filter(organization=org).count():,} artifacts, "
        f"{Version.objects.filter(artifact__organization=org).count():,} versions, "
        f"{View.objects.filter(artifact__organization=org).count():,} view records, "
        f"{len(people.users)} members"
    )
    return people


def client_for(user):
    from django.test import Client

    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(user)
    return client


def api_client_for(user, organization):
    from django.test import Client

    from orgs.services import token_create

    _, secret = token_create(user=user, organization=organization, name="bench", mfa_used=True)
    return Client(HTTP_HOST=APP_HOST, headers={"Authorization": f"Bearer {secret}"})


def cases(people):
    """(name, client, path, target ms, what it shows) for each list measured."""
    from urllib.parse import urlencode

    from django.utils import timezone

    from artifacts.models import Collection
    from artifacts.selectors import ListFilters, artifact_list
    from bench.scale_data import most_read, rank_share, word
    from orgs.paging import cursor_after

    reader, author, org = people.reader, people.author, people.organization
    browser, api = client_for(reader), api_client_for(reader, org)
    author_api = api_client_for(author, org)
    admin_api = api_client_for(people.admin, org)

    def deep_cursor(filters: ListFilters, depth: int) -> str:
        row = artifact_list(reader, filters=filters)[depth - 1]
        return cursor_after(row, filters.order)

    big = Collection.objects.get(organization=org, slug="c0")
    typical = Collection.objects.get(organization=org, slug="c5")
    read_most, read_most_of_all = most_read(org, author=author), most_read(org)
    since = (timezone.now() - timedelta(days=30)).date().isoformat()
    common, rare = 200, 2000
    q_common, q_rare = word(common), word(rare)
    q_two = f"{word(40)} {word(900)}"

    def matches(words: str) -> str:
        found = artifact_list(reader, filters=ListFilters(search=words, sort="relevance"))
        return f"{found.count():,} match"

    def home(**query):
        return "/?" + urlencode(query) if query else "/"

    return [
        ("home: first page", browser, home(), TARGET_MS, "50 artifacts, newest update first"),
        (
            "home: page 1,000",
            browser,
            home(cursor=deep_cursor(ListFilters(), 50_000)),
            TARGET_MS,
            "after the 50,000th",
        ),
        (
            "home: by title, page 1,000",
            browser,
            home(sort="title", cursor=deep_cursor(ListFilters(sort="title"), 50_000)),
            TARGET_MS,
            "",
        ),
        ("home: shared with me", browser, home(scope="shared"), TARGET_MS, ""),
        (
            "home: author + Markdown + last 30 days",
            browser,
            home(author=author.email, format="markdown", updated_since=since),
            TARGET_MS,
            "",
        ),
        (
            "home: mine",
            client_for(author),
            home(scope="mine"),
            TARGET_MS,
            "the most prolific author",
        ),
        (
            "home: a collection",
            browser,
            home(collection=typical.pk),
            TARGET_MS,
            f"{typical.artifacts.count():,} filed",
        ),
        (
            "home: the biggest collection",
            browser,
            home(collection=big.pk),
            TARGET_MS,
            f"{big.artifacts.count():,} filed",
        ),
        (
            "home: search, one word",
            browser,
            home(q=q_rare),
            SEARCH_TARGET_MS,
            f"a word of rank {rare} ({rank_share(rare):.4%} of words): {matches(q_rare)}",
        ),
        (
            "home: search, a common word",
            browser,
            home(q=q_common),
            SEARCH_TARGET_MS,
            f"rank {common} ({rank_share(common):.3%} of words): {matches(q_common)}",
        ),
        (
            "home: search, two words",
            browser,
            home(q=q_two),
            SEARCH_TARGET_MS,
            f"ranks 40 and 900: {matches(q_two)}",
        ),
        ("API: list, first page", api, "/api/v1/artifacts", TARGET_MS, "limit 50"),
        (
            "API: list, page 1,000",
            api,
            "/api/v1/artifacts?cursor=" + deep_cursor(ListFilters(), 50_000),
            TARGET_MS,
            "",
        ),
        (
            "API: search, one word",
            api,
            f"/api/v1/artifacts?q={q_rare}",
            SEARCH_TARGET_MS,
            "",
        ),
        (
            "API: views of the most read",
            author_api,
            f"/api/v1/artifacts/{read_most.pk}/views",
            TARGET_MS,
            f"{read_most.n:,} records",
        ),
        (
            "API: views of the org's most read",
            admin_api,
            f"/api/v1/artifacts/{read_most_of_all.pk}/views",
            TARGET_MS,
            f"{read_most_of_all.n:,} records, as an admin",
        ),
        (
            "API: its detail with counts",
            author_api,
            f"/api/v1/artifacts/{read_most.pk}",
            TARGET_MS,
            "",
        ),
    ]


def measure(client, path: str, runs: int) -> tuple[list[float], int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    queries, items = len(captured), _items(response)  # now: the next request resets the log
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return times, queries, items


def _items(response) -> int:
    if response.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        return len(body.get("items", body.get("versions", [])) or [])
    return response.content.decode().count('<td data-label="Author">')


def indexing(people, pushes: int) -> tuple[float, float, int]:
    """(pushes per second, indexings per second, page size), one process each."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from artifacts.search import search_index_now
    from bench.scale_data import word

    paragraph = " ".join(word(r) for r in range(1, 400, 3))
    page = "<!doctype html><title>t</title>" + "".join(
        f"<h2>{n}</h2><p>{paragraph} {n}</p><table><tr><td>{paragraph[:300]}</td></tr></table>"
        for n in range(14)
    )
    api = api_client_for(people.author, people.organization)
    ids = []
    started = time.perf_counter()
    for n in range(pushes):  # the API's push: it queues the indexing, which is not run here
        upload = SimpleUploadedFile(f"p{n}.html", f"{page}<p>{n}</p>".encode())
        response = api.post("/api/v1/artifacts", {"file": upload, "visibility": "org"})
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    push_rate = pushes / (time.perf_counter() - started)
    started = time.perf_counter()
    for artifact_id in ids:  # what the worker's task does for each
        assert search_index_now(artifact_id)
    index_rate = pushes / (time.perf_counter() - started)
    return push_rate, index_rate, len(page.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=int, default=100_000)
    parser.add_argument("--versions-each", type=int, default=10)
    parser.add_argument("--views", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()

    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    if args.reload:
        database_drop(url)
    database_create(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "false")  # no query log: as a server runs
    os.environ.setdefault("ARTIFACTS_DATA_DIR", "/tmp/bench_scale_data")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off: the manifest
    people = load(args)

    print(f"\n{'request':<40} {'median':>8} {'p95':>8} {'queries':>8} {'rows':>5}  target")
    over = 0
    for name, client, path, target, note in cases(people):
        times, queries, rows = measure(client, path, args.runs)
        median = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1]
        verdict = "ok" if median <= target else "OVER"
        over += median > target
        print(
            f"{name:<40} {median:6.1f}ms {p95:6.1f}ms {queries:8} {rows:5}  "
            f"≤{target} ms {verdict}  {note}",
            flush=True,
        )

    push_rate, index_rate, size = indexing(people, args.pushes)
    print(
        f"\nindexing: {push_rate:.0f} pushes/s of a {size / 1024:.0f} KiB page, "
        f"{index_rate:.0f} indexed/s: {index_rate / push_rate:.1f}× the push rate "
        f"({'keeps up' if index_rate >= push_rate else 'FALLS BEHIND'})"
    )
    sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
