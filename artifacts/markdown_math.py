"""GitHub-style math in Markdown (``$…$``, ``$$…$$``, ``$`…`$``), rendered on the server to MathML.

cmark would eat TeX's backslash escapes (``\\,`` ``\\{`` ``\\\\``) and read ``*``/``_`` as
emphasis, so formulas are cut out of the source before cmark parses it (``math_protect``) and
put back into its tree afterwards as placeholders: as MathML in text (``placeholders_html``),
as the original source where math is not math (``placeholders_restore``: code, raw HTML, URLs).

The delimiter rules are GitHub's, which follow pandoc's ``tex_math_dollars``: ``$`` opens when
a non-space follows it and closes when a non-space precedes it and no digit follows it (so
``$20,000 and $30,000`` is prose); ``\\$`` never delimits; no formula crosses a blank line.

latex2mathml's string output is not safe (``\\text{<script>}`` comes out raw, ``\\href`` keeps
its URL), so its element tree is serialised here through allow-lists instead.

Speed, 16 MiB of Markdown: ~0.03 s without dollars outside code, ~0.7 s with a formula every 3
lines (~70,000), and 0.3-3 s for adversarial pages (dollars, backtick runs or fences by the
million), which MAX_STEPS cuts short. latex2mathml itself takes 0.1-0.4 ms per distinct short
formula: the caller has to budget math_html per document.
"""

import html
import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from xml.etree.ElementTree import Element

from latex2mathml.converter import convert_to_element

OPEN, CLOSE = "\ue000", "\ue001"  # private-use chars around a placeholder index
PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")

#: Longer TeX is not converted (latex2mathml takes ~10 ms per 1,000 characters).
MAX_TEX = 10_000
#: Steps of Python work per document (a dollar, a backtick run C could not pair, a fence);
#: past them the rest is left as prose. Each is ~1-4 us, so a 16 MiB page of nothing but
#: "$a " or "```` a " stops within ~1 s instead of 10-20 s. A formula every 3 lines of a
#: 16 MiB page is ~70,000 formulas and ~140,000 steps.
MAX_STEPS = 250_000


@dataclass(frozen=True)
class Formula:
    tex: str  # the TeX between the delimiters (surrounding whitespace stripped)
    display: bool  # $$…$$ (True) or $…$ / $`…`$ (False)
    source: str  # the exact original text, delimiters included (to restore it)


# -- Finding formulas -----------------------------------------------------------------------

# What ends a paragraph for this line scanner, looked at right after a newline: a blank line
# (a lone ">" is a blank line in a block quote) or a code fence, at any depth. No formula or
# code span crosses one.
_BREAK = r"[ \t>]*(?:\n|\Z)|[ \t>]*(?:```|~~~)"
# A line that opens a fenced code block (a backtick fence's info string has no backtick). Only
# up to 3 spaces and outside containers: fences in list items nested deeper or in block quotes,
# and indented code blocks, are scanned as prose. Their formulas become placeholders inside
# cmark's code nodes, where the integrator puts the source back with placeholders_restore.
_FENCE = re.compile(r"^[ ]{0,3}(`{3,}(?=[^`\n]*$)|~{3,})", re.M)
_FENCE_MARK = re.compile(r"\n[ ]{0,3}(?:```|~~~)")  # sre finds this ~10x faster than _FENCE
# What a dollar opens, tried where one is found. The closing "$" of inline math is checked in
# Python. Neither kind crosses a backtick: a code span that starts inside "$…" wins, as code
# spans bind tightest in cmark.
_DOLLAR = re.compile(
    # Display: up to the first unescaped "$$" (a single "$" is TeX). Possessive, as a lazy
    # "+?" here took 10 s to fail over a 16 MiB paragraph.
    rf"(?P<display>\$\$(?:[^$\\`\n]++|\\[^\n]?|\$(?!\$)|\n(?!{_BREAK}))++\$\$)"
    r"|(?P<tickmath>\$(?=`))"
    # Inline: up to the first unescaped "$".
    rf"|(?P<inline>\$(?![\s$`])(?:[^$\\`\n]++|\\[^\n]?|\n(?!{_BREAK}))++\$)"
    r"|\$\$?"  # a "$" or "$$" that opens nothing
)
_CODE = re.compile(r"`[^`\n]+`(?!`)")  # the common code span, matched in one go
# Text, escapes and code spans of one or two backticks (the usual ones, even over several
# lines): what lies between a paragraph's start and a dollar is mostly this, and is skipped
# in C. It stops at any other backtick run. Possessive: 4x faster, and nothing to backtrack.
_PROSE = re.compile(
    rf"""(?:[^`\\]++|\\[\s\S]
    |(?P<run>`{{1,2}}+)(?!`)(?:[^`\n]++|\n(?!{_BREAK})|(?!(?P=run)(?!`))`++)*+(?P=run)(?!`)
    )*+""",
    re.X,
)
_PARAGRAPH_END = re.compile(rf"\n(?={_BREAK})")
_TICKS = re.compile(r"`+")
_LONG_TICKS = re.compile(r"`{3,}")
_SHORT_TICKS = {n: re.compile(rf"(?<!`)`{{{n}}}(?!`)") for n in (1, 2)}
_QUOTED_LINE = re.compile(r"[ ]{0,3}>")
_QUOTE_MARKERS = re.compile(r"\n(?:[ ]{0,3}>[ ]?)+")


