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
from django.core.files.storage import FileSystemStorage, storages

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


def blob_storage():
    return storages["blobs"]


def blob_name(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def rendered_name(sha256: str) -> str:
    return f"rendered/{sha256[:2]}/{sha256}.html"


def file_sha256(fileobj) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: fileobj.read(CHUNK), b""):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def blob_store(*, sha256: str, fileobj) -> None:
    """Store the bytes under their sha256 and verify what landed. Raises on a mismatch."""
    storage = blob_storage()
    name = blob_name(sha256)
    if storage.exists(name):
        with storage.open(name, "rb") as existing:
            if file_sha256(existing)[0] == sha256:
                return  # already stored whole (the rename is atomic)
    fileobj.seek(0)
    storage.save(name, fileobj if isinstance(fileobj, File) else File(fileobj))
    with storage.open(name, "rb") as stored:
        landed = file_sha256(stored)[0]
    if landed != sha256:
        storage.delete(name)
        raise OSError(f"blob {sha256} failed verification after write (got {landed})")


def blob_open(sha256: str):
    return blob_storage().open(blob_name(sha256), "rb")


def blob_chunks(sha256: str) -> Iterator[bytes]:
    with blob_open(sha256) as fh:
        yield from iter(lambda: fh.read(CHUNK), b"")


def blob_delete(sha256: str) -> None:
    """The bytes and the rendered page (if any); a missing file is not an error."""
    for name in (blob_name(sha256), rendered_name(sha256)):
        blob_storage().delete(name)


def rendered_store(sha256: str, html: str) -> None:
    from django.core.files.base import ContentFile

    blob_storage().save(rendered_name(sha256), ContentFile(html.encode()))


def rendered_exists(sha256: str) -> bool:
    return blob_storage().exists(rendered_name(sha256))
