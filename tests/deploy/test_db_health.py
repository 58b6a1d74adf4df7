"""A database connection that the server ended (a restart, an administrator) is replaced
before a request uses it, and finding that out costs no query (config/postgres/base.py)."""

import time

import httpx
import psycopg
import pytest
from django.db import connection, connections

from tests.nodes import APP, Node

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL); CI runs it"
)


def _until(condition, seconds: float = 5.0) -> bool:
    """The server's notice reaches the socket a moment after it ends the session."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.django_db
def test_the_health_check_tells_a_live_connection_from_one_the_server_ended():
    other = connections.create_connection("default")
    try:
        other.ensure_connection()
        assert other.is_usable()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [other.connection.info.backend_pid])
            assert cursor.fetchone() == (True,)
        assert _until(lambda: not other.is_usable())
    finally:
        other.close()


@pytest.mark.django_db
def test_a_connection_left_in_a_failed_transaction_is_not_reused():
    other = connections.create_connection("default")
    try:
        other.ensure_connection()
        other.connection.execute("BEGIN")
        with pytest.raises(psycopg.errors.DivisionByZero):
            other.connection.execute("SELECT 1 / 0")
        assert not other.is_usable()
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_a_node_serves_on_after_every_connection_it_holds_is_ended():
    node = Node()
    try:
        client = httpx.Client(base_url=node.base, headers={"Host": APP})
        for _ in range(40):  # every thread of both workers opens its persistent connection
            assert client.get("/_/health").status_code == 200
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchone()[0] >= 1
        time.sleep(0.3)
        statuses = [client.get("/_/health").status_code for _ in range(40)]
        assert statuses == [200] * 40
    finally:
        node.stop()