@lru_cache(maxsize=16)
def _fence_closer(fence: str) -> re.Pattern:
    return re.compile(rf"\n[ ]{{0,3}}{re.escape(fence)}{re.escape(fence[0])}*[ \t]*(?=\n|\Z)")


def _code_span_text(content: str) -> str:
    """A code span's content as CommonMark reads it: newlines as spaces, one space padding off."""
    content = content.replace("\n", " ")
    if len(content) > 1 and content[0] == content[-1] == " " and content.strip(" "):
        content = content[1:-1]
    return content


class _Scanner:
    """One pass over a document. pos only moves forward and every search is bounded or
    remembered, so the work stays linear; the text between dollars is skipped with str.find
    (memchr speed), since only a dollar's own paragraph can make it code or escaped."""

    def __init__(self, source: str):
        self.source = source
        self.steps = 0  # see MAX_STEPS
        self.fence = self.find_fence(0)  # the next fence line at or after pos, or None
        # Closers in the paragraph being scanned (as in cmark, unmatched runs of many lengths
        # must not each rescan it): runs of 3 or more backticks indexed by length as far as
        # looked for; for 1 and 2, where no closer was found (searched for in C).
        self.runs_end = -1  # where that paragraph ends
        self.runs: dict[int, list[int]] = {}
        self.runs_ahead = iter(())  # its runs of 3 or more not indexed yet
        self.unclosed: dict[int, int] = {}

    def find_fence(self, pos: int) -> re.Match | None:
        if pos == 0 and (fence := _FENCE.match(self.source)):
            return fence
        while mark := _FENCE_MARK.search(self.source, pos):
            self.steps += 1
            if fence := _FENCE.match(self.source, mark.start() + 1):
                return fence
            pos = mark.end()  # "```" with a backtick after it on the line: not a fence
        return None

    def skip_fence(self, fence: re.Match) -> int:
        close = _fence_closer(fence.group(1)).search(self.source, fence.end())
        self.fence = self.find_fence(close.end()) if close else None
        return close.end() if close else len(self.source)  # unclosed: to the end

    def escaped(self, i: int) -> bool:
        """Whether source[i] follows an odd run of backslashes (a run is never inside code:
        code ends with a backtick and is skipped whole)."""
        window = 64
        while True:  # the run's length, found by C-speed rstrip over a growing window
            part = self.source[max(0, i - window) : i]
            run = len(part) - len(part.rstrip("\\"))
            if run < len(part) or window >= i:
                return run % 2 == 1
            window *= 4

    def code_span_end(self, after_run: int, n: int) -> int | None:
        """Where the run of n backticks closing the span opened at after_run starts, if any."""
        if after_run >= self.runs_end:  # a new paragraph
            end = _PARAGRAPH_END.search(self.source, after_run)
            self.runs_end = end.start() if end else len(self.source)
            self.runs, self.unclosed = {}, {}
            self.runs_ahead = _LONG_TICKS.finditer(self.source, after_run, self.runs_end)
        if n <= 2:
            if self.unclosed.get(n, -1) > after_run:
                return None
            close = _SHORT_TICKS[n].search(self.source, after_run, self.runs_end)
            if close is None:
                self.unclosed[n] = self.runs_end
                return None
            return close.start()
        starts = self.runs.get(n)
        if starts and starts[-1] >= after_run:
            return starts[bisect_left(starts, after_run)]
        for run in self.runs_ahead:
            self.steps += 1
            start, length = run.start(), run.end() - run.start()
            self.runs.setdefault(length, []).append(start)
            if length == n and start >= after_run:
                return start
        return None

    def skip_ticks(self, tick: int) -> int:
        """Past the code span that the backtick run at tick opens, or past the run itself."""
        self.steps += 1
        if m := _CODE.match(self.source, tick):
            return m.end()
        run = _TICKS.match(self.source, tick).end()
        close = self.code_span_end(run, run - tick)
        return run if close is None else close + run - tick


