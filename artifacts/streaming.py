"""Responses of stored bytes, never loaded whole: strong ETags and conditional GETs, and
the hand-over to nginx (X-Accel-Redirect) where it can send the file itself. The sandbox's
content and the app's source downloads are both made here."""

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified, StreamingHttpResponse

from . import storage


def etag_for(sha256: str, variant: str = "") -> str:
    return f'"{sha256}{"-" + variant if variant else ""}"'


def bytes_response(request, *, name: str, etag: str, content_type: str) -> HttpResponse:
    """A stored file with a strong ETag, never loaded whole: handed to nginx by
    X-Accel-Redirect when ARTIFACTS_ACCEL_REDIRECT is set (the view has authorised the
    request; nginx sends the bytes), streamed by Django otherwise."""
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
        response["ETag"] = etag
        return response
    if settings.ARTIFACTS_ACCEL_REDIRECT and storage.on_local_disk():
        response = HttpResponse(content_type=content_type)
        # nginx's internal location re-applies every header of this response (deploy/).
        response["X-Accel-Redirect"] = settings.ARTIFACTS_ACCEL_REDIRECT + name
    else:
        chunks, size = storage.stored_stream(name)
        response = StreamingHttpResponse(chunks, content_type=content_type)
        response["Content-Length"] = str(size)
    response["ETag"] = etag
    return response
