"""The one error type of the CLI and the exit codes it maps to.

Every failure (local file, configuration, network, HTTP) becomes an `ArtifactError` with a
one-line message, so `main` prints `error: <message>` and exits with a stable code that
scripts can branch on.
"""

EXIT_OK = 0
EXIT_API = 1  # any other refusal or failure of the server (400, 5xx, ...)
EXIT_USAGE = 2  # bad arguments (click uses 2 too)
EXIT_AUTH = 3  # not logged in, token refused (401) or not allowed (403)
EXIT_NOT_FOUND = 4  # no such artifact or version, or not visible to you (404)
EXIT_CONFLICT = 5  # --base-version is behind the live version (409)
EXIT_FILE = 6  # local file missing/unreadable, wrong type, not UTF-8, too large (or 413/415)
EXIT_UNREACHABLE = 7  # server down, DNS failure, timeout


class ArtifactError(Exception):
    """A failure to report as one line; `status`/`code`/`details` come from the API."""

    def __init__(
        self,
        message: str,
        exit_code: int = EXIT_API,
        *,
        status: int | None = None,
        code: str | None = None,
        details: dict | None = None,
    ):
        self.message = one_line(message)
        super().__init__(self.message)
        self.exit_code = exit_code
        self.status = status
        self.code = code
        self.details = details or {}


def one_line(text: str) -> str:
    """Collapse whitespace: an error message must never spill over several lines."""
    return " ".join(str(text).split())
