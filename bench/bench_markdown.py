"""Benchmark Markdown rendering: ``markdown_render`` against the alternatives it was chosen over.

Run from the repository root::

    python bench/bench_markdown.py            # 1 MiB and 16 MiB, median of 3 runs each
    python bench/bench_markdown.py --runs 5 --sizes 1

The documents are generated deterministically (fixed seed): headings, paragraphs with links,
emphasis and footnotes, tables, fenced code in several languages, nested and task lists,
block quotes and some inline HTML (<details>, <kbd>, <span style>, <sup>, <br>, data: images),
inline and display math in every other section and a Mermaid diagram in every fifth. Then a
walk-through with 200 diagrams (``--diagrams``).
"""

import argparse
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MIB = 1024 * 1024

WORDS = (  # noqa: SIM905
    "artifact server render page version owner member token upload blob cache origin sandbox "
    "markdown table heading list quote code link image footnote budget latency throughput "
    "the a of to and in is for on with as by at from that this it be are was or an"
).split()

CODE = {
    "python": '''def fib(n: int) -> int:
    """Return the n-th Fibonacci number."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b  # step {i}
    return a


class Store{i}(Base):
    name = "store-{i}"

    def get(self, key, default=None):
        return self._data.get(key, default) or {{"k": [1, 2.5, None]}}
''',
    "javascript": """export async function load{i}(url, {{ retries = 3 }} = {{}}) {{
  for (let attempt = 0; attempt < retries; attempt++) {{
    const res = await fetch(url, {{ headers: {{ Accept: "application/json" }} }});
    if (res.ok) return res.json();
    await new Promise((r) => setTimeout(r, 2 ** attempt * 100));
  }}
  throw new Error(`gave up on ${{url}}`);
}}
""",
    "bash": """#!/usr/bin/env bash
set -euo pipefail
for f in build/*.md; do
  sha=$(sha256sum "$f" | cut -d' ' -f1)   # step {i}
  curl -fsS -H "Authorization: Bearer $TOKEN" -F "file=@$f" "$SERVER/api/v1/push?sha=$sha"
done
""",
    "json": """{{
  "name": "artifact-{i}",
  "versions": [1, 2, 3],
  "visibility": "org",
  "owner": {{"id": {i}, "email": "owner{i}@example.com"}},
  "tags": ["docs", "report", null, true, 3.14]
}}
""",
    "go": """func Handle{i}(w http.ResponseWriter, r *http.Request) {{
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	v, err := store.Get(ctx, r.URL.Query().Get("id"))
	if err != nil {{
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}}
	json.NewEncoder(w).Encode(v)
}}
""",
    "sql": """SELECT a.slug, v.number, v.created_at
FROM artifacts_artifact a
JOIN artifacts_version v ON v.artifact_id = a.id
WHERE a.org_id = {i} AND v.number > 0   -- step {i}
ORDER BY v.created_at DESC
LIMIT 50;
""",
    "yaml": """services:
  web{i}:
    image: "artifacts:{i}"
    environment:
      DATABASE_URL: postgres://db/artifacts
    ports: ["8000:8000"]
""",
}

# 1x1 transparent PNG: the only kind of image the renderer keeps.
DATA_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk"
    "YAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def _sentence(rnd: random.Random, i: int) -> str:
    words = rnd.choices(WORDS, k=rnd.randint(8, 20))
    k = rnd.randrange(len(words))
    decoration = rnd.randrange(10)
    if decoration == 0:
        words[k] = f"[{words[k]}](https://example.com/docs/{i}/{words[k]}?ref=bench#s{k})"
    elif decoration == 1:
        words[k] = f"**{words[k]}**"
    elif decoration == 2:
        words[k] = f"*{words[k]}*"
    elif decoration == 3:
        words[k] = f"`{words[k]}()`"
    elif decoration == 4:
        words[k] = f"~~{words[k]}~~"
    elif decoration == 5:
        words[k] = "<kbd>Ctrl</kbd>+<kbd>C</kbd>"
    elif decoration == 6:
        words[k] = f'<span style="color: #c0392b">{words[k]}</span>'
    elif decoration == 7:
        words[k] = f"https://www.example.org/{i}"
    elif decoration == 8:
        words[k] = f"{words[k]}[^{i % 50}]"
    return " ".join(words).capitalize() + "."


