"""artifacts.scan.warnings_scan: what the sandbox will block, found in streamed HTML."""

import random
import tracemalloc

import pytest

from artifacts import scan
from artifacts.scan import warnings_scan

WEBRTC = (
    "a residual channel the sandbox cannot close; "
    "ask your org admin to turn scripts off, or avoid it"
)


def scan_one(html: str | bytes) -> list[str]:
    return warnings_scan([html.encode() if isinstance(html, str) else html])


def chunked(data: bytes, size: int):
    return (data[i : i + size] for i in range(0, len(data), size))


# --- each kind of load -------------------------------------------------------------------


def test_external_script_is_reported():
    assert scan_one('<script src="https://cdn.example.com/lib.js"></script>') == [
        "external script blocked: https://cdn.example.com/lib.js"
    ]


def test_external_stylesheet_is_reported():
    assert scan_one('<link rel="stylesheet" href="https://cdn.example.com/a.css">') == [
        "external stylesheet blocked: https://cdn.example.com/a.css"
    ]


def test_other_link_rels_that_load_are_reported():
    assert scan_one(
        '<link rel="preload" as="font" href="/f.woff2">'
        '<link rel="modulepreload" href="https://x.test/m.js">'
        '<link rel="shortcut icon" href="favicon.ico">'
        '<link rel="manifest" href="app.webmanifest">'
        '<link rel="alternate stylesheet" href="alt.css">'
    ) == [
        "external preload blocked: /f.woff2",
        "external module preload blocked: https://x.test/m.js",
        "external icon blocked: favicon.ico",
        "external manifest blocked: app.webmanifest",
        "external stylesheet blocked: alt.css",
    ]


def test_link_rels_that_fetch_nothing_are_not_reported():
    assert (
        scan_one(
            '<link rel="canonical" href="https://x.test/"><link rel="author" href="a">'
            '<link rel="alternate" type="application/rss+xml" href="/feed">'
        )
        == []
    )


def test_external_image_is_reported():
    assert scan_one('<img src="https://img.example.com/a.png" alt="a">') == [
        "external image blocked: https://img.example.com/a.png"
    ]


def test_relative_and_protocol_relative_urls_are_reported():
    assert scan_one('<img src="img/logo.png"><img src="//cdn.test/x.png"><img src="/abs.png">') == [
        "external image blocked: img/logo.png",
        "external image blocked: //cdn.test/x.png",
        "external image blocked: /abs.png",
    ]


def test_media_frames_objects_forms_and_svg_are_reported():
    assert scan_one(
        '<video src="v.mp4" poster="https://p.test/p.jpg"><track src="t.vtt"></video>'
        '<audio src="https://a.test/a.mp3"></audio>'
        '<picture><source srcset="s.webp" type="image/webp"></picture>'
        '<iframe src="https://frame.test/"></iframe><embed src="e.swf"><object data="o.pdf">'
        '<form action="https://forms.test/submit"><button formaction="/other">x</button></form>'
        '<body background="bg.gif">'
        '<svg><image href="https://i.test/i.png"/><use xlink:href="sprite.svg#a"/>'
        '<feImage href="f.png"/></svg>'
    ) == [
        "external media blocked: v.mp4",
        "external image blocked: https://p.test/p.jpg",
        "external media blocked: t.vtt",
        "external media blocked: https://a.test/a.mp3",
        "external image blocked: s.webp",
        "external frame blocked: https://frame.test/",
        "external object blocked: e.swf",
        "external object blocked: o.pdf",
        "form submission blocked: https://forms.test/submit",
        "form submission blocked: /other",
        "external image blocked: bg.gif",
        "external image blocked: https://i.test/i.png",
        "external SVG resource blocked: sprite.svg#a",
        "external image blocked: f.png",
    ]


