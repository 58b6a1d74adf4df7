"""The embedded default: SQLite and blobs under ARTIFACTS_DATA_DIR, no Redis needed."""

import secrets

from .base import *  # noqa: F403
from .base import DATA_DIR, FILE_UPLOAD_TEMP_DIR, SECRET_KEY, env_bool

DEBUG = env_bool("DJANGO_DEBUG", default=True)
FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)
# The folder broker's folders (Celery without Redis), whoever starts the app: `up`, or
# gunicorn by hand; else every push logs a failed render/compress request.
for _folder in ("broker", "broker-done", "broker-control"):
    (DATA_DIR / _folder).mkdir(parents=True, exist_ok=True)

if not SECRET_KEY:
    # A per-install key kept beside the data, so sessions survive restarts.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    _key_file = DATA_DIR / "secret_key"
    if not _key_file.exists():
        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()
