"""The `artifact` command: one click command per verb, over `ApiClient`.

Every failure ends in `main`, which prints exactly one `error: ...` line on stderr and
returns the exit code of `errors` (0 ok, 1 API, 2 usage, 3 auth, 4 not found, 5 conflict,
6 file refused, 7 server unreachable, 130 interrupted).
"""

import os
import re
import sys
import tempfile
import time
import uuid
import webbrowser
from pathlib import Path

import click
from click.core import ParameterSource

from . import __version__, config, output
from . import watch as watching
from .client import PAGE_SIZE, ApiClient
from .errors import (
    EXIT_CONFLICT,
    EXIT_FILE,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    ArtifactError,
    one_line,
)
from .upload import (
    check_name,
    read_path,
    read_stdin,
    upload_from_bytes,
    upload_from_path,
)

EXIT_INTERRUPTED = 130
ID_LIKE = re.compile(r"-[A-Za-z0-9_-]{21}")  # secrets.token_urlsafe(16) starting with '-'

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")


class IdCommand(click.Command):
    """A command whose argument is an artifact id.

    Ids are URL-safe base64 and one in 64 starts with '-', which click would read as a bundle
    of short options (`rm -Oy...` even as `--yes`). A token shaped like an id that is not
    an option's value is passed as the argument instead (after `--`).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value = {
            name
            for param in self.params
            if isinstance(param, click.Option) and not param.is_flag
            for name in param.opts
        }
        head, ids = [], []
        for i, arg in enumerate(args):
            after_value_option = i > 0 and args[i - 1] in takes_value
            if "--" in head or after_value_option or not ID_LIKE.fullmatch(arg):
                head.append(arg)
            else:
                ids.append(arg)
        if ids:
            args = [*head, *ids] if "--" in head else [*head, "--", *ids]
        return super().parse_args(ctx, args)


def _show_version(ctx: click.Context, _param, value: bool) -> None:
    """`artifact --version`: this CLI's version, and the server's when one is configured."""
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"artifact-cli {__version__}")
    try:
        url, token = config.load_partial()
    except ArtifactError as error:  # an unreadable config file: still a version to show
        click.echo(f"server: {error.message}")
        ctx.exit(0)
    if url:
        try:
            with ApiClient(config.normalize_url(url), token or "", attempts=1) as api:
                click.echo(f"server {api.url}: {api.server_version()['version']}")
        except ArtifactError as error:
            click.echo(f"server {url}: {one_line(str(error))}")
    ctx.exit(0)


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _usage(message: str) -> ArtifactError:
    return ArtifactError(message, EXIT_USAGE)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show this CLI's version and the server's, then exit.",
)
def cli() -> None:
    """Publish HTML and Markdown pages to your organisation's artifact server.

    Configure with `artifact login`, or ARTIFACT_URL and ARTIFACT_TOKEN.

    \b
    Exit codes: 0 ok, 1 API error, 2 usage, 3 auth (not logged in, token refused,
    not allowed), 4 not found, 5 conflict (--base-version behind), 6 file refused
    (missing, wrong type, not UTF-8, over 16 MiB), 7 server unreachable.
    """


# --- Account -----------------------------------------------------------------------------
@cli.command()
@click.option("--url", help="Server URL, e.g. https://artifacts.example.com")
@click.option("--token", help="API token ('-' reads it from stdin).")
@json_option
def login(url: str | None, token: str | None, as_json: bool) -> None:
    """Save the server URL and a token, once the server accepts it.

    The config file ($ARTIFACT_CONFIG, else ~/.config/artifact/config.json) is 0600.
    """
    try:
        known_url, _ = config.load_partial()
    except ArtifactError:  # an unreadable config file is what login repairs
        known_url = None
    if url is None:
        if not _interactive():
            raise _usage("pass --url (stdin is not a terminal, so there is no prompt)")
        url = click.prompt("Server URL", default=known_url or config.DEFAULT_URL)
    if token == "-":  # noqa: S105  (read the token from stdin, not the argv)
        token = sys.stdin.readline() if sys.stdin else ""
    elif token is None:
        if not _interactive():
            raise _usage("pass --token (stdin is not a terminal, so there is no prompt)")
        token = click.prompt("API token", hide_input=True)
    if not token.strip():
        raise _usage("the token is empty")
    settings = config.Config(config.normalize_url(url), token.strip())
    with ApiClient.from_config(settings) as api:
        me = api.me()  # nothing is saved unless the server accepts the token
    path = config.save(settings)
    if as_json:
        output.print_json({**me, "url": settings.url, "config": str(path)})
        return
    output.show_me(me, settings.url)
    output.note(f"Saved to {path}")
    if os.environ.get("ARTIFACT_URL") or os.environ.get("ARTIFACT_TOKEN"):
        output.warn("ARTIFACT_URL / ARTIFACT_TOKEN are set and take precedence over this file")


@cli.command()
@json_option
def whoami(as_json: bool) -> None:
    """Who the configured token belongs to."""
    with ApiClient.from_config() as api:
        me = api.me()
    if as_json:
        output.print_json({**me, "url": api.url})
    else:
        output.show_me(me, api.url)


# --- Push --------------------------------------------------------------------------------
@cli.command()
@click.argument("file", metavar="FILE|-")
@click.option("--name", help="File name to push stdin as; its extension gives the format.")
@click.option("--to", "artifact_id", metavar="ID", help="Push a new version of this artifact.")
@click.option("--title", help="Title (default: the file name).")
@click.option("-m", "--message", help="What changed, kept with the version.")
@click.option("--share", is_flag=True, help="Share with the whole organisation.")
@click.option("--collection", metavar="NAME", help="File it in this collection (made if new).")
@click.option(
    "--base-version",
    type=click.IntRange(min=1),
    metavar="N",
    help="With --to: refuse if the live version is no longer N.",
)
@click.option("--inline", is_flag=True, help="Inline external scripts, styles, fonts, images.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
@click.option(
    "--watch", is_flag=True, help="Then push a new version each time FILE changes (Ctrl-C stops)."
)
@json_option
def push(
    file: str,
    name: str | None,
    artifact_id: str | None,
    title: str | None,
    message: str | None,
    share: bool,
    collection: str | None,
    base_version: int | None,
    inline: bool,
    open_browser: bool,
    watch: bool,
    as_json: bool,
) -> None:
    """Push a page: a new artifact, or a new version with --to.

    FILE is an .html, .htm, .md or .markdown file (UTF-8, at most 16 MiB), or - for
    stdin with --name. With --watch, the command stays: each time FILE changes, its new
    bytes become the next version (one line per version), so the page viewers have open
    follows the file.
    """
    if base_version is not None and artifact_id is None:
        raise _usage("--base-version needs --to ID")
    if watch and file == "-":
        raise _usage("--watch needs a file to watch, not stdin")
    if watch and base_version is not None:
        raise _usage("--watch pushes whenever the file changes: drop --base-version")
    seen = watching.stamp(file) if watch else None  # before reading: no change slips by
    upload, report = _prepare(file, name, inline)
    last = watching.sha256_of(upload.file) if watch else None
    with upload, ApiClient.from_config() as api:
        progress = output.UploadProgress(f"pushing {upload.name}")
        with progress:
            try:
                result = api.push(
                    upload,
                    artifact_id=artifact_id,
                    title=title,
                    visibility="org" if share else None,
                    message=message,
                    base_version=base_version,
                    idempotency_key=str(uuid.uuid4()),
                    progress=progress if output.UploadProgress.wanted(as_json) else None,
                    collection=collection,
                )
            except ArtifactError as error:
                if (conflict := _conflict(error, artifact_id, base_version)) is None:
                    raise
                raise conflict from error
        if artifact_id and (title or share):  # the versions endpoint takes neither
            changes = {"title": title, "visibility": "org" if share else None}
            artifact = api.update(artifact_id, **{k: v for k, v in changes.items() if v})
            result["visibility"] = artifact["visibility"]
        if artifact_id and collection:
            api.file_in(artifact_id, collection)
    if as_json:
        shown = {**result, "inline": report.as_json()} if report else result
        (output.print_json_line if watch else output.print_json)(shown)  # --watch: a stream
    else:
        if report:
            output.note(f"inlined {len(report.inlined)} resource(s)")
        output.show_push(result, new=artifact_id is None)
    if report:
        for url, reason in report.failed.items():
            output.warn(f"not inlined: {url} ({reason})")
    if open_browser and not webbrowser.open(result["url"]):
        output.warn("could not open a browser; the URL is printed above")
    if watch:
        _watch(file, name, inline, result["id"], seen, last, message=message, as_json=as_json)


def _watch(file, name, inline, artifact_id: str, seen, last: str, *, message, as_json) -> None:
    """Push FILE again each time its bytes change (`seen`: the file's stamp before the
    bytes pushed last were read; `last`: their sha256), until Ctrl-C (exit 130). A save
    the server refuses (not UTF-8, too big...) is reported and the watch goes on; a token
    refused or the artifact gone ends it."""
    output.note(f"watching {file} (Ctrl-C stops)")
    try:
        with ApiClient.from_config() as api:
            for _ in watching.changes(file, seen):
                try:
                    upload, report = _prepare(file, name, inline)
                    with upload:  # the bytes of this version, kept for every retry of it
                        upload = upload_from_bytes(upload.file.read(), upload.name)
                    sha256 = watching.sha256_of(upload.file)
                    if sha256 == last:
                        continue
                    result = _push_until_taken(api, upload, artifact_id, message)
                except ArtifactError as error:
                    if not watching.refused_save(error):
                        raise
                    output.warn(f"not pushed: {error.message}")
                    continue
                last = sha256
                if as_json:
                    output.print_json_line(result)
                else:
                    output.show_watched(result)
                for url, reason in (report.failed if report else {}).items():
                    output.warn(f"not inlined: {url} ({reason})")
    except KeyboardInterrupt:
        output.note(f"stopped watching {file}")
        click.get_current_context().exit(EXIT_INTERRUPTED)


def _push_until_taken(api, upload, artifact_id: str, message: str | None) -> dict:
    """One version: tried again with the same key (and the same bytes) while the server
    cannot take it, waiting longer each time."""
    key, wait = str(uuid.uuid4()), watching.RETRY_FIRST
    while True:
        try:
            return api.push(upload, artifact_id=artifact_id, message=message, idempotency_key=key)
        except ArtifactError as error:
            if not watching.retryable(error):
                raise
            output.warn(f"{error.message}; trying again in {wait:.0f} s")
            time.sleep(wait)
            wait = min(wait * 2, watching.RETRY_MAX)
            upload.file.seek(0)


def _prepare(file: str, name: str | None, inline: bool):
    """The checked upload, and the --inline report (None without --inline)."""
    if file == "-" and not name:
        raise _usage("pushing stdin needs --name, e.g. --name report.html")
    name = check_name(name or os.path.basename(file))
    if inline and Path(name).suffix.lower() not in (".html", ".htm"):
        raise _usage("--inline works on HTML pages only")
    if file != "-" and not inline:
        return upload_from_path(file, name), None
    if file == "-":
        data, label, folder = read_stdin(), "stdin", None
    else:
        (name, data), label, folder = read_path(file, name), f"file {file}", Path(file).parent
    upload = upload_from_bytes(data, name, label)  # refuses binary or non-UTF-8 input
    if not inline:
        return upload, None
    from .inline import inline_page  # only --inline pays for the parser

    text, report = inline_page(data.decode("utf-8"), folder)
    return upload_from_bytes(text.encode("utf-8"), name, f"{label} after inlining"), report


def _conflict(error: ArtifactError, artifact_id, base_version) -> ArtifactError | None:
    """A 409 told in terms of this command's flags (None for any other error)."""
    if error.exit_code != EXIT_CONFLICT or "current_version" not in error.details:
        return None
    live = error.details["current_version"]
    return ArtifactError(
        f"version {live} of {artifact_id} is live, not {base_version}: "
        f"pull it (artifact pull {artifact_id}) and push again with --base-version {live}, "
        "or drop --base-version to push anyway",
        EXIT_CONFLICT,
        status=error.status,
        code=error.code,
        details=error.details,
    )


