"""A Markdown blob's page (SPEC §5): rendered and sanitised once per blob, then stored
beside it for every later view (artifacts.render does the rendering itself)."""

from . import storage
from .render import markdown_render


def blob_render_now(sha256: str) -> None:
    """Render a Markdown blob to its sanitised page, once per blob (idempotent)."""
    if storage.rendered_exists(sha256):
        return
    with storage.blob_open(sha256) as fh:
        source = fh.read().decode("utf-8")
    storage.rendered_store(sha256, markdown_render(source))
