"""manage.py up — the embedded default in one command: migrate, make sure a demo org and
user exist, start a Celery worker on the folder broker, and run the server."""

import secrets
import subprocess
import sys
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from orgs.models import Organization, Role
from orgs.services import member_add, org_create

DEMO_EMAIL = "demo@example.com"


class Command(BaseCommand):
    help = "Set up and run the server on the embedded default (SQLite, local disk, no Redis)."

    def add_arguments(self, parser):
        parser.add_argument("--no-worker", action="store_true", help="don't start a Celery worker")

    def handle(self, *args, no_worker=False, **options):
        data = settings.DATA_DIR
        for sub in ("broker", "broker-done", "broker-control"):
            (data / sub).mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        password = self._demo_login()

        worker = None
        if not no_worker:
            worker = subprocess.Popen(  # noqa: S603
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--beat",  # the periodic retention run (one beat per install)
                    "--pool=solo",
                    "--loglevel=warning",
                ],
            )
        app = urlsplit(settings.ARTIFACTS_APP_URL)
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  App:      {settings.ARTIFACTS_APP_URL}/\n"
                f"  Sandbox:  {settings.ARTIFACTS_SANDBOX_URL}/ (serves artifact bytes only)\n"
                f"  Sign in:  {DEMO_EMAIL} / {password}\n"
                f"  Data:     {data}\n"
            )
        )
        try:
            call_command("runserver", f"127.0.0.1:{app.port or 8000}", use_reloader=False)
        finally:
            if worker is not None:
                worker.terminate()

    def _demo_login(self) -> str:
        """A demo org and user on first start; the password is kept beside the data."""
        login_file = settings.DATA_DIR / "demo-login.txt"
        if not Organization.objects.exists():
            password = secrets.token_urlsafe(9)
            org = org_create(slug="demo", name="Demo organisation")
            member_add(organization=org, email=DEMO_EMAIL, role=Role.OWNER, password=password)
            login_file.write_text(password)
            login_file.chmod(0o600)
        return login_file.read_text().strip() if login_file.exists() else "(your own account)"
