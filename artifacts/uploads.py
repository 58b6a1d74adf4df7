"""The upload handler every multipart upload goes through.

It checks the rules of SPEC §2.1 *while streaming*: the file type from its name before any
byte is read, the 16 MiB limit chunk by chunk (nothing over it is kept), UTF-8 validity and
the absence of NUL bytes incrementally, and it hashes as it writes to a temporary file,
so no request ever holds the whole upload in memory.

A refused upload is recorded on the request (`request.upload_error`) and parsing stops
(StopUpload): raising from here would surface inside whichever middleware first touched
request.POST (CSRF) as a 500. Entry points call `upload_from_request` (or check the
attribute) and answer the recorded error with its status.
"""

import codecs
import hashlib
import os

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from orgs.errors import Invalid, ServiceError, TooLarge, UnsupportedType

from .models import Format

EXTENSIONS = {
    ".html": Format.HTML,
    ".htm": Format.HTML,
    ".md": Format.MARKDOWN,
    ".markdown": Format.MARKDOWN,
}
MULTIPART_SLACK = 64 * 1024  # boundaries and the small text fields around the file


def format_from_name(name: str) -> str:
    ext = os.path.splitext(name or "")[1].lower()
    if ext not in EXTENSIONS:
        raise UnsupportedType(
            f"Unsupported file type {ext or '(none)'!r}: push .html, .htm, .md or .markdown."
        )
    return EXTENSIONS[ext]


def too_large() -> TooLarge:
    limit = settings.ARTIFACTS_MAX_BYTES
    return TooLarge(
        f"File is larger than the limit of {limit} bytes ({limit // 1048576} MiB).", limit=limit
    )


def upload_from_request(request, field: str = "file"):
    """The streamed upload of this request, or the error that refused it."""
    upload = request.FILES.get(field)  # parses the body, if nothing has yet
    error = getattr(request, "upload_error", None)
    if error is not None:
        raise error
    if upload is None:
        raise Invalid(f"Missing file: send it as the multipart field {field!r}.", field=field)
    if not hasattr(upload, "sha256"):
        raise ServiceError("The upload was not processed by the artifact upload handler.")
    return upload


class ArtifactUploadHandler(TemporaryFileUploadHandler):
    # Django reads the body in chunks of this size. Its 64 KiB default made gunicorn copy
    # its 1 MiB read-ahead buffer on every chunk (≈ 0.5 GiB of copying for a 16 MiB push);
    # 1 MiB keeps memory bounded and the limits checked as the body streams.
    chunk_size = 1024 * 1024

    def _record(self, error: ServiceError) -> None:
        if self.request is not None and getattr(self.request, "upload_error", None) is None:
            self.request.upload_error = error

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # Refuse an obviously oversized body before reading any of it.
        if content_length and content_length > settings.ARTIFACTS_MAX_BYTES + MULTIPART_SLACK:
            self._record(too_large())
            return QueryDict(), MultiValueDict()
        return None

    def new_file(self, field_name, file_name, *args, **kwargs):
        try:
            self.format = format_from_name(file_name)
        except UnsupportedType as error:
            self._record(error)
            raise StopUpload(connection_reset=False) from error
        os.makedirs(settings.FILE_UPLOAD_TEMP_DIR, exist_ok=True)
        super().new_file(field_name, file_name, *args, **kwargs)
        self.size = 0
        self.digest = hashlib.sha256()
        self.decoder = codecs.getincrementaldecoder("utf-8")()

    def _refuse(self, error: ServiceError):
        self.file.close()  # deletes the temporary file: nothing is kept
        self._record(error)
        # Drain the rest of the body (bounded by the Content-Length check) so the client
        # reads our answer instead of a reset connection.
        raise StopUpload(connection_reset=False)

    def receive_data_chunk(self, raw_data, start):
        self.size += len(raw_data)
        if self.size > settings.ARTIFACTS_MAX_BYTES:
            self._refuse(too_large())
        if b"\x00" in raw_data:
            self._refuse(UnsupportedType("This is a binary file; push UTF-8 HTML or Markdown."))
        try:
            self.decoder.decode(raw_data)
        except UnicodeDecodeError:
            self._refuse(UnsupportedType("The file is not valid UTF-8 text."))
        self.digest.update(raw_data)
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        try:
            self.decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            self._refuse(
                UnsupportedType("The file is not valid UTF-8 text (it ends mid-character).")
            )
        if file_size == 0:
            self._refuse(Invalid("The file is empty."))
        uploaded = super().file_complete(file_size)
        uploaded.sha256 = self.digest.hexdigest()
        uploaded.format = self.format
        return uploaded
