"""Version numbering under concurrent pushes: no gap, no duplicate (real PostgreSQL)."""

import threading

import pytest
from django.db import connection

from artifacts.models import Version

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL); CI runs it"
)


@pytest.mark.django_db(transaction=True)
def test_parallel_pushes_number_versions_without_gap_or_duplicate(personas):
    member = personas["member"]
    artifact_id = member.push().json()["id"]
    threads, per_thread, statuses = 8, 5, []
    barrier = threading.Barrier(threads)

    def pusher(n):
        from django.db import connections

        barrier.wait()
        try:
            for i in range(per_thread):
                response = member.push(data=f"<p>{n}-{i}</p>".encode(), to=artifact_id)
                statuses.append(response.status_code)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=pusher, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert statuses == [201] * threads * per_thread
    numbers = sorted(
        Version.objects.filter(artifact_id=artifact_id).values_list("number", flat=True)
    )
    assert numbers == list(range(1, threads * per_thread + 2))
