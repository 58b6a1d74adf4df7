"""GET /_/health on both hosts, for load balancers and orchestrators: 200 when this node can
reach the database and the blob storage, 503 naming what failed. Redis is reported but
does not fail the check: the app keeps serving without it (README, "Retention")."""

import logging

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from artifacts.storage import blob_storage

logger = logging.getLogger(__name__)


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _storage() -> None:
    blob_storage().exists("health-probe")  # a HEAD on S3, a stat on disk: raises if down


def _redis() -> None:
    redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()


@never_cache
def health(request):
    checks, failed = {}, False
    for name, probe, required in (
        ("database", _database, True),
        ("storage", _storage, True),
        ("redis", _redis if settings.REDIS_URL else None, False),
    ):
        if probe is None:  # the embedded default runs without Redis
            checks[name] = "not configured"
            continue
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # any failure is the answer, not an error of this view
            logger.warning("health: %s unavailable: %s", name, exc)
            checks[name] = "unavailable"
            failed = failed or required
    status = "unavailable" if failed else "ok"
    return JsonResponse({"status": status, "checks": checks}, status=503 if failed else 200)
