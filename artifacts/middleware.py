"""Routes the sandbox host to its own URLconf and locks down everything it answers."""

from http import HTTPStatus

from django.conf import settings
from django.http import JsonResponse
from django.http.request import split_domain_port
from whitenoise.middleware import WhiteNoiseMiddleware

from orgs.errors import error_code

from .serving import sandbox_headers_apply


class SandboxHostMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        host, _ = split_domain_port(request.META.get("HTTP_HOST", ""))
        if host.lower() != settings.SANDBOX_HOST:
            request.is_sandbox = False
            return self.get_response(request)
        request.is_sandbox = True
        request.urlconf = settings.SANDBOX_URLCONF
        # SECURITY: the sandbox never sees the app's cookies (browsers should not send
        # them, this makes sure nothing downstream can read a session from them).
        request.META.pop("HTTP_COOKIE", None)
        request.COOKIES = {}
        response = self.get_response(request)
        return sandbox_headers_apply(response, scripts=getattr(response, "sandbox_scripts", False))


class AppStaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise for the app host only: nothing of the app is reachable on the sandbox."""

    def __call__(self, request):
        if getattr(request, "is_sandbox", False):
            return self.get_response(request)
        return super().__call__(request)


class ApiJsonErrorsMiddleware:
    """Every error under /api/ is JSON {"error": {...}}, including the ones Django answers
    before the API sees the request (unknown route, 405, body too big, unhandled 500)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            not request.is_sandbox  # the sandbox answers everything with its own page
            and request.path.startswith("/api/")
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
