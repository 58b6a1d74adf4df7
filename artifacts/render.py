"""Markdown source -> one self-contained, script-free HTML page.

How it stays fast while bleach does the sanitising:

* cmark-gfm (C, through the ``cmarkgfm`` package) parses the source and renders the HTML. What
  cmark renders by itself is escaped text inside a fixed set of harmless tags, so its output is
  safe by construction except for three things, which are fixed in the syntax tree first:

  - raw HTML the author wrote (HTML_BLOCK / HTML_INLINE nodes) is cut into tags and text with
    CommonMark's own raw-HTML grammar, and each token is sanitised and re-serialised by bleach
    (``BleachSanitizerFilter`` + its serializer: tag and attribute allowlists, URL protocols,
    CSS). Fed token by token rather than through html5lib's tree builder, a lone ``<details>``
    stays open for the Markdown that follows, as authors intend, and disallowed tags (script,
    style, textarea, title, svg...) come out escaped, so they can never swallow the page;
  - link and image URLs: links must pass bleach's URL check (http, https, mailto, relative,
    #fragment); images must be ``data:image/`` URLs. Anything else is unwrapped to its text;
  - fenced code with a known language is replaced by Pygments' (escaped) highlighted HTML.

* bleach over a whole rendered page (pure-Python html5lib) takes ~1.3 s for a realistic 1 MiB
  document and ~65 s for 16 MiB, far over the 1 s and 15 s budgets. Raw HTML is a small share
  of a Markdown document and its tags repeat (short ones are cached), so here the whole render
  takes ~0.25 s and ~2 s. Figures: ``python bench/bench_markdown.py``.

``cmarkgfm``'s compiled cffi module only wraps parse-and-render. The tree API (iterator, node
getters and setters) is compiled into the same shared library and exported, so it is loaded
again in cffi ABI mode (``dlopen`` of an already loaded library returns the same instance).
"""

import html
import re
from dataclasses import dataclass
from functools import lru_cache

import cffi
from bleach.css_sanitizer import CSSSanitizer
from bleach.html5lib_shim import BleachHTMLSerializer, convert_entities
from bleach.sanitizer import BleachSanitizerFilter
from cmarkgfm import _cmark
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from .diagrams import diagram_script, diagram_script_hash
from .markdown_math import (
    OPEN,
    PLACEHOLDER,
    Formula,
    math_html,
    math_protect,
    placeholders_html,
    placeholders_restore,
)

#: Characters of distinct TeX converted to MathML per document, first come first served:
#: latex2mathml takes 15-40 µs per character (a long display formula ~1.2 ms), so a
#: document dense with distinct formulas would break the 1 s budget of a synchronous
#: render; 16 Ki costs at most ~0.5 s. Formulas past it stay as written ($…$ in the text).
MATH_BUDGET = 16 * 1024

#: Documents up to this size may be rendered synchronously during a push; bigger ones are
#: rendered in the background (the caller decides).
RENDER_SYNC_LIMIT = 1 * 1024 * 1024

#: Characters of fenced code highlighted per document, first come first served. Pygments runs
#: at 0.4-2.3 s per MiB of code (JSON fastest, Python slowest) while all the rest takes
#: ~0.1-0.15 s per MiB of Markdown, so a document of mostly code would break the 1 s budget of
#: a synchronous render; 128 Ki costs at most ~0.3 s. Blocks past it stay plain <pre><code>.
HIGHLIGHT_BUDGET = 128 * 1024

# -- What authors' raw HTML may contain -----------------------------------------------------

# No raw-text/RCDATA element (script, style, textarea, title, xmp, iframe, noembed, noframes,
# noscript, plaintext), no foreign content (svg, math), nothing that loads or submits anything.
ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "details",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "rp",
        "rt",
        "ruby",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "tt",
        "u",
        "ul",
        "var",
        "wbr",
    }
)

ALLOWED_ATTRIBUTES = {
    "*": ["id", "title", "lang", "dir", "align", "style"],
    "a": ["href", "name"],
    "img": ["src", "alt", "width", "height"],
    "td": ["colspan", "rowspan"],
    "th": ["colspan", "rowspan", "scope"],
    "col": ["span"],
    "colgroup": ["span"],
    "ol": ["start", "type", "reversed"],
    "li": ["value"],
    "details": ["open"],
    "time": ["datetime"],
    "del": ["datetime"],
    "ins": ["datetime"],
}

