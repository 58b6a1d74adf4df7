"""Routing by host: the first middleware sends the sandbox host's requests to the sandbox's
own stack (artifacts.sandbox.stack); everything else goes on through the app's MIDDLEWARE."""

from django.conf import settings
from django.http.request import split_domain_port

from artifacts.sandbox.stack import SandboxStack


class SandboxHostMiddleware:
    """First in MIDDLEWARE (SECURITY: nothing of the app's stack may run before it)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.sandbox = SandboxStack()

    def __call__(self, request):
        host, _ = split_domain_port(request.META.get("HTTP_HOST", ""))
        if host.lower() != settings.SANDBOX_HOST:
            return self.get_response(request)
        return self.sandbox(request)
