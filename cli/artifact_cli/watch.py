"""`artifact push FILE --watch`: the live page follows the file.

The file is polled (a stat every POLL seconds: no dependency, and it sees editors that save
by writing a new file and renaming it over the old one). A change is pushed once the file
has stayed the same for SETTLE seconds, so a save in several writes is one version; bytes
equal to the last push (sha256) are not pushed again. A push the server cannot take right
now (down, restarting, busy: connection refused, 429, 5xx after the client's own retries)
is tried again with the same bytes and Idempotency-Key until it lands, so a restart costs
no version and makes none twice. A save the server refuses (wrong type, not UTF-8, over
16 MiB) is reported, and the next save is pushed.
"""

import hashlib
import os
import time
from collections.abc import Callable, Iterator

from .errors import EXIT_FILE, EXIT_UNREACHABLE, ArtifactError

POLL = 0.2  # seconds between two looks at the file
SETTLE = 0.3  # seconds a change must hold before it is pushed
RETRY_FIRST, RETRY_MAX = 2.0, 30.0  # seconds before the next try of a push not taken
REFUSED_SAVE = {400, 413, 415, 422}  # this save's content or form: the next one may do


def stamp(path: str) -> tuple | None:
    """What tells one state of the file from the next (None: not there right now)."""
    try:
        st = os.stat(path)
    except OSError:  # between an editor's delete and its rename, or unreadable for now
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def changes(
    path: str, seen: tuple | None, *, sleep: Callable[[float], None] = time.sleep
) -> Iterator[None]:
    """Yields each time the file changed from `seen` (its stamp when its bytes were read
    last) and has then stayed the same for SETTLE seconds."""
    while True:
        sleep(POLL)
        now = stamp(path)
        if now == seen or now is None:
            continue
        while True:  # settle: the same stamp for SETTLE seconds
            sleep(SETTLE)
            later = stamp(path)
            if later == now:
                break
            now = later
        seen = now
        if now is not None:
            yield


def sha256_of(file) -> str:
    """The sha256 of an open file's bytes, read in chunks; the file is rewound."""
    file.seek(0)
    digest = hashlib.file_digest(file, "sha256").hexdigest()
    file.seek(0)
    return digest


def retryable(error: ArtifactError) -> bool:
    """The server could not take the push now, but may in a moment (a restart, a limit)."""
    status = error.status or 0
    return error.exit_code == EXIT_UNREACHABLE or status == 429 or status >= 500


def refused_save(error: ArtifactError) -> bool:
    """This save cannot be pushed (read locally, or by the server), the next one may."""
    return error.exit_code == EXIT_FILE or error.status in REFUSED_SAVE
