"""Sandbox responses: the headers of SPEC §2.7, forced on every one, and the one page for
anything the sandbox will not serve. (The bytes themselves: artifacts.streaming.)"""

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
        "clipboard-read",
        "clipboard-write",
    )
)


def _app_origin() -> str:
    parts = urlsplit(settings.ARTIFACTS_APP_URL)
    return f"{parts.scheme}://{parts.netloc}"


def sandbox_csp(*, scripts: bool, script_hash: str = "") -> str:
    """The artifact's CSP: its own inline code and data:/blob: media, nothing else. With
    script_hash (a Markdown page with diagrams), the one script of that hash instead."""
    if scripts:
        script_src = "'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval'"
    else:
        script_src = script_hash or "'none'"
    sandbox = (
        "allow-scripts allow-forms allow-downloads"
        if scripts or script_hash
        else "allow-forms allow-downloads"
    )
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {script_src}",
            "style-src 'unsafe-inline'",
            "img-src data: blob:",
            "media-src data: blob:",
            "font-src data:",
            "connect-src 'none'",
            "frame-src 'none'",
            "child-src 'none'",
            "worker-src 'none'",
            "object-src 'none'",
            "manifest-src 'none'",
            "form-action 'none'",
            "base-uri 'none'",
            f"frame-ancestors {_app_origin()}",
            f"sandbox {sandbox}",
            "webrtc 'block'",
        ]
    )


def sandbox_headers_apply(
    response: HttpResponse, *, scripts: bool, script_hash: str = ""
) -> HttpResponse:
    """SECURITY: forced on every sandbox response, errors included, by the middleware."""
    response.cookies.clear()
    for name in ("X-Frame-Options", "Set-Cookie", "Vary", "Content-Security-Policy-Report-Only"):
        if name in response:
            del response[name]
    response["Content-Security-Policy"] = sandbox_csp(scripts=scripts, script_hash=script_hash)
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    response["Permissions-Policy"] = PERMISSIONS_POLICY
    response["Cross-Origin-Opener-Policy"] = "same-origin"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-cache"
    if response.status_code in (200, 304):
        # Every response may differ by encoding (precompressed variants); nothing else
        # varies, the session cookie least of all (the sandbox never reads one).
        response["Vary"] = "Accept-Encoding"
    return response


def not_here_response(status: int = 404) -> HttpResponse:
    """The one answer for anything the sandbox will not serve: no hint of why."""
    html = render_to_string(
        "artifacts/sandbox_not_here.html", {"app_url": settings.ARTIFACTS_APP_URL}
    )
    return HttpResponse(html, status=status, content_type="text/html; charset=utf-8")
