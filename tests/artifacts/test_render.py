"""markdown_render: GFM renders, and nothing an author writes can script the page, load
anything from elsewhere, or break out of where it was written."""

import time
from html import unescape
from html.parser import HTMLParser

import pytest

from artifacts.render import HIGHLIGHT_BUDGET, RENDER_SYNC_LIMIT, markdown_render

PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk"
    "YAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


class Elements(HTMLParser):
    """Every element's start tag and attributes, and the text, as a browser tokenizer sees them."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)

    def tags(self) -> list[str]:
        return [tag for tag, _ in self.elements]


def body(source: str) -> str:
    """What markdown_render puts inside <main>."""
    page = markdown_render(source)
    return page.split("<main>\n", 1)[1].rsplit("</main>", 1)[0]


def assert_inert(markup: str) -> None:
    """No script, no event handler, no script URL, no non-data image, no raw-text element."""
    assert "<script" not in markup.lower()
    for tag, attrs in Elements(markup).elements:
        assert tag not in {
            "script",
            "style",
            "iframe",
            "object",
            "embed",
            "form",
            "base",
            "meta",
            "link",
            "textarea",
            "title",
            "svg",
            "math",
            "noscript",
            "xmp",
            "plaintext",
        }, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            url = "".join(unescape(value).split()).lower()
            assert "script:" not in url, (tag, name, value)
            if name == "src":
                assert tag == "img" and url.startswith("data:image/"), (tag, value)


# -- The page ------------------------------------------------------------------------------------


def test_page_is_a_complete_self_contained_document():
    page = markdown_render("# Hi\n\nText.", title="Report")
    assert page.startswith("<!doctype html>\n")
    assert '<meta charset="utf-8">' in page
    assert "<title>Report</title>" in page
    assert page.count("<style>") == 1
    assert "prefers-color-scheme:dark" in page and "prefers-color-scheme:light" in page
    head = page.split("<body>")[0]
    assert "<script" not in page and "<link" not in head
    assert "url(" not in head and "@import" not in head and "http" not in head
    assert page.rstrip().endswith("</html>")


def test_title_defaults_to_the_first_heading_text_and_is_escaped():
    page = markdown_render("Intro\n\n# Hello *there* `code`\n\n# Second")
    assert "<title>Hello there code</title>" in page
    assert "<title>Document</title>" in markdown_render("no heading")
    page = markdown_render("x", title="a </title><script>")
    assert "<title>a &lt;/title&gt;&lt;script&gt;</title>" in page


def test_render_sync_limit_is_one_mebibyte():
    assert RENDER_SYNC_LIMIT == 1024 * 1024


# -- GFM features ----------------------------------------------------------------------------------


def test_table_renders_with_alignment():
    assert body("| a | b |\n|:--|--:|\n| 1 | 2 |") == (
        '<table>\n<thead>\n<tr>\n<th align="left">a</th>\n<th align="right">b</th>\n</tr>\n'
        '</thead>\n<tbody>\n<tr>\n<td align="left">1</td>\n<td align="right">2</td>\n</tr>\n'
        "</tbody>\n</table>\n"
    )


def test_task_list_renders_disabled_checkboxes():
    assert body("- [ ] todo\n- [x] done") == (
        '<ul>\n<li><input type="checkbox" disabled="" /> todo</li>\n'
        '<li><input type="checkbox" checked="" disabled="" /> done</li>\n</ul>\n'
    )


def test_footnote_renders_reference_and_note():
    out = body("Claim[^1].\n\n[^1]: Source.")
    assert (
        '<sup class="footnote-ref"><a href="#fn-1" id="fnref-1" data-footnote-ref>1</a></sup>'
        in out
    )
    assert '<section class="footnotes" data-footnotes>' in out and '<li id="fn-1">' in out


def test_strikethrough_and_autolink_render():
    assert body("~~gone~~ www.example.com and https://example.org/x") == (
        '<p><del>gone</del> <a href="http://www.example.com">www.example.com</a> and '
        '<a href="https://example.org/x">https://example.org/x</a></p>\n'
    )


def test_fenced_code_with_known_language_is_highlighted():
    assert body("```python\ndef f(): pass\n```") == (
        '<pre class="highlight"><code class="language-python"><span class="k">def</span>'
        '<span class="w"> </span><span class="nf">f</span><span class="p">():</span> '
        '<span class="k">pass</span>\n</code></pre>\n'
    )
    assert ".highlight .k {" in markdown_render("")  # its colours are in the stylesheet


def test_fenced_code_without_known_language_is_plain_and_escaped():
    assert body("```\na <b> & c\n```") == "<pre><code>a &lt;b&gt; &amp; c\n</code></pre>\n"
    assert body("```nosuchlang\n<x>\n```") == (
        '<pre><code class="language-nosuchlang">&lt;x&gt;\n</code></pre>\n'
    )


def test_code_beyond_the_highlight_budget_is_plain_but_complete():
    line = "x = 1\n"
    big = line * (HIGHLIGHT_BUDGET // len(line) + 1)
    out = body(f"```python\n{big}```\n\n```python\ny = 2\n```")
    assert out.startswith('<pre><code class="language-python">x = 1\n')
    assert out.count("x = 1\n") == big.count("\n")
    assert '<pre class="highlight"><code class="language-python"><span class="n">y</span>' in out


# -- Authors' HTML ---------------------------------------------------------------------------------


def test_harmless_inline_html_is_kept():
    assert body("Press <kbd>Ctrl</kbd>+<kbd>C</kbd>, x<sup>2</sup> H<sub>2</sub>O<br>next") == (
        "<p>Press <kbd>Ctrl</kbd>+<kbd>C</kbd>, x<sup>2</sup> H<sub>2</sub>O<br>next</p>\n"
    )


def test_details_block_stays_open_around_markdown():
    assert body("<details open>\n<summary>More</summary>\n\nSome *text*.\n\n</details>") == (
        "<details open>\n<summary>More</summary>\n<p>Some <em>text</em>.</p>\n</details>\n"
    )


def test_html_table_div_and_span_are_kept_with_safe_attributes():
    assert body(
        '<div align="center" id="a"><table><tr><td colspan="2" onclick="x()">c</td>'
        "</tr></table></div>"
    ) == ('<div align="center" id="a"><table><tr><td colspan="2">c</td></tr></table></div>\n')


def test_style_attribute_keeps_only_text_styling():
    assert (
        body(
            '<span style="color: red; position: fixed; background: url(https://e.com/t.png)">'
            "r</span>"
        )
        == '<p><span style="color: red;">r</span></p>\n'
    )


def test_text_inside_html_blocks_is_escaped_but_entities_survive():
    assert body("<div>a < b & c &amp; &copy;</div>") == "<div>a &lt; b &amp; c &amp; &copy;</div>\n"


def test_html_comments_and_declarations_are_dropped():
    assert body("a <!-- hidden --> b") == "<p>a  b</p>\n"
    assert body("<!--\n<script>alert(1)</script>\n-->") == "\n"
    assert body("<!DOCTYPE html>\n\n<?php echo 1; ?>") == "\n\n"  # two blocks, both empty


# -- Scripts and handlers --------------------------------------------------------------------------


def test_script_block_is_escaped():
    assert body("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;\n"


def test_inline_script_is_escaped():
    assert body("Hi <script>alert(1)</script> there") == (
        "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt; there</p>\n"
    )


def test_mixed_case_script_is_escaped():
    assert body("<ScRiPt>alert(1)</sCrIpT>") == "&lt;script&gt;alert(1)&lt;/script&gt;\n"


def test_script_inside_svg_or_math_is_escaped_with_them():
    assert body("<svg><script>alert(1)</script></svg>") == (
        "<p>&lt;svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;/svg&gt;</p>\n"
    )
    assert body("<math><mi>x</mi></math>") == (
        "<p>&lt;math&gt;&lt;mi&gt;x&lt;/mi&gt;&lt;/math&gt;</p>\n"
    )


def test_event_handler_attributes_are_stripped():
    assert body('<div onclick="x()" onmouseover=y title="t">hi</div>') == (
        '<div title="t">hi</div>\n'
    )
    assert body("<div\nclass=x\nONCLICK=y>z</div>") == "<div>z</div>\n"


def test_img_with_onerror_and_no_data_src_is_dropped():
    assert body("a <img src=x onerror=alert(1)> b") == "<p>a  b</p>\n"


def test_html_in_table_cells_and_footnotes_is_sanitised():
    assert body("| a |\n|---|\n| <script>x</script> <b onclick=y>b</b> |") == (
        "<table>\n<thead>\n<tr>\n<th>a</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n"
        "<td>&lt;script&gt;x&lt;/script&gt; <b>b</b></td>\n</tr>\n</tbody>\n</table>\n"
    )
    assert_inert(body("x[^1]\n\n[^1]: <script>alert(1)</script> <img src=x onerror=y>"))


# -- URLs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click]( jav&#x61;script:alert(1))",
        "[click](vbscript:msgbox(1))",
        "[click](data:text/html,<script>alert(1)</script>)",
        "[click][r]\n\n[r]: javascript:alert(1)",
    ],
)
def test_markdown_links_with_bad_schemes_become_plain_text(source):
    assert body(source) == "<p>click</p>\n"


def test_autolink_with_javascript_scheme_becomes_plain_text():
    assert body("<javascript:alert(1)>") == "<p>javascript:alert(1)</p>\n"


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "jav&#x61;script:alert(1)",
        "&#106;avascript:alert(1)",
        "java\tscript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,hi",
    ],
)
def test_html_links_with_bad_schemes_lose_their_href(href):
    assert body(f'<a href="{href}">a</a>') == "<p><a>a</a></p>\n"


def test_http_https_mailto_and_fragment_links_are_kept():
    assert body(
        "[a](http://e.com/x) [b](https://e.com/?q=1&r=2) [c](mailto:me@e.com) [d](#part)"
        ' <a href="https://e.org/" target="_blank">e</a>'
    ) == (
        '<p><a href="http://e.com/x">a</a> <a href="https://e.com/?q=1&amp;r=2">b</a> '
        '<a href="mailto:me@e.com">c</a> <a href="#part">d</a> <a href="https://e.org/">e</a></p>\n'
    )


def test_markdown_image_with_non_data_url_becomes_its_alt_text():
    assert body("![an *alt*](https://e.com/x.png) ![b](/local.png)") == "<p>an <em>alt</em> b</p>\n"


def test_markdown_image_with_data_url_is_kept():
    assert body(f"![pix]({PNG})") == f'<p><img src="{PNG}" alt="pix" /></p>\n'


def test_html_image_with_non_data_url_becomes_its_alt_text():
    assert body('<img src="https://e.com/x.png" alt="A &amp; B">') == "A &amp; B\n"
    assert body('<img src="data:text/html;base64,AAAA" alt="t">') == "t\n"


def test_html_image_with_data_url_is_kept_without_handlers():
    assert body(f'<IMG SRC="{PNG}" ALT="p" ONLOAD="x()">') == f'<img src="{PNG}" alt="p">\n'


def test_no_src_anywhere_points_off_the_page():
    source = "\n\n".join(
        [
            "![a](http://e.com/a.png)",
            "<img src=http://e.com/b.png>",
            "<img src=//e.com/c.png>",
            "<iframe src=https://e.com></iframe>",
            "<script src=https://e.com/x.js></script>",
            "<video src=https://e.com/v.mp4></video> <audio src=https://e.com/a.mp3>",
            "<embed src=https://e.com/x.swf> <input type=image src=https://e.com/i.png>",
            '<picture><source srcset="https://e.com/x.png"></picture>',
            f"![ok]({PNG})",
        ]
    )
    out = body(source)
    assert_inert(out)
    srcs = [attrs["src"] for _, attrs in Elements(out).elements if "src" in attrs]
    assert srcs == [PNG]
    assert not any("srcset" in attrs for _, attrs in Elements(out).elements)


# -- Elements that act on the page -----------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "<style>body{display:none}</style>",
        "<iframe src=https://e.com></iframe>",
        "<object data=x.swf></object>",
        "<embed src=x.swf>",
        "<form action=https://e.com><input name=q><button>go</button></form>",
        "<base href=https://e.com/>",
        '<meta http-equiv="refresh" content="0;url=https://e.com">',
        '<link rel="stylesheet" href="https://e.com/x.css">',
        "<noscript><p>x</p></noscript>",
        "<xmp><b>x</b></xmp>",
    ],
)
def test_active_elements_are_escaped_not_emitted(source):
    out = body(source)
    assert_inert(out)
    assert out.startswith("&lt;") or out.startswith("<p>&lt;")


def test_unclosed_textarea_cannot_swallow_the_rest():
    out = body("<textarea>\n\nafter\n\n# Heading")
    assert "textarea" not in Elements(out).tags()
    assert "after" in "".join(Elements(out).text) and "Heading" in "".join(Elements(out).text)


def test_unclosed_title_cannot_swallow_the_rest():
    page = markdown_render("<title>\n\n# After")
    assert page.count("<title>") == 1  # the page's own
    assert "&lt;title&gt;\n" in page and "<h1>After</h1>" in page


def test_unclosed_plaintext_cannot_swallow_the_rest():
    assert body("<plaintext>\n\n# After").startswith(
        '&lt;plaintext&gt;\n<div class="heading">\n<h1>After</h1>'
    )


def test_author_cannot_close_the_page_container():
    assert body("</main></body></html><main>") == (
        "&lt;/main&gt;&lt;/body&gt;&lt;/html&gt;&lt;main&gt;\n"
    )


def test_odd_input_does_not_crash():
    assert body("\x00 \ud800 ok") == "<p>\ufffd ? ok</p>\n"
    assert body("") == ""


# -- Size ------------------------------------------------------------------------------------------

CHUNK = f"""## Part {{n}}

