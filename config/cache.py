"""A Redis cache that survives Redis going away.

What the app keeps in this cache (rate-limit counters, "render already queued" markers)
may be lost: a Redis outage must cost that, not every request. Reads then miss, writes
do nothing, and each failure is logged; the next call tries Redis again, so service comes
back with Redis. Sandbox grants, which must not be lost, live in the database.
"""

import functools
import logging

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
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


class ReusedClientRedisCacheClient(RedisCacheClient):
    """One redis.Redis per connection pool, not one per call as Django makes: building one
    fills a table of some 170 response callbacks, which cost more than the GET it then
    sends (it was a fifth of a warm sandbox request). A client is thread-safe; connections
    still come from the pool."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient


for _name in _FALLBACK:
    setattr(ResilientRedisCache, _name, _survive(_name, getattr(RedisCache, _name)))
