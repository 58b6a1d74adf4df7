"""An organisation after a year, made in SQL on PostgreSQL: its members and groups, and
artifacts with their versions, shares, collections, view records and search rows, for
bench/bench_scale.py (100,000 artifacts, 1,000,000 versions and view records) and for the
tests that hold each list's query count at 100 rows as at 100,000
(tests/artifacts/test_scale_queries.py).

Every value is a function of the row's number, so two loads of the same size are the same
data, and `artifacts_add` appends: rows start after those already made. Words come from a
vocabulary drawn log-uniformly (a few words are in most pages, most words in few), as in
real text; `word(rank)` names the word of a rank, for searches of a known frequency."""

import math
import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count

from artifacts.models import Artifact, Collection
from orgs.models import Group, Membership, Organization, Role

VOCABULARY = 5000
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"] + ["qua", "sho", "chi", "tre"]


def vocabulary() -> list[str]:
    """VOCABULARY distinct pronounceable words, the same on every call."""
    rng, words = random.Random(13), []
    seen = set()
    while len(words) < VOCABULARY:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def word(rank: int) -> str:
    """The vocabulary's word of this rank (1: the most frequent)."""
    return vocabulary()[rank - 1]


def rank_share(rank: int) -> float:
    """The share of drawn words that are of this rank (the log-uniform draw below)."""
    return math.log((rank + 1) / rank, VOCABULARY + 1)


def _fraction(i: str, j: str) -> str:
    """SQL: a fraction in [0, 1) that looks random but is a function of (i, j)."""
    return f"((hashint8(({i})::bigint * 4096 + ({j})) & 2147483647)::float / 2147483648)"


def _draw(i: str, j: str) -> str:
    """SQL: the word drawn for row i, place j: rank floor((V + 1) ** u), so that rank r is
    drawn with probability log(1 + 1/r) / log(V + 1) (rank_share)."""
    u = _fraction(i, j)
    return f"(%(vocab)s::text[])[floor(power({VOCABULARY} + 1, {u}))::int]"


def most_read(organization: Organization, **filters) -> Artifact:
    """The org's artifact (narrowed by `filters`, e.g. author=) with the most view
    records, their number in `n`."""
    artifacts = Artifact.objects.filter(organization=organization, **filters)
    return artifacts.annotate(n=Count("views")).order_by("-n").first()


@dataclass(frozen=True)
class People:
    organization: Organization
    reader: object  # a member who wrote little: what most of the org sees
    author: object  # the most prolific author
    admin: object
    users: list


def org_make(slug: str = "scale", members: int = 300, groups: int = 12) -> People:
    """The org, its members (1 owner, 4 admins, 15 viewers, the rest members) and groups of
    25 members each. Made once; later calls return what is there."""
    User = get_user_model()
    organization, created = Organization.objects.get_or_create(slug=slug, defaults={"name": slug})
    if created:
        users = User.objects.bulk_create(
            User(username=f"u{n}@{slug}.test", email=f"u{n}@{slug}.test", password="!")
            for n in range(members)
        )

        def role(n):
            if n == 0:
                return Role.OWNER
            return Role.ADMIN if n < 5 else Role.VIEWER if n >= members - 15 else Role.MEMBER

        Membership.objects.bulk_create(
            Membership(user=u, organization=organization, role=role(n)) for n, u in enumerate(users)
        )
        for g in range(groups):
            group = Group.objects.create(
                organization=organization, slug=f"team-{g}", name=f"Team {g}"
            )
            group.members.set(users[(g * 25 + k) % members] for k in range(25))
        Collection.objects.bulk_create(
            Collection(organization=organization, name=f"Collection {c}", slug=f"c{c}")
            for c in range(40)
        )
    users = list(User.objects.filter(memberships__organization=organization).order_by("pk"))
    return People(organization, reader=users[7], author=users[1], admin=users[2], users=users)


