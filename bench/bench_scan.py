"""Benchmark artifacts.scan.warnings_scan on two 16 MiB HTML pages.

Run: python bench/bench_scan.py

Pages: a realistic self-contained report (tables, JSON data and code scripts, prose, inline
images and SVG), and a tag-dense table report (~1.7 M tags, the page of bench_push.py), the
scanner's worst ordinary case: almost every byte is markup and almost no tag loads.

Reports for each, from the same run and the same bytes: the scan time (64 KiB chunks read
from a temporary file, as a push does), the time to sha256 + write those bytes to a temporary
file (the budget's unit; no fsync, so the stricter one), and a push-like pipeline (the upload
handler's NUL and UTF-8 checks + sha256 + write, then the scan) as a multiple of it. The
budget for the whole push is 10x.
"""

import base64
import codecs
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from artifacts.scan import warnings_scan  # noqa: E402

SIZE = 16 * 1024 * 1024
CHUNK = 64 * 1024
RUNS = 7

WORDS = [
    "the",
    "quarterly",
    "revenue",
    "report",
    "shows",
    "growth",
    "across",
    "regions",
    "while",
    "operating",
    "costs",
    "held",
    "steady",
    "and",
    "team",
    "shipped",
    "new",
    "dashboard",
    "ahead",
    "of",
    "schedule",
]


def text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def head(rng: random.Random) -> str:
    css = "".join(
        f".c{i} {{ color: #{rng.randrange(16**6):06x}; margin: {i % 7}px; "
        f"font: 14px/1.4 system-ui, sans-serif; }}\n"
        for i in range(400)
    )
    icon = base64.b64encode(rng.randbytes(3000)).decode()
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Quarterly report</title>"
        '<link rel="stylesheet" href="https://cdn.example.com/bootstrap.min.css">'
        '<link rel="preconnect" href="https://fonts.gstatic.com">'
        '<script src="https://cdn.example.com/chart.umd.js"></script>'
        f"<style>{css}"
        f".logo {{ background: url(data:image/png;base64,{icon}) no-repeat; }}\n"
        "@font-face { font-family: X; src: url(https://fonts.example.com/x.woff2); }\n"
        "</style></head><body>"
    )