# --- Read --------------------------------------------------------------------------------
@cli.command("ls")
@click.argument("query", required=False, default="")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=PAGE_SIZE,
    show_default=True,
    metavar="N",
    help="Show the N last updated.",
)
@click.option("--all", "every", is_flag=True, help="Show them all (every page).")
@click.option("--mine", "scope", flag_value="mine", help="Only yours.")
@click.option("--shared", "scope", flag_value="shared", help="Only those shared with you.")
@click.option("--author", default="", metavar="EMAIL", help="Only this author's.")
@click.option("--format", "fmt", type=click.Choice(["html", "markdown"]), help="Only this format.")
@click.option("--since", default="", metavar="DATE", help="Only those updated since DATE.")
@click.option("--collection", default="", metavar="SLUG", help="Only those in this collection.")
@click.option(
    "--sort",
    type=click.Choice(["updated", "title", "created", "relevance"]),
    default="updated",
    show_default=True,
    help="The order (created: newest first, stable while others push).",
)
@json_option
@click.pass_context
def list_artifacts(
    ctx: click.Context,
    query: str,
    limit: int,
    every: bool,
    scope: str | None,
    author: str,
    fmt: str | None,
    since: str,
    collection: str,
    sort: str,
    as_json: bool,
) -> None:
    """List the artifacts you can see, last updated first.

    With QUERY, only those whose title, version messages or text match its words (use
    --sort relevance for the best matches first). When more exist than are shown, a note
    on stderr says so.
    """
    if every and ctx.get_parameter_source("limit") is not ParameterSource.DEFAULT:
        raise _usage("give --all or --limit, not both")
    if every and ctx.get_parameter_source("sort") is ParameterSource.DEFAULT:
        sort = "created"  # the one order a walk through every page misses nothing in
    filters = {
        "scope": scope or "",
        "author": author,
        "format": fmt or "",
        "updated_since": since,
        "sort": sort,
        "collection": collection,
    }
    with ApiClient.from_config() as api:
        if every:
            rows, more = list(api.list_all(query, **filters)), False
        else:
            rows, cursor = api.list_first(query, limit, **filters)
            more = cursor is not None
    if as_json:
        output.print_json(rows)
    else:
        output.show_artifacts(rows)
    if more:
        output.note(
            f"{len(rows)} shown, more exist: add --all to list them all, or a bigger --limit"
        )


