"""Django's PostgreSQL backend with a free connection health check, and lists planned for
their own parameters (orgs.query_plans).

CONN_HEALTH_CHECKS makes Django send `SELECT 1` before the first query of every request,
so that a connection broken by a database restart is replaced instead of failing the
request. On the sandbox, whose warm path is a single query, that doubled the round trips
(about 15% of its throughput). A server that restarts, or ends a session, first writes
to the socket (its termination notice, then EOF), while a healthy idle connection has
nothing to read: a poll that does not wait tells the two apart. A server that vanished
without a word is found by TCP keepalives (settings: about a minute), which leave an
error on the socket that the same poll sees.
"""

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus

from orgs.query_plans import planned_per_query_now

_IDLE = (TransactionStatus.IDLE, TransactionStatus.INTRANS)


class ServerBindingCursor(base.ServerBindingCursor):
    """Django's cursor for server-side binding, which leaves psycopg to prepare a query
    run often, except inside orgs.query_plans.planned_per_query()."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        if prepare is None and planned_per_query_now.get():
            prepare = False
        return super().execute(query, params, prepare=prepare, binary=binary)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        if params.get("cursor_factory") is base.ServerBindingCursor:
            params["cursor_factory"] = ServerBindingCursor
        return params

    def is_usable(self):
        if self.connection is None or self.connection.closed:
            return False
        # A transaction left failed (or a connection in an unknown state) is no use either.
        if self.connection.info.transaction_status not in _IDLE:
            return False
        try:
            return not _has_input(self.connection.fileno())
        except (OSError, ValueError, psycopg.Error):  # the socket is gone already
            return False


def _has_input(fd: int) -> bool:
    """Anything to read, or an error, on an idle connection: news of its end (we never
    LISTEN, so there are no notifications)."""
    if hasattr(select, "poll"):  # select.select() fails on descriptors over 1023
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [fd], 0)[0])