def test_css_import_and_url_in_style_element_are_reported():
    assert scan_one(
        "<style>@import url('https://fonts.test/css?family=X');\n"
        '@import "local.css";\n'
        "body { background: url(https://img.test/bg.png) }\n"
        '@font-face { src: URL("/f.woff2") }</style>'
    ) == [
        "CSS @import blocked: https://fonts.test/css?family=X",
        "CSS @import blocked: local.css",
        "CSS url() blocked: https://img.test/bg.png",
        "CSS url() blocked: /f.woff2",
    ]


def test_css_url_in_style_attribute_is_reported():
    assert scan_one(
        '<div style="color:red; background:url(&quot;https://s.test/a.png&quot;)">a</div>'
        "<p style=\"background-image: url('b.png')\">b</p>"
        "<span style='border-image: url(c.png) 30'>c</span>"
        '<td style="background:#fff">no url</td>'
    ) == [
        "CSS url() blocked: https://s.test/a.png",
        "CSS url() blocked: b.png",
        "CSS url() blocked: c.png",
    ]


def test_base_href_and_meta_refresh_are_reported():
    assert scan_one(
        '<base href="https://base.test/">'
        '<meta http-equiv="refresh" content="0; url=\'https://elsewhere.test/\'">'
        '<meta http-equiv="Refresh" content="30">'
        '<meta name="description" content="https://not-a-load.test/">'
    ) == [
        "<base href> ignored: https://base.test/",
        "<meta refresh> blocked: https://elsewhere.test/",
    ]


def test_preconnect_and_dns_prefetch_are_residual_channels():
    assert scan_one(
        '<link rel="preconnect" href="https://fonts.gstatic.com" crossorigin>'
        '<link rel="dns-prefetch" href="//cdn.test">'
        '<link rel="preconnect" href="/same-origin">'
    ) == [
        "<link rel=preconnect> to https://fonts.gstatic.com: a residual channel the sandbox "
        "cannot close; remove it",
        "<link rel=dns-prefetch> to //cdn.test: a residual channel the sandbox cannot close; "
        "remove it",
    ]


def test_webrtc_in_scripts_is_reported():
    assert scan_one(
        "<script>const pc = new RTCPeerConnection({iceServers: [{urls: ['stun:stun.test:3478',"
        ' "turns:turn.test:443?transport=tcp"]}]});\n'
        "const legacy = window.webkitRTCPeerConnection; pc.createDataChannel('x');"
        " let c = RTCDataChannel; const game = {turn: 1};</script>"
    ) == [
        f"WebRTC use detected (RTCPeerConnection): {WEBRTC}",
        f"WebRTC use detected (iceServers): {WEBRTC}",
        f"WebRTC use detected (stun:stun.test:3478): {WEBRTC}",
        f"WebRTC use detected (turns:turn.test:443?transport=tcp): {WEBRTC}",
        f"WebRTC use detected (webkitRTCPeerConnection): {WEBRTC}",
        f"WebRTC use detected (RTCDataChannel): {WEBRTC}",
    ]


def test_script_loads_with_literal_absolute_urls_are_reported():
    assert scan_one(
        "<script type=module>import * as d3 from 'https://cdn.test/d3.js';\n"
        'import "https://cdn.test/side-effect.js";\n'
        'window.fetch("https://api.test/data.json").then(r => r.json());\n'
        "const m = await import ( 'https://cdn.test/mod.js' );\n"
        "importScripts('https://cdn.test/w.js'); new Worker(\"//cdn.test/worker.js\");\n"
        "new SharedWorker('https://cdn.test/shared.js');\n"
        "const ws = new WebSocket('wss://live.test/socket');\n"
        "const es = new EventSource(`https://live.test/events`);\n"
        "navigator.sendBeacon('https://stats.test/b', data);\n"
        "xhr.open('GET', 'https://api.test/xhr');\n"
        "</script>"
    ) == [
        "module import blocked: https://cdn.test/d3.js",
        "module import blocked: https://cdn.test/side-effect.js",
        "fetch() blocked: https://api.test/data.json",
        "import() blocked: https://cdn.test/mod.js",
        "importScripts() blocked: https://cdn.test/w.js",
        "new Worker() blocked: //cdn.test/worker.js",
        "new SharedWorker() blocked: https://cdn.test/shared.js",
        "new WebSocket() blocked: wss://live.test/socket",
        "new EventSource() blocked: https://live.test/events",
        "sendBeacon() blocked: https://stats.test/b",
        "XMLHttpRequest blocked: https://api.test/xhr",
    ]