@cli.command(cls=IdCommand)
@click.argument("artifact_id", metavar="ID")
@json_option
def versions(artifact_id: str, as_json: bool) -> None:
    """Show an artifact and its versions."""
    with ApiClient.from_config() as api:
        detail = api.get(artifact_id)
    if as_json:
        output.print_json(detail)
    else:
        output.show_versions(detail)


@cli.command(cls=IdCommand)
@click.argument("artifact_id", metavar="ID")
@click.option(
    "--version", "number", type=click.IntRange(min=1), metavar="N", help="Default: latest."
)
@click.option("-o", "--output", "target", metavar="FILE", help="Write here ('-' for stdout).")
def pull(artifact_id: str, number: int | None, target: str | None) -> None:
    """Download the exact bytes of a version.

    To stdout when it is not a terminal, else to a file named ID-vN.html (or .md).
    """
    with ApiClient.from_config() as api:
        detail = api.get(artifact_id)
        number = number or detail["latest_version"]
        if number not in {v["number"] for v in detail["versions"]}:
            raise ArtifactError(
                f"artifact {artifact_id} has no version {number} "
                f"(latest is {detail['latest_version']})",
                EXIT_NOT_FOUND,
            )
        if target == "-" or (target is None and not sys.stdout.isatty()):
            api.download(artifact_id, number, sys.stdout.buffer)
            sys.stdout.flush()
            return
        if target is None:
            target = f"{artifact_id}-v{number}.{'md' if detail['format'] == 'markdown' else 'html'}"
            if os.path.exists(target):
                raise ArtifactError(f"{target} exists: pass -o {target} to overwrite it", EXIT_FILE)
        size = _download_to(api, artifact_id, number, Path(target))
    output.note(f"saved version {number} to {target} ({size:,} bytes)")