def table(rng: random.Random, section: int) -> str:
    rows = []
    for r in range(150):
        cells = "".join(
            f'<td class="num c{c}">{rng.randrange(10**6):,}</td>'
            if c
            else f'<td><a href="https://intranet.example.com/item/{section}-{r}">item {r}</a></td>'
            for c in range(6)
        )
        style = ' style="background:#f6f8fa"' if r % 2 else ""
        rows.append(f"<tr{style}>{cells}</tr>")
    return (
        f'<table class="table"><thead><tr><th>Item</th>{"<th>Q</th>" * 5}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def data_script(rng: random.Random, section: int) -> str:
    rows = [
        {
            "id": i,
            "name": text(rng, 3),
            "value": rng.random() * 1000,
            "tags": [rng.choice(WORDS) for _ in range(3)],
            "url": f"https://example.com/records/{section}/{i}",
        }
        for i in range(700)
    ]
    return f"<script>window.DATA_{section} = {json.dumps(rows)};</script>"


def code_script(rng: random.Random, section: int) -> str:
    fns = "".join(
        f"function render{section}_{i}(el, rows) {{\n"
        f"  const out = rows.filter(r => r.value > {rng.randrange(1000)}).map(r => "
        f"`<tr><td>${{r.name}}</td><td>${{r.value.toFixed(2)}}</td></tr>`);\n"
        f"  el.innerHTML = out.join(''); // {text(rng, 6)}\n"
        f"  if (window.fetch && el.dataset.src) fetch(el.dataset.src).then(r => r.json());\n"
        f"  return out.length;\n}}\n"
        for i in range(60)
    )
    return f"<script>{fns}</script>"


def prose(rng: random.Random, section: int) -> str:
    img = base64.b64encode(rng.randbytes(6000)).decode()
    svg_path = " ".join(f"L{x} {rng.randrange(200)}" for x in range(0, 600, 4))
    external = (
        f'<img src="https://cdn.example.com/img/chart-{section}.png" alt="chart">'
        if section % 10 == 0
        else ""
    )
    return (
        f"<h2 id=s{section}>Section {section}</h2>"
        + "".join(
            f"<p>{text(rng, 60)} <a href='#s{section}'>see</a> <code>x{i}</code></p>"
            for i in range(8)
        )
        + f'<img alt="inline" src="data:image/png;base64,{img}">{external}'
        + f'<svg viewBox="0 0 600 200"><path d="M0 100 {svg_path}" fill="none" '
        f'stroke="#36c"/><use href="#marker"/></svg>'
    )


def build_document() -> bytes:
    """Sections of table + JSON data + prose + code, then a WebRTC script: exactly SIZE."""
    rng = random.Random(1)
    tail = (
        b"<script>const pc = new RTCPeerConnection({iceServers: "
        b"[{urls: 'stun:stun.example.org:3478'}]});</script></body></html>"
    )
    parts, size, section = [head(rng).encode()], 0, 0
    while True:
        part = (
            table(rng, section)
            + data_script(rng, section)
            + prose(rng, section)
            + code_script(rng, section)
        ).encode()
        if size + len(part) + len(tail) + 16 > SIZE:
            break
        parts.append(part)
        size += len(part)
        section += 1
    size = sum(map(len, parts))
    filler = SIZE - size - len(tail)
    parts.append(b"<p>" + b"x" * (filler - 7) + b"</p>")
    parts.append(tail)
    doc = b"".join(parts)
    assert len(doc) == SIZE
    return doc


def build_tag_dense_document() -> bytes:
    """A table report of short rows, exactly SIZE: the page of bench_push.py."""
    row = b"<tr><td>row</td><td>12345</td><td><a href='#x'>link</a></td></tr>\n"
    head = (
        b"<!doctype html><meta charset=utf-8><title>bench</title>"
        b"<style>td{padding:2px}</style><table>\n"
    )
    body = head + row * ((SIZE - len(head)) // len(row))
    return body + b" " * (SIZE - len(body))


def chunks_of(path: str):
    with open(path, "rb") as fh:
        yield from iter(lambda: fh.read(CHUNK), b"")


def hash_and_write(doc: bytes, directory: str) -> None:
    digest = hashlib.sha256()
    with open(os.path.join(directory, "blob"), "wb") as out:
        for i in range(0, len(doc), CHUNK):
            chunk = doc[i : i + CHUNK]
            digest.update(chunk)
            out.write(chunk)
    digest.hexdigest()


def validate_hash_write(doc: bytes, directory: str) -> None:
    """What the upload handler does per chunk: NUL check, incremental UTF-8, sha256, write."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    digest = hashlib.sha256()
    with open(os.path.join(directory, "upload"), "wb") as out:
        for i in range(0, len(doc), CHUNK):
            chunk = doc[i : i + CHUNK]
            assert b"\x00" not in chunk
            decoder.decode(chunk)
            digest.update(chunk)
            out.write(chunk)
    decoder.decode(b"", final=True)


def timed(fn, runs: int = RUNS) -> tuple[float, float]:
    """(median, best) wall time of fn over runs: the machine may be shared, so both."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def report(name: str, doc: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "page.html")
        Path(path).write_bytes(doc)
        warnings = warnings_scan(chunks_of(path))
        scan = timed(lambda: warnings_scan(chunks_of(path)))
        baseline = timed(lambda: hash_and_write(doc, tmp))
        push = timed(
            lambda: (
                validate_hash_write(doc, tmp),
                warnings_scan(chunks_of(os.path.join(tmp, "upload"))),
            )
        )
        tracemalloc.start()
        warnings_scan(chunks_of(path))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    mib = len(doc) / 2**20
    print(f"{name} document: {mib:.1f} MiB, {doc.count(b'<')} tags, {len(warnings)} warnings:")
    for w in warnings:
        print(f"  {w}")
    print(f"times over {RUNS} runs: median / best")
    print(
        f"scan:                           {scan[0] * 1000:5.0f} / {scan[1] * 1000:3.0f} ms"
        f"  ({mib / scan[0]:.0f} MiB/s median)"
    )
    print(
        f"sha256 + write:                 {baseline[0] * 1000:5.0f} / {baseline[1] * 1000:3.0f} ms"
    )
    print(
        f"checks + sha256 + write + scan: {push[0] * 1000:5.0f} / {push[1] * 1000:3.0f} ms"
        f"  = {push[0] / baseline[0]:.1f}x / {push[1] / baseline[1]:.1f}x sha256 + write"
        " (budget 10x)"
    )
    print(f"scan peak traced memory:        {peak / 2**20:5.2f} MiB")


def main() -> None:
    report("realistic", build_document())
    print()
    report("tag-dense", build_tag_dense_document())


if __name__ == "__main__":
    main()