def artifacts_add(
    people: People,
    count: int,
    *,
    versions_each: int = 10,
    views: int = 0,
    words_each: int = 150,
    days: int = 365,
) -> None:
    """Appends `count` artifacts spread over the last `days` days, with 1 to
    2 × versions_each - 1 versions each (versions_each on average), `views` view records
    (some artifacts read often, most rarely), shares, filings and indexed search rows."""
    org = people.organization
    start = Artifact.objects.filter(organization=org).count()
    users = [u.pk for u in people.users]
    params = {
        "org": org.pk,
        "lo": start + 1,
        "hi": start + count,
        "users": users,
        "n_users": len(users),
        "author": people.author.pk,
        "span": f"{days} days",
        "spread": 2 * versions_each - 1,
        "n_groups": Group.objects.filter(organization=org).count(),
        "vocab": vocabulary(),
        "words": words_each,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        _artifacts(cursor, params)
        _versions(cursor, params)
        _shares(cursor, params)
        _filings(cursor, params)
        if views:
            _views(cursor, {**params, "views": views, "total": start + count})
        _search_rows(cursor, params)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# Row i of the org: its id (md5, so ids do not follow the order), its author (one page in
# seventeen by the most prolific author, the rest spread over everyone), made over the
# span. Whatever else is drawn for it (private or not, Markdown or not, its collections,
# when it was last updated) is drawn apart, so that no filter follows another, nor the
# lists' orders: a filter that did would measure the generator, not the query.
_ARTIFACT_ROW = f"""
    SELECT md5(%(org)s::bigint::text || '-' || i) AS id, i,
           CASE WHEN i %% 17 = 0 THEN %(author)s::bigint
                ELSE (%(users)s::bigint[])[
                    1 + floor(%(n_users)s::int * {_fraction("i", "1001")})::int]
           END AS author_id,
           1 + floor(%(spread)s::int * {_fraction("i", "1002")})::int AS versions
    FROM generate_series(%(lo)s::int, %(hi)s::int) AS i
"""


def _artifacts(cursor, p):
    cursor.execute(
        f"""
        INSERT INTO artifacts_artifact (id, organization_id, author_id, title, format,
            visibility, latest_version, viewer_version, created_at, updated_at, pinned,
            restored_at, trashed_at, trashed_by_id, expiry_noticed_for)
        SELECT r.id, %(org)s::bigint, r.author_id,
               initcap({_draw("r.i", "1")}) || ' ' || {_draw("r.i", "2")} || ' '
                   || {_draw("r.i", "3")} || ' report ' || r.i,
               CASE WHEN {_fraction("r.i", "1006")} < 1 / 3.0 THEN 'markdown' ELSE 'html' END,
               CASE WHEN {_fraction("r.i", "1007")} < 0.2 THEN 'private' ELSE 'org' END,
               r.versions, NULL,
               now() - %(span)s::interval * (1 - r.i::float / %(hi)s::int),
               least(now(), now() - %(span)s::interval * (1 - r.i::float / %(hi)s::int)
                            + interval '1 day' * floor(30 * {_fraction("r.i", "1003")})),
               false, NULL, NULL, NULL, NULL
        FROM ({_ARTIFACT_ROW}) AS r
        """,
        p,
    )
    cursor.execute(
        "INSERT INTO artifacts_blob (sha256, size, created_at, touched_at) "
        "SELECT md5('scale-blob-' || b) || md5('scale-blob-' || b), 20000 + b, now(), now() "
        "FROM generate_series(0, 19) AS b ON CONFLICT DO NOTHING"
    )


def _versions(cursor, p):
    cursor.execute(
        f"""
        INSERT INTO artifacts_version (artifact_id, number, blob_id, size, created_by_id,
            created_at, message)
        SELECT r.id, n,
               md5('scale-blob-' || (r.i + n) %% 20) || md5('scale-blob-' || (r.i + n) %% 20),
               20000 + (r.i + n) %% 20, r.author_id,
               a.created_at + (a.updated_at - a.created_at) * (n - 1)::float / r.versions,
               CASE WHEN n = 1 THEN 'first draft' ELSE {_draw("r.i", "n + 10")} || ' fixed' END
        FROM ({_ARTIFACT_ROW}) AS r
        JOIN artifacts_artifact a ON a.id = r.id, generate_series(1, r.versions) AS n
        """,
        p,
    )


def _shares(cursor, p):
    """A quarter of the private pages are shared: half with a member, half with a group."""
    with_member = f"{_fraction('r.i', '1012')} < 0.5"
    member = f"(%(users)s::bigint[])[1 + floor(%(n_users)s::int * {_fraction('r.i', '1013')})::int]"
    cursor.execute(
        f"""
        INSERT INTO artifacts_share (artifact_id, user_id, group_id, created_at)
        SELECT r.id,
               CASE WHEN {with_member} THEN {member} END,
               CASE WHEN NOT {with_member} THEN (
                   SELECT g.id FROM orgs_group g WHERE g.organization_id = %(org)s::bigint
                   ORDER BY g.id
                   OFFSET floor(%(n_groups)s::int * {_fraction("r.i", "1014")}) LIMIT 1) END,
               now()
        FROM ({_ARTIFACT_ROW}) AS r JOIN artifacts_artifact a ON a.id = r.id
        WHERE a.visibility = 'private' AND {_fraction("r.i", "1011")} < 0.25
          AND NOT ({with_member} AND r.author_id = {member})
        """,
        p,
    )


def _filings(cursor, p):
    """A quarter of the artifacts are each in one of the 40 collections; a tenth also in
    the first (the org's big one)."""
    cursor.execute(
        f"""
        INSERT INTO artifacts_collection_artifacts (collection_id, artifact_id)
        SELECT c.id, r.id
        FROM ({_ARTIFACT_ROW}) AS r
        JOIN artifacts_collection c ON c.organization_id = %(org)s::bigint
             AND ({_fraction("r.i", "1008")} < 0.25
                  AND c.slug = 'c' || floor(40 * {_fraction("r.i", "1009")})::int
                  OR c.slug = 'c0' AND {_fraction("r.i", "1010")} < 0.1)
        ON CONFLICT DO NOTHING
        """,
        p,
    )


def _views(cursor, p):
    """`views` opens, of an artifact drawn log-uniformly from all the org's (the first few
    are read thousands of times, most a handful), by one of the members, within the last
    year, of one of its versions."""
    cursor.execute(
        f"""
        INSERT INTO artifacts_view (artifact_id, number, user_id, viewed_at)
        SELECT a.id, 1 + k %% a.latest_version,
               (%(users)s::bigint[])[1 + floor(%(n_users)s::int * {_fraction("k", "1004")})::int],
               now() - interval '1 minute' * floor(525600 * {_fraction("k", "1005")})
        FROM generate_series(1::bigint, %(views)s::bigint) AS k
        JOIN artifacts_artifact a ON a.organization_id = %(org)s::bigint
             AND a.id = md5(%(org)s::bigint::text || '-' || least(
                 %(total)s::int, floor(power(%(total)s::int + 1, {_fraction("k", "0")}))::int))
        """,
        p,
    )


def _search_rows(cursor, p):
    """What artifacts.search would write for each: title, messages, the page's words and
    their weighted tsvector (the same expression as artifacts.search._backend_write)."""
    cursor.execute(
        f"""
        INSERT INTO artifacts_searchtext (artifact_id, title, messages, body, indexed_at)
        SELECT r.id, a.title,
               (SELECT string_agg(v.message, ' ') FROM artifacts_version v
                WHERE v.artifact_id = r.id),
               (SELECT string_agg({_draw("r.i", "j + 100")}, ' ')
                FROM generate_series(1, %(words)s::int) AS j),
               now()
        FROM ({_ARTIFACT_ROW}) AS r JOIN artifacts_artifact a ON a.id = r.id
        """,
        p,
    )
    cursor.execute(
        """
        UPDATE artifacts_searchtext s SET document =
            setweight(to_tsvector('simple', coalesce(s.title, '')), 'A')
            || setweight(to_tsvector('simple', coalesce(s.messages, '')), 'B')
            || setweight(to_tsvector('simple', coalesce(s.body, '')), 'C')
        FROM artifacts_artifact a
        WHERE a.id = s.artifact_id AND a.organization_id = %(org)s::bigint AND s.document IS NULL
        """,
        p,
    )
