"""manage.py enforce_retention [--org SLUG] [--dry-run] [--as-of ISO-8601] [--batch-size N]"""

import sys
from datetime import datetime

from django.core.management.base import CommandError
from django.utils import timezone
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from artifacts.retention.enforce import BATCH, retention_enforce
from artifacts.retention.policy import plan_counts, retention_plan
from orgs.management.commands._base import ServiceCommand
from orgs.models import Organization

PHASES = {"notify": "notified", "expire": "expired", "prune": "pruned", "purge": "purged"}


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of: not an ISO-8601 date or time: {value!r}.") from None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(ServiceCommand):
    help = (
        "Apply the retention policies (the periodic task's work): notify authors, move expired "
        "artifacts to the trash, prune old versions, purge the trash after its grace period, "
        "then delete unreferenced blobs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", help="only this organisation")
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be done, change nothing"
        )
        parser.add_argument(
            "--as-of", metavar="ISO-8601", type=_moment, help="as if it were this time"
        )
        parser.add_argument("--batch-size", type=int, default=BATCH, help="rows per transaction")

    def handle(self, *args, org=None, dry_run=False, as_of=None, batch_size=BATCH, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        organization = self.org_get(org) if org else None
        as_of = as_of or timezone.now()
        orgs = [organization] if organization else list(Organization.objects.order_by("pk"))
        # Totals first (one COUNT per phase and org), for the bar and for a dry run.
        totals = {phase: 0 for phase in PHASES}
        for each in orgs:
            counts = plan_counts(retention_plan(each, as_of))
            for phase, name in PHASES.items():
                totals[phase] += getattr(counts, name)
        when = f" as of {as_of.isoformat()}" if options.get("as_of") else ""
        if dry_run:
            self.stdout.write(
                f"Would notify {totals['notify']}, expire {totals['expire']}, prune "
                f"{totals['prune']} versions and purge {totals['purge']} artifacts{when}."
            )
            return
        with self._progress() as progress:
            bars = {
                phase: progress.add_task(phase, total=total or None)
                for phase, total in totals.items()
            }
            bars["blobs"] = progress.add_task("blobs", total=None)

            def advance(phase: str, done: int) -> None:
                progress.advance(bars[phase], done)
                if progress.disable:  # not a terminal: a line per batch shows it moves
                    task = progress.tasks[bars[phase]]
                    of = f"/{int(task.total)}" if task.total else ""
                    self.stderr.write(f"{phase}: {int(task.completed)}{of}")

            report = retention_enforce(
                as_of=as_of, organization=organization, batch_size=batch_size, progress=advance
            )
        self.stdout.write(
            f"Notified {report.notified}, expired {report.expired}, pruned {report.pruned} "
            f"versions, purged {report.purged} artifacts and {report.blobs} blobs{when}."
        )

    def _progress(self) -> Progress:
        # A bar on a terminal; one line per batch otherwise (logs, CI), so a long run shows
        # that it moves.
        return Progress(
            TextColumn("{task.description:>7}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=not sys.stderr.isatty(),
            transient=False,
        )
