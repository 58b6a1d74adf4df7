"""The HTTP API's root (/api/v1/, documented at /api/v1/openapi.json): token auth,
throttling per token, errors as JSON everywhere under /api/. The apps add their Routers:
artifacts (artifacts.api, and retention's: artifacts.retention.api), and the org managed
as code (orgs.api)."""

import tomllib
from functools import cache
from http import HTTPStatus
from importlib import metadata
from pathlib import Path

from django.conf import settings
from django.http import Http404, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from ninja.throttling import SimpleRateThrottle

from artifacts.api import router as artifacts_router
from artifacts.collections_api import router as collections_router
from artifacts.retention.api import router as retention_router
from orgs.api import router as org_router
from orgs.errors import ERRORS, ServiceError, error_code
from orgs.models import ApiToken
from orgs.services import token_authenticate


class BearerToken(HttpBearer):
    def authenticate(self, request, token: str) -> ApiToken | None:
        return token_authenticate(token)


class TokenRateThrottle(SimpleRateThrottle):
    """ARTIFACTS_API_RATE requests per token (e.g. "600/m"), counted in the shared cache so
    that every node counts together; 429 with Retry-After beyond it. With Redis down it
    lets requests through (the cache misses) rather than refuse work."""

    scope = "token"

    def get_rate(self) -> str:
        return settings.ARTIFACTS_API_RATE

    def allow_request(self, request) -> bool:
        self.rate = self.get_rate()  # read per request: settings may change
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    def get_cache_key(self, request) -> str | None:
        token = getattr(request, "auth", None)
        # The secret's hash, not the row id: ids come back after a database is recreated,
        # and a shared Redis would still hold the old counts.
        return f"throttle:token:{token.token_hash[:32]}" if isinstance(token, ApiToken) else None


api = NinjaAPI(
    title="Org artifact server",
    version="1",
    description="Push self-contained HTML or Markdown pages; share them inside your organisation.",
    auth=BearerToken(),
    throttle=[TokenRateThrottle()],
    urls_namespace="api",
)
api.add_router("", artifacts_router)
api.add_router("", collections_router)  # /collections
api.add_router("", retention_router)  # /org/retention/..., /org/trash
api.add_router("/org", org_router)


def error_response(request, status: int, code: str, message: str, **extra):
    return api.create_response(
        request, {"error": {"code": code, "message": message, **extra}}, status=status
    )


@api.exception_handler(ServiceError)
def _service_error(request, exc: ServiceError):
    return error_response(request, exc.status, exc.code, exc.message, **exc.extra)


@api.exception_handler(AuthenticationError)
def _unauthorized(request, exc):
    return error_response(
        request,
        401,
        "unauthorized",
        "A valid API token is required: Authorization: Bearer <token>.",
    )


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    if getattr(request, "upload_error", None) is not None:  # the file was refused mid-stream
        return _service_error(request, request.upload_error)
    first = exc.errors[0] if exc.errors else {}
    where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
    return error_response(
        request, 400, "invalid", f"{where}: {first.get('msg', 'invalid')}", details=exc.errors
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):  # e.g. a malformed JSON body
    return error_response(request, exc.status_code, error_code(exc.status_code), str(exc))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(request, 404, "not_found", "Not found.")


# --- Who and what: the token's user, the server ----------------------------------------
class MeOut(Schema):
    email: str
    organization: str
    role: str
    token_name: str


# Operation ids as they were before these moved (clients generated from the schema).
@api.get("/me", response={200: MeOut, **ERRORS}, tags=["account"], operation_id="artifacts_api_me")
def me(request):
    """Who the token belongs to, in which organisation and with which role."""
    token = request.auth
    return {
        "email": token.user.email,
        "organization": token.organization.slug,
        "role": token.membership.role,
        "token_name": token.name,
    }


class VersionOut(Schema):
    version: str  # of the server
    api: str


@api.get("/version", response={200: VersionOut}, auth=None, throttle=[], tags=["account"])
def version(request):
    """The server's version (no token needed: `artifact --version` asks before anything)."""
    return {"version": server_version(), "api": api.version}


@cache
def server_version() -> str:
    """The installed distribution's, or the checkout's (servers may run from a checkout
    with only the runtime lock installed)."""
    try:
        return metadata.version("org-artifacts")
    except metadata.PackageNotFoundError:
        with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as fh:
            return tomllib.load(fh)["project"]["version"]


# What describes the body, which the JSON error replaces; every other header is kept.
_BODY_HEADERS = {"content-type", "content-length", "content-encoding", "content-disposition"}


class ApiJsonErrorsMiddleware:
    """Every error under /api/ is JSON {"error": {...}}, including the ones Django answers
    before the API sees the request (unknown route, 405, body too big, unhandled 500).
    Second in MIDDLEWARE, so it sees what the others answer too; the JSON error keeps the
    headers they added (security headers included)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            status = response.status_code
            body = {"error": {"code": error_code(status), "message": HTTPStatus(status).phrase}}
            json_response = JsonResponse(body, status=status)
            for header, value in response.items():
                if header.lower() not in _BODY_HEADERS:
                    json_response[header] = value
            json_response.cookies = response.cookies
            return json_response
        return response