def _paragraph(rnd, i):
    return " ".join(_sentence(rnd, i) for _ in range(rnd.randint(2, 6)))


def _table(rnd, i):
    rows = ["| Name | Version | Size | Status |", "|:-----|-------:|-----:|:------:|"]
    for r in range(rnd.randint(4, 12)):
        rows.append(
            f"| `pkg-{i}-{r}` | {r}.{i % 10}.0 | {rnd.randint(1, 9999)} KiB | "
            f"{rnd.choice(['ok', '**failed**', '~~gone~~', '<sup>beta</sup>'])} |"
        )
    return "\n".join(rows)


def _code(rnd, i):
    lang = rnd.choice(list(CODE))
    body = "".join(CODE[lang].format(i=i + k) for k in range(rnd.randint(2, 6)))
    return f"```{lang}\n{body}```"


def _lists(rnd, i):
    out = []
    for a in range(rnd.randint(2, 4)):
        out.append(f"- {_sentence(rnd, i)}")
        for b in range(rnd.randint(0, 3)):
            out.append(f"  {b + 1}. {_sentence(rnd, i)}")
            if rnd.random() < 0.3:
                out.append(f"     - nested {a}.{b}: {_sentence(rnd, i)}")
    out.append("")
    for t in range(rnd.randint(2, 5)):
        out.append(f"- [{rnd.choice(' x')}] task {i}.{t}: {_sentence(rnd, i)}")
    return "\n".join(out)


def _formulas(i):
    """Inline and display math, some of it repeated (as documents repeat notation), and
    prices that must stay prose. (No draw from the document's random stream: the rest of
    the document stays the one measured before math was added.)"""
    return (
        f"The cost is $O(n_{{{i % 7}}} \\log n)$ per step, or $t = {i}\\,\\text{{ms}}$ "
        f"at worst; it costs $5 and $10 a month.\n\n"
        f"$$\n\\sum_{{k=1}}^{{{i}}} k^2 = \\frac{{n(n+1)(2n+1)}}{{6}}, \\quad "
        f"\\alpha_{{{i % 5}}} \\leq \\sqrt{{x^2 + y^2}}\n$$"
    )


def _diagram(i: int) -> str:
    kind = i % 3
    if kind == 0:
        return (
            f"```mermaid\nsequenceDiagram\n  CLI->>Server: POST /api/v1/artifacts ({i})\n"
            "  Server-->>CLI: 201 Created\n```"
        )
    if kind == 1:
        return (
            f"```mermaid\nflowchart LR\n  A{i}[Push] --> B{i}{{Member?}}\n"
            f"  B{i} --> C{i}[Serve]\n```"
        )
    return f'```mermaid\npie title Formats {i}\n  "html" : {i % 90 + 1}\n  "markdown" : 30\n```'


def make_diagrams_document(count: int) -> str:
    """A walk-through with ``count`` diagrams, a paragraph between each."""
    rnd = random.Random(count)
    parts = [f"# {count} diagrams"]
    for i in range(count):
        parts += [f"## Step {i}", _paragraph(rnd, i), _diagram(i)]
    return "\n\n".join(parts)


def _section(rnd: random.Random, i: int) -> str:
    parts = [f"## Section {i}: {' '.join(rnd.choices(WORDS, k=3))}", _paragraph(rnd, i)]
    if i % 2 == 0:
        parts.append(_formulas(i))
    if i % 5 == 0:
        parts.append(_diagram(i))
    if i % 3 == 0:
        parts.append(f"### Details {i}\n\n{_paragraph(rnd, i)}")
    parts += [_table(rnd, i), _paragraph(rnd, i), _code(rnd, i), _lists(rnd, i)]
    parts.append("> " + _paragraph(rnd, i) + "\n>\n> — someone<br>else")
    if i % 4 == 0:
        parts.append(
            f"<details>\n<summary>More about {i}</summary>\n\n{_paragraph(rnd, i)}\n\n</details>"
        )
    if i % 10 == 0:
        parts.append(f'![pixel {i}]({DATA_PNG}) and <img alt="inline {i}" src="{DATA_PNG}">')
    return "\n\n".join(parts)


