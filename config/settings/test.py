"""Test settings: the real database (PostgreSQL when DATABASE_URL is set), fast hashing."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import CACHES, DATABASES, STORAGES

SECRET_KEY = "test-only-not-secret"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Blobs of a test run go to a throwaway folder, never to the developer's data dir. A
# subprocess of the suite (a Celery worker, a second enforce_retention) is handed the same
# folder in ARTIFACTS_TEST_TMP, and the same database (tests/subproc.py).
_TMP = Path(os.environ.get("ARTIFACTS_TEST_TMP") or tempfile.mkdtemp(prefix="artifacts-test-"))
STORAGES = {**STORAGES, "blobs": {**STORAGES["blobs"], "OPTIONS": {"location": _TMP / "blobs"}}}
FILE_UPLOAD_TEMP_DIR = _TMP / "tmp"
FILE_UPLOAD_TEMP_DIR.mkdir(exist_ok=True)
STATIC_ROOT = _TMP / "static"
STATIC_ROOT.mkdir(exist_ok=True)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so that subprocesses of the suite can open the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(_TMP / "test.sqlite3")}
TEST_TMP = _TMP
# One run's keys in a shared Redis are its own (the subprocesses share _TMP, so the prefix
# too): the test database starts over each run with the same ids, and what an earlier run
# left (sign-in counts, used TOTP codes) must not meet this one's users.
CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": _TMP.name}}
# Tasks run in the test's own process, except in the real workers some tests start
# (tests/retention/test_celery_worker.py), which consume a real Redis broker.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("ARTIFACTS_TEST_EAGER", "1") == "1"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_USE_FINDERS = True  # app static files served in tests, as after collectstatic
