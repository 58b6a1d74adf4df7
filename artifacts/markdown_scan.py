"""Push-time warnings for Markdown: what the rendered page will not show as written.

The renderer (artifacts.render) turns an image that is not a `data:` URI into its alt text,
and the page's Mermaid (artifacts.diagrams) shows a diagram of a type it does not draw as
its source. The pusher hears it at push time, before any render: big documents render in
the background, and this runs on every push, so it reads the bytes line by line (memory is
one line, capped) with a few regexes instead of parsing. A line scanner, not a parser:
reference-style images (`![alt][ref]`) and fences in unusual containers can be missed, and
that only costs a warning.
"""

import re
from collections.abc import Iterable, Iterator

from .diagrams import SUPPORTED, diagram_type
from .scan import Warnings, url_short

LINE_CAP = 64 * 1024  # what is read of one line (a longer one is data, in practice)

# A fence may follow block quote markers, indentation and a list marker.
_FENCE = re.compile(r"[ \t>]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)?(`{3,}|~{3,})[ \t]*([^\s`]*)")
# Each stops at the next opener ("[" or "<"), so a line of a million openers is still one
# pass: scanning to the line's end from each of them would be quadratic.
_IMAGE = re.compile(r"!\[[^\][]*\]\(\s*<?([^\s)>]+)")
_IMG_TAG = re.compile(r"""<img\b[^<>]*?\bsrc\s*=\s*["']?([^"'\s<>]+)""", re.IGNORECASE)


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    carry = b""
    for chunk in chunks:
        lines = (carry + chunk).split(b"\n")
        carry = lines.pop()[: LINE_CAP + 1]
        for line in lines:
            yield line[:LINE_CAP].decode("utf-8", "replace")
    if carry:
        yield carry[:LINE_CAP].decode("utf-8", "replace")


def markdown_warnings(chunks: Iterable[bytes]) -> list[str]:
    """Warnings for a Markdown document given as byte chunks of any size."""
    out = Warnings()
    fence = ""  # the open fence's marker ("" outside code)
    diagram: list[str] | None = None  # lines of an open mermaid fence
    opened_at, inside = 0, ""
    for number, line in enumerate(_lines(chunks), 1):
        found = _FENCE.match(line)
        if fence:
            if found and found[1][0] == fence[0] and len(found[1]) >= len(fence) and not found[2]:
                if diagram is not None:
                    _diagram_check(out, "\n".join(diagram), opened_at)
                fence, diagram = "", None
            elif diagram is not None and len(diagram) < 100:  # the type is near the top
                diagram.append(line.removeprefix(inside))
            continue
        if found:
            fence, opened_at = found[1], number
            inside = line[: found.start(1)]  # a block quote's "> ", a list item's indent
            diagram = [] if found[2].lower() == "mermaid" else None
            continue
        for pattern in (_IMAGE, _IMG_TAG):
            for url in pattern.findall(line):
                if not url.lower().startswith("data:image/"):
                    out.add(f"image not shown (only data: images are): {url_short(url)}")
        if out.full:
            break
    if diagram is not None:
        _diagram_check(out, "\n".join(diagram), opened_at)
    return out.result()


def _diagram_check(out: Warnings, source: str, line: int) -> None:
    kind = diagram_type(source)
    if kind not in SUPPORTED:
        shown = f"'{url_short(kind)}'" if kind else "an empty diagram"
        out.add(f"diagram not drawn (line {line}): {shown} is not a Mermaid type this server draws")
