"""Collectors and probe pages for the egress proof (tests/browser/test_egress.py).

A collector is a loopback listener on a port picked free at runtime, reached from Chromium
through a made-up host name (the browser fixture maps every host to 127.0.0.1). Every probe
asks for `/p/<probe name>/...`, so the collector's log names exactly which channel leaked.
The same pages are pushed as artifacts (sandbox) and served plainly by the HTTP collector
(positive control: no CSP, no sandbox, top-level).
"""

import html
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COLLECTOR_HOST = "collector.example"
PRECONNECT_HOST = "preconnect.example"

# Channels that do not navigate the page: one page tries them all at once.
# name -> what it is (for the report).
SUBRESOURCE_PROBES = {
    "script": "<script src>",
    "stylesheet": "<link rel=stylesheet>",
    "css-import": "CSS @import",
    "font": "@font-face src",
    "css-url": "CSS url() background-image",
    "img": "<img src>",
    "img-srcset": "<img srcset>",
    "js-image": "new Image().src",
    "svg-image": "<svg><image href>",
    "video": "<video src>",
    "video-poster": "<video poster>",
    "audio": "<audio src>",
    "object": "<object data>",
    "embed": "<embed src>",
    "iframe": "<iframe src>",
    "base-href": "<base href> + relative <img>",
    "prefetch": "<link rel=prefetch>",
    "preload": "<link rel=preload>",
    "modulepreload": "<link rel=modulepreload>",
    "fetch": "fetch()",
    "xhr": "XMLHttpRequest",
    "websocket": "WebSocket",
    "eventsource": "EventSource",
    "beacon": "navigator.sendBeacon",
    "ping": "<a ping> (clicked)",
    "worker": "new Worker(url)",
    "shared-worker": "new SharedWorker(url)",
    "blob-worker-importscripts": "importScripts() in a blob: worker",
    "data-worker-importscripts": "importScripts() in a data: worker",
    "dynamic-import": "import()",
}

# Channels that take the page (or top, or a new window) away: one page each. The test
# clicks `#go` (a real click, so the artifact has user activation: the attacker's best case).
NAVIGATION_PROBES = {
    "meta-refresh": "<meta http-equiv=refresh content=0;url=...>",
    "location": "location = url (on click)",
    "top-location": "top.location = url (on click)",
    "window-open": "window.open(url) (on click)",
    "link-top": "<a target=_top> clicked",
    "link-blank": "<a target=_blank> clicked",
    "download": "<a download> clicked",
    "form-submit": "form.submit() (POST)",
}

MARKER = "script ran"
CONSOLE_MARKER = f"egress probe: {MARKER}"  # also logged: a page may navigate away at once


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Request:
    method: str
    path: str
    host: str
    upgrade: str

    @property
    def probe(self) -> str | None:
        """`/p/<name>/...` -> name; None for anything else (control pages, favicon)."""
        parts = self.path.split("?")[0].split("/")
        return parts[2] if len(parts) > 2 and parts[1] == "p" else None


class HttpCollector(ThreadingHTTPServer):
    """Records every request (a WebSocket handshake is a GET with `Upgrade`), answers probes
    with something the requesting channel accepts, and serves control pages under /page/."""

    daemon_threads = True

    def __init__(self):
        self.requests: list[Request] = []
        self.pages: dict[str, bytes] = {}
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)
        self.port = self.server_address[1]
        self.base = f"http://{COLLECTOR_HOST}:{self.port}"

    def probes_hit(self) -> set[str]:
        with self.lock:
            return {r.probe for r in self.requests if r.probe}


_CONTENT_TYPES = {
    "script": "text/javascript",
    "modulepreload": "text/javascript",
    "dynamic-import": "text/javascript",
    "worker": "text/javascript",
    "shared-worker": "text/javascript",
    "blob-worker-importscripts": "text/javascript",
    "data-worker-importscripts": "text/javascript",
    "stylesheet": "text/css",
    "css-import": "text/css",
}


