"""Mermaid diagrams in Markdown: the one script of the product's own that a sandboxed page
may run.

Chosen over rendering SVG on the server: that needs a browser in every render worker (and in
`manage.py up`, which installs nothing outside Python), and Mermaid's layout depends on text
measured by a browser anyway. Instead the page carries a pinned Mermaid release shipped in
this package (artifacts/vendor, never fetched from a CDN) plus a few lines that draw each
diagram, inline in one <script>. Only a page that has a diagram gets it, and the sandbox's
CSP for that page allows exactly that script by its hash (`script-src 'sha256-…'`): the
author's scripts, handlers and javascript: URLs are gone already (artifacts.render), and
anything that slipped through would still not match the hash. Mermaid runs with
securityLevel "strict" (labels are text, no click handlers), which an author's
`%%{init}%%` directive cannot change, nor the sanitiser's settings.

Inline rather than a separate file: every browser honours a hash on an inline script
(matching a hash against a fetched script is newer and not universal), and the page stays
self-contained. The cost: ~2.9 MB stored per rendered page with diagrams, ~0.6 MB sent
(brotli).
"""

import base64
import hashlib
import re
from functools import cache
from pathlib import Path

VENDOR = Path(__file__).resolve().parent / "vendor"

#: @mermaid-js/tiny (all of Mermaid but mindmap, architecture, KaTeX and lazy loading: one
#: file, so nothing is ever imported later). npm integrity of the tarball it came from:
#: sha512-ZW9YXy+3tSLPscBT+NnQO0K0qYH7BGES5nExl6Snoygey7xd2N0cO7Nq30N5k/u7gIeYoCrldyVy+VTCMWrNDQ==
MERMAID_VERSION = "12.0.0"
MERMAID_FILE = VENDOR / "mermaid.tiny.js"
MERMAID_SHA256 = "9f2807e402479d2864bfd9a95052076fc69d0ff45a0b25148b84b70fc33425b9"

#: What the tiny build draws: the first word of a diagram, as Mermaid's detectors read it
#: (checked against the bundle by tests/browser/test_markdown_diagrams.py).
SUPPORTED = frozenset(
    {
        *("graph", "flowchart", "flowchart-elk", "sequenceDiagram", "classDiagram"),
        *("classDiagram-v2", "stateDiagram", "stateDiagram-v2", "erDiagram", "journey"),
        *("gantt", "pie", "quadrantChart", "requirementDiagram", "gitGraph", "timeline"),
        *("C4Context", "C4Container", "C4Component", "C4Dynamic", "C4Deployment"),
        *("sankey", "sankey-beta", "xychart", "xychart-beta", "block", "block-beta"),
        *("packet", "packet-beta", "kanban", "radar-beta", "treemap", "treemap-beta"),
        *("venn-beta", "ishikawa", "ishikawa-beta", "info", "eventmodeling"),
    }
)

# Draws every <pre class="mermaid-source"> in order; a diagram Mermaid cannot read keeps its
# source, with the error above it. `secure` lists the settings a diagram's own %%{init}%%
# may not change: Mermaid's defaults plus the sanitiser's configuration.
_DRAW = """
;(() => {
  const dark = matchMedia("(prefers-color-scheme: dark)").matches;
  mermaid.initialize({
    startOnLoad: false,
    securityLevel: "strict",
    theme: dark ? "dark" : "default",
    suppressErrorRendering: true,
    secure: ["secure", "securityLevel", "startOnLoad", "maxTextSize", "maxEdges",
             "suppressErrorRendering", "dompurifyConfig"],
  });
  const draw = async () => {
    let n = 0;
    for (const source of document.querySelectorAll("pre.mermaid-source")) {
      const figure = source.parentElement;
      try {
        const { svg } = await mermaid.render(`diagram-${++n}`, source.textContent);
        const drawing = document.createElement("div");
        drawing.className = "diagram-drawing";
        drawing.innerHTML = svg;
        figure.replaceChild(drawing, source);
      } catch (error) {
        const message = document.createElement("p");
        message.className = "diagram-error";
        message.textContent = "This diagram could not be drawn: " + (error?.message ?? error);
        figure.insertBefore(message, source);
      }
    }
    document.documentElement.dataset.diagrams = "drawn";
  };
  draw();
})();
"""

_FRONT_MATTER = re.compile(r"\A\s*---\n.*?\n---[ \t]*\n", re.DOTALL)
_FIRST_WORD = re.compile(r"[A-Za-z0-9_-]+")


@cache
def diagram_script() -> str:
    """The text of the page's one <script>: Mermaid, then the lines that draw."""
    bundle = MERMAID_FILE.read_text(encoding="utf-8")
    return bundle + _DRAW


@cache
def diagram_script_hash() -> str:
    """The CSP source that allows diagram_script() and nothing else."""
    digest = hashlib.sha256(diagram_script().encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def diagram_type(source: str) -> str:
    """The diagram's type as Mermaid detects it: its first word after any front matter,
    blank lines and %% comments or directives ("" when there is none)."""
    body = _FRONT_MATTER.sub("", source, count=1)
    for line in body.splitlines():
        line = line.strip()
        if line and not line.startswith("%%"):
            word = _FIRST_WORD.match(line)
            return word.group() if word else line.split()[0]
    return ""
