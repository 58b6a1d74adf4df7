"""`artifact push FILE --watch`: the live page follows the file.

The file is polled (a stat every POLL seconds: no dependency, and it sees editors that save
by writing a new file and renaming it over the old one). A change is pushed once the file
has stayed the same for SETTLE seconds, so a save in several writes is one version; bytes
equal to the last push (sha256) are not pushed again. A push the server cannot take right
now (down, restarting: connection refused, 502/503/504 after the client's own retries) is
tried again with the same Idempotency-Key until it lands, so a restart costs no version and
makes none twice.
"""

import hashlib
import os
import time
from collections.abc import Callable, Iterator

from .errors import EXIT_UNREACHABLE, ArtifactError

POLL = 0.2  # seconds between two looks at the file
SETTLE = 0.3  # seconds a change must hold before it is pushed
RETRY_EVERY = 2.0  # seconds between two tries of a push the server could not take
RETRY_STATUSES = {502, 503, 504}


def stamp(path: str) -> tuple | None:
    """What tells one state of the file from the next (None: not there right now)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:  # between an editor's delete and its rename
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
    """The server could not take the push now, but may in a moment (a restart)."""
    return error.exit_code == EXIT_UNREACHABLE or error.status in RETRY_STATUSES