def test_script_text_that_is_not_a_load_is_not_reported():
    assert (
        scan_one(
            '<script>const data = {"url": "https://example.test/record/1"};\n'
            "fetch(url); fetch('relative/data.json'); prefetch('https://x.test/');\n"
            "el.innerHTML = '<img src=\"https://in-a-string.test/a.png\">';\n"
            "window.open('https://popup.test/'); console.log('stun is a word');\n"
            "// see https://docs.test/ for details\n</script>"
        )
        == []
    )


# --- what is not a load -----------------------------------------------------------------


def test_data_blob_fragment_and_other_schemes_are_not_reported():
    assert (
        scan_one(
            '<img src="data:image/png;base64,iVBORw0KGgo=">'
            '<img src="blob:https://sandbox.test/1234">'
            '<svg><use href="#icon"/></svg><img src="#x">'
            '<iframe src="about:blank"></iframe><iframe src="javascript:void(0)"></iframe>'
            '<img src="">'
            '<form action="mailto:x@example.test"></form>'
            "<style>.a{background:url(data:image/svg+xml,%3Csvg%3E)} .b{fill:url(#grad)}</style>"
            '<link rel="stylesheet" href="data:text/css,body{}">'
        )
        == []
    )


def test_plain_links_are_navigation_not_loads():
    # Decision: <a href> / <area href> are not warned about (see _LOAD_ATTRS in scan.py).
    assert (
        scan_one(
            '<a href="https://example.test/">x</a><a href="page2.html">y</a>'
            '<area href="https://map.test/" shape="rect">'
            '<a href="javascript:go()">z</a>'
        )
        == []
    )


def test_link_ping_is_a_beacon_and_is_reported():
    assert scan_one('<a href="https://example.test/" ping="https://t.test/p /local">x</a>') == [
        "<a ping> beacon blocked: https://t.test/p",
        "<a ping> beacon blocked: /local",
    ]


def test_markup_inside_comments_textarea_and_script_strings_is_not_reported():
    assert scan_one(
        '<!-- <img src="https://commented.test/a.png"> -->'
        '<textarea><img src="https://typed.test/b.png"></textarea>'
        '<title><img src="c.png"></title>'
        "<script>var s = '<link rel=stylesheet href=https://str.test/x.css>';</script>"
        '<img src="https://real.test/d.png">'
    ) == ["external image blocked: https://real.test/d.png"]


# --- HTML syntax ------------------------------------------------------------------------


def test_uppercase_tags_and_attributes_are_recognised():
    assert scan_one(
        '<SCRIPT SRC="https://cdn.test/A.js"></SCRIPT>'
        "<LINK REL=STYLESHEET HREF=https://cdn.test/B.css>"
        '<IMG SRC="C.png"><DIV STYLE="BACKGROUND: URL(d.png)"></DIV>'
        "<STYLE>@IMPORT url(e.css)</STYLE>"
    ) == [
        "external script blocked: https://cdn.test/A.js",
        "external stylesheet blocked: https://cdn.test/B.css",
        "external image blocked: C.png",
        "CSS url() blocked: d.png",
        "CSS url() blocked: e.css",
    ]


def test_single_double_and_unquoted_attribute_values():
    assert scan_one(
        "<img src='single.png'><img src=\"double.png\"><img src=unquoted.png>"
        "<img\nalt='a b'\nsrc=newlines.png><img alt=x src=last.png/><img src=\"\">"
    ) == [
        "external image blocked: single.png",
        "external image blocked: double.png",
        "external image blocked: unquoted.png",
        "external image blocked: newlines.png",
        "external image blocked: last.png/",  # as browsers read it: `/` is in the value
    ]