def _download_to(api: ApiClient, artifact_id: str, number: int, target: Path) -> int:
    """Into a temporary file beside target, renamed at the end: no half-written file."""
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as error:
        raise ArtifactError(f"cannot write {target}: {error.strerror}", EXIT_FILE) from error
    try:
        with os.fdopen(fd, "wb") as sink:
            size = api.download(artifact_id, number, sink)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size


# --- Change ------------------------------------------------------------------------------
def _set_visibility(artifact_id: str, visibility: str, as_json: bool) -> None:
    with ApiClient.from_config() as api:
        artifact = api.update(artifact_id, visibility=visibility)
    if as_json:
        output.print_json(artifact)
        return
    output.show_artifact(artifact)
    who = "the whole organisation" if visibility == "org" else "only you"
    output.note(f"{artifact_id} is now visible to {who}")


@cli.command(cls=IdCommand)
@click.argument("artifact_id", metavar="ID")
@json_option
def share(artifact_id: str, as_json: bool) -> None:
    """Share an artifact with the whole organisation."""
    _set_visibility(artifact_id, "org", as_json)


@cli.command(cls=IdCommand)
@click.argument("artifact_id", metavar="ID")
@json_option
def unshare(artifact_id: str, as_json: bool) -> None:
    """Make an artifact private again."""
    _set_visibility(artifact_id, "private", as_json)


