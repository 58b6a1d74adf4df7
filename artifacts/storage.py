"""Content-addressed blob storage on top of Django's STORAGES["blobs"].

Blobs are written under a temporary name and renamed into place, so a reader (or a
concurrent push of the same bytes) never sees a half-written file; overwriting a blob
with itself is harmless because the name is the content's sha256.
"""

import hashlib
import os
import secrets
from collections.abc import Iterator

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from storages.backends.s3 import S3Storage

CHUNK = 64 * 1024
BLOB_MODE = 0o644  # readable by a front web server serving X-Accel-Redirect


def _fsync_dir(path: str) -> None:
    """A rename is durable only once its directory is synced (the version row follows)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStorage(FileSystemStorage):
    def get_available_name(self, name, max_length=None):
        return name  # content-addressed: the same name means the same bytes

    def _save(self, name, content):
        full_path = self.path(name)
        os.makedirs(os.path.dirname(full_path), exist_ok=True)
        if hasattr(content, "temporary_file_path") and self._move_into_place(content, full_path):
            return name
        tmp_path = f"{full_path}.tmp-{secrets.token_hex(8)}"
        try:
            with open(tmp_path, "wb") as out:
                for chunk in content.chunks(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp_path, BLOB_MODE)
            os.replace(tmp_path, full_path)
            _fsync_dir(os.path.dirname(full_path))
        finally:
            if os.path.exists(tmp_path):
                os.unlink(tmp_path)
        return name

    @staticmethod
    def _move_into_place(content, full_path: str) -> bool:
        """An upload already on disk is renamed, not copied: 16 MiB are written once."""
        content.file.flush()
        os.fsync(content.file.fileno())
        try:
            os.chmod(content.temporary_file_path(), BLOB_MODE)
            os.replace(content.temporary_file_path(), full_path)
        except OSError:  # another filesystem: copy instead
            return False
        _fsync_dir(os.path.dirname(full_path))
        return True


class S3BlobStorage(S3Storage):
    """Blobs on S3-compatible object storage (STORAGES["blobs"], see settings): the same
    content-addressed names; an upload is written once, under its final name, by S3's own
    atomic PUT (no reader ever sees part of an object)."""

    def get_available_name(self, name, max_length=None):
        return name


def blob_storage():
    return storages["blobs"]


def on_local_disk() -> bool:
    """Blobs in a folder that nginx can read (X-Accel-Redirect), not in object storage."""
    return isinstance(blob_storage(), FileSystemStorage)


def stored_stream(name: str) -> tuple[Iterator[bytes], int]:
    """(chunks, size) of a stored file, read as it is sent: never held whole. From S3 the
    object's body streams straight through (django-storages' File would download it all
    before the first byte)."""
    blobs = blob_storage()
    if isinstance(blobs, S3BlobStorage):
        obj = blobs.bucket.Object(blobs._normalize_name(name)).get()
        return obj["Body"].iter_chunks(CHUNK), obj["ContentLength"]

    def chunks():
        with blobs.open(name, "rb") as fh:
            yield from iter(lambda: fh.read(CHUNK), b"")

    return chunks(), blobs.size(name)


def signed_url(name: str, *, seconds: int = 60, **response_headers) -> str | None:
    """A short-lived URL of the object in object storage (None on local disk), for
    downloads that are safe to send elsewhere: S3 can set only a few response headers
    (ResponseContentType, ResponseContentDisposition...), never the sandbox's CSP."""
    blobs = blob_storage()
    if not isinstance(blobs, S3BlobStorage):
        return None
    return blobs.url(name, parameters=response_headers, expire=seconds)


def blob_name(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def rendered_name(sha256: str) -> str:
    return f"rendered/{sha256[:2]}/{sha256}.html"


def blob_store(*, sha256: str, fileobj) -> None:
    """Store the bytes under their sha256 and verify what landed. Raises on a mismatch."""
    storage = blob_storage()
    name = blob_name(sha256)
    if storage.exists(name) and _stored_sha256(name) == sha256:
        return  # already stored whole (a rename or a PUT is atomic)
    fileobj.seek(0)
    storage.save(name, fileobj if isinstance(fileobj, File) else File(fileobj))
    landed = _stored_sha256(name)
    if landed != sha256:
        storage.delete(name)
        raise OSError(f"blob {sha256} failed verification after write (got {landed})")


def _stored_sha256(name: str) -> str:
    digest = hashlib.sha256()
    chunks, _ = stored_stream(name)
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def blob_open(sha256: str):
    return blob_storage().open(blob_name(sha256), "rb")


def blob_delete(sha256: str) -> None:
    """The bytes and the rendered page (if any); a missing file is not an error."""
    for name in (blob_name(sha256), rendered_name(sha256)):
        blob_storage().delete(name)


def rendered_store(sha256: str, html: str) -> None:
    blob_storage().save(rendered_name(sha256), ContentFile(html.encode()))


def rendered_exists(sha256: str) -> bool:
    return blob_storage().exists(rendered_name(sha256))