def test_srcset_with_several_candidates():
    assert scan_one(
        '<img src="data:," srcset="small.png 480w, https://cdn.test/big.png 1080w,'
        'data:image/png;base64,AAAA,BBBB 2x,  //cdn.test/x3.png 3x">'
    ) == [
        "external image blocked: small.png",
        "external image blocked: https://cdn.test/big.png",
        "external image blocked: //cdn.test/x3.png",
    ]


def test_entities_in_attribute_values_are_decoded():
    assert scan_one('<img src="https://x.test/a?b=1&amp;c=2">') == [
        "external image blocked: https://x.test/a?b=1&c=2"
    ]


def test_attribute_after_a_huge_inline_value_is_still_read():
    huge = "A" * (3 * scan.CAP)
    assert scan_one(
        f'<img alt="{huge}" src="after.png"><img src="data:image/png;base64,{huge}"'
        f' srcset="also-after.png 2x">'
    ) == [
        "external image blocked: after.png",
        "external image blocked: also-after.png",
    ]


def test_long_urls_are_truncated():
    url = "https://x.test/" + "a" * 500
    assert scan_one(f'<img src="{url}">') == [f"external image blocked: {url[:200]}…"]


# --- dedup and cap ----------------------------------------------------------------------


def test_duplicates_are_reported_once():
    assert scan_one('<img src="a.png">' * 5 + '<img src=a.png><IMG SRC="b.png">') == [
        "external image blocked: a.png",
        "external image blocked: b.png",
    ]


def test_list_is_capped_with_a_count_of_the_rest():
    page = "".join(f'<img src="img{i}.png">' for i in range(75)) + '<img src="img0.png">'
    result = scan_one(page)
    assert result == [f"external image blocked: img{i}.png" for i in range(50)] + ["… and 25 more"]


# --- streaming --------------------------------------------------------------------------


def _varied_page() -> bytes:
    """Every kind of finding, repeated at shifting offsets so chunk edges cut each one."""
    block = (
        '<link rel="stylesheet" href="https://cdn.test/{i}.css">'
        '<img src="https://img.test/{i}/a-rather-long-path/picture.png" alt="x">'
        '<img srcset="s{i}.png 1x, https://img.test/{i}@2x.png 2x">'
        '<div style="background:url(https://bg.test/{i}.png)">t</div>'
        "<style>@import url('https://css.test/{i}.css'); a{{background:url(/u{i}.png)}}</style>"
        "<script>fetch('https://api.test/{i}'); new RTCPeerConnection();"
        " const s = 'stun:stun{i}.test:3478';</script>"
        '<!-- <img src="hidden{i}.png"> --><a href="https://link.test/{i}">l</a>'
        '<link rel=preconnect href="https://pc{i}.test">'
        '<img src="https://long.test/{i}/' + "p" * 3000 + '.png">'
        "<div " + 'title="' + "t" * 80 + '" ' * 9 + 'style="background:url(far{i}.png)">d</div>'
    )
    parts = []
    for i in range(40):
        parts.append(block.format(i=i))
        parts.append("<p>" + "lorem ipsum " * (97 * i % 331) + "</p>")
    return "".join(parts).encode()


@pytest.mark.parametrize("size", [1, 7, 64 * 1024])
def test_chunk_size_does_not_change_the_result(size):
    page = _varied_page()
    assert warnings_scan(chunked(page, size)) == scan_one(page)


@pytest.mark.parametrize("size", [7, 61, 1000, 4096, 64 * 1024])
def test_matches_cut_by_chunk_edges_are_found(monkeypatch, size):
    # With no pooling every chunk edge is a scan boundary, so the carry-over logic is what
    # keeps each finding whole.
    monkeypatch.setattr(scan, "MIN_BUFFER", 0)
    monkeypatch.setattr(scan, "MAX_WARNINGS", 10_000)
    page = _varied_page()
    expected = scan_one(page)
    assert len(expected) == 40 * 12 + 1  # 12 per block, plus one WebRTC name for all
    assert warnings_scan(chunked(page, size)) == expected