# Text styling only: no property here takes a url(), so no style can load anything.
CSS = CSSSanitizer(
    allowed_css_properties=frozenset(
        {
            "color",
            "background-color",
            "font-weight",
            "font-style",
            "font-variant",
            "font-size",
            "font-family",
            "text-decoration",
            "text-align",
            "text-transform",
            "vertical-align",
            "white-space",
            "letter-spacing",
            "line-height",
        }
    ),
    allowed_svg_properties=frozenset(),
)

LINK_PROTOCOLS = frozenset({"http", "https", "mailto"})
IMAGE_PROTOCOLS = frozenset({"data"})


class _Sanitiser(BleachSanitizerFilter):
    """bleach's filter, with one set of URL protocols per tag: images get data: only."""

    def allow_token(self, token):
        self.allowed_protocols = IMAGE_PROTOCOLS if token["name"] == "img" else LINK_PROTOCOLS
        return super().allow_token(token)


_SERIALISER = BleachHTMLSerializer(
    quote_attr_values="always",
    omit_optional_tags=False,
    escape_lt_in_attrs=True,
    resolve_entities=False,
    sanitize=False,
    alphabetical_attributes=False,
)
_URLS = BleachSanitizerFilter(source=())  # for its sanitize_uri_value

# CommonMark's raw-HTML grammar (spec 0.29, as cmark-gfm uses): an inline HTML node is exactly
# one of these; an HTML block is a run of them and text. Comments, processing instructions,
# declarations and CDATA are dropped; unterminated, they run to the end (as in browsers), which
# also keeps the split linear: "<!--" a million times must not rescan the rest a million times.
_ATTR_NAME = r"[A-Za-z_:][A-Za-z0-9_.:-]*"
_ATTR_VALUE = r"""(?:[^"'=<>`\x00-\x20]+|'[^']*'|"[^"]*")"""
_OPEN_TAG = rf"<[A-Za-z][A-Za-z0-9-]*(?:\s+{_ATTR_NAME}(?:\s*=\s*{_ATTR_VALUE})?)*\s*/?>"
_RAW_HTML = re.compile(
    rf"(<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)|<![A-Za-z][^>]*(?:>|\Z)"
    rf"|</[A-Za-z][A-Za-z0-9-]*\s*>|{_OPEN_TAG})",
    re.DOTALL,
)
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTR = re.compile(rf"({_ATTR_NAME})(?:\s*=\s*({_ATTR_VALUE}))?")
_URL_JUNK = re.compile(r"[`\x00-\x20\x7f-\xa0\s]+")  # what browsers ignore in a URL (as bleach)


def _is_data_image(url: str) -> bool:
    return _URL_JUNK.sub("", convert_entities(url)).lower().startswith("data:image/")


def _link_ok(url: str) -> bool:
    return _URLS.sanitize_uri_value(url, LINK_PROTOCOLS) is not None


def _token(raw: str) -> dict | None:
    """One raw-HTML token in html5lib's tree-walker shape, as bleach's filter expects."""
    if raw[1] in "!?":  # comment, declaration, processing instruction, CDATA: dropped
        return None
    if raw[1] == "/":
        return {"type": "EndTag", "name": raw[2:-1].strip().lower()}
    inner = raw[1:-1]
    name = _TAG_NAME.match(inner).group()
    attrs = {}
    # Attribute values stay raw (entities unresolved): that is what bleach's own tokenizer
    # produces and what its URL check and serializer expect.
    for m in _ATTR.finditer(inner, len(name)):
        value = m.group(2) or ""
        if value[:1] in ("'", '"'):
            value = value[1:-1]
        attrs.setdefault((None, m.group(1).lower()), value)  # first one wins, as in browsers
    name = name.lower()
    if name == "img" and not _is_data_image(attrs.get((None, "src"), "")):
        return {"type": "Characters", "data": attrs.get((None, "alt"), "")}
    return {"type": "StartTag", "name": name, "data": attrs}


