"""manage.py search_reindex [--org SLUG] — (re)index every artifact's words for search,
e.g. after an upgrade that brought search, with a progress bar (one line per thousand
when not on a terminal)."""

import sys

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from artifacts.models import Artifact
from artifacts.search import search_index_now
from orgs.management.commands._base import ServiceCommand

EVERY = 1000  # a line of progress per this many, off a terminal


class Command(ServiceCommand):
    help = "Index the words of every artifact (or one org's) for full-text search."

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", help="Only this organisation's artifacts.")

    def handle(self, org=None, **options):
        artifacts = Artifact.objects.filter(trashed_at__isnull=True, latest_version__gt=0)
        if org:
            artifacts = artifacts.filter(organization=self.org_get(org))
        ids = list(artifacts.order_by("pk").values_list("pk", flat=True))
        indexed = 0
        with Progress(
            TextColumn("indexing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=not sys.stderr.isatty(),
        ) as progress:
            task = progress.add_task("indexing", total=len(ids))
            for n, artifact_id in enumerate(ids, 1):
                indexed += search_index_now(artifact_id)
                progress.advance(task)
                if not sys.stderr.isatty() and n % EVERY == 0:
                    self.stderr.write(f"indexed {n} of {len(ids)}")
        self.stdout.write(f"Indexed {indexed} artifacts.")