@cli.command(cls=IdCommand)
@click.argument("artifact_id", metavar="ID")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def rm(artifact_id: str, yes: bool, as_json: bool) -> None:
    """Delete an artifact and all its versions."""
    with ApiClient.from_config() as api:
        if not yes:
            if not _interactive():
                raise _usage("refusing to delete without --yes: stdin is not a terminal")
            detail = api.get(artifact_id)
            click.confirm(
                f"Delete {artifact_id} ({detail['title']!r}) and its "
                f"{len(detail['versions'])} version(s)?",
                abort=True,
            )
        api.delete(artifact_id)
    if as_json:
        output.print_json({"id": artifact_id, "deleted": True})
    else:
        output.note(f"deleted {artifact_id}")


# --- MCP ---------------------------------------------------------------------------------
@cli.command()
def mcp() -> None:
    """Run as an MCP server on stdio, for AI agents.

    Register it with: claude mcp add artifacts -- artifact mcp
    """
    from .mcp_server import serve  # the SDK is heavy: only this command imports it

    serve()


def main(argv: list[str] | None = None) -> int:
    try:
        code = cli.main(args=argv, prog_name="artifact", standalone_mode=False)
    except ArtifactError as error:
        return _fail(error.message, error.exit_code)
    except click.ClickException as error:
        hint = ""
        if isinstance(error, click.UsageError) and error.ctx is not None:
            hint = f" (see `{error.ctx.command_path} --help`)"
        return _fail(error.format_message() + hint, error.exit_code)
    except click.Abort as error:
        if isinstance(error.__cause__, KeyboardInterrupt):
            return _fail("interrupted", EXIT_INTERRUPTED)
        return _fail("aborted", 1)
    except BrokenPipeError:  # e.g. `artifact pull X | head`: the reader left, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code if isinstance(code, int) else 0


def _fail(message: str, code: int) -> int:
    click.echo(f"error: {one_line(message)}", err=True)
    return code
