"""Push-time warnings: what in an HTML page the sandbox will block, found while streaming.

The sandbox origin serves a page under a CSP with no network egress, so every resource the
page would fetch fails for the viewer. `warnings_scan` lists those, one short stable string
each, so the pusher hears about a broken page before a viewer does. It also flags the two
channels no header closes: WebRTC in scripts and `<link rel=preconnect|dns-prefetch>`.

Design: a small state machine (markup, tag attributes, quoted value, comment, script, style,
raw text) driven by compiled bytes regexes. A full HTML parse takes 2-5 s for 16 MiB and
wants the whole document; here the C regex engine skips ordinary tags and text on its own,
and Python only runs for tags that can load something. Every search starts with a literal
(`<`, `</`, `(`, `RTC`, ...) or a rare character, which `re` skips to at memory speed; one
alternation of words would be ten times slower. Which tags are worth a look is decided by
_MARKUP, whose lookahead is too slow to run at every `<` of a tag-dense page (1.7 M tags in
16 MiB): it is only tried where a cheaper search (a trigger: a tag name, `!--`, an `=` after a
loading attribute name, a long tag) says it may match, and on the `<` of that tag.

Streaming: no pattern reads more than LOOKAHEAD bytes past its start nor BEHIND bytes before
it, and a match is only acted on if it starts OVERLAP bytes before the end of the buffer (the
rest is carried over with the next chunk); the triggers that can point to such a `<` are at
most REACH bytes further and read less than OVERLAP - REACH past themselves. So any chunking,
down to 1 byte, gives the result of one pass over the whole page, and memory is a few chunks
plus the capped warnings.

Known blind spots (a scanner, not a browser): a tag under 1 KiB is only looked into if its
name loads or switches mode, or one of its first 16 attributes is a loading one written
`name=` (no space before `=`, no `>` in an earlier quoted value); attribute values and CSS
urls are read up to CAP bytes (longer ones are inline data: URIs in practice); CSS and JS
comments are not stripped; in scripts only literal absolute URLs passed straight to a
loading call count.
"""

import html
import re
from collections.abc import Iterable

MAX_WARNINGS = 50
MAX_COUNTED = 10_000  # distinct warnings past the cap are counted by hash, up to this many
MAX_URL = 200
CAP = 4096  # longest attribute value / URL read
LOOKAHEAD = 24 * 1024  # > the furthest any pattern reads past its start (_MARKUP: 20 KiB)
BEHIND = 64  # > the furthest a check reads before a match (_CALLEE: 48 bytes)
OVERLAP = LOOKAHEAD + 1024
MIN_BUFFER = 256 * 1024  # chunks are pooled up to this: tiny feeds stay linear, re-scans rare

RESIDUAL = "a residual channel the sandbox cannot close"
WEBRTC_ADVICE = f"{RESIDUAL}; ask your org admin to turn scripts off, or avoid it"


def _lookbehinds(prefix: str, words: list[str]) -> bytes:
    """`(?<=prefix word)` for each word; re wants one fixed width per lookbehind."""
    widths: dict[int, list[str]] = {}
    for word in words:
        widths.setdefault(len(word), []).append(word)
    return (
        b"(?:"
        + b"|".join(f"(?<={prefix}(?:{'|'.join(group)}))".encode() for group in widths.values())
        + b")"
    )


