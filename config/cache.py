"""A Redis cache that survives Redis going away.

What the app keeps in this cache (rate-limit counters, "render already queued" markers)
may be lost: a Redis outage must cost that, not every request. Reads then miss, writes
do nothing, and each failure is logged; the next call tries Redis again, so service comes
back with Redis. Sandbox grants, which must not be lost, live in the database.
"""

import functools
import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError, TimeoutError

logger = logging.getLogger(__name__)

_OUTAGE = (ConnectionError, TimeoutError)
# What each call answers while Redis is away: a miss, or "not done" — except add(), which
# answers "added": callers use it as a lock or a once-marker (allauth's rate limiter locks
# with it), and a lock nobody can take would refuse every sign-in. Fail open, not shut.
_FALLBACK = {
    "add": True,
    "get": None,
    "set": None,
    "touch": False,
    "delete": False,
    "get_many": {},
    "has_key": False,
    "set_many": [],
    "delete_many": None,
    "clear": None,
}


def _survive(name, method):
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except _OUTAGE as exc:
            logger.warning("cache %s failed, Redis unavailable: %s", name, exc)
            if name == "get":
                return kwargs.get("default", args[1] if len(args) > 1 else None)
            return _FALLBACK[name]

    return call


class ResilientRedisCache(RedisCache):
    pass


for _name in _FALLBACK:
    setattr(ResilientRedisCache, _name, _survive(_name, getattr(RedisCache, _name)))
