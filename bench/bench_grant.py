"""CPU of one warm sandbox authorisation, in-process: `grant_redeem` of a grant whose
decision is cached (the grant query with its live session and generations, then the
per-process decision). What the serving bench's "sandbox" row pays per request in Django,
without nginx, gunicorn or wrk around it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/benchgrant \\
    REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/bench_grant.py

The database is migrated and gets a throwaway org; use a scratch one (it is not cleaned).
Prints the CPU and wall time per redeem, median of --rounds rounds of --redeems each.
"""

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redeems", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "false")  # no query log: as a server runs

    import django

    django.setup()
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client

    from artifacts.models import Artifact
    from artifacts.sandbox.grants import grant_mint, grant_redeem
    from orgs.services import member_add, org_create, token_create

    call_command("migrate", verbosity=0)
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # WhiteNoise looks there
    slug = f"bench-{secrets.token_hex(4)}"
    org = org_create(slug=slug)
    user = member_add(organization=org, email=f"{slug}@example.com", role="owner").user
    _, token = token_create(user=user, organization=org, name="bench", mfa_used=True)
    pushed = Client(HTTP_HOST="localhost:8000").post(
        "/api/v1/artifacts",
        {"file": SimpleUploadedFile("p.html", b"<p>bench</p>")},
        headers={"Authorization": f"Bearer {token}"},
    )
    browser = Client(HTTP_HOST="localhost:8000")
    browser.force_login(user)  # a real session, in the session table
    artifact = Artifact.objects.get(pk=pushed.json()["id"])
    grant = grant_mint(
        user=user,
        session_key=browser.session.session_key,
        artifact=artifact,
        version=artifact.versions.get(),
    )

    for _ in range(200):  # the decision cached, the statements prepared
        grant_redeem(grant)
    cpu, wall = [], []
    for _ in range(args.rounds):
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(args.redeems):
            grant_redeem(grant)
        cpu.append((time.process_time() - c0) / args.redeems * 1e6)
        wall.append((time.perf_counter() - w0) / args.redeems * 1e6)
    print(
        f"warm grant_redeem: {statistics.median(cpu):.0f} us CPU, "
        f"{statistics.median(wall):.0f} us wall (median of {args.rounds} x {args.redeems}; "
        f"rounds: {' '.join(f'{c:.0f}' for c in cpu)} us CPU)"
    )


if __name__ == "__main__":
    main()
