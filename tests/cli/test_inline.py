"""`push --inline` against a fake CDN on loopback: scripts, stylesheets with @import and
url() fonts/images, images and srcsets end up in the page; what fails is reported."""

import base64
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from artifact_cli.inline import inline_page

PNG = b"\x89PNG\r\n\x1a\nfake-image"
FONT = b"wOF2fake-font"
CDN_FILES = {
    "lib.js": b"window.LIB = 'ok'; // </script> inside a string\n",
    "style.css": b"@import 'more.css';\nbody { background: url(img/bg.png) }\n"
    b"@font-face { font-family: F; src: url('/fonts/f.woff2') format('woff2') }\n",
    "more.css": b"h1 { color: rebeccapurple }\n",
    "img/bg.png": PNG,
    "fonts/f.woff2": FONT,
    "logo.png": PNG,
}


@pytest.fixture(scope="module")
def cdn(tmp_path_factory):
    root = tmp_path_factory.mktemp("cdn")
    for name, data in CDN_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def _data(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def _page(cdn: str) -> str:
    return f"""<!doctype html><html><head>
<link rel="stylesheet" href="{cdn}/style.css">
<script src="{cdn}/lib.js" integrity="sha384-x" crossorigin="anonymous"></script>
<script src="{cdn}/missing.js"></script>
</head><body>
<h1>Ünïcødé</h1>
<img src="{cdn}/logo.png" srcset="{cdn}/logo.png 1x, {cdn}/nope.png 2x" alt="logo">
<script>console.log(window.LIB)</script>
</body></html>"""


def test_inline_page_inlines_scripts_styles_fonts_and_images(cdn):
    text, report = inline_page(_page(cdn), None)
    assert "<script>window.LIB = 'ok'; // <\\/script> inside a string\n</script>" in text
    assert "h1 { color: rebeccapurple }" in text
    assert f'url("{_data("image/png", PNG)}")' in text
    assert f'url("{_data("font/woff2", FONT)}")' in text
    assert f'<img src="{_data("image/png", PNG)}"' in text
    assert f"{cdn}/style.css" not in text and f"{cdn}/lib.js" not in text
    assert "integrity" not in text
    assert f'<script src="{cdn}/missing.js"></script>' in text  # kept, and reported:
    assert report.failed == {f"{cdn}/missing.js": "HTTP 404", f"{cdn}/nope.png": "HTTP 404"}
    assert f"{cdn}/fonts/f.woff2" in report.inlined


def test_local_files_inline_from_the_page_folder_only(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "a.css").write_text("p { background: url(b.png) }")
    (tmp_path / "site" / "b.png").write_bytes(PNG)
    (tmp_path / "secret.png").write_bytes(b"secret")
    page = '<link rel=stylesheet href="a.css"><img src="../secret.png"><p style="x">'
    text, report = inline_page(page, tmp_path / "site")
    assert text.startswith(f'<style>p {{ background: url("{_data("image/png", PNG)}") }}</style>')
    assert '<img src="../secret.png">' in text
    assert report.failed == {
        (tmp_path / "secret.png").as_uri(): "local file outside the page's folder"
    }


def test_a_page_from_stdin_reports_relative_references():
    text, report = inline_page('<img src="pic.png"><img src="data:image/png;base64,AA==">', None)
    assert text == '<img src="pic.png"><img src="data:image/png;base64,AA==">'
    assert list(report.failed) == ["pic.png"]


def test_deferred_scripts_move_to_the_end_of_the_body(cdn):
    page = f'<head><script defer src="{cdn}/lib.js"></script></head><body><p>x</p></body>'
    text, _ = inline_page(page, None)
    assert text.startswith("<head></head><body><p>x</p><script defer>window.LIB")
    assert text.endswith("</script></body>")


def test_untouched_markup_is_kept_byte_for_byte():
    page = "<!-- <img src='x.png'> -->\n<P CLASS=a>caf&eacute; &amp; <b>bold</b>\r\n"
    text, report = inline_page(page, None)
    assert text == page
    assert (report.inlined, report.failed) == ([], {})


def test_push_inline_uploads_the_inlined_page_and_reports_failures(run, cdn, tmp_path, api):
    page = tmp_path / "dash.html"
    page.write_text(_page(cdn), encoding="utf-8")
    result = run("push", str(page), "--inline", "--json")
    assert result.returncode == 0, result.stderr
    pushed = json.loads(result.stdout)
    assert {f["url"] for f in pushed["inline"]["failed"]} == {
        f"{cdn}/missing.js",
        f"{cdn}/nope.png",
    }
    err = result.stderr.decode()
    assert f"not inlined: {cdn}/missing.js (HTTP 404)" in err
    source = api.get(f"/artifacts/{pushed['id']}/versions/1/source").content.decode()
    assert "window.LIB = 'ok'" in source and "rebeccapurple" in source
    assert "Ünïcødé" in source
    assert any("missing.js" in warning for warning in pushed["warnings"])
    assert not any("lib.js" in warning for warning in pushed["warnings"])