def _clean(part: str, is_tag: bool) -> str:
    """One token through bleach's sanitiser and serializer."""
    token = _token(part) if is_tag else {"type": "Characters", "data": part}
    if token is None:
        return ""
    sanitiser = _Sanitiser(
        source=[token], allowed_tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, css_sanitizer=CSS
    )
    return _SERIALISER.render(sanitiser)


# Tags repeat a lot (<td>, </kbd>, <br>...): cache short tokens; bleach's filter is per token, so
# this is the same as passing the whole literal through it at once.
_clean_cached = lru_cache(maxsize=8192)(_clean)


def _sanitise(literal: str) -> str:
    return "".join(
        (_clean_cached if len(part) <= 200 else _clean)(part, i % 2 == 1)
        for i, part in enumerate(_RAW_HTML.split(literal))
        if part
    )


_sanitise_cached = lru_cache(maxsize=8192)(_sanitise)


def sanitise_html(literal: str) -> str:
    """A fragment of author HTML, possibly unbalanced, made safe; open tags are left open."""
    return (_sanitise_cached if len(literal) <= 200 else _sanitise)(literal)


# -- cmark-gfm's tree API, from the library cmarkgfm already loaded ------------------------------

_ffi = cffi.FFI()
_ffi.cdef("""
typedef struct cmark_node cmark_node;
typedef struct cmark_parser cmark_parser;
typedef struct cmark_iter cmark_iter;
typedef struct cmark_llist cmark_llist;
typedef struct cmark_syntax_extension cmark_syntax_extension;
typedef struct cmark_mem {
  void *(*calloc)(size_t, size_t);
  void *(*realloc)(void *, size_t);
  void (*free)(void *);
} cmark_mem;

cmark_mem *cmark_get_default_mem_allocator(void);
void cmark_gfm_core_extensions_ensure_registered(void);
cmark_syntax_extension *cmark_find_syntax_extension(const char *name);
cmark_parser *cmark_parser_new(int options);
int cmark_parser_attach_syntax_extension(cmark_parser *parser, cmark_syntax_extension *ext);
void cmark_parser_feed(cmark_parser *parser, const char *buffer, size_t len);
cmark_node *cmark_parser_finish(cmark_parser *parser);
cmark_llist *cmark_parser_get_syntax_extensions(cmark_parser *parser);
void cmark_parser_free(cmark_parser *parser);
char *cmark_render_html(cmark_node *root, int options, cmark_llist *extensions);

cmark_iter *cmark_iter_new(cmark_node *root);
int cmark_iter_next(cmark_iter *iter);
cmark_node *cmark_iter_get_node(cmark_iter *iter);
void cmark_iter_free(cmark_iter *iter);

int cmark_node_get_type(cmark_node *node);
const char *cmark_node_get_type_string(cmark_node *node);
cmark_node *cmark_node_new(int type);
void cmark_node_free(cmark_node *node);
const char *cmark_node_get_literal(cmark_node *node);
int cmark_node_set_literal(cmark_node *node, const char *content);
const char *cmark_node_get_url(cmark_node *node);
int cmark_node_set_url(cmark_node *node, const char *url);
const char *cmark_node_get_title(cmark_node *node);
int cmark_node_set_title(cmark_node *node, const char *title);
const char *cmark_node_get_fence_info(cmark_node *node);
cmark_node *cmark_node_first_child(cmark_node *node);
cmark_node *cmark_node_next(cmark_node *node);
int cmark_node_insert_before(cmark_node *node, cmark_node *sibling);
int cmark_node_append_child(cmark_node *node, cmark_node *child);
cmark_node *cmark_node_parent(cmark_node *node);
int cmark_node_get_heading_level(cmark_node *node);
int cmark_node_replace(cmark_node *oldnode, cmark_node *newnode);
void cmark_node_unlink(cmark_node *node);
""")
_lib = _ffi.dlopen(_cmark.__file__)
_free = _lib.cmark_get_default_mem_allocator().free  # what cmark's results are allocated with

_lib.cmark_gfm_core_extensions_ensure_registered()
# tagfilter only touches raw HTML, which bleach has already cleaned: kept as a second fence.
_EXTENSIONS = [
    _lib.cmark_find_syntax_extension(name)
    for name in (b"table", b"strikethrough", b"autolink", b"tasklist", b"tagfilter")
]
if _ffi.NULL in _EXTENSIONS:
    raise ImportError("cmark-gfm lacks one of its GFM extensions")
