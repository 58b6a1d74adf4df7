"""Markdown as people write it now, seen in Chromium through the viewer (issue 14): Mermaid
diagrams drawn as SVG by the page's one script, formulas as MathML, alerts as callouts,
#anchor links that work inside the sandbox frame, and no way out to the network from a page
full of diagrams.

Screenshots: set ARTIFACTS_SCREENSHOTS to a directory (docs/screenshots) to keep them."""

import os
from pathlib import Path

from playwright.sync_api import expect

from artifacts.diagrams import SUPPORTED
from artifacts.render import markdown_render
from tests.browser.egress_probe import Collectors

FENCE = "```"
WALKTHROUGH = f"""# Bug 412: a push lost while PostgreSQL restarts

## Summary

> [!WARNING]
> A push sent while the database restarts can fail with a 502.

A retry waits $t_n = 2^n \\cdot 100\\,\\text{{ms}}$ before attempt $n$; it costs $5 and $10 less
than a lost push. The chance a push is lost:

$$
p_{{\\text{{loss}}}} = \\frac{{r}}{{r + s}}
$$

## Sequence

{FENCE}mermaid
sequenceDiagram
    participant CLI
    participant Server
    CLI->>Server: POST /api/v1/artifacts
    Server-->>CLI: 502 Bad Gateway
    CLI->>Server: retry, same Idempotency-Key
    Server-->>CLI: 201 Created
{FENCE}

## A diagram with a mistake

{FENCE}mermaid
flowchart LR
  A[Push] --> B{{Database up?
{FENCE}

## Fix

Retry reads once; see [the summary](#summary).
""".encode()

GALLERY = {
    "flowchart": "flowchart LR\n  A[Push] --> B{Member?}\n  B -- yes --> C[Serve]",
    "sequenceDiagram": "sequenceDiagram\n  Alice->>Bob: Hello Bob",
    "classDiagram": "classDiagram\n  class Artifact {\n    +title\n  }\n  Artifact <|-- Page",
    "stateDiagram-v2": "stateDiagram-v2\n  [*] --> Pushed\n  Pushed --> Trashed\n  Trashed --> [*]",
    "erDiagram": "erDiagram\n  ORG ||--o{ ARTIFACT : owns\n  ARTIFACT ||--|{ VERSION : has",
    "gantt": "gantt\n  title Release\n  dateFormat YYYY-MM-DD\n  section Work\n"
    "  Build :a1, 2026-12-01, 3d\n  Test :after a1, 2d",
    "pie": 'pie title Formats\n  "html" : 70\n  "markdown" : 30',
}


def _frame(page):
    return page.frame_locator("#artifact-frame")


def _drawn(page, timeout=20_000):
    expect(_frame(page).locator("html")).to_have_attribute(
        "data-diagrams", "drawn", timeout=timeout
    )


def _shoot(page, name: str, tmp_path: Path) -> None:
    page.screenshot(path=tmp_path / f"{name}.png", full_page=False)
    if target := os.environ.get("ARTIFACTS_SCREENSHOTS"):
        page.screenshot(path=Path(target) / f"{name}.png", full_page=False)


def test_a_walkthrough_shows_its_diagram_formula_alert_and_anchors(signed_in, server, tmp_path):
    artifact = server.push("walkthrough.md", WALKTHROUGH, visibility="org")
    page = signed_in.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(artifact["url"])
    _drawn(page)
    frame = _frame(page)

    drawings = frame.locator("figure.diagram .diagram-drawing svg")
    expect(drawings).to_have_count(1)
    labels = drawings.first.text_content()
    for label in ("CLI", "Server", "POST /api/v1/artifacts", "502 Bad Gateway", "201 Created"):
        assert label in labels
    # The diagram with a mistake keeps its source, with the error above it.
    broken = frame.locator("figure.diagram").nth(1)
    expect(broken.locator(".diagram-error")).to_contain_text("could not be drawn")
    expect(broken.locator("pre.mermaid-source")).to_contain_text("Database up?")

    expect(frame.locator("math")).to_have_count(3)  # two inline, one display
    display = frame.locator('math[display="block"]')
    expect(display).to_have_count(1)
    assert display.evaluate("m => m.getBoundingClientRect().height") > 20  # laid out as math
    expect(frame.locator("main")).to_contain_text("costs $5 and $10 less")  # prices stay prose

    alert = frame.locator(".markdown-alert-warning")
    expect(alert.locator(".markdown-alert-title")).to_have_text("Warning")
    assert alert.evaluate("a => getComputedStyle(a).borderLeftStyle") == "solid"

    frame.locator("#summary").evaluate("a => a.scrollIntoView()")  # alert, math, diagram
    _shoot(page, "markdown-walkthrough-desktop", tmp_path)
    # An #anchor link scrolls the frame to its heading and stays in the sandbox.
    frame.locator('nav.contents a[href="#fix"]').click()
    expect(frame.locator("#fix")).to_be_in_viewport()
    frame_handle = page.locator("#artifact-frame").element_handle().content_frame()
    assert frame_handle.evaluate("location.hash") == "#fix"
    frame.locator('a[href="#summary"]', has_text="the summary").click()
    expect(frame.locator("#summary")).to_be_in_viewport()
    assert page.url == artifact["url"]
    assert frame_handle.url.startswith(server.sandbox_url + "/g/")
    assert [e for e in errors if "Content Security Policy" in e] == []

    phone = signed_in.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(artifact["url"])
    _drawn(phone)
    _frame(phone).locator(".diagram-drawing").evaluate("d => d.scrollIntoView()")
    _shoot(phone, "markdown-walkthrough-phone", tmp_path)
    phone.close()
    page.close()


