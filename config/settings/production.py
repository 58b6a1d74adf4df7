"""Production: every required variable must be set (a clear error names the missing ones),
cookies and transport are locked down, logs are JSON lines.

Required: DJANGO_SECRET_KEY, DATABASE_URL, REDIS_URL, ARTIFACTS_APP_URL and
ARTIFACTS_SANDBOX_URL (both https). See docs/deploy.md.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import ARTIFACTS_APP_URL, ARTIFACTS_SANDBOX_URL, FILE_UPLOAD_TEMP_DIR, LOGGING, env_bool

REQUIRED = (
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "ARTIFACTS_APP_URL",
    "ARTIFACTS_SANDBOX_URL",
)
_missing = [name for name in REQUIRED if not os.environ.get(name, "").strip()]
if _missing:
    raise ImproperlyConfigured(f"Production settings need {', '.join(_missing)} (docs/deploy.md).")
for _name, _url in (
    ("ARTIFACTS_APP_URL", ARTIFACTS_APP_URL),
    ("ARTIFACTS_SANDBOX_URL", ARTIFACTS_SANDBOX_URL),
):
    if not _url.startswith("https://"):
        raise ImproperlyConfigured(f"{_name} must be an https:// URL in production, not {_url!r}.")

DEBUG = False
# Rotation: the old key(s), comma-separated, keep sessions and signatures valid meanwhile.
SECRET_KEY_FALLBACKS = [
    k for k in os.environ.get("DJANGO_SECRET_KEY_FALLBACKS", "").split(",") if k
]
# __Host-: the browser refuses these cookies unless Secure, host-only and Path=/, so no
# other host (the sandbox included) can ever set or receive them.
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = True
SECURE_REDIRECT_EXEMPT = [r"^_/health$"]  # the load balancer probes over plain HTTP
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = False
# Behind nginx every request comes from 127.0.0.1: sign-in rate limits per address must read
# the client from the X-Forwarded-For entry our own proxy added (allauth).
ALLAUTH_TRUSTED_PROXY_COUNT = int(os.environ.get("ARTIFACTS_TRUSTED_PROXIES", "1"))

FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)

# https://docs.djangoproject.com/en/6.1/ref/settings/#mailers
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": os.environ.get("EMAIL_HOST", "localhost"),
            "port": int(os.environ.get("EMAIL_PORT", "587")),
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", default=True),
        },
    }
}

# Structured logs: one JSON object per line on stderr, for the log collector.
LOGGING = {
    **LOGGING,
    "formatters": {"json": {"()": "config.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact_grants"],
            "formatter": "json",
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "celery": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