# UNSAFE: let cmark emit raw HTML (sanitised by then) and leave URLs to us (checked by then).
_OPTIONS = _cmark.lib.CMARK_OPT_UNSAFE | _cmark.lib.CMARK_OPT_FOOTNOTES
_EVENT_DONE, _EVENT_ENTER = 1, 2  # cmark_event_type


def _node_types() -> dict[str, int]:
    """Node type numbers by name, read from the library rather than copied from its header:
    a wrong number here would let raw HTML through unsanitised, so fail loudly instead."""
    wanted = {"html_block", "html_inline", "code_block", "link", "image", "heading", "text", "code"}
    wanted |= {"block_quote", "paragraph", "softbreak", "linebreak"}
    sample = b"# `c`\n\n<div>\n\n```\nx\n```\n\n<b> [l](u) ![i](v)\\\nw\nz\n\n> q\n"
    parser = _lib.cmark_parser_new(0)
    _lib.cmark_parser_feed(parser, sample, len(sample))
    root = _lib.cmark_parser_finish(parser)
    types, it = {}, _lib.cmark_iter_new(root)
    while _lib.cmark_iter_next(it) != _EVENT_DONE:
        node = _lib.cmark_iter_get_node(it)
        types[_ffi.string(_lib.cmark_node_get_type_string(node)).decode()] = (
            _lib.cmark_node_get_type(node)
        )
    _lib.cmark_iter_free(it)
    _lib.cmark_node_free(root)
    _lib.cmark_parser_free(parser)
    if missing := wanted - types.keys():
        raise ImportError(f"cmark-gfm node types not found: {sorted(missing)}")
    return types


_T = _node_types()
HTML_BLOCK, HTML_INLINE, CODE_BLOCK = _T["html_block"], _T["html_inline"], _T["code_block"]
LINK, IMAGE, HEADING, TEXT, CODE = _T["link"], _T["image"], _T["heading"], _T["text"], _T["code"]
BLOCK_QUOTE, PARAGRAPH = _T["block_quote"], _T["paragraph"]
LINE_BREAKS = (_T["softbreak"], _T["linebreak"])


def _str(ptr) -> str:
    return "" if ptr == _ffi.NULL else _ffi.string(ptr).decode("utf-8", "replace")


def _unwrap(node) -> None:
    """Replace a node by its children (a link by its text, an image by its alt text)."""
    child = _lib.cmark_node_first_child(node)
    while child != _ffi.NULL:
        after = _lib.cmark_node_next(child)
        _lib.cmark_node_insert_before(node, child)
        child = after
    _lib.cmark_node_unlink(node)
    _lib.cmark_node_free(node)


# -- Code highlighting -------------------------------------------------------------------------

_FORMATTER = HtmlFormatter(nowrap=True)


@lru_cache(maxsize=256)
def _lexer(lang: str):
    try:
        return get_lexer_by_name(lang, stripnl=False)  # keep the author's blank lines
    except ClassNotFound:
        return None


def _highlighted(code: str, lang: str) -> str | None:
    lexer = _lexer(lang.lower()) if lang else None
    if lexer is None:
        return None
    return (
        f'<pre class="highlight"><code class="language-{html.escape(lang)}">'
        f"{highlight(code, lexer, _FORMATTER)}</code></pre>"
    )


@dataclass(frozen=True)
class _Found:
    heading: str  # the first heading's text
    diagrams: int