class _Handler(BaseHTTPRequestHandler):
    server: HttpCollector

    def _answer(self):
        request = Request(
            self.command,
            self.path,
            self.headers.get("Host", ""),
            self.headers.get("Upgrade", ""),
        )
        with self.server.lock:
            self.server.requests.append(request)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        status, body, ctype = 200, b"", "text/plain"
        if self.path in self.server.pages:
            body, ctype = self.server.pages[self.path], "text/html; charset=utf-8"
        elif request.probe == "eventsource" or request.upgrade:
            status = 204  # an EventSource does not reconnect after 204; a WebSocket fails
        elif request.probe:
            ctype = _CONTENT_TYPES.get(request.probe, "text/html")
            body = b"/* probe */" if ctype != "text/html" else b"<p>leaked</p>"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Access-Control-Allow-Origin", "*")
        if request.probe == "download":
            self.send_header("Content-Disposition", 'attachment; filename="leak.txt"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_HEAD = do_OPTIONS = do_PUT = _answer

    def log_message(self, *args):
        pass


@dataclass
class TcpCollector:
    """Counts TCP connections (a preconnect opens one and sends nothing) and bytes seen."""

    connections: int = 0
    bytes_received: int = 0
    sock: socket.socket = field(default_factory=socket.socket)
    stopped: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn: socket.socket):
        conn.settimeout(2)
        with conn:
            try:
                while data := conn.recv(4096):
                    self.bytes_received += len(data)
            except OSError:
                pass

    def close(self):
        self.stopped.set()
        self.sock.close()


@dataclass
class UdpCollector:
    """Records datagrams; tells STUN Binding requests (RFC 5389 magic cookie) apart."""

    datagrams: int = 0
    stun_requests: int = 0
    sock: socket.socket = field(
        default_factory=lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    )
    stopped: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stopped.is_set():
            try:
                data, _ = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            self.datagrams += 1
            if len(data) >= 20 and data[:2] == b"\x00\x01" and data[4:8] == b"\x21\x12\xa4\x42":
                self.stun_requests += 1

    def close(self):
        self.stopped.set()
        self.sock.close()


@dataclass
class Collectors:
    http: HttpCollector
    tcp: TcpCollector
    udp: UdpCollector

    @classmethod
    def start(cls) -> "Collectors":
        http = HttpCollector()
        threading.Thread(target=http.serve_forever, daemon=True).start()
        return cls(http, TcpCollector(), UdpCollector())

    def close(self):
        self.http.shutdown()
        self.http.server_close()
        self.tcp.close()
        self.udp.close()


# --- the pages ---------------------------------------------------------------------------

# First in every <head>, before any probe: violation events are queued as tasks, and one
# fired before the listener exists is lost (it was, now and then, for <script src>).
_LISTENER = """<script>
const out = (window.__egress = {errors: {}, violations: [], notes: {}});
document.addEventListener("securitypolicyviolation", (e) =>
  out.violations.push(e.effectiveDirective + " " + e.blockedURI));
</script>"""
# In the body: the marker, and `attempt`, which records what each scripted probe did.
_PRELUDE = """<script>
document.getElementById("marker").textContent = MARKER;
console.log(CONSOLE_MARKER);
function attempt(name, fn) {
  try {
    const result = fn();
    if (result && typeof result.catch === "function")
      result.catch((e) => (out.errors[name] = String(e)));
  } catch (e) {
    out.errors[name] = String(e);
  }
}
</script>"""
_PRELUDE = _PRELUDE.replace("CONSOLE_MARKER", json.dumps(CONSOLE_MARKER))
_PRELUDE = _PRELUDE.replace("MARKER", json.dumps(MARKER))


def _url(base: str, name: str) -> str:
    return f"{base}/p/{name}"


