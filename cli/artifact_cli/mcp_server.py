"""`artifact mcp`: the CLI's client as an MCP server on stdio (official MCP SDK, MCPServer).

An AI agent publishes, updates, shares, lists and reads artifacts through these tools, with
the same configuration and the same checks as the terminal commands. Every result carries
the artifact's URL; every failure is a tool error with the one-line message the terminal
would print. The configuration is read per call, so `artifact login` applies at once.
Nothing here writes to stdout: that is the protocol's channel.
"""

import io
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from .client import MAX_PAGE_SIZE, PAGE_SIZE, ApiClient
from .errors import EXIT_CONFLICT, ArtifactError
from .upload import upload_from_bytes, upload_from_path

INSTRUCTIONS = """\
Publish self-contained HTML or Markdown pages to the organisation's artifact server and get
a stable URL back. Pages are private unless shared with the organisation. A page loads
nothing from the network when viewed: inline scripts, styles and images (data: URIs); the
publish result lists in `warnings` what the sandbox will block. To update a page, publish
with its artifact_id (and base_version to avoid overwriting someone else's version)."""

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


@contextmanager
def _api() -> Iterator[ApiClient]:
    try:
        with ApiClient.from_config() as api:
            yield api
    except ArtifactError as error:
        raise ToolError(error.message) from error


def publish_artifact(
    content: Annotated[
        str | None, Field(description="The page itself, HTML or Markdown; give `name` too.")
    ] = None,
    name: Annotated[
        str | None,
        Field(
            description="File name for `content`, e.g. report.html or notes.md (sets the format)."
        ),
    ] = None,
    path: Annotated[
        str | None, Field(description="A local .html/.htm/.md/.markdown file, instead of content.")
    ] = None,
    artifact_id: Annotated[
        str | None, Field(description="Publish a new version of this artifact instead.")
    ] = None,
    title: Annotated[str | None, Field(description="Title (default: the file name).")] = None,
    message: Annotated[str | None, Field(description="What changed in this version.")] = None,
    share: Annotated[bool, Field(description="Share with the whole organisation.")] = False,
    base_version: Annotated[
        int | None,
        Field(description="With artifact_id: refuse if the live version is no longer this one."),
    ] = None,
    collection: Annotated[
        str | None, Field(description="File it in this collection (made if the org has none).")
    ] = None,
) -> dict[str, Any]:
    """Publish an HTML or Markdown page (new artifact, or a new version with artifact_id).

    Returns the stable `url` (always the latest version), `version_url`, the version number,
    the visibility and `warnings` about what the sandbox will block.
    """
    if (content is None) == (path is None):
        raise ToolError("give either `content` (with `name`) or `path`")
    if base_version is not None and artifact_id is None:
        raise ToolError("base_version needs artifact_id")
    with _api() as api:
        if content is not None:
            if not name:
                raise ToolError("give `name` with `content`, e.g. page.html or notes.md")
            upload = upload_from_bytes(content.encode("utf-8"), name, f"content of {name}")
        else:
            upload = upload_from_path(os.path.expanduser(path))
        with upload:
            try:
                result = api.push(
                    upload,
                    artifact_id=artifact_id,
                    title=title,
                    visibility="org" if share else None,
                    message=message,
                    base_version=base_version,
                    idempotency_key=str(uuid.uuid4()),
                    collection=collection,
                )
            except ArtifactError as error:
                if error.exit_code == EXIT_CONFLICT and "current_version" in error.details:
                    live = error.details["current_version"]
                    raise ToolError(
                        f"version {live} of {artifact_id} is live, not {base_version}: fetch it "
                        f"with fetch_artifact_source, merge, and publish with base_version={live}; "
                        "or omit base_version to overwrite"
                    ) from error
                raise
        if artifact_id and (title or share):  # the versions endpoint takes neither
            changes = {"title": title, "visibility": "org" if share else None}
            artifact = api.update(artifact_id, **{k: v for k, v in changes.items() if v})
            result["visibility"] = artifact["visibility"]
        if artifact_id and collection:
            api.file_in(artifact_id, collection)
    return result


