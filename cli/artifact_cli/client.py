"""The HTTP client of `/api/v1/`: bearer auth, safe retries, one error type.

Retries: a request that never reached the server (connect error) is always retried; one
cut off mid-way (connection reset) or answered 502/503/504 by a proxy is retried only when
replaying it cannot do anything twice: reads, PATCH, DELETE, and pushes, which carry an
`Idempotency-Key` the server answers with the first result. Backoff doubles per attempt.
"""

import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, NamedTuple

import httpx

from . import __version__
from .config import Config
from .config import load as load_config
from .errors import (
    EXIT_API,
    EXIT_AUTH,
    EXIT_CONFLICT,
    EXIT_FILE,
    EXIT_NOT_FOUND,
    EXIT_UNREACHABLE,
    ArtifactError,
)
from .upload import Upload

ATTEMPTS = 3
BACKOFF = 0.5  # seconds before the 2nd attempt; doubled for each next one
RETRY_STATUSES = {502, 503, 504}
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout)
CUT_OFF = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
STATUS_EXIT = {
    401: EXIT_AUTH,
    403: EXIT_AUTH,
    404: EXIT_NOT_FOUND,
    409: EXIT_CONFLICT,
    413: EXIT_FILE,
    415: EXIT_FILE,
}

PAGE_SIZE = 50  # the server's default page
MAX_PAGE_SIZE = 200  # the most the server gives in one page

Progress = Callable[[int, int], None]  # (bytes sent, total)


class Page(NamedTuple):
    """Artifacts in the list's order (last updated first), and the cursor of the page after
    them: None when there are no more."""

    items: list[dict]
    next_cursor: str | None


class ProgressReader:
    """A file wrapper that reports how far httpx has read it while streaming the upload.

    It keeps `fileno`/`seek`/`tell` so httpx can still size the body (Content-Length: the
    server refuses chunked uploads) and rewind it for a retry.
    """

    def __init__(self, file: BinaryIO, total: int, report: Progress):
        self._file, self._total, self._report = file, total, report

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        self._report(self._file.tell(), self._total)
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:
        return self._file.fileno()