def test_each_required_diagram_type_is_drawn(signed_in, server):
    source = "".join(
        f"## {kind}\n\n{FENCE}mermaid\n{text}\n{FENCE}\n\n" for kind, text in GALLERY.items()
    )
    artifact = server.push("gallery.md", source.encode(), visibility="org")
    page = signed_in.new_page()
    page.goto(artifact["url"])
    _drawn(page)
    frame = _frame(page)
    expect(frame.locator(".diagram-error")).to_have_count(0)
    expect(frame.locator(".diagram-drawing svg")).to_have_count(len(GALLERY))
    roles = frame.locator(".diagram-drawing svg").evaluate_all(
        "svgs => svgs.map(s => s.getAttribute('aria-roledescription'))"
    )
    assert len(roles) == len(GALLERY) and all(roles), roles
    page.close()


def test_the_diagram_types_the_server_warns_about_are_the_ones_mermaid_lacks(signed_in, server):
    """artifacts.diagrams.SUPPORTED, which the push warnings use, against the bundle itself."""
    artifact = server.push("types.md", b"```mermaid\ngraph TD\nA-->B\n```\n", visibility="org")
    page = signed_in.new_page()
    page.goto(artifact["url"])
    _drawn(page)
    frame = page.locator("#artifact-frame").element_handle().content_frame()
    detected = frame.evaluate(
        """async (kinds) => {
          const out = {};
          for (const kind of kinds) {
            try { await mermaid.parse(kind + "\\n"); out[kind] = true; }
            catch (e) { out[kind] = !/No diagram type detected/.test(e.message); }
          }
          return out;
        }""",
        [*SUPPORTED, "mindmap", "architecture-beta", "zenuml", "nonsense"],
    )
    assert {kind for kind, known in detected.items() if known} == SUPPORTED
    page.close()


# An author's every way out from a Markdown page with diagrams: images, raw HTML, Mermaid
# labels with markup, click links and callbacks, CSS of its own in %%{init}%% and a
# directive asking for Mermaid's loose security level.
def _escape_page(base: str) -> bytes:
    def u(name: str) -> str:
        return f"{base}/p/md-{name}"

    init = (
        '%%{init: {"securityLevel": "loose", "themeCSS": "@import url(' + u("import") + ");"
        " .node rect { fill: url(" + u("css-url") + ') }", "fontFamily": "x"}}%%'
    )
    parts = [
        f'# Escapes\n\n![img]({u("image")})\n\n<img src="{u("raw-img")}">',
        f'<iframe src="{u("iframe")}"></iframe>\n\n<link rel=stylesheet href="{u("link")}">',
    ]
    for n in range(12):
        parts.append(
            f"{FENCE}mermaid\n{init}\nflowchart LR\n"
            f'  A{n}["<img src={u("label-img")}> <b>bold</b>"] --> B{n}\n'
            f'  click A{n} href "{u("click-href")}"\n'
            f'  click B{n} call fetch("{u("click-call")}")\n{FENCE}'
        )
    parts.append(
        f"{FENCE}mermaid\nsequenceDiagram\n  A->>B: <img src={u('seq-img')}>\n"
        f"  link A: Dashboard @ {u('seq-link')}\n{FENCE}"
    )
    return "\n\n".join(parts).encode()


def test_a_page_full_of_diagrams_reaches_nothing(signed_in, server):
    collectors = Collectors.start()
    try:
        http = collectors.http
        source = _escape_page(http.base)
        artifact = server.push("escapes.md", source, visibility="org")
        page = signed_in.new_page()
        page.goto(artifact["url"])
        _drawn(page)
        frame = _frame(page)
        expect(frame.locator(".diagram-drawing svg")).to_have_count(13)
        # A callback, then a link (which would take the frame away: last).
        frame.locator(".diagram-drawing g.node", has_text="B0").click(force=True)
        frame.locator(".diagram-drawing g.node", has_text="bold").first.click(force=True)
        page.wait_for_timeout(3000)  # long enough for anything in flight to land
        assert http.requests == []
        assert page.url == artifact["url"]
        page.close()

        # Control: the same page as rendered, top-level from the collector's origin with no
        # CSP and no sandbox, does ask for something, so the silence above is the sandbox's.
        http.pages["/page/md-escapes"] = markdown_render(source.decode()).encode()
        control = signed_in.new_page()
        control.goto(f"{http.base}/page/md-escapes")
        expect(control.locator("html")).to_have_attribute("data-diagrams", "drawn")
        control.wait_for_timeout(1000)
        reached = http.probes_hit()
        print(f"\ncontrol, no CSP: {sorted(reached)} reached the collector")
        assert reached, "no probe of the diagram page leaks even unprotected"
        control.close()
    finally:
        collectors.close()
