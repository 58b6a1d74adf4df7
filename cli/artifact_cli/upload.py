"""The page to push, checked before any byte is sent.

The server enforces the same rules while streaming, but a refusal after a 16 MiB upload is
a slow way to learn the extension was wrong; here the type, the size, UTF-8 and NUL bytes
are checked locally first, and a file is then streamed from disk, never held in memory.
"""

import codecs
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import EXIT_FILE, ArtifactError

MAX_BYTES = 16 * 1024 * 1024  # the server's limit (SPEC §2.1)
EXTENSIONS = (".html", ".htm", ".md", ".markdown")  # the extension gives the format
CHUNK = 1024 * 1024


@dataclass
class Upload:
    name: str  # the file name the server sees: its extension gives the format
    file: BinaryIO
    size: int

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> "Upload":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_name(name: str) -> str:
    ext = Path(name).suffix.lower()
    if ext not in EXTENSIONS:
        raise ArtifactError(
            f"unsupported file type {ext or '(no extension)'!r} for {name}: "
            "push .html, .htm, .md or .markdown",
            EXIT_FILE,
        )
    return name


def check_size(label: str, size: int) -> None:
    if size > MAX_BYTES:
        raise ArtifactError(f"{label} is larger than 16 MiB ({size:,} bytes)", EXIT_FILE)
    if size == 0:
        raise ArtifactError(f"{label} is empty", EXIT_FILE)


def _check_text(label: str, file: BinaryIO) -> None:
    """UTF-8 and no NUL byte, read chunk by chunk (the file is rewound afterwards)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := file.read(CHUNK):
            if b"\x00" in chunk:
                raise ArtifactError(f"{label} is a binary file, not UTF-8 text", EXIT_FILE)
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise ArtifactError(f"{label} is not valid UTF-8 text", EXIT_FILE) from error
    finally:
        file.seek(0)


def _open_checked(path: str, name: str | None) -> tuple[str, BinaryIO, int]:
    name = check_name(name or os.path.basename(path))
    try:
        size = os.stat(path).st_size
        if not os.path.isfile(path):
            raise ArtifactError(f"{path} is not a regular file", EXIT_FILE)
        check_size(f"file {path}", size)
        return name, open(path, "rb"), size  # noqa: SIM115  (the caller closes it)
    except FileNotFoundError as error:
        raise ArtifactError(f"no such file: {path}", EXIT_FILE) from error
    except OSError as error:
        raise ArtifactError(f"cannot read {path}: {error.strerror or error}", EXIT_FILE) from error


def upload_from_path(path: str, name: str | None = None) -> Upload:
    name, file, size = _open_checked(path, name)
    try:
        _check_text(f"file {path}", file)
    except BaseException:
        file.close()
        raise
    return Upload(name, file, size)


def read_path(path: str, name: str | None = None) -> tuple[str, bytes]:
    """The name and bytes of a file to rewrite before pushing (--inline)."""
    name, file, _ = _open_checked(path, name)
    with file:
        return name, file.read()


def upload_from_bytes(data: bytes, name: str, label: str | None = None) -> Upload:
    name = check_name(name)
    label = label or name
    check_size(label, len(data))
    file = io.BytesIO(data)
    _check_text(label, file)
    return Upload(name, file, len(data))


def read_stdin() -> bytes:
    """At most one byte over the limit: enough to refuse without reading a runaway pipe."""
    if sys.stdin is None:
        raise ArtifactError("stdin is closed: nothing to push", EXIT_FILE)
    data = sys.stdin.buffer.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ArtifactError(
            f"stdin is larger than 16 MiB (more than {MAX_BYTES:,} bytes)", EXIT_FILE
        )
    return data