def list_artifacts(
    query: Annotated[
        str, Field(description="Words to search for in titles, version messages and pages.")
    ] = "",
    limit: Annotated[
        int, Field(ge=1, le=MAX_PAGE_SIZE, description="How many to return at most.")
    ] = PAGE_SIZE,
    cursor: Annotated[
        str | None,
        Field(description="The next_cursor of the previous call, to get the ones after it."),
    ] = None,
    scope: Annotated[
        Literal["org", "mine", "shared"],
        Field(description="org: all you can see; mine: yours; shared: shared with you."),
    ] = "org",
    author: Annotated[str, Field(description="Only this author's (an email).")] = "",
    format: Annotated[Literal["", "html", "markdown"], Field(description="Only this format.")] = "",
    updated_since: Annotated[
        str, Field(description="Only those updated since this date or ISO 8601 time.")
    ] = "",
    sort: Annotated[
        Literal["updated", "title", "created", "relevance"] | None,
        Field(
            description="updated: last updated first; title; created: newest first; "
            "relevance: best matches of `query` first. By default relevance with a "
            "`query`, updated without."
        ),
    ] = None,
    collection: Annotated[str, Field(description="Only those in this collection (slug).")] = "",
) -> dict[str, Any]:
    """List the artifacts you can see in your organisation (the best matches of `query`
    first, or the last updated) with their URLs: at most `limit` of them. More may follow: when
    `next_cursor` is not null, call again with that cursor (and the same filters) for the
    next ones."""
    filters = {
        "scope": scope,
        "author": author,
        "format": format,
        "updated_since": updated_since,
        "sort": sort or ("relevance" if query else "updated"),
        "collection": collection,
    }
    with _api() as api:
        artifacts, next_cursor = api.list_first(query, limit, cursor=cursor, **filters)
    return {"artifacts": artifacts, "next_cursor": next_cursor}


def artifact_versions(
    artifact_id: Annotated[str, Field(description="The artifact's id.")],
) -> dict[str, Any]:
    """An artifact's details and its versions (number, size, sha256, author, message)."""
    with _api() as api:
        return api.get(artifact_id)


def artifact_views(
    artifact_id: Annotated[str, Field(description="The artifact's id.")],
    limit: Annotated[
        int, Field(ge=1, le=MAX_PAGE_SIZE, description="How many opens to list at most.")
    ] = PAGE_SIZE,
    cursor: Annotated[
        str | None, Field(description="The next_cursor of the previous call, for older opens.")
    ] = None,
) -> dict[str, Any]:
    """Who opened an artifact, and when: `views` (one per member, version and half hour),
    `unique_viewers`, `last_viewed_at`, each version's counts, and the opens newest first
    (`items`; more follow when `next_cursor` is not null). Only its author and the org's
    admins may ask; for anyone else it is a tool error."""
    with _api() as api:
        return api.views(artifact_id, limit=limit, cursor=cursor)


def share_artifact(
    artifact_id: Annotated[str, Field(description="The artifact's id.")],
) -> dict[str, Any]:
    """Share an artifact with the whole organisation; returns it with its URL."""
    with _api() as api:
        return api.update(artifact_id, visibility="org")


def unshare_artifact(
    artifact_id: Annotated[str, Field(description="The artifact's id.")],
) -> dict[str, Any]:
    """Make an artifact private again: only its author can open it."""
    with _api() as api:
        return api.update(artifact_id, visibility="private")


def fetch_artifact_source(
    artifact_id: Annotated[str, Field(description="The artifact's id.")],
    version: Annotated[int | None, Field(description="Version number (default: latest).")] = None,
) -> dict[str, Any]:
    """The exact source (HTML or Markdown) of a version, with the artifact's URL."""
    with _api() as api:
        detail = api.get(artifact_id)
        number = version or detail["latest_version"]
        sink = io.BytesIO()
        api.download(artifact_id, number, sink)
    return {
        "id": artifact_id,
        "version": number,
        "format": detail["format"],
        "url": detail["url"],
        "source": sink.getvalue().decode("utf-8", errors="replace"),
    }


def build_server() -> MCPServer:
    server = MCPServer("artifacts", instructions=INSTRUCTIONS, version="1", log_level="WARNING")
    server.add_tool(publish_artifact)
    server.add_tool(list_artifacts, annotations=READ_ONLY)
    server.add_tool(artifact_versions, annotations=READ_ONLY)
    server.add_tool(artifact_views, annotations=READ_ONLY)
    server.add_tool(share_artifact, annotations=ToolAnnotations(idempotent_hint=True))
    server.add_tool(unshare_artifact, annotations=ToolAnnotations(idempotent_hint=True))
    server.add_tool(fetch_artifact_source, annotations=READ_ONLY)
    return server


def serve() -> None:
    build_server().run("stdio")