def _make_safe(root, formulas: list[Formula]) -> _Found:
    """Sanitise the tree in place (see the module docstring), then add what GitHub adds:
    alerts, heading anchors, a contents list, math (`formulas`, cut out of the source by
    artifacts.markdown_math) and diagrams."""
    raw, links, images, code, quotes, headings, maths = [], [], [], [], [], [], []
    buckets = {
        HTML_BLOCK: raw,
        HTML_INLINE: raw,
        LINK: links,
        IMAGE: images,
        CODE_BLOCK: code,
        BLOCK_QUOTE: quotes,
    }
    in_heading = None  # (node, its text's parts) while inside a heading
    in_image = None  # an image's alt text is plain text: its formulas stay TeX
    it = _lib.cmark_iter_new(root)
    next_event, get_node, get_type = (
        _lib.cmark_iter_next,
        _lib.cmark_iter_get_node,
        (_lib.cmark_node_get_type),
    )
    try:
        while (event := next_event(it)) != _EVENT_DONE:
            node = get_node(it)
            if event != _EVENT_ENTER:
                if in_heading and node == in_heading[0]:
                    in_heading = None
                elif node == in_image:
                    in_image = None
                continue
            kind = get_type(node)
            if (bucket := buckets.get(kind)) is not None:
                bucket.append(node)
            if kind == HEADING:
                in_heading = (node, [])
                headings.append(in_heading)
            elif kind == IMAGE and in_image is None:
                in_image = node
            elif kind in (TEXT, CODE) and (in_heading or (formulas and kind == TEXT)):
                literal = _str(_lib.cmark_node_get_literal(node))
                if formulas and OPEN in literal:
                    maths.append((node, in_image is None and kind == TEXT))
                if in_heading:
                    in_heading[1].append(placeholders_restore(literal, formulas))
    finally:
        _lib.cmark_iter_free(it)

    if formulas:  # math is not math in code, raw HTML or a URL: back to its source
        _restore(raw + code, formulas)
    for node in raw:
        literal = _str(_lib.cmark_node_get_literal(node))
        if (clean := sanitise_html(literal)) != literal:
            _lib.cmark_node_set_literal(node, clean.encode())
    for node in links + images if formulas else ():
        url, title = _str(_lib.cmark_node_get_url(node)), _str(_lib.cmark_node_get_title(node))
        if OPEN in url:
            _lib.cmark_node_set_url(node, placeholders_restore(url, formulas).encode())
        if OPEN in title:
            _lib.cmark_node_set_title(node, placeholders_restore(title, formulas).encode())
    for node in links:
        if not _link_ok(_str(_lib.cmark_node_get_url(node))):
            _unwrap(node)
    for node in images:
        if not _is_data_image(_str(_lib.cmark_node_get_url(node))):
            _unwrap(node)
    budget, diagrams = HIGHLIGHT_BUDGET, 0
    for node in code:
        literal = _str(_lib.cmark_node_get_literal(node))
        lang = _str(_lib.cmark_node_get_fence_info(node)).split(maxsplit=1)
        lang = lang[0] if lang else ""
        if lang == "math":
            _replace(node, _html_node(HTML_BLOCK, f"<p>{math_html(literal, display=True)}</p>"))
            continue
        if lang == "mermaid":
            # Drawn in the browser by the page's one script (artifacts.diagrams); until
            # then, and without it, the source shows as code.
            diagrams += 1
            figure = (
                '<figure class="diagram"><pre class="mermaid-source"><code>'
                f"{html.escape(literal, quote=False)}</code></pre></figure>"
            )
            _replace(node, _html_node(HTML_BLOCK, figure))
            continue
        if len(literal) > budget:
            continue
        if (highlighted := _highlighted(literal, lang)) is None:
            continue
        budget -= len(literal)
        _replace(node, _html_node(HTML_BLOCK, highlighted))
    # What follows writes HTML of its own, after the author's was cleaned: every piece of
    # the author's text in it is escaped.
    for node, as_math in maths:
        literal = _str(_lib.cmark_node_get_literal(node))
        if as_math:
            _replace(node, _html_node(HTML_INLINE, placeholders_html(literal, formulas)))
        else:
            _lib.cmark_node_set_literal(node, placeholders_restore(literal, formulas).encode())
    for quote in quotes:
        _alert(quote)
    sections = [(node, "".join(parts)) for node, parts in headings]
    _anchors_and_contents(root, sections)
    return _Found(heading=sections[0][1] if sections else "", diagrams=diagrams)


def _restore(nodes, formulas: list[Formula]) -> None:
    """Formulas found where cmark saw code or raw HTML, put back as they were written."""
    for node in nodes:
        literal = _str(_lib.cmark_node_get_literal(node))
        if OPEN in literal:
            _lib.cmark_node_set_literal(node, placeholders_restore(literal, formulas).encode())


def _html_node(kind: int, literal: str):
    node = _lib.cmark_node_new(kind)
    _lib.cmark_node_set_literal(node, literal.encode())
    return node