class ApiClient:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        timeout: float = 120.0,
    ):
        self.url = url
        self.attempts = attempts
        self.backoff = backoff
        self._http = httpx.Client(
            base_url=f"{url}/api/v1",
            headers={
                "Authorization": f"Bearer {token}",
                "User-Agent": f"artifact-cli/{__version__}",
            },
            timeout=httpx.Timeout(timeout, connect=10.0),
            # Source downloads may redirect to object storage (a short-lived signed URL;
            # httpx drops the Authorization header on the way to another origin).
            follow_redirects=True,
        )

    @classmethod
    def from_config(cls, config: Config | None = None, **options) -> "ApiClient":
        config = config or load_config()
        return cls(config.url, config.token, **options)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ApiClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- The API ---------------------------------------------------------------------------
    def me(self) -> dict:
        return self._json("GET", "/me")

    def server_version(self) -> dict:
        return self._json("GET", "/version")

    def push(
        self,
        upload: Upload,
        *,
        artifact_id: str | None = None,
        title: str | None = None,
        visibility: str | None = None,
        message: str | None = None,
        base_version: int | None = None,
        idempotency_key: str | None = None,
        progress: Progress | None = None,
        collection: str | None = None,
    ) -> dict:
        """A new artifact (filed in `collection`, if given), or with `artifact_id` its next
        version. One key for all attempts."""
        fields = {"message": message, "base_version": base_version}
        if artifact_id is None:
            fields |= {"title": title, "visibility": visibility, "collection": collection}
            path = "/artifacts"
        else:
            path = f"/artifacts/{artifact_id}/versions"
        file = ProgressReader(upload.file, upload.size, progress) if progress else upload.file
        return self._json(
            "POST",
            path,
            headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
            files={"file": (upload.name, file)},
            data={k: str(v) for k, v in fields.items() if v is not None},
            not_found=artifact_id and _no_artifact(artifact_id),
        )

    def list(
        self, query: str = "", *, limit: int = PAGE_SIZE, cursor: str | None = None, **filters: str
    ) -> Page:
        """One page of the artifacts you can see (titles containing `query`, narrowed by
        `filters`: scope, author, format, updated_since, sort): at most `limit`
        (1..MAX_PAGE_SIZE), from `cursor` (the `next_cursor` of the page before) on."""
        # Last updated first unless told otherwise (the server ranks a search by relevance).
        filters["sort"] = filters.get("sort") or "updated"
        params: dict[str, Any] = {"limit": limit, **{k: v for k, v in filters.items() if v}}
        if query:
            params["q"] = query
        if cursor:
            params["cursor"] = cursor
        answer = self._json("GET", "/artifacts", params=params)
        try:
            items, next_cursor = answer["items"], answer["next_cursor"]
        except (KeyError, TypeError) as error:
            raise ArtifactError(
                f"unexpected answer from {self.url}: the artifact list is not a page "
                "(is the server older than this CLI?)"
            ) from error
        if next_cursor and (not items or next_cursor == cursor):
            raise ArtifactError(f"unexpected answer from {self.url}: a page that leads nowhere")
        return Page(items, next_cursor or None)

    def list_first(
        self, query: str = "", count: int = PAGE_SIZE, *, cursor: str | None = None, **filters: str
    ) -> Page:
        """Up to `count` artifacts from `cursor` on, in as many pages as that takes, and the
        cursor after the last of them (None: there are no more)."""
        items: list[dict] = []
        while True:
            size = min(count - len(items), MAX_PAGE_SIZE)
            page = self.list(query, limit=size, cursor=cursor, **filters)
            items += page.items
            cursor = page.next_cursor
            if cursor is None or len(items) >= count:
                return Page(items, cursor)

    def list_all(
        self, query: str = "", *, limit: int = MAX_PAGE_SIZE, **filters: str
    ) -> Iterator[dict]:
        """Every artifact you can see (titles containing `query`, narrowed by `filters`),
        `limit` per request."""
        cursor = None
        while True:
            page = self.list(query, limit=limit, cursor=cursor, **filters)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def file_in(self, artifact_id: str, collection: str) -> dict:
        """Add the artifact to a collection (made if the org has none of that name)."""
        current = self.get(artifact_id)["collections"]
        return self.update(artifact_id, collections=[*current, collection])

    def views(self, artifact_id: str, *, limit: int = PAGE_SIZE, cursor: str | None = None) -> dict:
        """Who opened the artifact (its author and the org's admins may ask): one page."""
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        return self._json(
            "GET",
            f"/artifacts/{artifact_id}/views",
            params=params,
            not_found=_no_artifact(artifact_id),
        )

    def get(self, artifact_id: str) -> dict:
        return self._json("GET", f"/artifacts/{artifact_id}", not_found=_no_artifact(artifact_id))

    def update(self, artifact_id: str, **fields: Any) -> dict:
        return self._json(
            "PATCH", f"/artifacts/{artifact_id}", json=fields, not_found=_no_artifact(artifact_id)
        )

    def delete(self, artifact_id: str) -> None:
        self._send(
            "DELETE", f"/artifacts/{artifact_id}", not_found=_no_artifact(artifact_id), gone_ok=True
        )

    def download(self, artifact_id: str, number: int, sink: BinaryIO) -> int:
        """Stream the exact bytes of a version into sink; returns their count."""
        response = self._send(
            "GET",
            f"/artifacts/{artifact_id}/versions/{number}/source",
            stream=True,
            not_found=f"artifact {artifact_id} has no version {number} (or is not visible to you)",
        )
        written = 0
        try:
            for chunk in response.iter_bytes():
                sink.write(chunk)
                written += len(chunk)
        except httpx.TransportError as error:
            raise self._unreachable(error) from error
        finally:
            response.close()
        return written

    # --- Plumbing --------------------------------------------------------------------------
    def _json(self, method: str, path: str, **kwargs) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as error:
            raise ArtifactError(
                f"unexpected answer from {self.url} (HTTP {response.status_code}, not JSON)"
            ) from error

    def _send(
        self,
        method: str,
        path: str,
        *,
        stream: bool = False,
        not_found: str | None = None,
        gone_ok: bool = False,
        **kw,
    ) -> httpx.Response:
        """The response of the first attempt that got a final answer.

        gone_ok: a 404 after an attempt that may have acted (a DELETE whose answer was
        lost) is that attempt's success, not an error.
        """
        may_have_acted = False
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            request = self._http.build_request(method, path, **kw)
            try:
                response = self._http.send(request, stream=stream)
            except NEVER_SENT as error:
                if last:
                    raise self._unreachable(error) from error
            except CUT_OFF as error:
                if last or (method == "POST" and "Idempotency-Key" not in request.headers):
                    raise self._unreachable(error) from error
                may_have_acted = True
            except httpx.TransportError as error:
                raise self._unreachable(error) from error
            else:
                if response.status_code not in RETRY_STATUSES or last:
                    break
                response.close()
                may_have_acted = True
            time.sleep(self.backoff * 2 ** (attempt - 1))
        if response.is_success or (gone_ok and may_have_acted and response.status_code == 404):
            return response
        if stream:
            response.read()
        raise _api_error(response, not_found)

    def _unreachable(self, error: httpx.TransportError) -> ArtifactError:
        if isinstance(error, httpx.TimeoutException):
            return ArtifactError(f"{self.url} did not answer in time", EXIT_UNREACHABLE)
        reason = re.sub(r"^\[Errno -?\d+\]\s*", "", str(error)) or type(error).__name__
        hint = " (is the server running?)" if "refused" in reason.lower() else ""
        return ArtifactError(f"cannot reach {self.url}: {reason}{hint}", EXIT_UNREACHABLE)


def _no_artifact(artifact_id: str) -> str:
    return f"artifact {artifact_id} not found (or not visible to you)"


def _api_error(response: httpx.Response, not_found: str | None) -> ArtifactError:
    status = response.status_code
    try:
        error = response.json()["error"]
        code, message = error["code"], error["message"]
        details = {k: v for k, v in error.items() if k not in ("code", "message", "details")}
    except (ValueError, KeyError, TypeError):
        code, message, details = None, response.reason_phrase or "error", {}
    if status == 401:
        message = "the server refused the token (HTTP 401): run `artifact login` again"
    elif status == 404 and not_found:
        message = not_found
    elif status >= 500:
        message = f"server error (HTTP {status}): {message}"
    return ArtifactError(
        message, STATUS_EXIT.get(status, EXIT_API), status=status, code=code, details=details
    )