def math_protect(source: str) -> tuple[str, list[Formula]]:
    """The Markdown with every formula replaced by OPEN + index + CLOSE, and the formulas."""
    if "$" not in source:
        return source, []
    scan = _Scanner(source)
    out: list[str] = []
    formulas: list[Formula] = []
    done = pos = 0  # source[:done] is in out; pos is where scanning goes on
    start = -1  # the next dollar, once found at or after pos
    while scan.steps < MAX_STEPS:
        scan.steps += 1
        if start < pos and (start := source.find("$", pos)) < 0:
            break
        if scan.fence is not None and scan.fence.start() < start:
            pos = scan.skip_fence(scan.fence)
            continue
        if start - pos > 80:  # code spans do not cross a blank line: skip to the last one
            pos = max(pos, source.rfind("\n\n", pos, start) + 1)
        if source.find("`", pos, start) >= 0:  # is the dollar in a code span?
            while (pos := _PROSE.match(source, pos, start).end()) < start:
                if source[pos] == "\\":  # right before the dollar: see below
                    pos = start
                elif scan.steps < MAX_STEPS:
                    pos = scan.skip_ticks(pos)
                else:
                    break
            if pos != start:  # in a code span, or out of time
                continue
        if source[start - 1] == "\\" and scan.escaped(start):
            pos = start + 1
            continue
        m = _DOLLAR.match(source, start)
        pos, kind = m.end(), m.lastgroup
        if kind is None:  # literal
            continue
        if kind == "tickmath":  # $`…`$
            ticks = _TICKS.match(source, pos).end()
            close = scan.code_span_end(ticks, ticks - pos)
            if close is None:
                pos = ticks
                continue
            end = close + ticks - pos
            if not source.startswith("$", end):
                pos = end  # an ordinary code span after a literal "$"
                continue
            tex, pos, display = source[ticks:close], end + 1, False
        elif kind == "display":
            tex, display = m.group()[2:-2], True
        else:  # inline: the closing "$" has a non-space before it and no digit after it
            tex, display = m.group()[1:-1], False
            if tex[-1].isspace() or source[pos : pos + 1].isdigit():
                pos = start + 1
                continue
        if "\n" in tex and _QUOTED_LINE.match(source, source.rfind("\n", 0, start) + 1):
            tex = _QUOTE_MARKERS.sub("\n", tex)  # "> " markers are not TeX
        if kind == "tickmath":
            tex = _code_span_text(tex)
        elif display:
            tex = tex.strip()
        if not tex.strip():  # "$$ $$", "$` `$": not math
            if kind == "display":
                pos = start + 2  # two literal dollars; the closing pair may open a formula
            continue
        out.append(source[done:start])
        out.append(f"{OPEN}{len(formulas)}{CLOSE}")
        formulas.append(Formula(tex, display, source[start:pos]))
        done = pos
    if not formulas:
        return source, []
    out.append(source[done:])
    return "".join(out), formulas


# -- Rendering formulas ---------------------------------------------------------------------

# MathML Core presentation elements. Any other element latex2mathml makes is unwrapped: its
# text and children are kept (escaped, filtered) without it.
ELEMENTS = frozenset(
    {
        "math",
        "mrow",
        "mi",
        "mn",
        "mo",
        "ms",
        "mtext",
        "mspace",
        "mfrac",
        "msqrt",
        "mroot",
        "mstyle",
        "merror",
        "mpadded",
        "mphantom",
        "msub",
        "msup",
        "msubsup",
        "munder",
        "mover",
        "munderover",
        "mmultiscripts",
        "mprescripts",
        "none",
        "mtable",
        "mtr",
        "mtd",
        "semantics",
        "annotation",
        "menclose",
    }
)

# Layout attributes only; href, style, class, id, on*, xlink:*, mathcolor... are dropped. The
# values are words, numbers and lengths (no quote, colon, parenthesis or semicolon), and are
# escaped as well.
ATTRIBUTES = frozenset(
    {
        "display",
        "mathvariant",
        "mathsize",  # \large, \small...: a length, like width
        "stretchy",
        "fence",
        "separator",
        "form",
        "lspace",
        "rspace",
        "minsize",
        "maxsize",
        "movablelimits",
        "largeop",
        "symmetric",
        "accent",
        "accentunder",
        "columnalign",
        "rowalign",
        "columnspacing",
        "rowspacing",
        "columnlines",
        "rowlines",
        "frame",
        "width",
        "height",
        "depth",
        "voffset",
        "linethickness",
        "scriptlevel",
        "displaystyle",
        "notation",
        "encoding",
    }
)
_VALUE = re.compile(r"[\w .+%-]{0,100}")
# latex2mathml writes symbols as character references in its text ("&#x0222B;"); they are
# decoded (html.unescape maps invalid code points to U+FFFD) before everything is escaped.
_CHARREF = re.compile(r"&#x[0-9A-Fa-f]{1,6};")


