"""A Markdown blob's rendered page (SPEC §5): made once per blob, then stored beside it for
every later view (artifacts.render does the rendering and sanitising itself)."""

from . import storage
from .render import markdown_render


def blob_render_now(sha256: str) -> None:
    """Render a Markdown blob to its sanitised page, once per blob (idempotent)."""
    if storage.rendered_exists(sha256):
        return
    with storage.blob_open(sha256) as fh:
        source = fh.read().decode("utf-8")
    storage.rendered_store(sha256, markdown_render(source))