def make_document(size: int, seed: int = 1) -> str:
    """A realistic Markdown document of about ``size`` bytes (UTF-8), the same for a given seed."""
    rnd = random.Random(seed)
    sections, total, i = [f"# Benchmark document ({size} bytes)\n"], 0, 0
    while total < size:
        s = _section(rnd, i)
        sections.append(s)
        total += len(s.encode()) + 2
        i += 1
    # Footnote definitions referenced above.
    sections.append(
        "\n".join(f"[^{n}]: Footnote {n}, see https://example.net/{n}." for n in range(50))
    )
    return "\n\n".join(sections)


def _median_time(fn, arg, runs: int) -> float:
    from artifacts.markdown_math import _math_html_cached

    times = []
    for _ in range(runs):
        _math_html_cached.cache_clear()  # each run converts its formulas, as a new worker would
        t = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _without_highlighting(render):
    def run(src):
        saved, render.HIGHLIGHT_BUDGET = render.HIGHLIGHT_BUDGET, 0
        try:
            return render.markdown_render(src)
        finally:
            render.HIGHLIGHT_BUDGET = saved

    return run


def _highlight_all_code(src):
    """What uncapped highlighting would cost: Pygments over every fenced block."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name

    formatter = HtmlFormatter(nowrap=True)
    for lang, code in re.findall(r"^```(\w+)\n(.*?)^```", src, re.S | re.M):
        highlight(code, get_lexer_by_name(lang), formatter)


def alternatives():
    """What markdown_render was compared with (name -> function of the Markdown source)."""
    import bleach
    import cmarkgfm
    from cmarkgfm.cmark import Options

    from artifacts import render

    def cmark_unsafe(src):
        return cmarkgfm.github_flavored_markdown_to_html(src, options=Options.CMARK_OPT_UNSAFE)

    cleaner = bleach.Cleaner(
        tags=render.ALLOWED_TAGS | {"input"},
        attributes=render.ALLOWED_ATTRIBUTES,
        protocols=render.LINK_PROTOCOLS,
        css_sanitizer=render.CSS,
    )
    alts = {
        "markdown_render, no highlighting": _without_highlighting(render),
        "Pygments over all fenced code (uncapped)": _highlight_all_code,
        "cmarkgfm alone (unsafe, unsanitised)": cmark_unsafe,
        "cmarkgfm + bleach over the whole output": lambda s: cleaner.clean(cmark_unsafe(s)),
    }
    try:  # optional: not a dependency of the project
        import nh3

        alts["cmarkgfm + nh3 over the whole output"] = lambda s: nh3.clean(cmark_unsafe(s))
    except ImportError:
        pass
    try:
        from markdown_it import MarkdownIt

        md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
        alts["markdown-it-py alone (unsanitised)"] = md.render
    except ImportError:
        pass
    return alts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16], help="in MiB")
    parser.add_argument("--no-alternatives", action="store_true")
    parser.add_argument("--diagrams", type=int, default=200, help="diagrams in the walk-through")
    args = parser.parse_args()

    from artifacts.render import markdown_render

    if args.diagrams:
        doc = make_diagrams_document(args.diagrams)
        print(
            f"\n{len(doc.encode()) / MIB:.2f} MiB walk-through with {args.diagrams} diagrams; "
            f"median of {args.runs} runs"
        )
        print(f"  {'markdown_render':48} {_median_time(markdown_render, doc, args.runs):7.3f} s")

    for mib in args.sizes:
        doc = make_document(mib * MIB)
        n = len(doc.encode()) / MIB
        print(f"\n{n:.2f} MiB document, {doc.count(chr(10))} lines; median of {args.runs} runs")
        print(
            f"  {'markdown_render (render + sanitise + highlight)':48} "
            f"{_median_time(markdown_render, doc, args.runs):7.3f} s"
        )
        if args.no_alternatives:
            continue
        for name, fn in alternatives().items():
            runs = 1 if "bleach over" in name or "markdown-it" in name else args.runs
            print(
                f"  {name:48} {_median_time(fn, doc, runs):7.3f} s"
                + ("  (1 run)" if runs == 1 else "")
            )


if __name__ == "__main__":
    main()
