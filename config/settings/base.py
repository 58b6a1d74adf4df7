"""Settings shared by every environment, read from environment variables (SPEC §7).

Variables: ARTIFACTS_APP_URL, ARTIFACTS_SANDBOX_URL, DATABASE_URL, REDIS_URL,
ARTIFACTS_DATA_DIR, DJANGO_SECRET_KEY, DJANGO_DEBUG.
"""

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent.parent


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def env_bool(name: str, default: bool = False) -> bool:
    """A yes/no variable; unset or empty is the default, and anything unreadable stops the
    start naming the variable (a typo must not turn a setting off without a word)."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value not in _TRUE | _FALSE:
        raise ImproperlyConfigured(
            f"{name}={os.environ[name]!r}: use one of {', '.join(sorted(_TRUE | _FALSE))}."
        )
    return value in _TRUE


# --- Paths and origins -------------------------------------------------------------------
DATA_DIR = Path(os.environ.get("ARTIFACTS_DATA_DIR", BASE_DIR / ".data")).resolve()

ARTIFACTS_APP_URL = os.environ.get("ARTIFACTS_APP_URL", "http://localhost:8000").rstrip("/")
ARTIFACTS_SANDBOX_URL = os.environ.get(
    "ARTIFACTS_SANDBOX_URL", "http://usercontent.localhost:8000"
).rstrip("/")
APP_HOST = urlsplit(ARTIFACTS_APP_URL).hostname
SANDBOX_HOST = urlsplit(ARTIFACTS_SANDBOX_URL).hostname

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG")
ALLOWED_HOSTS = [APP_HOST, SANDBOX_HOST]

# --- Applications ------------------------------------------------------------------------
INSTALLED_APPS = [
    "config.apps.OperatorAdminConfig",  # Django's admin, signed in through allauth only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # full-text search on PostgreSQL (artifacts.search)
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "config.apps.ProjectConfig",  # the project's system checks
    "orgs",
    "artifacts",
]

MIDDLEWARE = [
    # SECURITY: first. Sandbox requests leave here for the sandbox's own small stack,
    # without cookies, and every sandbox response, errors included, leaves with the
    # sandbox headers. Everything below is the app host's.
    "config.hosts.SandboxHostMiddleware",
    "config.api.ApiJsonErrorsMiddleware",  # keeps the headers the ones below add
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # the app host's (sandbox requests left)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "orgs.middleware.AuthenticationMiddleware",  # Django's, and whether MFA was used
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
SANDBOX_URLCONF = "config.urls_sandbox"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "orgs.context.admin_orgs",
            ],
        },
    },
]

# --- Database, cache, storage ------------------------------------------------------------
# https://docs.djangoproject.com/en/6.1/ref/settings/#databases
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,  # after a database restart, stale connections are replaced
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The same backend, with a health check that costs no query (config/postgres/base.py).
    DATABASES["default"]["ENGINE"] = "config.postgres"
    # Parameters bound by the server, and queries a connection runs often prepared there
    # (psycopg, after 5 runs): PostgreSQL spent more CPU planning the sandbox's grant
    # lookup than running it (0.28 ms against 0.12 ms a request). Django turns preparing
    # off by default for PgBouncer in transaction mode: behind one, set
    # ARTIFACTS_DB_PREPARE=0 (docs/deploy.md).
    # https://docs.djangoproject.com/en/6.1/ref/databases/#server-side-parameters-binding
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True,
        prepare_threshold=5 if env_bool("ARTIFACTS_DB_PREPARE", default=True) else None,
        # A server that vanished without closing (a crash, a cut network) is noticed on an
        # idle connection within about a minute, not the kernel's two hours.
        keepalives_idle=30,
        keepalives_interval=10,
        keepalives_count=3,
    )
    # No JIT compiling: it pays off for reports over millions of rows, never for a page of
    # 50, yet its estimate of cost started it on a search of 100,000 artifacts, which then
    # spent 40 to 600 ms compiling (bench/bench_scale.py). Sent as a startup option: a
    # pooler that refuses those wants ARTIFACTS_DB_JIT=server and `jit = off` in the
    # server's own configuration (docs/deploy.md).
    if os.environ.get("ARTIFACTS_DB_JIT", "off") == "off":
        given = DATABASES["default"]["OPTIONS"].get("options", "")  # DATABASE_URL's ?options=
        DATABASES["default"]["OPTIONS"]["options"] = f"{given} -c jit=off".strip()
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Concurrent pushes wait for the write lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
_DATABASE_CACHE = {
    "BACKEND": "django.core.cache.backends.db.DatabaseCache",
    "LOCATION": "cache",
    # The default cap (300) would cull cached sandbox decisions at random under normal use.
    "OPTIONS": {"MAX_ENTRIES": 1_000_000},
}
CACHES = {
    # Rate limits and markers. Redis when there is one; an outage there degrades to cache
    # misses (config.cache) instead of errors, so pushes and views keep working.
    "default": (
        {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
        if REDIS_URL
        else _DATABASE_CACHE
    ),
}

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": DATA_DIR / "media"},
    },
    "blobs": {
        "BACKEND": "artifacts.storage.BlobStorage",
        "OPTIONS": {"location": DATA_DIR / "blobs"},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if ARTIFACTS_S3_BUCKET := os.environ.get("ARTIFACTS_S3_BUCKET", ""):
    # Blobs on S3-compatible object storage (django-storages); credentials from the usual
    # AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the instance's role).
    STORAGES["blobs"] = {
        "BACKEND": "artifacts.storage.S3BlobStorage",
        "OPTIONS": {
            "bucket_name": ARTIFACTS_S3_BUCKET,
            "endpoint_url": os.environ.get("ARTIFACTS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("ARTIFACTS_S3_REGION") or None,
            "location": os.environ.get("ARTIFACTS_S3_PREFIX", "blobs"),
            "default_acl": None,  # private objects; downloads use short-lived signed URLs
            "querystring_expire": 60,
            "max_memory_size": 1024 * 1024,  # a file opened whole spills to disk past 1 MiB
        },
    }
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Uploads are streamed through our handler: size, UTF-8 and sha256 checked chunk by chunk.
FILE_UPLOAD_HANDLERS = ["artifacts.uploads.ArtifactUploadHandler"]
FILE_UPLOAD_TEMP_DIR = DATA_DIR / "tmp"

# --- Accounts (django-allauth, email as the login) ---------------------------------------
# https://docs.allauth.org/en/latest/account/configuration.html
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_ADAPTER = "orgs.adapters.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Artifacts] "

# MFA: TOTP, WebAuthn/passkeys and recovery codes (allauth.mfa; /accounts/2fa/).
# https://docs.allauth.org/en/latest/mfa/configuration.html
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = "Artifacts"
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = ARTIFACTS_APP_URL.startswith("http://localhost")

# SSO through allauth's OpenID Connect and SAML providers, configured without code changes:
# SocialApp rows (Django admin), or ARTIFACTS_OIDC_APPS, a JSON list of allauth "APPS"
# entries, e.g. [{"provider_id": "corp", "name": "Corp SSO", "client_id": "...",
# "secret": "...", "settings": {"server_url": "https://idp.example.com"}}].
# https://docs.allauth.org/en/latest/socialaccount/providers/openid_connect.html
# SAML the same way: ARTIFACTS_SAML_APPS, a JSON list of allauth SAML "APPS" entries.
# https://docs.allauth.org/en/latest/socialaccount/providers/saml.html
# Each org's own provider is set up by its owner in the console (orgs.sso), no restart.
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "APPS": json.loads(os.environ.get("ARTIFACTS_OIDC_APPS", "[]")),
        # allauth's provider, with the ID token's signature, issuer and nonce checked.
        "provider_class": "orgs.sso.oidc.StrictOIDCProvider",
    },
    "saml": {"APPS": json.loads(os.environ.get("ARTIFACTS_SAML_APPS", "[]"))},
}
SOCIALACCOUNT_ADAPTER = "orgs.adapters.SocialAccountAdapter"
# SECURITY: no SOCIALACCOUNT_EMAIL_AUTHENTICATION for apps of the settings: with one IdP
# per org, any IdP asserting a verified email could otherwise sign into an account of
# another org. An org's own provider does, for emails at that org's domains only
# (orgs.adapters.SocialAccountAdapter.can_authenticate_by_email); the account is then
# linked to the provider, so the next sign-in finds it by the provider's user id.
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "/accounts/login/"
# https://docs.djangoproject.com/en/6.1/ref/settings/#mailers (console until an operator sets SMTP)
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "artifacts@localhost")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- Security headers of the app origin --------------------------------------------------
# https://docs.djangoproject.com/en/6.1/ref/csp/
# frame-src is exactly the sandbox origin: that, with the iframe's sandbox attribute, is
# what stops an artifact navigating its frame anywhere else (SPEC §2.6).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "frame-src": [ARTIFACTS_SANDBOX_URL],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A refused upload that was too big to parse has no CSRF token to show: say why instead.
CSRF_FAILURE_VIEW = "artifacts.views.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Database sessions that the sandbox can find by the hash of their key (orgs.sessions).
SESSION_ENGINE = "orgs.sessions"
# Host-only cookies: a Domain attribute would leak them to the sandbox host (checked).
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
CSRF_TRUSTED_ORIGINS = [ARTIFACTS_APP_URL]

# --- Celery ------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
# Without Redis the broker is a folder on disk: no server to run for the embedded default.
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {}
    if REDIS_URL
    else {
        "data_folder_in": str(DATA_DIR / "broker"),
        "data_folder_out": str(DATA_DIR / "broker"),
        "processed_folder": str(DATA_DIR / "broker-done"),
        "control_folder": str(DATA_DIR / "broker-control"),  # else ./control in the cwd
    }
)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
# Redis down: a push's render request or a notice email gives up in about a second
# (logged; the push itself stands) instead of hanging the request.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# A worker retries its broker forever (Celery's default gives up after 100 tries, about
# 46 minutes, and exits, taking the embedded beat, and retention, with it).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}
# Retention (artifacts.retention), hourly by default; beat runs it (`celery -B`, or one
# `celery beat` per install), and `up` runs it in its worker.
ARTIFACTS_RETENTION_EVERY = int(os.environ.get("ARTIFACTS_RETENTION_EVERY", "3600"))
CELERY_BEAT_SCHEDULE = {
    "enforce-retention": {
        "task": "artifacts.tasks.enforce_retention",  # artifacts.retention.tasks
        "schedule": ARTIFACTS_RETENTION_EVERY,
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- Artifacts ---------------------------------------------------------------------------
ARTIFACTS_MAX_BYTES = 16 * 1024 * 1024
ARTIFACTS_GRANT_TTL = 120  # seconds to *start* a load in the sandbox (SPEC §4.4)
# Behind nginx: the URL prefix of its `internal` location over the blob folder (e.g.
# "/_blobs/", deploy/nginx/artifacts.conf). Set, Django authorises and nginx sends bytes.
ARTIFACTS_ACCEL_REDIRECT = os.environ.get("ARTIFACTS_ACCEL_REDIRECT", "")
# API requests per token ("N/s", "N/m", "N/h"); sign-in is limited per address by allauth
# (ACCOUNT_RATE_LIMITS, its defaults: e.g. 10 failed sign-ins a minute per address).
ARTIFACTS_API_RATE = os.environ.get("ARTIFACTS_API_RATE", "600/m")

# --- Logging: grants are redacted from request lines (SPEC §4.4) -------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_grants": {"()": "config.logfilters.RedactGrantsFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_grants"]},
    },
    "loggers": {
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
