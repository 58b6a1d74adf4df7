"""Math in Markdown through the whole renderer (issue 14, part 2): formulas become MathML on
the server, prices and code stay as written, TeX that cannot be read shows its source, and
nothing in a formula can script the page. (The scanner itself: test_markdown_math.py.)"""

import pytest

from tests.artifacts.test_render import Elements, body

MATH_TAGS = {
    "math",
    "semantics",
    "annotation",
    "mrow",
    "mi",
    "mn",
    "mo",
    "ms",
    "mtext",
    "mspace",
    "mfrac",
    "msqrt",
    "mroot",
    "mstyle",
    "merror",
    "mpadded",
    "mphantom",
    "msub",
    "msup",
    "msubsup",
    "munder",
    "mover",
    "munderover",
    "mmultiscripts",
    "mprescripts",
    "none",
    "mtable",
    "mtr",
    "mtd",
    "menclose",
}


def _maths(markup: str) -> list[dict]:
    return [attrs for tag, attrs in Elements(markup).elements if tag == "math"]


def test_inline_and_display_math_become_mathml():
    markup = body("Energy $E = mc^2$ and\n\n$$\n\\frac{a}{b} \\, \\{x\\}\n$$\n")
    maths = _maths(markup)
    assert [m.get("display") for m in maths] == [None, "block"]
    assert "<msup><mi>m</mi><mi>c</mi>" not in markup or "<mfrac>" in markup
    assert "<mfrac>" in markup and "$" not in markup
    # TeX's backslashes reached the converter, not cmark: \, is a thin space, \{ a brace.
    assert '<mspace width="0.167em"></mspace>' in markup and "<mo" in markup
    assert '<annotation encoding="application/x-tex">E = mc^2</annotation>' in markup


def test_a_math_fence_is_display_math():
    markup = body("```math\n\\int_0^1 x\\,dx\n```\n")
    assert [m.get("display") for m in _maths(markup)] == ["block"]
    assert "<pre" not in markup


@pytest.mark.parametrize(
    "source",
    [
        "It costs $5 and $10.",
        "Between $20,000 and $30,000 a year.",
        "A lone $ sign, and \\$escaped\\$ ones.",
        "`$HOME` and `$PATH` are shell.",
        "```sh\necho $x $y\n```",
        "    indented $a$ code",
    ],
)
def test_dollars_that_are_not_math_stay_as_written(source):
    markup = body(source)
    assert _maths(markup) == []
    assert "$" in markup


def test_math_is_found_in_lists_tables_quotes_and_headings():
    markup = body(
        "# Cost $O(n)$\n\n- item $a$\n\n| x |\n|---|\n| $b$ |\n\n> quoted $c$\n\n$`d$e`$\n"
    )
    assert len(_maths(markup)) == 5
    # The anchor and the contents keep the TeX as text.
    assert 'aria-label="Permalink: Cost $O(n)$"' in markup


def test_unreadable_tex_shows_its_source():
    markup = body("Broken $x^$ here and $\\begin{matrix} a$ there.")
    assert _maths(markup) == []
    assert markup.count('<code class="math-error"') == 2
    assert "$x^$" in markup and "$\\begin{matrix} a$" in markup


def test_nothing_in_a_formula_can_script_the_page():
    markup = body(
        "$\\text{<script>alert(1)</script>}$ $\\href{javascript:alert(1)}{x}$ "
        "$`<img src=x onerror=alert(1)>`$\n\n$$\\style{color:red}{y}$$\n"
    )
    # The author's markup is text of the formula (escaped), never an element or attribute.
    assert "&lt;script&gt;" in markup
    for tag, attrs in Elements(markup).elements:
        if tag in ("p",):
            continue
        assert tag in MATH_TAGS or tag == "code", tag
        for name in attrs:
            assert name in {"display", "encoding", "mathvariant", "width", "class", "title"} or (
                name in {"stretchy", "fence", "separator", "lspace", "rspace", "form"}
            ), (tag, name)


def test_an_author_typing_the_placeholder_characters_gets_text():
    markup = body("odd \ue0007\ue001 text and $x$\n")
    assert len(_maths(markup)) == 1 and "7" in markup


def test_formulas_past_the_budget_stay_as_written(monkeypatch):
    from artifacts import render

    monkeypatch.setattr(render, "MATH_BUDGET", 20)
    markup = body("$a_1$ $a_1$ $b_{22}$ $c_{333}$ $d_{4444}$ $e$\n")  # 3 + 6 + 7 = 16, then 20+
    assert len(_maths(markup)) == 4  # a_1 twice (a repeat costs nothing), b, c
    assert "$d_{4444}$ $e$" in markup


def test_link_titles_keep_their_dollars_as_written():
    markup = body('[a](https://e.com "costs $x$") and [b]\n\n[b]: https://e.com "$y$"\n')
    assert 'title="costs $x$"' in markup and 'title="$y$"' in markup and "\ue000" not in markup