def subresource_page(base: str) -> bytes:
    """Every channel that does not navigate, against the HTTP collector at `base`."""

    def u(name: str) -> str:
        return _url(base, name)

    ws = "ws" + base.removeprefix("http")
    # The base-href image is relative: with <base> honoured it asks /p/base-href/img.
    return f"""<!doctype html><html><head><meta charset=utf-8><title>egress probe</title>
{_LISTENER}
<base href="{u("base-href")}/">
<link rel=stylesheet href="{u("stylesheet")}">
<link rel=prefetch href="{u("prefetch")}">
<link rel=preload href="{u("preload")}" as=image>
<link rel=modulepreload href="{u("modulepreload")}">
<style>
@import url("{u("css-import")}");
@font-face {{ font-family: probefont; src: url("{u("font")}"); }}
#font {{ font-family: probefont; }}
#bg {{ background-image: url("{u("css-url")}"); width: 8px; height: 8px; }}
</style>
<script src="{u("script")}"></script>
</head><body>
<p id=marker>static</p>
{_PRELUDE}
<span id=font>font probe</span><div id=bg></div>
<img src="{u("img")}" alt="">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" srcset="{u("img-srcset")} 1x" alt="">
<img src="img" alt="">
<svg width=8 height=8><image href="{u("svg-image")}" width=8 height=8 /></svg>
<video src="{u("video")}" preload=auto muted></video>
<video poster="{u("video-poster")}" width=8 height=8></video>
<audio src="{u("audio")}" preload=auto></audio>
<object data="{u("object")}" width=8 height=8></object>
<embed src="{u("embed")}" width=8 height=8>
<iframe src="{u("iframe")}" width=8 height=8></iframe>
<a id=ping ping="{u("ping")}">ping</a>
<script>
// A same-document link (the <base> above must not turn it into a navigation).
document.getElementById("ping").href = location.href.split("#")[0] + "#pinged";
const u = (name) => {json.dumps(base)} + "/p/" + name;
attempt("js-image", () => {{ new Image().src = u("js-image"); }});
attempt("fetch", () => fetch(u("fetch"), {{mode: "no-cors"}}));
attempt("xhr", () => {{
  const x = new XMLHttpRequest();
  x.open("GET", u("xhr"));
  x.send();
}});
attempt("websocket", () => new WebSocket({json.dumps(ws)} + "/p/websocket"));
attempt("eventsource", () => new EventSource(u("eventsource")));
attempt("beacon", () => {{
  if (!navigator.sendBeacon(u("beacon"), "x")) out.errors.beacon = "sendBeacon: false";
}});
attempt("worker", () => new Worker(u("worker")));
attempt("shared-worker", () => new SharedWorker(u("shared-worker")));
attempt("blob-worker-importscripts", () => new Worker(URL.createObjectURL(new Blob(
  ["importScripts(" + JSON.stringify(u("blob-worker-importscripts")) + ")"],
  {{type: "text/javascript"}}))));
attempt("data-worker-importscripts", () => new Worker("data:text/javascript," +
  encodeURIComponent("importScripts(" + JSON.stringify(u("data-worker-importscripts")) + ")")));
attempt("dynamic-import", () => import(u("dynamic-import")));
</script>
</body></html>""".encode()


def navigation_page(base: str, name: str) -> bytes:
    """One navigation channel; `#go` triggers it (meta refresh needs no click)."""
    target = html.escape(_url(base, name))
    js_target = html.escape(json.dumps(_url(base, name)))
    head, body = "", ""
    match name:
        case "meta-refresh":
            head = f'<meta http-equiv=refresh content="0;url={target}">'
        case "location":
            body = f"<button id=go onclick='location = {js_target}'>go</button>"
        case "top-location":
            body = (
                '<button id=go onclick=\'attempt("top-location", () => '
                f"{{ top.location = {js_target}; }})'>go</button>"
            )
        case "window-open":
            body = (
                '<button id=go onclick=\'attempt("window-open", () => '
                f"{{ out.notes.opened = String(window.open({js_target})); }})'>go</button>"
            )
        case "link-top":
            body = f'<a id=go href="{target}" target=_top>go</a>'
        case "link-blank":
            body = f'<a id=go href="{target}" target=_blank>go</a>'
        case "download":
            body = f'<a id=go href="{target}" download=leak.txt>go</a>'
        case "form-submit":
            body = (
                f'<form id=f method=post action="{target}"><input name=x value=1></form>'
                '<button id=go onclick=\'attempt("form-submit", () => '
                'document.getElementById("f").submit())\'>go</button>'
            )
        case _:
            raise ValueError(name)
    return f"""<!doctype html><html><head><meta charset=utf-8><title>{name}</title>{_LISTENER}{head}
</head><body><p id=marker>static</p>
{_PRELUDE}
{body}
</body></html>""".encode()


def residual_page(stun_port: int, preconnect_port: int) -> bytes:
    """The two channels no header closes in Chromium: WebRTC (a STUN server on a UDP
    collector) and <link rel=preconnect> (a TCP collector that only counts connections)."""
    stun = json.dumps(f"stun:{COLLECTOR_HOST}:{stun_port}")
    return f"""<!doctype html><html><head><meta charset=utf-8><title>residual</title>
{_LISTENER}
<link rel=preconnect href="http://{PRECONNECT_HOST}:{preconnect_port}">
</head><body><p id=marker>static</p>
{_PRELUDE}
<script>
out.notes.candidates = [];
attempt("webrtc", () => {{
  const pc = new RTCPeerConnection({{iceServers: [{{urls: {stun}}}]}});
  out.notes.webrtc = "RTCPeerConnection created";
  pc.onicecandidate = (e) => e.candidate && out.notes.candidates.push(e.candidate.type);
  pc.onicegatheringstatechange = () => (out.notes.gathering = pc.iceGatheringState);
  pc.createDataChannel("x");
  return pc.createOffer().then((offer) => pc.setLocalDescription(offer));
}});
</script>
</body></html>""".encode()
