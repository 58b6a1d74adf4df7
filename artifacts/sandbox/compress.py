"""Precompressed variants of what the sandbox serves (gzip and brotli), made once per blob in
the background and picked per request by Accept-Encoding. Streamed both ways: a 16 MiB page
is never held in memory."""

import gzip
import logging
import tempfile

import brotli
from django.core.files import File

from .. import storage

logger = logging.getLogger(__name__)

ENCODINGS = {"br": ".br", "gzip": ".gz"}  # in order of preference
KEEP_BELOW = 0.9  # a variant not 10% smaller than the original is not worth a lookup
BROTLI_QUALITY = 9  # q11 takes ~10× longer for ~3% less; this runs once per blob


def served_name(sha256: str, markdown: bool) -> str:
    """The file the sandbox serves for a blob: the bytes, or the rendered Markdown page."""
    return storage.rendered_name(sha256) if markdown else storage.blob_name(sha256)


def variants_make(name: str) -> list[str]:
    """Write the .gz and .br variants of stored file `name` (idempotent). Returns the
    encodings kept."""
    blobs = storage.blob_storage()
    if not blobs.exists(name):
        return []
    size = blobs.size(name)
    kept = []
    for encoding, suffix in ENCODINGS.items():
        if blobs.exists(name + suffix):
            kept.append(encoding)
            continue
        with tempfile.TemporaryFile() as out:
            with blobs.open(name, "rb") as source:
                _compress(encoding, source, out)
            if out.tell() >= size * KEEP_BELOW:
                continue
            out.seek(0)
            blobs.save(name + suffix, File(out))
            kept.append(encoding)
    return kept


def _compress(encoding: str, source, out) -> None:
    if encoding == "gzip":
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0) as zipped:
            for chunk in iter(lambda: source.read(storage.CHUNK), b""):
                zipped.write(chunk)
        return
    compressor = brotli.Compressor(quality=BROTLI_QUALITY, mode=brotli.MODE_TEXT)
    for chunk in iter(lambda: source.read(storage.CHUNK), b""):
        out.write(compressor.process(chunk))
    out.write(compressor.finish())


def variant_pick(name: str, accept_encoding: str) -> tuple[str, str]:
    """(file to send, Content-Encoding or "") for a request's Accept-Encoding."""
    accepted = _accepted(accept_encoding)
    blobs = storage.blob_storage()
    for encoding, suffix in ENCODINGS.items():
        if encoding in accepted and blobs.exists(name + suffix):
            return name + suffix, encoding
    return name, ""


def _accepted(header: str) -> set[str]:
    """Codings with a non-zero q ("gzip;q=0" refuses gzip)."""
    accepted = set()
    for part in header.lower().split(","):
        coding, _, params = part.strip().partition(";")
        q = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
        try:
            if float(q) > 0:
                accepted.add(coding.strip())
        except ValueError:
            continue
    return accepted