Text with [a link](https://e.com/{{n}}) and <kbd>K{{n}}</kbd> and ~~old~~ and www.e.org.

| a | b |
|---|---|
| <script>alert({{n}})</script> | <img src=x onerror=alert({{n}})> |

<div onclick="alert({{n}})"><a href="javascript:alert({{n}})">j</a> <img src="{PNG}"></div>

![x](https://e.com/{{n}}.png) [y](javascript:alert({{n}}))

```python
def f{{n}}(): return {{n}}
```

- [x] done {{n}}

"""


def test_sixteen_mebibyte_document_is_sanitised_throughout():
    parts, size, n = [], 0, 0
    while size < 16 * 1024 * 1024:
        parts.append(CHUNK.format(n=n))
        size += len(parts[-1])
        n += 1
    start = time.perf_counter()
    page = markdown_render("".join(parts))
    elapsed = time.perf_counter() - start
    assert elapsed < 15, elapsed  # the budget; ~2 s here
    assert "<script" not in page.lower()
    for n_check in (0, n // 2, n - 1):  # spot-checks: start, middle, end
        part = page.split(f"<h2>Part {n_check}</h2>", 1)[1].split("<h2>", 1)[0]
        assert_inert(part)
        assert f"<kbd>K{n_check}</kbd>" in part
        assert f"&lt;script&gt;alert({n_check})&lt;/script&gt;" in part
        assert '<div><a>j</a> <img src="data:image/png' in part
        assert "<p>x <a" not in part and "<p>x y</p>" in part
        assert '<input type="checkbox" checked="" disabled="" />' in part
    assert page.count("<kbd>") == n
    assert page.count('<pre class="highlight">') < n  # highlighting is capped...
    assert page.count("<pre") == n  # ...but every block is rendered
