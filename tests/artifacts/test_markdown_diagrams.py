"""Mermaid diagrams in Markdown (issue 14, part 1): the page carries the product's one
script, only when it has a diagram, and the sandbox allows that script by its hash alone.
Drawn in a real browser: tests/browser/test_markdown_diagrams.py."""

import base64
import hashlib
import re

import pytest

from artifacts.diagrams import (
    MERMAID_FILE,
    MERMAID_SHA256,
    diagram_script,
    diagram_script_hash,
    diagram_type,
)
from artifacts.markdown_scan import markdown_warnings
from artifacts.render import DIAGRAMS_PAGE, markdown_render
from tests.artifacts.test_render import assert_inert
from tests.artifacts.test_sandbox import CSP_NO_SCRIPTS, open_viewer
from tests.helpers import sandbox_get

FLOW = "```mermaid\ngraph TD\n  A[Push] --> B{Member?}\n```\n"


def _scripts(page: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", page, re.DOTALL)


def test_the_vendored_mermaid_is_the_pinned_release_and_safe_to_inline():
    data = MERMAID_FILE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == MERMAID_SHA256
    # Inline in <script>: these would end it early or change how it is parsed.
    assert b"</script" not in data.lower() and b"<script" not in data.lower()


def test_a_diagram_is_its_escaped_source_in_a_figure_and_the_page_gets_the_script():
    page = markdown_render("# Flow\n\n" + FLOW.replace("Push", "<b>Push</b> & </code>"))
    assert page.startswith(DIAGRAMS_PAGE)
    markup = page.split("<main>\n", 1)[1].rsplit("</main>", 1)[0]
    assert (
        '<figure class="diagram"><pre class="mermaid-source"><code>graph TD\n'
        "  A[&lt;b&gt;Push&lt;/b&gt; &amp; &lt;/code&gt;] --&gt; B{Member?}\n"
        "</code></pre></figure>"
    ) in markup
    assert_inert(markup)
    assert _scripts(page) == [diagram_script()]


def test_a_page_without_diagrams_has_no_script_and_authors_scripts_still_go():
    plain = markdown_render("# Notes\n\n```python\nx = 1\n```\n")
    assert not plain.startswith(DIAGRAMS_PAGE) and "<script" not in plain
    page = markdown_render(FLOW + "\n<script>alert(1)</script>\n<img src=x onerror=alert(1)>\n")
    assert _scripts(page) == [diagram_script()]  # the product's, and only it
    assert_inert(page.split("<main>\n", 1)[1].rsplit("</main>", 1)[0])


def test_the_hash_is_the_scripts():
    digest = hashlib.sha256(diagram_script().encode()).digest()
    assert diagram_script_hash() == f"'sha256-{base64.b64encode(digest).decode()}'"
    assert 'securityLevel: "strict"' in diagram_script()


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("graph TD\nA-->B", "graph"),
        ("  sequenceDiagram\n  A->>B: hi", "sequenceDiagram"),
        ("---\ntitle: Flow\n---\nflowchart LR\nA-->B", "flowchart"),
        ("%%{init: {'theme': 'forest'}}%%\n%% a comment\n\nerDiagram\n", "erDiagram"),
        ("mindmap\n  root", "mindmap"),
        ("\n\n", ""),
    ],
)
def test_diagram_type_reads_the_first_word_as_mermaid_does(source, kind):
    assert diagram_type(source) == kind


def test_a_markdown_page_with_diagrams_allows_the_one_script_by_its_hash(member):
    artifact = member.push(data=("# Walk-through\n\n" + FLOW).encode(), name="w.md").json()
    page = member.client.get(f"/a/{artifact['id']}/").content.decode()
    iframe = re.search(r"<iframe[^>]*>", page).group(0)
    assert 'sandbox="allow-scripts allow-forms allow-downloads"' in iframe
    response = sandbox_get(open_viewer(member, artifact["id"]))
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    expected = CSP_NO_SCRIPTS.replace("script-src 'none'", f"script-src {diagram_script_hash()}")
    assert csp == expected.replace("sandbox allow-forms", "sandbox allow-scripts allow-forms")
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    html = b"".join(response.streaming_content).decode()
    assert _scripts(html) == [diagram_script()]