def _replace(old, new) -> None:
    if _lib.cmark_node_replace(old, new):
        _lib.cmark_node_free(old)
    else:
        _lib.cmark_node_free(new)


# -- GitHub's alerts, heading anchors and contents ---------------------------------------------

ALERTS = {"note": "Note", "tip": "Tip", "important": "Important", "warning": "Warning"}
ALERTS["caution"] = "Caution"
_ALERT_MARK = re.compile(r"\[!([A-Za-z]+)\]")
CONTENTS_FROM = 3  # headings a document needs for a contents list


def _alert(quote) -> None:
    """A block quote whose first line is only `[!NOTE]` (TIP, IMPORTANT, WARNING, CAUTION;
    any case) becomes a callout, as on GitHub: the marker goes, the rest stays Markdown."""
    paragraph = _lib.cmark_node_first_child(quote)
    if paragraph == _ffi.NULL or _lib.cmark_node_get_type(paragraph) != PARAGRAPH:
        return
    mark = _lib.cmark_node_first_child(paragraph)
    if mark == _ffi.NULL or _lib.cmark_node_get_type(mark) != TEXT:
        return
    found = _ALERT_MARK.fullmatch(_str(_lib.cmark_node_get_literal(mark)).strip())
    after = _lib.cmark_node_next(mark)
    if not found or found[1].lower() not in ALERTS:
        return
    if after != _ffi.NULL and _lib.cmark_node_get_type(after) not in LINE_BREAKS:
        return  # more on the marker's line: a quote, not an alert
    kind = found[1].lower()
    for node in (mark, after):
        if node != _ffi.NULL:
            _lib.cmark_node_unlink(node)
            _lib.cmark_node_free(node)
    if _lib.cmark_node_first_child(paragraph) == _ffi.NULL:
        _lib.cmark_node_unlink(paragraph)
        _lib.cmark_node_free(paragraph)
    opening = (
        f'<div class="markdown-alert markdown-alert-{kind}" role="note">'
        f'<p class="markdown-alert-title">{ALERTS[kind]}</p>'
    )
    _lib.cmark_node_insert_before(quote, _html_node(HTML_BLOCK, opening))
    child = _lib.cmark_node_first_child(quote)
    while child != _ffi.NULL:
        following = _lib.cmark_node_next(child)
        _lib.cmark_node_insert_before(quote, child)
        child = following
    _replace(quote, _html_node(HTML_BLOCK, "</div>"))


_NOT_IN_SLUG = re.compile(r"[^\w\- ]")  # GitHub keeps letters, digits, _, - and spaces


def heading_slugs(texts: list[str]) -> list[str]:
    """GitHub's anchors for these headings: lower case, punctuation dropped, spaces as
    hyphens, and -1, -2… after a repeat."""
    seen: dict[str, int] = {}
    slugs = []
    for text in texts:
        slug = original = _NOT_IN_SLUG.sub("", text.strip().lower()).replace(" ", "-")
        while slug in seen:
            seen[original] += 1
            slug = f"{original}-{seen[original]}"
        seen[slug] = 0
        slugs.append(slug)
    return slugs


