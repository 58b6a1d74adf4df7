"""Background work on artifacts (thin: the logic lives in plain functions)."""

import logging

from celery import shared_task

from . import storage

logger = logging.getLogger(__name__)


def blob_render_now(sha256: str) -> None:
    """Render a Markdown blob to its sanitised page, once per blob (idempotent)."""
    from .render import markdown_render

    if storage.rendered_exists(sha256):
        return
    with storage.blob_open(sha256) as fh:
        source = fh.read().decode("utf-8")
    storage.rendered_store(sha256, markdown_render(source))


@shared_task
def blob_render(sha256: str) -> None:
    """A big Markdown blob, rendered in the background, then its page compressed."""
    blob_render_now(sha256)
    blob_compress(sha256, markdown=True)


@shared_task
def blob_compress(sha256: str, markdown: bool = False) -> None:
    """The gzip and brotli variants of what the sandbox serves for a blob (idempotent)."""
    from .compress import served_name, variants_make

    variants_make(served_name(sha256, markdown))


@shared_task
def enforce_retention() -> dict:
    """Every org's retention policy, then the blob collector (CELERY_BEAT_SCHEDULE runs it
    every ARTIFACTS_RETENTION_EVERY seconds). Safe to overlap with another run."""
    from dataclasses import asdict

    from .retention import retention_enforce

    report = asdict(retention_enforce())
    logger.info("retention run: %s", report)
    return report


@shared_task
def notices_email(notification_ids: list[int]) -> None:
    """One email per author with their in-app notices (expiry warnings), sent once: a
    notice already emailed is skipped, so a redelivered task sends nothing twice."""
    from .notices import notices_email_send

    notices_email_send(notification_ids)
