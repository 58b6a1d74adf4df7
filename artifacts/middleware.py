"""The sandbox host's own small stack, forced sandbox headers, and JSON errors under /api/."""

from http import HTTPStatus

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpResponseBase, JsonResponse
from django.http.request import split_domain_port
from django.middleware.security import SecurityMiddleware
from django.urls import get_resolver, set_urlconf

from orgs.errors import error_code

from .serving import sandbox_headers_apply


class SandboxHostMiddleware:
    """First in MIDDLEWARE. A sandbox request leaves the app's stack here for one of its
    own: Django's SecurityMiddleware (HTTPS redirect, HSTS), then the sandbox URLconf.
    No session, auth, CSRF, messages or allauth middleware ever sees it, so nothing can
    read a session from it even by mistake; and it skips their cost, which was a third
    of a warm sandbox request (docs/benchmarks.md)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.sandbox_response = convert_exception_to_response(
            SecurityMiddleware(convert_exception_to_response(_sandbox_view))
        )

    def __call__(self, request):
        host, _ = split_domain_port(request.META.get("HTTP_HOST", ""))
        if host.lower() != settings.SANDBOX_HOST:
            return self.get_response(request)
        # Django's 404/500 handlers follow the thread's URLconf: the sandbox's own, even
        # for an error raised before the view (it is reset when the request ends).
        set_urlconf(settings.SANDBOX_URLCONF)
        # SECURITY: the sandbox never sees the app's cookies (browsers should not send
        # them, this makes sure nothing downstream can read a session from them).
        request.META.pop("HTTP_COOKIE", None)
        request.COOKIES = {}
        response = self.sandbox_response(request)
        return sandbox_headers_apply(response, scripts=getattr(response, "sandbox_scripts", False))


def _sandbox_view(request):
    """What Django's handler does between the middleware and the view, for the sandbox
    URLconf (its views are plain functions: no view middleware, no template responses)."""
    match = get_resolver(settings.SANDBOX_URLCONF).resolve(request.path_info)
    request.resolver_match = match
    response = match.func(request, *match.args, **match.kwargs)
    if not isinstance(response, HttpResponseBase):
        # Raised here, it becomes the sandbox's 500 page, sandbox headers and all.
        raise ValueError(f"{match.func.__qualname__} returned {response!r}, not a response")
    return response


class ApiJsonErrorsMiddleware:
    """Every error under /api/ is JSON {"error": {...}}, including the ones Django answers
    before the API sees the request (unknown route, 405, body too big, unhandled 500)."""

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
            if "Allow" in response:
                json_response["Allow"] = response["Allow"]
            return json_response
        return response
