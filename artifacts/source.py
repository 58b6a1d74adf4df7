"""Downloads of a version's exact bytes on the app origin (viewer and API): an attachment
in plain text, streamed (or sent by nginx, or by object storage), never rendered."""

from django.http import HttpResponseRedirect

from . import storage
from .models import Artifact, Version
from .streaming import bytes_response, etag_for


def source_response(request, artifact: Artifact, version: Version):
    """A download of a version's source on the app origin: an attachment, never rendered."""
    ext = "md" if artifact.format == "markdown" else "html"
    filename = f"{artifact.pk}-v{version.number}.{ext}"
    signed = storage.signed_url(
        storage.blob_name(version.blob_id),
        ResponseContentType="text/plain; charset=utf-8",
        ResponseContentDisposition=f'attachment; filename="{filename}"',
    )
    if signed is not None:  # object storage sends the bytes (an attachment: safe anywhere)
        return HttpResponseRedirect(signed)
    response = bytes_response(
        request,
        name=storage.blob_name(version.blob_id),
        etag=etag_for(version.blob_id),
        content_type="text/plain; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