def _ci(word: str) -> str:
    """word in any case as a regex of classes, for a pattern compiled without re.I (whose
    letters `re` cannot skip cheaply at the start of a branch)."""
    return "".join(f"[{c}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


def _ci_class(chars: list[str]) -> bytes:
    """The inside of a class matching each of chars in either case."""
    return "".join(sorted({c for ch in chars for c in (ch.lower(), ch.upper())})).encode()


def _named_tags(names: list[str]) -> re.Pattern:
    """`<` + one of names (3+ letters, any case) + `[\\s/>]`.

    One class per letter for the first four (the fourth also ends a 3-letter name) turns
    away `</x`, `<td`, `<li>`, `<path`...; lookbehinds then check the letters belong to one
    name. A branch per name from the start would cost ~2 ns per name at every `<`.
    """
    assert all(len(n) >= 3 for n in names)
    gates = [_ci_class([n[i] for n in names if len(n) > i]) for i in range(4)]
    alts = [
        f"(?<=<{_ci(n[:4])}){_ci(n[4:])}[\\s/>]" if len(n) > 3 else f"(?<=<{_ci(n)}[\\s/>])"
        for n in names
    ]
    return re.compile(b"<[%s][%s][%s][%s\\s/>](?:%s)" % (*gates, "|".join(alts).encode()))


# Tags looked into whatever their attributes: they switch the scanner's mode (raw text) or
# load through `href`/`content`, attributes too common on <a> to look for alone.
_RAW_TEXT = [
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "plaintext",
]
_BY_NAME = [*_RAW_TEXT, "link", "base", "meta", "image", "use", "feimage"]
# Attributes that load on any other tag. `<a href>` is deliberately not one: a link is a
# navigation the viewer chooses, not a load, and the frame sandbox stops it anyway; a warning
# per link would bury the ones that mean "this page renders broken". `<a ping>` is a beacon.
_LOAD_ATTRS = [
    "src",
    "srcset",
    "poster",
    "data",
    "action",
    "formaction",
    "ping",
    "background",
    "xlink:href",
]

# `<!--`, or `<` starting a tag worth a look: its name is in _BY_NAME, or one of its first 16
# `=` follows a name in _LOAD_ATTRS, or `style=` with `url(` among its first 8 `(`, or it is
# over 1 KiB long. Lookbehinds at each `=` and `(` keep the common case (a plain tag, no
# match) inside the C engine.
_ATTR_HERE = _lookbehinds("[\\s\"'/]", [f"{a}=" for a in _LOAD_ATTRS])
_STYLE_URL = (
    rb"(?<=[\s\"'/]style=)[\"']?(?:[^\"'>(]{0,512}+\(){1,8}?"
    rb"(?<=[uU][rR][lL]\()"
)
_MARKUP = re.compile(
    rb"<(?:(!--)|(?=[a-z][^\s/>]{0,9}+(?:" + _lookbehinds("<", _BY_NAME) + rb"[\s/>]"
    rb"|(?:[^>=]{0,1024}+=){1,16}?(?:" + _ATTR_HERE + rb"|" + _STYLE_URL + rb")"
    rb"|(?![^>]{0,1024}+>))))",  # a longer tag (big inline values) is always read in full
    re.I,
)


# _MARKUP's lookahead costs ~100 ns at every `<`, and most tags are plain ones. So it is only
# tried on a `<` that one of these cheaper searches (triggers) points at; each finds a
# superset of the `<` where one route of _MARKUP matches, and each starts with a literal.
_NAMED = _named_tags(_BY_NAME)
_COMMENT_OPEN = re.compile(rb"!--(?<=<!--)")  # `!` is rarer than `<`: the trigger is at `!`
# The `=` where _ATTR_HERE or _STYLE_URL holds. Bare `href=`, the commonest attribute with a
# matching last letter, is turned away first.
_LOAD_EQ = re.compile(
    b"=(?<=[%s]=)(?<![\\s\"'/]href=)(?:%s|%s)"
    % (_ci_class([a[-1] for a in [*_LOAD_ATTRS, "style"]]), _ATTR_HERE, _STYLE_URL),
    re.I,
)
LONG_TAG = 1025  # `<` + letter + this many bytes without `>`: maybe over 1 KiB (_long_tag)
# An `=` trigger farther than REACH after its `<` (no `>` between) is in a long tag, whose
# `<` is a trigger itself and comes first: looking back REACH bytes from an `=` is enough.
REACH = LONG_TAG + 2
_NOT_FOUND = 1 << 62


def _long_tag(buf: bytes, start: int) -> int:
    """First `<` + letter at or after start with no `>` in the LONG_TAG bytes after the
    letter (or before the end of buf): a superset of the long-tag route of _MARKUP.

    Jumps window by window past the last `>` in each, so a tag-dense page costs one
    rfind per LONG_TAG bytes rather than a look at every `<`.
    """
    n, i = len(buf), start + 2  # i: first byte of the window after `<` + letter
    while True:
        gt = buf.rfind(b">", i, i + LONG_TAG)
        if gt >= 0:
            i = gt + 1
            continue
        # [i, i + LONG_TAG) has no `>`, nor has the run on to the next `>`
        run_end = buf.find(b">", i + LONG_TAG)
        last = n if run_end < 0 else run_end - LONG_TAG - 1  # windows that fit the run
        lt = i - 2
        while (lt := buf.find(b"<", lt, last)) >= 0:
            if buf[lt + 1 : lt + 2].isalpha():
                return lt
            lt += 1
        if run_end < 0:
            return _NOT_FOUND
        i = run_end + 1


_TAG_NAME = re.compile(rb"[a-zA-Z][^\s/>]{0,63}")
_ATTR = re.compile(
    rb"[\s/]{0,64}(?:(>)|([^\s/>=][^\s/>=]{0,63})(?:\s{0,64}=\s{0,64}(?:"
    rb'"([^"]{0,%d})("?)' % CAP + rb"|'([^']{0,%d})('?)" % CAP + rb"|([^\s>]{0,%d})))?)?" % CAP
)
_KEPT_ATTRS = {
    b"src",
    b"srcset",
    b"href",
    b"xlink:href",
    b"poster",
    b"data",
    b"action",
    b"formaction",
    b"ping",
    b"style",
    b"background",
    b"rel",
    b"http-equiv",
    b"content",
    b"imagesrcset",
}
_END_TAG = {name: re.compile(rb"</(?i:" + name.encode() + rb")") for name in _RAW_TEXT}

# Script text: one literal-led pattern per thing worth reporting (see _Scanner._script).
_URL = rb"[^\"'`\s<]{1,%d}" % CAP  # no `<`: a match never runs past `</script`
_ABS_URL = rb"(?:https?:|wss?:)?//" + _URL
_SCRIPT_HITS = [
    ("webrtc", re.compile(rb"RTC(?:PeerConnection|DataChannel)")),
    ("webrtc", re.compile(rb"iceServers")),
    ("ice", re.compile(rb"stuns?:" + _URL)),
    ("ice", re.compile(rb"turns?:" + _URL)),
    # `(` + a literal absolute URL, also as 2nd argument after a quoted word (xhr.open)
    (
        "call",
        re.compile(
            rb"\(\s{0,16}(?:([\"'`])\w{1,16}\1\s{0,16},\s{0,16})?[\"'`](" + _ABS_URL + rb")"
        ),
    ),
    ("import", re.compile(rb"from\s{0,16}[\"'`](" + _ABS_URL + rb")")),
    ("import", re.compile(rb"import\s{0,16}[\"'`](" + _ABS_URL + rb")")),
]
_CALLEE = re.compile(
    rb"(?<![\w$])(?:(fetch|importScripts|import|sendBeacon|(?:Shared)?Worker"
    rb"|WebSocket|EventSource)|open)\s{0,16}\Z"
)
_CALLS = {
    b"fetch": "fetch()",
    b"importScripts": "importScripts()",
    b"import": "import()",
    b"sendBeacon": "sendBeacon()",
    b"Worker": "new Worker()",
    b"SharedWorker": "new SharedWorker()",
    b"WebSocket": "new WebSocket()",
    b"EventSource": "new EventSource()",
}


def _css_url(group: str, also_ends: str = "") -> str:
    """A quoted or bare CSS url into named groups `group_dq`, `group_sq`, `group`."""
    return (
        rf"(?:\"(?P<{group}_dq>[^\"]{{0,{CAP}}})|'(?P<{group}_sq>[^']{{0,{CAP}}})"
        rf"|(?P<{group}>[^\"'()\s{also_ends}]{{1,{CAP}}}))"
    )


_CSS = (  # `@import`, or `(` just after `url`
    r"@import\s{0,64}(?:[uU][rR][lL]\(\s{0,64})?"
    + _css_url("imp", also_ends=";")
    + r"|\((?<=[uU][rR][lL]\()\s{0,64}"
    + _css_url("url")
)
_STYLE = re.compile(rb"(</(?i:style))|" + _CSS.encode())
_CSS_TEXT = re.compile(_CSS)  # for style="" values, already decoded

_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_TAB_NL = re.compile(r"[\t\n\r]")
_SRCSET_URL = re.compile(r"[\s,]*(\S+)")
_REFRESH = re.compile(
    r"\s*[\d.]+\s*[;,]?\s*(?:url\s*=\s*)?(?:\"([^\"]*)|'([^']*)|(.*))", re.I | re.S
)

_LINK_KINDS = [  # first rel token that matches names the warning
    ({"stylesheet"}, "external stylesheet"),
    ({"modulepreload"}, "external module preload"),
    ({"preload", "prefetch", "prerender"}, "external preload"),
    ({"icon", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon"}, "external icon"),
    ({"manifest"}, "external manifest"),
]
_TAG_LOADS = {  # (tag or "*", attribute) -> what it loads
    ("script", b"src"): "external script",
    ("script", b"href"): "external script",
    ("script", b"xlink:href"): "external script",
    ("img", b"src"): "external image",
    ("img", b"srcset"): "external image",
    ("input", b"src"): "external image",
    ("source", b"srcset"): "external image",
    ("image", b"href"): "external image",
    ("image", b"xlink:href"): "external image",
    ("feimage", b"href"): "external image",
    ("feimage", b"xlink:href"): "external image",
    ("video", b"poster"): "external image",
    ("*", b"background"): "external image",
    ("use", b"href"): "external SVG resource",
    ("use", b"xlink:href"): "external SVG resource",
    ("video", b"src"): "external media",
    ("audio", b"src"): "external media",
    ("source", b"src"): "external media",
    ("track", b"src"): "external media",
    ("iframe", b"src"): "external frame",
    ("frame", b"src"): "external frame",
    ("portal", b"src"): "external frame",
    ("embed", b"src"): "external object",
    ("object", b"data"): "external object",
    ("form", b"action"): "form submission",
    ("button", b"formaction"): "form submission",
    ("input", b"formaction"): "form submission",
    ("a", b"ping"): "<a ping> beacon",
    ("area", b"ping"): "<a ping> beacon",
}

# Scanner modes
_DATA, _ATTRS, _QUOTED, _COMMENT, _SCRIPT, _STYLE_TEXT, _RAW, _PLAINTEXT = range(8)


def url_short(url: str) -> str:
    return url if len(url) <= MAX_URL else url[:MAX_URL] + "…"


def _blocked(url: str) -> str | None:
    """The URL as shown if loading it fails in the sandbox, else None.

    Absolute http(s), protocol-relative and relative URLs all fail (relative ones resolve
    against the sandbox origin, which serves only this page); data:, blob:, about:,
    javascript: and other schemes are not network loads, nor is an empty URL or #fragment.
    """
    url = _TAB_NL.sub("", url.strip(" \t\n\r\f"))  # what browsers do before parsing
    if not url or url.startswith("#"):
        return None
    scheme = _SCHEME.match(url)
    if scheme and scheme.group(1).lower() not in ("http", "https"):
        return None
    return url_short(url)


def _srcset_urls(value: str) -> list[str]:
    """Candidate URLs of a srcset (the HTML algorithm, minus descriptor validation)."""
    urls, pos = [], 0
    while m := _SRCSET_URL.match(value, pos):
        url, pos = m.group(1), m.end()
        if url.endswith(","):
            url = url.rstrip(",")
        else:  # skip the descriptors up to the next candidate
            comma = value.find(",", pos)
            pos = len(value) if comma < 0 else comma + 1
        if url:
            urls.append(url)
    return urls


class Warnings:
    """First-seen order, deduplicated, capped; distinct ones past the cap only counted."""

    def __init__(self):
        self.shown: list[str] = []
        self.more: set[int] = set()
        self.more_overflow = False

    @property
    def full(self) -> bool:
        """Nothing found from now on can change the result."""
        return self.more_overflow

    def add(self, text: str) -> None:
        if text in self.shown:
            return
        if len(self.shown) < MAX_WARNINGS:
            self.shown.append(text)
        elif len(self.more) < MAX_COUNTED:
            self.more.add(hash(text))
        else:
            self.more_overflow |= hash(text) not in self.more

    def result(self) -> list[str]:
        if not self.more:
            return list(self.shown)
        over = "more than " if self.more_overflow else ""
        return [*self.shown, f"… and {over}{len(self.more)} more"]


class _Scanner:
    def __init__(self):
        self.out = Warnings()
        self.mode = _DATA
        self.tag = ""
        self.attrs: dict[bytes, bytes] = {}
        self.quote = b""
        self.end_tag: re.Pattern | None = None
        self._new_buffer(b"", 0)

    def scan(self, buf: bytes, pos: int, final: bool) -> int:
        """Consumes what it safely can of buf from pos; returns where it stopped."""
        limit = len(buf) if final else len(buf) - OVERLAP
        self._new_buffer(buf, limit)
        while pos < limit and not self.out.full:
            pos = self._steps[self.mode](self, buf, pos, limit)
        return pos

    def _new_buffer(self, buf, limit):
        """State of _find_markup for one buffer: the next hit of each trigger search at or
        after where it last searched, and the first of them; the first position whose
        triggers own no `<` before the limit; how many false triggers it still bears."""
        self.named = self.comment = self.load_eq = self.long_tag = self.hit = -1
        gt = buf.find(b">", limit, limit + REACH)  # a trigger past a `>` owns no `<` before it
        self.stop = limit + REACH if gt < 0 else gt
        self.spare = len(buf) >> 10

    def _find_markup(self, buf, pos, limit):
        """_MARKUP.search(buf, pos) if it starts before limit, else None; the same match.

        Where _MARKUP matches, a trigger is at its `<` or (_LOAD_EQ, _COMMENT_OPEN) after it
        with no `>` between. Triggers are taken in page order, and for each, the `<` not
        tried yet after the last `>` before it (and at most REACH bytes back) are tried in
        order: so the first `<` found to match is the first in the page. Each search's next
        hit is kept for the rest of the buffer: a buffer costs one pass of each, however
        many tags match. A trigger owning no match is a false one (`src=` in text, say);
        past one per KiB of buffer, the rest of the buffer is left to _MARKUP.search.
        """
        # The next `<` first: after a tag that loads, the next one often does too.
        done = buf.find(b"<", pos, limit)  # no `<` in [pos, done) starts a _MARKUP match
        if done < 0:
            return None
        if m := _MARKUP.match(buf, done):
            return m
        done += 1
        while True:
            if self.spare < 0:
                m = _MARKUP.search(buf, done)
                return m if m and m.start() < limit else None
            hit = self.hit
            if hit < done:  # some searches are behind done: move them on
                if self.named < done:
                    m = _NAMED.search(buf, done)
                    self.named = m.start() if m else _NOT_FOUND
                if self.comment < done:
                    m = _COMMENT_OPEN.search(buf, done)
                    self.comment = m.start() if m else _NOT_FOUND
                if self.load_eq < done:
                    m = _LOAD_EQ.search(buf, done)
                    self.load_eq = m.start() if m else _NOT_FOUND
                if self.long_tag < done:
                    self.long_tag = _long_tag(buf, done)
                hit = self.hit = min(self.named, self.comment, self.load_eq, self.long_tag)
            if hit >= self.stop:
                return None
            lo = done if hit - REACH < done else hit - REACH
            end = hit + 1 if hit < limit else limit
            lt = buf.find(b"<", buf.rfind(b">", lo, hit) + 1 or lo, end)
            while lt >= 0:
                if m := _MARKUP.match(buf, lt):
                    return m
                lt = buf.find(b"<", lt + 1, end)
            # Nothing is left to try up to the next `<`: the triggers before it could only
            # own a `<` just tried.
            self.spare -= 1
            done = buf.find(b"<", hit + 1, limit)
            if done < 0:
                return None

    # Each step returns the new position; one >= limit means "need more input".

    def _data(self, buf, pos, limit):
        m = self._find_markup(buf, pos, limit)
        if not m:
            return limit
        if m.group(1):
            if buf.startswith((b">", b"->"), m.end()):  # `<!-->` and `<!--->` are whole
                return buf.index(b">", m.end()) + 1
            self.mode = _COMMENT
            return m.end()
        name = _TAG_NAME.match(buf, m.start() + 1)
        self.tag, self.attrs, self.mode = name.group().lower().decode("latin-1"), {}, _ATTRS
        return name.end()

    def _comment(self, buf, pos, limit):
        end = buf.find(b"-->", pos)
        if end < 0:
            return max(pos, limit)
        self.mode = _DATA
        return end + 3

    def _attr(self, buf, pos, limit):
        m = _ATTR.match(buf, pos)
        end, name, dq, dq_end, sq, sq_end, uq = m.groups()
        if end:
            self._tag_done()
            return m.end()
        if name is None:
            return max(m.end(), pos + 1)  # stray character: step over it
        name = name.lower()
        if name in _KEPT_ATTRS and name not in self.attrs:  # the first one wins, as in HTML
            self.attrs[name] = dq if dq is not None else sq if sq is not None else uq or b""
        if (dq is not None and not dq_end) or (sq is not None and not sq_end):
            self.quote, self.mode = (b'"' if dq is not None else b"'"), _QUOTED  # > CAP: skip
        return m.end()

    def _quoted(self, buf, pos, limit):
        end = buf.find(self.quote, pos)
        if end < 0:
            return len(buf)  # nothing to keep
        self.mode = _ATTRS
        return end + 1

    def _script(self, buf, pos, limit):
        close = self.end_tag.search(buf, pos)
        closed = close is not None and close.start() < limit
        # Each pattern runs over the text up to `</script` (or the safe limit); no match
        # can contain `<`, so stopping at the limit or at the close finds the same matches.
        stop, endpos = (close.start(), close.start()) if closed else (limit, len(buf))
        hits = []
        for kind, pattern in _SCRIPT_HITS:
            for m in pattern.finditer(buf, pos, endpos):
                if m.start() >= stop:
                    break
                hits.append((m.start(), kind, m))
        for _, kind, m in sorted(hits, key=lambda hit: hit[0]):  # page order, as in one pass
            self._script_hit(kind, buf, m)
        if closed:
            self.mode = _DATA
            return close.end()
        return limit

    def _script_hit(self, kind, buf, m):
        start, found = m.start(), m.group().decode("utf-8", "replace")
        if kind == "webrtc":
            prefix = next((p for p in (b"webkit", b"moz") if buf[start - len(p) : start] == p), b"")
            self.out.add(f"WebRTC use detected ({prefix.decode()}{found}): {WEBRTC_ADVICE}")
        elif kind == "ice":
            if buf[start - 1 : start] in (b'"', b"'", b"`"):  # a string, not `turn: 1`
                self.out.add(f"WebRTC use detected ({url_short(found)}): {WEBRTC_ADVICE}")
        elif kind == "import":
            url = url_short(m.group(1).decode("utf-8", "replace"))
            self.out.add(f"module import blocked: {url}")
        elif callee := _CALLEE.search(buf, max(0, start - BEHIND + 16), start):
            url = url_short(m.group(2).decode("utf-8", "replace"))
            if m.group(1) and not callee.group(1):  # open("GET", url)
                self.out.add(f"XMLHttpRequest blocked: {url}")
            elif not m.group(1) and callee.group(1):
                self.out.add(f"{_CALLS[callee.group(1)]} blocked: {url}")

    def _style(self, buf, pos, limit):
        m = _STYLE.search(buf, pos)
        if not m or m.start() >= limit:
            return limit
        if m.group(1):
            self.mode = _DATA
        else:
            self._css_match(m, lambda v: v.decode("utf-8", "replace"))
        return m.end()

    def _raw(self, buf, pos, limit):
        m = self.end_tag.search(buf, pos)
        if not m or m.start() >= limit:
            return limit
        self.mode = _DATA
        return m.end()

    def _plaintext(self, buf, pos, limit):
        return len(buf)  # <plaintext> never ends: the rest is text

    _steps = {
        _DATA: _data,
        _ATTRS: _attr,
        _QUOTED: _quoted,
        _COMMENT: _comment,
        _SCRIPT: _script,
        _STYLE_TEXT: _style,
        _RAW: _raw,
        _PLAINTEXT: _plaintext,
    }

    def _css_match(self, m, text):
        imported = next((v for v in m.group("imp_dq", "imp_sq", "imp") if v), None)
        url = imported or next((v for v in m.group("url_dq", "url_sq", "url") if v), None)
        if url and (shown := _blocked(text(url))):
            self.out.add(f"CSS {'@import' if imported else 'url()'} blocked: {shown}")

    def _tag_done(self):
        tag, attrs = self.tag, self.attrs
        self.mode = _DATA
        if end_tag := _END_TAG.get(tag):
            self.mode = {"script": _SCRIPT, "style": _STYLE_TEXT, "plaintext": _PLAINTEXT}.get(
                tag, _RAW
            )
            self.end_tag = end_tag
        if not attrs:
            return
        values = {k: v.decode("utf-8", "replace") for k, v in attrs.items()}
        values = {k: html.unescape(v) if "&" in v else v for k, v in values.items()}
        add = self.out.add
        for m in _CSS_TEXT.finditer(values.get(b"style", "")):
            self._css_match(m, str)
        if tag == "link":
            self._link(values)
        elif tag == "base":
            if shown := _blocked(values.get(b"href", "")):
                add(f"<base href> ignored: {shown}")
        elif tag == "meta" and values.get(b"http-equiv", "").strip().lower() == "refresh":
            m = _REFRESH.match(values.get(b"content", ""))
            if m and (shown := _blocked(next(v for v in m.groups() if v is not None))):
                add(f"<meta refresh> blocked: {shown}")
        for name, value in values.items():
            kind = _TAG_LOADS.get((tag, name)) or _TAG_LOADS.get(("*", name))
            if not kind:
                continue
            if name == b"srcset":
                urls = _srcset_urls(value)
            elif name == b"ping":
                urls = value.split()
            else:
                urls = [value]
            for url in urls:
                if shown := _blocked(url):
                    add(f"{kind} blocked: {shown}")

    def _link(self, values):
        rels = set(values.get(b"rel", "").lower().split())
        href = values.get(b"href", "")
        if hint := next((r for r in ("preconnect", "dns-prefetch") if r in rels), None):
            # A relative href stays on the sandbox origin: only other hosts leak.
            shown = _blocked(href)
            if shown and (shown.startswith("//") or _SCHEME.match(shown)):
                self.out.add(f"<link rel={hint}> to {shown}: {RESIDUAL}; remove it")
            return
        kind = next((k for names, k in _LINK_KINDS if rels & names), None)
        if not kind:
            return  # canonical, alternate, author...: metadata, nothing is fetched
        for url in [href, *_srcset_urls(values.get(b"imagesrcset", ""))]:
            if shown := _blocked(url):
                self.out.add(f"{kind} blocked: {shown}")


def warnings_scan(chunks: Iterable[bytes]) -> list[str]:
    """Warnings for an HTML page given as byte chunks of any size; memory stays bounded."""
    scanner = _Scanner()
    carry, pos, pending, pending_len = b"", 0, [], 0
    for chunk in chunks:
        pending.append(chunk)
        pending_len += len(chunk)
        if pending_len < MIN_BUFFER:
            continue
        buf = b"".join([carry, *pending])
        pending, pending_len = [], 0
        pos = scanner.scan(buf, pos, final=False)
        if scanner.out.full:
            return scanner.out.result()
        keep = max(0, pos - BEHIND)  # a few bytes before pos, for the look-back checks
        carry, pos = buf[keep:], pos - keep
    scanner.scan(b"".join([carry, *pending]), pos, final=True)
    return scanner.out.result()
