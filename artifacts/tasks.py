"""Background work on artifacts (thin: the logic lives in plain functions)."""

from celery import shared_task

from . import storage


@shared_task
def blob_render(sha256: str) -> None:
    """Render a Markdown blob to its sanitised page, once per blob (idempotent)."""
    from .render import markdown_render

    if storage.rendered_exists(sha256):
        return
    with storage.blob_open(sha256) as fh:
        source = fh.read().decode("utf-8")
    storage.rendered_store(sha256, markdown_render(source))
