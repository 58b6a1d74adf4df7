"""Test settings: the real database (PostgreSQL when DATABASE_URL is set), fast hashing."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import STORAGES

SECRET_KEY = "test-only-not-secret"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Blobs of a test run go to a throwaway folder, never to the developer's data dir.
_TMP = Path(tempfile.mkdtemp(prefix="artifacts-test-"))
STORAGES = {**STORAGES, "blobs": {**STORAGES["blobs"], "OPTIONS": {"location": _TMP / "blobs"}}}
FILE_UPLOAD_TEMP_DIR = _TMP / "tmp"
FILE_UPLOAD_TEMP_DIR.mkdir()
STATIC_ROOT = _TMP / "static"
STATIC_ROOT.mkdir()
CELERY_TASK_ALWAYS_EAGER = True
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_USE_FINDERS = True  # app static files served in tests, as after collectstatic