def _anchors_and_contents(root, sections: list[tuple]) -> None:
    """Each heading gets an anchor (a link to itself, shown on hover); a document with
    CONTENTS_FROM headings or more gets a contents list after its first heading, or at
    its top when it does not start with one."""
    slugs = heading_slugs([text for _, text in sections])
    for (node, text), slug in zip(sections, slugs, strict=True):
        # Beside the heading, not in it (as GitHub): its text and name stay the author's.
        anchor = (
            f'<a class="anchor" id="{html.escape(slug)}" href="#{html.escape(slug)}" '
            f'aria-label="Permalink: {html.escape(text.strip())}">#</a></div>'
        )
        _lib.cmark_node_insert_before(node, _html_node(HTML_BLOCK, '<div class="heading">'))
        if (following := _lib.cmark_node_next(node)) != _ffi.NULL:
            _lib.cmark_node_insert_before(following, _html_node(HTML_BLOCK, anchor))
        else:
            _lib.cmark_node_append_child(
                _lib.cmark_node_parent(node), _html_node(HTML_BLOCK, anchor)
            )
    if len(sections) < CONTENTS_FROM:
        return
    items, depth, top = [], 0, min(_lib.cmark_node_get_heading_level(n) for n, _ in sections)
    for (node, text), slug in zip(sections, slugs, strict=True):
        level = _lib.cmark_node_get_heading_level(node) - top + 1
        if level > depth:
            items.append("<ul><li>" * (level - depth))
        else:
            items.append("</li></ul>" * (depth - level) + "</li><li>")
        items.append(f'<a href="#{html.escape(slug)}">{html.escape(text)}</a>')
        depth = level
    items.append("</li></ul>" * depth)
    contents = _html_node(
        HTML_BLOCK,
        '<nav class="contents" aria-label="Contents"><p class="contents-title">Contents</p>'
        f"{''.join(items)}</nav>",
    )
    # The document's first nodes are the first heading's wrapper, the heading and its
    # anchor when it starts with a heading.
    first = _lib.cmark_node_first_child(root)
    if _lib.cmark_node_next(first) != sections[0][0]:
        _lib.cmark_node_insert_before(first, contents)
    elif (after := _lib.cmark_node_next(_lib.cmark_node_next(sections[0][0]))) != _ffi.NULL:
        _lib.cmark_node_insert_before(after, contents)
    else:
        _lib.cmark_node_append_child(root, contents)


def _within_math_budget(source: str, formulas: list[Formula]) -> str:
    """The source with the formulas past MATH_BUDGET put back as written (repeats of a
    formula already converted cost nothing: math_html caches them)."""
    spent, seen, past = 0, set(), None
    for index, formula in enumerate(formulas):
        if (formula.tex, formula.display) not in seen:
            seen.add((formula.tex, formula.display))
            spent += len(formula.tex)
            if spent > MATH_BUDGET:
                past = index
                break
    if past is None:
        return source
    return PLACEHOLDER.sub(
        lambda m: formulas[i].source if (i := int(m[1])) >= past else m[0], source
    )


def _body(source: str) -> tuple[str, _Found]:
    source, formulas = math_protect(source)
    source = _within_math_budget(source, formulas)
    data = source.encode("utf-8", "replace")
    parser = _lib.cmark_parser_new(_OPTIONS)
    try:
        for extension in _EXTENSIONS:
            _lib.cmark_parser_attach_syntax_extension(parser, extension)
        _lib.cmark_parser_feed(parser, data, len(data))
        root = _lib.cmark_parser_finish(parser)
        try:
            found = _make_safe(root, formulas)
            out = _lib.cmark_render_html(
                root, _OPTIONS, _lib.cmark_parser_get_syntax_extensions(parser)
            )
            try:
                return _str(out), found
            finally:
                _free(out)
        finally:
            _lib.cmark_node_free(root)
    finally:
        _lib.cmark_parser_free(parser)


# -- The page ----------------------------------------------------------------------------------


def _pygments_css(style: str) -> str:
    rules = HtmlFormatter(style=style).get_style_defs(".highlight").splitlines()
    return "".join(r.split(" /*")[0] for r in rules if r.startswith(".highlight ."))


