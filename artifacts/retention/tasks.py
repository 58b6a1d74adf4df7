"""The periodic retention run (thin: the work is artifacts.retention.enforce)."""

import logging
from dataclasses import asdict

from celery import shared_task

from .enforce import retention_enforce

logger = logging.getLogger(__name__)


# The name it had before it moved here: the beat schedule and queued messages use it.
@shared_task(name="artifacts.tasks.enforce_retention")
def enforce_retention() -> dict:
    """Every org's retention policy, then the blob collector (CELERY_BEAT_SCHEDULE runs it
    every ARTIFACTS_RETENTION_EVERY seconds). Safe to overlap with another run."""
    report = asdict(retention_enforce())
    logger.info("retention run: %s", report)
    return report