def test_a_markdown_page_without_diagrams_still_runs_nothing(member):
    artifact = member.push(data=b"# Notes\n\n```sh\nls\n```\n", name="n.md").json()
    page = member.client.get(f"/a/{artifact['id']}/").content.decode()
    assert "allow-scripts" not in re.search(r"<iframe[^>]*>", page).group(0)
    response = sandbox_get(open_viewer(member, artifact["id"]))
    assert response["Content-Security-Policy"] == CSP_NO_SCRIPTS


def test_an_org_without_scripts_still_draws_diagrams_and_no_html_script(member, org):
    # The org toggle is about the author's scripts; the diagram script is the product's.
    org.scripts_allowed = False
    org.save()
    artifact = member.push(data=FLOW.encode(), name="w.md").json()
    response = sandbox_get(open_viewer(member, artifact["id"]))
    assert f"script-src {diagram_script_hash()};" in response["Content-Security-Policy"]


# -- Push warnings (part 5) --------------------------------------------------------------------


def _warnings(text: str, chunk: int = 7) -> list[str]:
    data = text.encode()
    return markdown_warnings(data[i : i + chunk] for i in range(0, len(data), chunk))


def test_push_warns_of_diagram_types_it_will_not_draw_and_of_non_data_images():
    text = (
        "# Plan\n\n![chart](https://cdn.example/chart.png)\n\n"
        f'![ok]({"data:image/png;base64,AAAA"})\n\n<img src="/logo.svg" alt="logo">\n\n'
        "```mermaid\nmindmap\n  root((plan))\n```\n\n" + FLOW + "\n```mermaid\n```\n"
    )
    assert _warnings(text) == [
        "image not shown (only data: images are): https://cdn.example/chart.png",
        "image not shown (only data: images are): /logo.svg",
        "diagram not drawn (line 9): 'mindmap' is not a Mermaid type this server draws",
        "diagram not drawn (line 19): an empty diagram is not a Mermaid type this server draws",
    ]


def test_no_warnings_for_what_renders_nor_for_images_inside_code():
    text = (
        FLOW + "\n~~~markdown\n![x](https://example.com/x.png)\n```mermaid\nmindmap\n```\n~~~\n"
        "> ```mermaid\n> sequenceDiagram\n> A->>B: hi\n> ```\n"
    )
    assert _warnings(text) == []


def test_a_push_answers_with_the_markdown_warnings(member):
    response = member.push(data=b"![a](http://example.com/a.png)\n", name="a.md")
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        "image not shown (only data: images are): http://example.com/a.png"
    ]


def test_a_page_rendered_with_another_mermaid_keeps_the_hash_of_its_own_script(member):
    """After an upgrade of the vendored Mermaid, pages rendered before still carry the old
    script: the CSP must allow the one each page has, read from the page."""
    from artifacts import storage
    from artifacts.rendered_pages import rendered_script_hash

    artifact = member.push(data=b'```mermaid\npie\n  "a" : 1\n```\n', name="old.md").json()
    sha256 = member.api("get", f"/artifacts/{artifact['id']}").json()["versions"][0]["sha256"]
    older = "'sha256-" + base64.b64encode(hashlib.sha256(b"older").digest()).decode() + "'"
    name = storage.rendered_name(sha256)
    with storage.blob_storage().open(name, "rb") as fh:
        page = fh.read().decode().replace(diagram_script_hash().strip("'"), older.strip("'"), 1)
    storage.blob_storage().delete(name)
    storage.rendered_store(sha256, page)
    rendered_script_hash.cache_clear()
    response = sandbox_get(open_viewer(member, artifact["id"]))
    assert f"script-src {older};" in response["Content-Security-Policy"]


def test_the_warning_scan_stays_linear_on_a_line_of_openers():
    # Each pattern used to scan to the line's end from every opener: minutes per push.
    import time

    started = time.perf_counter()
    for line in ("<img " * 13000, "<img src" * 8000, "![" * 32000):
        assert _warnings(line + "\n", chunk=65536) == []
    assert time.perf_counter() - started < 5  # was 33 s; linear is a few ms