def test_url_split_across_a_64k_boundary_in_a_big_page():
    pad = b"<p>" + b"x" * (scan.MIN_BUFFER - scan.OVERLAP - 40) + b"</p>"
    page = pad + b'<img src="https://split.test/across/the/edge.png">' + b"<p>y</p>" * 50_000
    for offset in range(0, 80, 3):  # move the URL over the edge of the first scan
        doc = b" " * offset + page
        assert warnings_scan(chunked(doc, 64 * 1024)) == [
            "external image blocked: https://split.test/across/the/edge.png"
        ]


def test_16_mib_page_scans_in_bounded_memory():
    unit = (
        b'<tr><td class="n">12,345</td><td style="color:#333">text</td></tr>'
        b'<script>window.D=[{"a":1,"url":"https://example.test/r"}];</script>'
        b'<img alt="inline" src="data:image/png;base64,' + b"QUJD" * 200 + b'">'
    )
    chunk = 64 * 1024
    units = (16 * 1024 * 1024) // len(unit)

    def chunks():
        # The page is made as it is read, 64 KiB at a time (whole units, so the markup stays
        # well formed), and only the scanner's own memory is traced.
        yield b'<html><head><script src="https://cdn.test/big.js"></script></head><body>'
        run = unit * (chunk // len(unit) + 2)
        for start in range(0, units * len(unit), chunk):
            offset = start % len(unit)
            yield run[offset : offset + min(chunk, units * len(unit) - start)]
        yield b'<img src="https://cdn.test/last.png"></body></html>'

    tracemalloc.start()
    try:
        result = warnings_scan(chunks())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result == [
        "external script blocked: https://cdn.test/big.js",
        "external image blocked: https://cdn.test/last.png",
    ]
    assert peak < 4 * 1024 * 1024


# --- tag-dense pages: _MARKUP only where a cheaper search points ---------------------------


def test_a_load_on_a_tag_is_found_before_a_named_tag_inside_it():
    # `<img` loads through src= after `<script` starts: the `<img` comes first, as in one
    # _MARKUP.search, though the first hint in the page is the name `script`.
    assert scan_one('<p>x</p><img alt=x <script src="y.js">') == ["external image blocked: y.js"]


def test_a_long_tag_is_read_in_full_even_with_a_quoted_gt():
    # Only the long-tag route finds this `<div`: its `>` inside the quotes is over 1 KiB in.
    title = "t" * 2000 + "> <img src=inside.png>"
    assert scan_one(f'<p>x</p><div title="{title}"><img src=out.png>') == [
        "external image blocked: out.png"
    ]


def test_a_loading_attribute_far_past_the_tag_name_is_still_read():
    huge = "A" * 40_000  # farther than any `=` _MARKUP itself looks at
    assert scan_one(f'<p>x</p><img alt="{huge}" src="after.png">') == [
        "external image blocked: after.png"
    ]


def test_a_loading_attribute_1_kib_into_a_tag_is_read():
    # The first tag ends just within 1 KiB of its name, so only its src= points to it; the
    # second ends just past: a long tag.
    alt = "A" * 1000
    page = f'<p>x</p><img alt="{alt}" src="near.png"><img alt="{alt}" srcset="far.png 2x">'
    assert scan_one(page) == [
        "external image blocked: near.png",
        "external image blocked: far.png",
    ]


def test_only_the_first_16_attributes_are_looked_at_as_before():
    assert scan_one(
        "<p>x</p><img " + "a=1 " * 15 + 'src="16th.png"><img ' + "a=1 " * 16 + 'src="17th.png">'
    ) == ["external image blocked: 16th.png"]


def test_loading_attribute_names_in_text_load_nothing():
    # Each `src=` is a false hint; past a few per KiB the scan goes back to plain _MARKUP.
    page = "<p>set src=x.png, or style=url(y.png) in a tag</p>" * 5000 + '<img src="last.png">'
    assert scan_one(page) == ["external image blocked: last.png"]
    assert warnings_scan(chunked(page.encode(), 4096)) == ["external image blocked: last.png"]


def test_tag_dense_page_with_loads_at_chunk_edges(monkeypatch):
    monkeypatch.setattr(scan, "MIN_BUFFER", 0)
    row = "<tr><td>row</td><td>12345</td><td><a href='#x'>link</a></td></tr>\n"
    parts = ["<!doctype html><title>t</title><style>td{padding:2px}</style><table>"]
    for i in range(40):
        parts.append(row * (37 * i % 101))
        parts.append(
            f'<tr><td><img src="r{i}.png"></td><td style="background:url(b{i}.png)">x</td>'
            f"<td><!-- <img src=hidden{i}.png> --><video poster=p{i}.jpg></video></td></tr>\n"
        )
    page = "".join(parts).encode()
    expected = [
        warning
        for i in range(40)
        for warning in (
            f"external image blocked: r{i}.png",
            f"CSS url() blocked: b{i}.png",
            f"external image blocked: p{i}.jpg",
        )
    ]
    monkeypatch.setattr(scan, "MAX_WARNINGS", 10_000)
    assert scan_one(page) == expected
    for size in (61, 4096, 64 * 1024):
        assert warnings_scan(chunked(page, size)) == expected


_PIECES = [
    *("<", ">", "=", " ", "\n", "/", '"', "'", "(", "<!", "<!--", "-->", "a", "x.png", "b=c "),
    *("<td>", "</td>", "<tr", "<a ", "<p>", "<li>", "<path d=", "<table>", "<strong>", "<sc>"),
    *("<img ", "<IMG ", "<script>", "</script>", "<style>", "<Title>", "<textarea>", "<xmp>"),
    *("<link ", "<LINK ", "<meta ", "<base ", "<use ", "<feImage ", "<iframe ", "<image>"),
    *("src=", "SRC=", " src=", " srcset=", "href=", " href=", " xlink:href=", "xlink:href="),
    *(" style=", "url(", "URL(", " data=", " ping=", " poster=", " action=", " background="),
]


def _tricky_page(rng, pieces: int) -> bytes:
    out = []
    for _ in range(pieces):
        if rng.random() < 0.03:  # a long run: long tags, far attributes, many `=`
            out.append(rng.choice(["t", "=", "a=", " ", "<a", " src=x"]) * rng.choice([300, 1100]))
        else:
            out.append(rng.choice(_PIECES))
    return "".join(out).encode()


@pytest.mark.parametrize("seed", range(8))
def test_trigger_searches_find_what_markup_search_finds(seed):
    # _find_markup must return, from every position, the match _MARKUP.search would.
    rng = random.Random(seed)
    for _ in range(6):
        page = _tricky_page(rng, rng.choice([10, 60, 400]))
        for spare in (10**9, 0):  # the trigger path, and the fallback to _MARKUP.search
            scanner = scan._Scanner()
            scanner._new_buffer(page, len(page))
            scanner.spare = spare
            for pos in range(0, len(page), 1 + len(page) // 400):
                got = scanner._find_markup(page, pos, len(page))
                want = scan._MARKUP.search(page, pos)
                assert (got and (got.start(), got.group(1))) == (
                    want and (want.start(), want.group(1))
                ), (seed, pos, page)


def test_trigger_searches_stop_at_the_limit_as_markup_search_does():
    rng = random.Random(99)
    page = _tricky_page(rng, 3000) + b" " * scan.OVERLAP
    limit = len(page) - scan.OVERLAP
    scanner = scan._Scanner()
    scanner._new_buffer(page, limit)
    scanner.spare = 10**9
    for pos in range(0, limit, 97):
        got = scanner._find_markup(page, pos, limit)
        want = scan._MARKUP.search(page, pos)
        want = want if want and want.start() < limit else None
        assert (got and got.start()) == (want and want.start()), pos
