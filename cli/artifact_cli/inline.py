"""`push --inline`: make an HTML page self-contained before it is uploaded.

The sandbox lets a page load nothing from the network, so a page that pulls a chart library
from a CDN is broken for every viewer. This fetches what the page references — scripts,
stylesheets (and the `@import`s and `url()`s in them), fonts, images, icons, media — and
puts it in the page: scripts and stylesheets as inline `<script>`/`<style>`, the rest as
`data:` URIs. Relative references are read from the page's folder (never above it).
Whatever could not be inlined stays as it was and is reported, never dropped silently.

The page is parsed with the stdlib `html.parser` only to find the tags and their offsets;
the rest of the text is copied byte for byte, and only the tags that change are rewritten.
"""

import base64
import contextlib
import html
import mimetypes
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from .upload import MAX_BYTES

CSS_DEPTH = 3  # how deep @import chains are followed
FETCH_TIMEOUT = 15.0
TYPES = {  # what mimetypes does not know everywhere
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
}
GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream", "text/plain"}
# Attributes that load a resource the browser embeds, by tag.
URL_ATTRS = {
    "img": ("src",),
    "source": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "image": ("href", "xlink:href"),  # SVG
}
SRCSET_TAGS = {"img", "source"}
FRAME_TAGS = {"iframe", "frame"}
ICON_RELS = {"icon", "shortcut", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon"}
HINT_RELS = {"preload", "prefetch", "modulepreload"}
SKIPPED_SCHEMES = ("data:", "blob:", "javascript:", "about:", "mailto:", "tel:", "#")

_CSS_REF = re.compile(
    r"""@import\s+(?:url\(\s*(?P<q1>['"]?)(?P<import_url>.*?)(?P=q1)\s*\)"""
    r"""|(?P<q2>['"])(?P<import_str>.*?)(?P=q2))(?P<media>[^;]*);"""
    r"""|url\(\s*(?P<q3>['"]?)(?P<url>.*?)(?P=q3)\s*\)""",
    re.IGNORECASE | re.DOTALL,
)
_CHARSET = re.compile(r"""^\s*@charset\s+["'][^"']*["']\s*;""", re.IGNORECASE)


class InlineFailure(Exception):
    """Why one reference could not be inlined."""


@dataclass
class InlineReport:
    inlined: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # reference → reason

    def as_json(self) -> dict:
        return {
            "inlined": self.inlined,
            "failed": [{"url": url, "reason": why} for url, why in self.failed.items()],
        }


class Fetcher:
    """Gets each resource once, over HTTP(S) or from the page's folder, capped at 16 MiB."""

    def __init__(self, root: Path | None):
        self.root = root.resolve() if root else None
        self._http = httpx.Client(follow_redirects=True, timeout=FETCH_TIMEOUT)
        self._cache: dict[str, tuple[bytes, str] | InlineFailure] = {}

    def close(self) -> None:
        self._http.close()

    def fetch(self, url: str) -> tuple[bytes, str]:
        if url not in self._cache:
            try:
                self._cache[url] = self._fetch(url)
            except InlineFailure as failure:
                self._cache[url] = failure
        cached = self._cache[url]
        if isinstance(cached, InlineFailure):
            raise cached
        return cached

    def _fetch(self, url: str) -> tuple[bytes, str]:
        scheme = urlsplit(url).scheme
        if scheme == "file":
            data, declared = self._read_local(url), ""
        elif scheme in ("http", "https"):
            data, declared = self._download(url)
        else:
            raise InlineFailure(f"cannot fetch a {scheme or 'relative'} URL")
        return data, _media_type(url, declared)

    def _read_local(self, url: str) -> bytes:
        path = Path(unquote(urlsplit(url).path)).resolve()
        # SECURITY: a page must not pull ~/.ssh/id_rsa into an artifact the org can read.
        if self.root is None or not path.is_relative_to(self.root):
            raise InlineFailure("local file outside the page's folder")
        try:
            if path.stat().st_size > MAX_BYTES:
                raise InlineFailure("larger than 16 MiB")
            return path.read_bytes()
        except OSError as error:
            raise InlineFailure(error.strerror or str(error)) from error

    def _download(self, url: str) -> tuple[bytes, str]:
        try:
            with self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise InlineFailure(f"HTTP {response.status_code}")
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > MAX_BYTES:
                        raise InlineFailure("larger than 16 MiB")
                return bytes(data), response.headers.get("content-type", "")
        except httpx.HTTPError as error:
            raise InlineFailure(str(error) or type(error).__name__) from error


def _media_type(url: str, declared: str) -> str:
    declared = declared.split(";")[0].strip().lower()
    if declared not in GENERIC_TYPES:
        return declared
    suffix = Path(urlsplit(url).path).suffix.lower()
    return (
        TYPES.get(suffix)
        or mimetypes.guess_type(f"x{suffix}")[0]
        or declared
        or "application/octet-stream"
    )


def _text(data: bytes) -> str:
    return data.decode("utf-8-sig", errors="replace")


class Inliner:
    """Rewrites one page; `report` says what was inlined and what was not."""

    def __init__(self, fetcher: Fetcher, base: str | None):
        self.fetcher = fetcher
        self.base = base
        self.report = InlineReport()

    def resolve(self, ref: str, base: str | None) -> str | None:
        """An absolute URL for ref; None for what is not a fetchable resource."""
        ref = ref.strip()
        if not ref or ref.lower().startswith(SKIPPED_SCHEMES):
            return None
        if ref.startswith("//"):
            return "https:" + ref
        if urlsplit(ref).scheme:
            return ref
        if base is None:
            raise InlineFailure("relative reference, and a page read from stdin has no folder")
        return urljoin(base, ref)

    def get(self, ref: str, base: str | None) -> tuple[str, bytes, str] | None:
        """(url, bytes, media type), None if ref needs nothing; failures are reported."""
        try:
            url = self.resolve(ref, base)
        except InlineFailure as failure:
            self.report.failed.setdefault(ref, str(failure))
            return None
        if url is None:
            return None
        try:
            data, media_type = self.fetcher.fetch(url)
        except InlineFailure as failure:
            self.report.failed.setdefault(url, str(failure))
            return None
        if url not in self.report.inlined:
            self.report.inlined.append(url)
        return url, data, media_type

    def data_uri(self, ref: str, base: str | None) -> str:
        got = self.get(ref, base)
        if got is None:
            return ref
        _, data, media_type = got
        return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"

    def css(self, text: str, base: str | None, depth: int = 0) -> str:
        """url() → data: URIs and @import → the imported sheet, recursively."""

        def replace(match: re.Match) -> str:
            if match["url"] is not None:
                uri = self.data_uri(match["url"], base)
                return match[0] if uri == match["url"] else f'url("{uri}")'
            ref = match["import_url"] if match["import_url"] is not None else match["import_str"]
            media = match["media"].strip()
            try:
                url = self.resolve(ref, base)
            except InlineFailure as failure:
                self.report.failed.setdefault(ref, str(failure))
                return match[0]
            if url is None:
                return match[0]
            if depth >= CSS_DEPTH or re.search(r"\b(layer|supports)\b", media, re.I):
                why = "@import too deep" if depth >= CSS_DEPTH else "@import with layer/supports"
                self.report.failed.setdefault(url, why)
                return match[0]
            got = self.get(url, None)
            if got is None:
                return match[0]
            sheet = self.css(_CHARSET.sub("", _text(got[1])), url, depth + 1)
            return f"@media {media} {{\n{sheet}\n}}" if media else sheet

        return _CSS_REF.sub(replace, text)


class _PageParser(HTMLParser):
    """Collects (start, end, replacement) edits of the page's text."""

    def __init__(self, text: str, inliner: Inliner):
        super().__init__(convert_charrefs=True)
        self.text = text
        self.inliner = inliner
        self.edits: list[tuple[int, int, str]] = []
        self.deferred: list[str] = []  # `defer` scripts run after parsing: moved to </body>
        self.body_end: int | None = None
        self._open: tuple[str, int, int, list] | None = None  # script/style being read
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def _position(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list) -> None:
        start = self._position()
        raw = self.get_starttag_text() or ""
        end = start + len(raw)
        inliner, base = self.inliner, self.inliner.base
        values = dict(attrs)
        changed = False

        if tag == "base" and values.get("href"):
            with contextlib.suppress(InlineFailure):  # a relative <base> with no folder
                self.inliner.base = inliner.resolve(values["href"], base) or base
            return
        if tag in ("script", "style"):
            self._open = (tag, start, end, attrs)
            return
        if tag == "link" and values.get("href"):
            rels = set((values.get("rel") or "").lower().split())
            if "stylesheet" in rels:
                got = inliner.get(values["href"], base)
                if got is not None:
                    css = inliner.css(_CHARSET.sub("", _text(got[1])), got[0], 1)
                    media = (
                        f' media="{html.escape(values["media"])}"' if values.get("media") else ""
                    )
                    self.edits.append(
                        (start, end, f"<style{media}>{_escape(css, 'style')}</style>")
                    )
                return
            if rels & (ICON_RELS | HINT_RELS):
                attrs, changed = _rewrite(attrs, ("href",), lambda v: inliner.data_uri(v, base))
        if tag in URL_ATTRS:
            attrs, hit = _rewrite(attrs, URL_ATTRS[tag], lambda v: inliner.data_uri(v, base))
            changed |= hit
        if tag in SRCSET_TAGS:
            attrs, hit = _rewrite(attrs, ("srcset",), lambda v: _srcset(v, inliner, base))
            changed |= hit
        if tag in FRAME_TAGS and values.get("src"):
            try:
                url = inliner.resolve(values["src"], base)
                if url:
                    inliner.report.failed.setdefault(url, f"an {tag} is not inlined")
            except InlineFailure as failure:
                inliner.report.failed.setdefault(values["src"], str(failure))
        if values.get("style"):
            attrs, hit = _rewrite(attrs, ("style",), lambda v: inliner.css(v, base))
            changed |= hit
        if changed:
            self.edits.append((start, end, _tag(tag, attrs, raw.endswith("/>"))))

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        # `<script src=x />` is no void element: its content still runs to </script>.
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "body":
            self.body_end = self._position()
        if self._open is None or tag != self._open[0]:
            return
        name, start, end, attrs = self._open
        self._open = None
        content_end = self._position()
        close_end = self.text.find(">", content_end) + 1 or len(self.text)
        base = self.inliner.base
        if name == "style":
            css = self.text[end:content_end]
            new = self.inliner.css(css, base)
            if new != css:
                self.edits.append((end, content_end, _escape(new, "style")))
            return
        values = dict(attrs)
        if not values.get("src"):
            return
        got = self.inliner.get(values["src"], base)
        if got is None:
            return
        kept = [(k, v) for k, v in attrs if k not in ("src", "integrity", "crossorigin")]
        is_module = (values.get("type") or "").lower() == "module"
        script = f"{_tag('script', kept, False)}{_escape(_text(got[1]), 'script')}</script>"
        if "defer" in values and not is_module:
            self.edits.append((start, close_end, ""))
            self.deferred.append(script)
        else:
            # The body of a script with src is ignored by browsers; the code replaces it.
            self.edits.append((start, content_end, script[: -len("</script>")]))

    def result(self) -> str:
        edits = list(self.edits)
        if self.deferred:
            at = self.body_end if self.body_end is not None else len(self.text)
            edits.append((at, at, "\n".join(self.deferred)))
        edits.sort(key=lambda edit: edit[:2])
        out, done = [], 0
        for start, end, replacement in edits:
            out += [self.text[done:start], replacement]
            done = end
        out.append(self.text[done:])
        return "".join(out)


def _rewrite(attrs: list, names: tuple, change) -> tuple[list, bool]:
    new = [(k, change(v) if k in names and v else v) for k, v in attrs]
    return new, new != attrs


def _tag(name: str, attrs: list, self_closing: bool) -> str:
    parts = [name] + [k if v is None else f'{k}="{html.escape(v)}"' for k, v in attrs]
    return f"<{' '.join(parts)}{' /' if self_closing else ''}>"


def _escape(code: str, element: str) -> str:
    """Keep inlined code from closing its element (or opening a comment) early."""
    code = re.sub(rf"</({element})", r"<\\/\1", code, flags=re.IGNORECASE)
    return code.replace("<!--", "<\\!--") if element == "script" else code


def _srcset(value: str, inliner: Inliner, base: str | None) -> str:
    """Each candidate's URL → data: URI (the HTML spec's split: URL, then descriptors)."""
    out, i, n = [], 0, len(value)
    while i < n:
        while i < n and (value[i].isspace() or value[i] == ","):
            i += 1
        j = i
        while j < n and not value[j].isspace():
            j += 1
        url = value[i:j]
        if url.endswith(","):
            url, descriptor, i = url.rstrip(","), "", j
        else:
            comma = value.find(",", j)
            comma = n if comma < 0 else comma
            descriptor, i = value[j:comma].strip(), comma + 1
        if url:
            out.append(f"{inliner.data_uri(url, base)} {descriptor}".strip())
    return ", ".join(out)


def inline_page(text: str, folder: Path | None) -> tuple[str, InlineReport]:
    """The page with its resources inlined, and the report; folder is where it lives."""
    fetcher = Fetcher(folder)
    try:
        inliner = Inliner(fetcher, folder.resolve().as_uri() + "/" if folder else None)
        parser = _PageParser(text, inliner)
        parser.feed(text)
        parser.close()
        return parser.result(), inliner.report
    finally:
        fetcher.close()
