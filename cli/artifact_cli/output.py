"""What the command prints: rich text and tables for people, plain JSON for scripts, notes
and warnings on stderr, and the upload progress bar.

User data (titles, messages) is printed as `Text`, never as rich markup, so a title like
`[red]x` shows as written.
"""

import json
import sys
import time
from datetime import datetime

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table
from rich.text import Text

PROGRESS_DELAY = 0.5  # seconds: a push quicker than this shows no bar at all

stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)


def print_json(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_json_line(data) -> None:
    """One JSON object per line (a stream of results, as --watch prints them)."""
    click.echo(json.dumps(data, ensure_ascii=False))


def note(message: str) -> None:
    stderr.print(Text(message), soft_wrap=True)


def warn(message: str) -> None:
    stderr.print(Text.assemble(("warning: ", "yellow"), message), soft_wrap=True)


def _url(url: str) -> Text:
    return Text(url, style=f"bold cyan link {url}")


def _when(stamp: str | None) -> str:
    if not stamp:
        return ""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"


def show_push(result: dict, *, new: bool) -> None:
    what = "Created" if new else "Pushed"
    stdout.print(
        Text.assemble(
            (f"{what} version {result['version']} of ", "green"),
            (result["id"], "bold"),
            (f" ({result['visibility']})", "dim"),
        )
    )
    stdout.print(_url(result["url"]), soft_wrap=True)
    stdout.print(Text.assemble(("this version: ", "dim"), result["version_url"]), soft_wrap=True)
    show_warnings(result.get("warnings") or [])


def show_watched(result: dict) -> None:
    """One line per version pushed by --watch."""
    stdout.print(
        Text.assemble(
            (f"{datetime.now():%H:%M:%S} ", "dim"),
            (f"v{result['version']} ", "green"),
            result["version_url"],
        ),
        soft_wrap=True,
    )
    show_warnings(result.get("warnings") or [])


def show_warnings(warnings: list[str]) -> None:
    if not warnings:
        return
    stdout.print(Text(f"{len(warnings)} warning(s): the sandbox will block these", "yellow"))
    for warning in warnings:
        stdout.print(Text(f"  ! {warning}"), soft_wrap=True)


def show_artifacts(rows: list[dict]) -> None:
    if not rows:
        stdout.print(Text("No artifacts yet: push one with `artifact push FILE`.", "dim"))
        return
    wide = stdout.width >= 120  # the author column only where it does not squeeze titles
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("title", ratio=1)
    for column in ("format", "visibility", "v", "updated") + (("author",) if wide else ()):
        table.add_column(column, no_wrap=True)
    for row in rows:
        cells = [
            Text(row["id"]),
            Text(row["title"]),
            "md" if row["format"] == "markdown" else row["format"],
            row["visibility"],
            str(row["latest_version"]),
            _when(row.get("updated_at")),
        ]
        table.add_row(*cells, *([Text(row.get("author") or "")] if wide else []))
    stdout.print(table)


def show_artifact(artifact: dict) -> None:
    stdout.print(
        Text.assemble(
            (artifact["id"], "bold"),
            " ",
            artifact["title"],
            (f"  {artifact['format']}, {artifact['visibility']}", "dim"),
        )
    )
    stdout.print(_url(artifact["url"]), soft_wrap=True)


def show_versions(detail: dict) -> None:
    show_artifact(detail)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("v", "size", "created", "by", "message"):
        table.add_column(column, no_wrap=column != "message")
    for version in reversed(detail["versions"]):
        table.add_row(
            str(version["number"]),
            _size(version["size"]),
            _when(version["created_at"]),
            Text(version.get("created_by") or ""),
            Text(version.get("message") or ""),
        )
    stdout.print(table)


def show_me(me: dict, url: str) -> None:
    stdout.print(Text.assemble((me["email"], "bold"), " on ", _url(url)), soft_wrap=True)
    stdout.print(
        Text(f"organisation {me['organization']}, role {me['role']}, token {me['token_name']!r}")
    )


class UploadProgress:
    """A transfer bar on stderr, drawn only once an upload has run for PROGRESS_DELAY."""

    def __init__(self, label: str):
        self.label = label
        self._started = time.monotonic()
        self._progress: Progress | None = None
        self._task = None

    @staticmethod
    def wanted(as_json: bool) -> bool:
        return not as_json and sys.stderr is not None and sys.stderr.isatty()

    def __call__(self, sent: int, total: int) -> None:
        if self._progress is None:
            if time.monotonic() - self._started < PROGRESS_DELAY or sent >= total:
                return
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
                console=stderr,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=total)
        self._progress.update(self._task, completed=sent)

    def __enter__(self) -> "UploadProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
