"""The sandbox host's own small request stack: Django's SecurityMiddleware (HTTPS redirect,
HSTS), then the sandbox URLconf, and the sandbox headers forced on every response, errors
included. No session, auth, CSRF, messages or allauth middleware ever sees a sandbox
request, so nothing can read a session from it even by mistake; and it skips their cost,
which was a third of a warm sandbox request (docs/benchmarks.md). config.hosts sends the
sandbox host's requests here."""

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpResponseBase
from django.middleware.security import SecurityMiddleware
from django.urls import get_resolver, set_urlconf

from .serving import sandbox_headers_apply


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


class SandboxStack:
    def __init__(self):
        self.respond = convert_exception_to_response(
            SecurityMiddleware(convert_exception_to_response(_sandbox_view))
        )

    def __call__(self, request):
        # Django's 404/500 handlers follow the thread's URLconf: the sandbox's own, even
        # for an error raised before the view (it is reset when the request ends).
        set_urlconf(settings.SANDBOX_URLCONF)
        # SECURITY: the sandbox never sees the app's cookies (browsers should not send
        # them, this makes sure nothing downstream can read a session from them).
        request.META.pop("HTTP_COOKIE", None)
        request.COOKIES = {}
        response = self.respond(request)
        return sandbox_headers_apply(
            response,
            scripts=getattr(response, "sandbox_scripts", False),
            script_hash=getattr(response, "sandbox_script_hash", ""),
        )
