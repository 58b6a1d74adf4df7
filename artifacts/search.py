"""Full-text search over an artifact's title, its versions' messages and the text of the
version its link shows: PostgreSQL full-text search (GIN indexes, websearch_to_tsquery,
ts_headline) in production, SQLite FTS5 on the embedded default.

The index (SearchText, and on SQLite its FTS5 table) is written in the background after
a push, a restore, or a change of title or of the version the link shows, and removed
when the artifact is deleted or purged. SECURITY: a search is a filter on what the
searcher may see (artifacts.selectors.artifacts_visible), so the words of an artifact
someone may not open never match for them, and a snippet is made only of a row they may
see."""

import html
import logging
import re
from html.parser import HTMLParser

from celery import shared_task
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchVector
from django.db import connection, transaction
from django.db.models import (
    Case,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import RawSQL

from . import storage
from .models import Artifact, Format, SearchText

logger = logging.getLogger(__name__)

BODY_MAX = 200_000  # characters of a page's text that are indexed
START, STOP = "\x02", "\x03"  # the snippet's highlight, made HTML after escaping
FTS_TABLE = "artifacts_searchtext_fts"


class _Text(HTMLParser):
    """The text a reader sees: no tags, no scripts or styles."""

    SKIP = {"script", "style", "template", "noscript"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def text_of(source: str, format: str) -> str:
    """The words of a page: an HTML page's text, or a Markdown document's (its source
    without the markup characters that are not words)."""
    if format == Format.MARKDOWN:
        text = re.sub(r"[#*_`>|~\[\]()!-]+", " ", source)
    else:
        parser = _Text()
        parser.feed(source)
        parser.close()
        text = " ".join(parser.parts)
    # The snippet's highlight characters (START, STOP) are never the page's own.
    return " ".join(text.replace(START, " ").replace(STOP, " ").split())[:BODY_MAX]


def search_index_now(artifact_id: str) -> bool:
    """(Re)writes the artifact's row of the index; removes it if the artifact is gone or in
    the trash. True if indexed."""
    artifact = Artifact.objects.filter(pk=artifact_id, trashed_at__isnull=True).first()
    if artifact is None or artifact.latest_version == 0:
        search_unindex(artifact_id)
        return False
    version = artifact.versions.get(number=artifact.shown_version)
    with storage.blob_open(version.blob_id) as fh:
        source = fh.read().decode("utf-8", errors="replace")
    messages = " ".join(m for m in artifact.versions.values_list("message", flat=True) if m)
    with transaction.atomic():
        row, _ = SearchText.objects.update_or_create(
            artifact=artifact,
            defaults={
                "title": artifact.title,
                "messages": messages[:BODY_MAX],
                "body": text_of(source, artifact.format),
            },
        )
        _backend_write(row)
    return True


def search_unindex(artifact_id: str) -> None:
    """Its words leave the index (on SQLite, a trigger takes the FTS5 row along)."""
    SearchText.objects.filter(artifact_id=artifact_id).delete()


@shared_task(ignore_result=True)
def search_index(artifact_id: str) -> None:
    """The background half of indexing (registered with the app's tasks)."""
    search_index_now(artifact_id)


def search_index_later(artifact_id: str) -> None:
    """After the commit: index the artifact in the background. A broker outage costs the
    index an update (logged), never the change that asked for it."""

    def enqueue():
        try:
            search_index.delay(artifact_id)
        except Exception:
            logger.exception("could not queue the indexing of %s", artifact_id)

    transaction.on_commit(enqueue)


# --- The two backends ---------------------------------------------------------------------


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _backend_write(row: SearchText) -> None:
    if _postgres():
        SearchText.objects.filter(pk=row.pk).update(
            document=SearchVector("title", weight="A", config="simple")
            + SearchVector("messages", weight="B", config="simple")
            + SearchVector("body", weight="C", config="simple")
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [row.pk])  # noqa: S608
        cursor.execute(
            f"INSERT INTO {FTS_TABLE} (rowid, title, messages, body) VALUES (%s, %s, %s, %s)",  # noqa: S608
            [row.pk, row.title, row.messages, row.body],
        )


def _fts5_terms(words: str) -> tuple[list[str], list[str]]:
    """websearch syntax (words, "a phrase", -not) as FTS5 phrases, quoted so that nothing
    a user types is FTS5 syntax: (what must match, what must not)."""
    wanted, unwanted = [], []
    for negated, phrase, word in re.findall(r'(-?)(?:"([^"]*)"|(\S+))', words):
        text = (phrase or word).replace('"', " ").strip()
        if text:
            (unwanted if negated else wanted).append(f'"{text}"')
    return wanted, unwanted


def _title_holds(words: str) -> Case:
    return Case(
        When(title__icontains=words, then=Value(1.0)), default=Value(0.0), output_field=FloatField()
    )


def search_filter(queryset: QuerySet, words: str, *, ranked: bool = True) -> QuerySet:
    """The artifacts of `queryset` (already what the searcher may see) whose words match,
    or whose title holds them as typed (at once, before the background indexing has run),
    each with `rank` (higher: better; how well the title matches: a match in the text alone
    ranks 0, and the list's order decides among those) and `snippet_raw` (the text around
    the matches, START/STOP around each; snippet_html). `ranked`: the caller orders by
    rank."""
    if _postgres():
        query = SearchQuery(words, search_type="websearch", config="simple")
        # The matches first, each from its index (the tsvector's GIN, the title's trigrams),
        # and only then what the searcher may see of them: a join of the two tables with
        # an OR between them would read every row of both.
        indexed = SearchText.objects.filter(document=query).values("artifact_id")
        titled = Artifact.objects.filter(title__icontains=words).values("pk")
        # Ranked, every match is read, so the query starts from them (a union of the two).
        # In another order, it reads the list's index and checks each row against the two
        # sets of matches (hashed): given IN (union) with a LIMIT, PostgreSQL may instead
        # rescan the union for every row of the list, 2 s for a common word.
        matches = (
            Q(pk__in=indexed.union(titled)) if ranked else Q(pk__in=indexed) | Q(pk__in=titled)
        )
        # Ranked by the title alone, then in the list's order (last updated first): 2 if it
        # holds the words as typed, 1 if it holds them all (a set read from an index of
        # the titles' words), 0 for a match of the text only. ts_rank of the whole text
        # would read every match's tsvector: 6 µs each, 60 ms for a word in a tenth of
        # 100,000 pages (docs/benchmarks.md).
        title_words = Artifact.objects.annotate(
            words=SearchVector("title", config="simple")
        ).filter(words=query)
        rank = _title_holds(words) + Case(
            When(pk__in=title_words.values("pk"), then=Value(1.0)),
            default=Value(0.0),
            output_field=FloatField(),
        )
        # The snippet is a subquery, so the database makes it for the rows of the page only.
        snippet = SearchText.objects.filter(artifact_id=OuterRef("pk")).annotate(
            headline=SearchHeadline(
                "body",
                query,
                config="simple",
                start_sel=START,
                stop_sel=STOP,
                max_words=30,
                min_words=12,
            )
        )
        return queryset.filter(matches).annotate(
            rank=rank,
            snippet_raw=Subquery(snippet.values("headline")[:1]),
        )
    # SQLite: which artifacts match, by FTS5; how well, by the title, then by whether the
    # text matches at all. SECURITY: not bm25, whose statistics span the whole table, every
    # org's private pages included: a rank (in a cursor, or in the order) would tell how
    # many artifacts anywhere hold a word.
    wanted, unwanted = _fts5_terms(words)
    joined = f"FROM {FTS_TABLE} JOIN artifacts_searchtext s ON s.id = {FTS_TABLE}.rowid"
    matching = f"SELECT s.artifact_id {joined} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
    text_match = Q(pk__in=[])
    if wanted:
        match = " AND ".join(wanted)
        if unwanted:
            match = f"({match}) NOT ({' OR '.join(unwanted)})"
        # The SQL is constant; the words are a parameter.
        text_match = Q(pk__in=RawSQL(matching, [match]))  # noqa: S611
    title_words = " ".join(w.strip('"') for w in wanted)
    matched = queryset.filter(text_match | Q(title__icontains=title_words) if wanted else Q())
    if unwanted:  # none of these, in the text or the title
        matched = matched.exclude(pk__in=RawSQL(matching, [" OR ".join(unwanted)]))  # noqa: S611
        for phrase in unwanted:
            matched = matched.exclude(title__icontains=phrase.strip('"'))
    if not wanted and not unwanted:
        return queryset.none()
    in_title = _title_holds(title_words) if wanted else Value(0.0, output_field=FloatField())
    in_text = Case(When(text_match, then=Value(1.0)), default=Value(0.0), output_field=FloatField())
    snippet = (
        f"SELECT snippet({FTS_TABLE}, 2, '{START}', '{STOP}', '…', 24) {joined} "  # noqa: S608
        f"WHERE {FTS_TABLE} MATCH %s AND s.artifact_id = artifacts_artifact.id"
    )
    highlight = " OR ".join(wanted) if wanted else ""
    return matched.annotate(
        rank=in_title * 2 + in_text,
        snippet_raw=RawSQL(snippet, [highlight], output_field=TextField())  # noqa: S611
        if wanted
        else Value("", output_field=TextField()),
    )


def snippet_html(raw: str | None) -> str:
    """The snippet as HTML: the page's text escaped, its matches in <mark>."""
    if not raw:
        return ""
    return html.escape(raw).replace(START, "<mark>").replace(STOP, "</mark>")