def _text(text: str) -> str:
    if "&" in text:
        text = _CHARREF.sub(lambda m: html.unescape(m.group()), text)
    return html.escape(text.replace("\0", "\ufffd"), quote=False)


def _serialise(element: Element, out: list[str]) -> None:
    tag = element.tag
    kept = tag in ELEMENTS
    if kept:
        out.append("<" + tag)
        for name, value in element.attrib.items():
            if name in ATTRIBUTES and _VALUE.fullmatch(value):
                out.append(f' {name}="{html.escape(value)}"')
        out.append(">")
    if element.text:
        out.append(_text(element.text))
    for child in element:
        _serialise(child, out)
    if kept:
        out.append(f"</{tag}>")
    if element.tail:
        out.append(_text(element.tail))


def _error(message: str, shown: str) -> str:
    return (
        f'<code class="math-error" title="{html.escape(message[:100])}">{html.escape(shown)}</code>'
    )


def math_html(tex: str, *, display: bool, source: str | None = None) -> str:
    """Sanitised MathML for tex (display="block" when display), or, when latex2mathml cannot
    read it, <code class="math-error" title="(short error)">escaped original source</code>.

    source is what the error shows (placeholders_html passes the formula's); without it, tex
    between the delimiters that display implies."""
    return (_math_html_cached if len(tex) <= 1000 else _math_html)(tex, display, source)


def _math_html(tex: str, display: bool, source: str | None) -> str:
    if source is None:
        source = f"$${tex}$$" if display else f"${tex}$"
    if not tex.strip():
        return _error("empty formula", source)
    if len(tex) > MAX_TEX:
        return _error(f"formula longer than {MAX_TEX:,} characters", source)
    try:
        root = convert_to_element(tex, display="block" if display else "inline")
        out = ['<math display="block">' if display else "<math>", "<semantics>"]
        if len(root) != 1:  # semantics takes one presentation element, then annotations
            out.append("<mrow>")
        for child in root:
            _serialise(child, out)
        if len(root) != 1:
            out.append("</mrow>")
    except RecursionError:
        return _error("formula nested too deeply", source)
    except Exception as error:  # latex2mathml raises all sorts on TeX it cannot read
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return _error(message, source)
    tex = html.escape(tex.replace("\0", "\ufffd"), quote=False)
    out.append(f'<annotation encoding="application/x-tex">{tex}</annotation></semantics></math>')
    return "".join(out)


# Formulas repeat. latex2mathml takes ~0.1-0.4 ms for a short one and ~130 ms for 10,000
# characters, whose MathML is ~70 KB: only short ones are kept, so the cache stays ~10 MB.
_math_html_cached = lru_cache(maxsize=1024)(_math_html)


# -- Placeholders back ----------------------------------------------------------------------


def _formula(match: re.Match, formulas: list[Formula]) -> Formula | None:
    index = match.group(1)
    # An author can type the private-use chars: an index that is not ours stays text. (\d is
    # also any Unicode digit, and int() refuses more than 4,300 digits.) One of ours, typed
    # on purpose, only repeats that author's own formula, sanitised like any other.
    if not index.isascii() or len(index) > 9 or int(index) >= len(formulas):
        return None
    return formulas[int(index)]


def placeholders_restore(text: str, formulas: list[Formula]) -> str:
    """text with each placeholder put back as the formula's original source (for code spans,
    code blocks, raw HTML and URLs, where math is not math). Unknown indices stay as they are."""
    if OPEN not in text:
        return text

    def restore(match: re.Match) -> str:
        formula = _formula(match, formulas)
        return match.group() if formula is None else formula.source

    return PLACEHOLDER.sub(restore, text)


def placeholders_html(text: str, formulas: list[Formula]) -> str:
    """text (plain, NOT yet escaped) as HTML: escaped text with each placeholder as math_html.
    Unknown indices (an author can type the private-use chars) are escaped text."""
    if OPEN not in text:
        return html.escape(text)
    out = []
    done = 0
    for match in PLACEHOLDER.finditer(text):
        formula = _formula(match, formulas)
        if formula is None:
            continue
        out.append(html.escape(text[done : match.start()]))
        out.append(math_html(formula.tex, display=formula.display, source=formula.source))
        done = match.end()
    out.append(html.escape(text[done:]))
    return "".join(out)
