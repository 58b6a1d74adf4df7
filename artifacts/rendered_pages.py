"""A Markdown blob's rendered page (SPEC §5): made once per blob, then stored beside it for
every later view (artifacts.render does the rendering and sanitising itself)."""

import re
from functools import lru_cache

from . import storage
from .render import DIAGRAMS_PAGE, markdown_render


def blob_render_now(sha256: str) -> None:
    """Render a Markdown blob to its sanitised page, once per blob (idempotent)."""
    if storage.rendered_exists(sha256):
        return
    with storage.blob_open(sha256) as fh:
        source = fh.read().decode("utf-8")
    storage.rendered_store(sha256, markdown_render(source))


_SCRIPT_HASH = re.compile(r'(sha256-[A-Za-z0-9+/]{43}=)">')


@lru_cache(maxsize=65536)
def rendered_script_hash(sha256: str) -> str:
    """The CSP source of the one script the blob's stored page runs (its diagrams), or "".
    Read from the page's first bytes, written by the renderer (never by the author), once
    per process: a stored page is never rewritten. The caller has checked it exists."""
    head_size = len(DIAGRAMS_PAGE) + len("sha256-") + 44 + len('">')
    with storage.blob_storage().open(storage.rendered_name(sha256), "rb") as fh:
        head = fh.read(head_size).decode("ascii", "replace")
    if not head.startswith(DIAGRAMS_PAGE):
        return ""
    found = _SCRIPT_HASH.match(head, len(DIAGRAMS_PAGE))
    return f"'{found[1]}'" if found else ""
