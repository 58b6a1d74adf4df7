"""Queries planned for their own parameters, every time.

The PostgreSQL backend prepares a query the fifth time a connection runs it (settings:
prepare_threshold), and PostgreSQL then soon plans it once for any parameters: right for a
lookup by key (the sandbox's grant, a session), wrong for a list whose best plan depends
on what is asked. A search for a common word and one for a rare word want different
plans, and the one plan made for both cost a common word 208 ms against 88 ms
(bench/bench_scale.py). Inside `planned_per_query()` the backend sends queries unprepared,
which PostgreSQL plans with their values (config/postgres/base.py)."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

planned_per_query_now: ContextVar[bool] = ContextVar("planned_per_query_now", default=False)


@contextmanager
def planned_per_query() -> Iterator[None]:
    token = planned_per_query_now.set(True)
    try:
        yield
    finally:
        planned_per_query_now.reset(token)