STYLESHEET = """
:root{color-scheme:light dark;--fg:#1f2328;--bg:#fff;--muted:#59636e;--line:#d1d9e0;
--code:#f6f8fa;--link:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;
--line:#3d444d;--code:#151b23;--link:#4493f8}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.6 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;-webkit-text-size-adjust:100%}
main{max-width:52rem;margin:0 auto;padding:2rem 1.25rem 4rem;overflow-wrap:break-word}
h1,h2,h3,h4,h5,h6{line-height:1.25;margin:1.5em 0 .6em;font-weight:600}
h1,h2{padding-bottom:.3em;border-bottom:1px solid var(--line)}
h1{font-size:2em}h2{font-size:1.5em}h3{font-size:1.25em}h4{font-size:1em}
h5{font-size:.875em}h6{font-size:.85em;color:var(--muted)}
main>:first-child{margin-top:0}
p,ul,ol,dl,table,pre,blockquote,details,figure{margin:0 0 1em}
a{color:var(--link)}
img{max-width:100%}
hr{border:0;border-top:1px solid var(--line);margin:1.5em 0}
blockquote{margin-left:0;padding:0 1em;color:var(--muted);border-left:.25em solid var(--line)}
ul ul,ul ol,ol ol,ol ul{margin:.25em 0 0}
li+li{margin-top:.25em}
li:has(>input[type=checkbox]){list-style:none}
li>input[type=checkbox]{margin:0 .4em 0 -1.3em}
code,kbd,pre,samp{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",
monospace;font-size:.875em}
code{background:var(--code);padding:.15em .35em;border-radius:4px}
pre{background:var(--code);padding:1em;overflow:auto;line-height:1.45;border-radius:6px}
pre code{background:none;padding:0;font-size:inherit}
kbd{padding:.1em .4em;border:1px solid var(--line);border-bottom-width:2px;border-radius:4px;
background:var(--code)}
table{border-collapse:collapse;display:block;max-width:100%;overflow:auto}
th,td{border:1px solid var(--line);padding:.4em .8em}
th{background:var(--code);font-weight:600}
summary{cursor:pointer}
.heading{position:relative}main>.heading:first-child>:first-child{margin-top:0}
.anchor{position:absolute;top:0;left:-1.1em;width:1.1em;color:var(--muted);text-decoration:none;
opacity:0}
.heading:hover .anchor,.anchor:focus{opacity:1}
.contents{margin:0 0 1.5em;padding:.6em 1em;border:1px solid var(--line);border-radius:6px}
.contents-title{margin:0 0 .3em;font-weight:600}
.contents ul{margin:0;padding-left:1.2em}
.markdown-alert{margin:0 0 1em;padding:.5em 1em;border-left:.25em solid var(--alert)}
.markdown-alert>:last-child{margin-bottom:0}
.markdown-alert-title{margin:0 0 .25em;font-weight:600;color:var(--alert)}
.markdown-alert-note{--alert:#0969da}.markdown-alert-tip{--alert:#1a7f37}
.markdown-alert-important{--alert:#8250df}.markdown-alert-warning{--alert:#9a6700}
.markdown-alert-caution{--alert:#cf222e}
@media (prefers-color-scheme:dark){.markdown-alert-note{--alert:#4493f8}
.markdown-alert-tip{--alert:#3fb950}.markdown-alert-important{--alert:#ab7df8}
.markdown-alert-warning{--alert:#d29922}.markdown-alert-caution{--alert:#f85149}}
.diagram{margin:0 0 1em;overflow:auto}.diagram-drawing{text-align:center}
.diagram-drawing svg{max-width:100%;height:auto}
.diagram-error{margin:0 0 .5em;color:var(--error);white-space:pre-wrap;
font:.8em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}:root{--error:#cf222e}
@media (prefers-color-scheme:dark){:root{--error:#f85149}}
.footnotes{font-size:.875em;color:var(--muted);border-top:1px solid var(--line);margin-top:2em;
padding-top:1em}
""" + (
    f"@media (prefers-color-scheme:light){{{_pygments_css('default')}}}"
    f"@media (prefers-color-scheme:dark){{{_pygments_css('github-dark')}}}"
)

# A page with diagrams starts with DIAGRAMS_PAGE and the hash of the script it carries: the
# sandbox reads them to send the CSP that allows that script (artifacts.rendered_pages), so
# a page rendered before an upgrade of Mermaid keeps working.
DIAGRAMS_PAGE = '<!doctype html>\n<html data-diagrams="drawing" data-script="'
_PAGE = """<!doctype html>
{html}
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<main>
{body}</main>{script}
</body>
</html>
"""


def markdown_render(source: str, *, title: str = "") -> str:
    """The complete, sanitised HTML page for Markdown ``source`` (CommonMark + GFM: tables,
    strikethrough, autolinks, task lists, footnotes, alerts; highlighted fenced code;
    heading anchors, and a contents list from three headings; Mermaid diagrams, drawn by
    the page's one script). ``title`` defaults to the
    text of the first heading."""
    body, found = _body(source)
    page_title = title or found.heading.strip()[:200] or "Document"
    script = f"\n<script>{diagram_script()}</script>" if found.diagrams else ""
    return _PAGE.format(
        html=(
            DIAGRAMS_PAGE.partition("\n")[2] + diagram_script_hash().strip("'") + '">'
            if found.diagrams
            else "<html>"
        ),
        title=html.escape(page_title),
        css=STYLESHEET,
        body=body,
        script=script,
    )
