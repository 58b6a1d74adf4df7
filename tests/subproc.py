"""Running the project's own processes (manage.py, a Celery worker) against the test
database and blob folder of the current test, which must commit its data
(`django_db(transaction=True)`) for them to see it."""

import os
import subprocess
import sys

from django.conf import settings
from django.db import connection

from tests.liveserver import ROOT


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    user = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


def env(**extra) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "ARTIFACTS_TEST_TMP": str(settings.TEST_TMP),
        **extra,
    }


def manage(*args, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
