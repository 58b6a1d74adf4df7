"""Background work on blobs (thin: the logic lives in plain functions). Retention's tasks
are in artifacts.retention."""

from celery import shared_task

from .readers import view_record  # noqa: F401  (a task: registered with these)
from .rendered_pages import blob_render_now
from .sandbox.compress import served_name, variants_make
from .search import search_index  # noqa: F401  (a task: registered with these)


@shared_task
def blob_render(sha256: str) -> None:
    """A big Markdown blob, rendered in the background, then its page compressed."""
    blob_render_now(sha256)
    blob_compress(sha256, markdown=True)


@shared_task
def blob_compress(sha256: str, markdown: bool = False) -> None:
    """The gzip and brotli variants of what the sandbox serves for a blob (idempotent)."""
    variants_make(served_name(sha256, markdown))
