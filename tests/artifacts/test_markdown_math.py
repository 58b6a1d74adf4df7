"""markdown_math: GitHub's dollar rules find the formulas and nothing else, the source comes
back exactly, and the MathML can carry nothing but escaped text in allow-listed elements."""

import re
import time
from html.parser import HTMLParser
from xml.etree.ElementTree import Element

import cmarkgfm
import pytest

from artifacts import markdown_math
from artifacts.markdown_math import (
    ATTRIBUTES,
    CLOSE,
    ELEMENTS,
    MAX_TEX,
    OPEN,
    PLACEHOLDER,
    Formula,
    math_html,
    math_protect,
    placeholders_html,
    placeholders_restore,
)


def found(source: str) -> list[tuple[str, bool]]:
    """(tex, display) of each formula math_protect finds; checks the round trip on the way."""
    text, formulas = math_protect(source)
    assert placeholders_restore(text, formulas) == source
    assert len(PLACEHOLDER.findall(text)) == len(formulas)
    return [(f.tex, f.display) for f in formulas]


class Parsed(HTMLParser):
    """Elements, attributes and text as a browser's tokenizer sees them."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(name, value or "") for name, value in attrs]

    def handle_data(self, data):
        self.text.append(data)


# -- Finding formulas -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "prose",
    [
        "$20,000 and $30,000",
        "costs $5, or $10 total",
        "from $5 to $10.",
        "$ x$",  # a space after the opening dollar
        "$x $",  # a space before the closing one
        "$a$5",  # a digit right after the closing one
        "$$",
        "$$ $$",
        "just one $ here",
        "no math at all",
    ],
)
def test_prose_dollars_stay_prose(prose):
    assert math_protect(prose) == (prose, [])


def test_inline_math():
    assert found("Then $x^2$ is it.") == [("x^2", False)]
    assert found("$a$ and $b$") == [("a", False), ("b", False)]
    text, formulas = math_protect("Then $x^2$.")
    assert text == f"Then {OPEN}0{CLOSE}."
    assert formulas == [Formula("x^2", False, "$x^2$")]


def test_inline_math_keeps_tex_escapes_and_emphasis_characters():
    assert found(r"$a\,b \{c\} \\ d*e*f_g_h$") == [(r"a\,b \{c\} \\ d*e*f_g_h", False)]


def test_display_math_inline_in_a_line():
    assert found(r"so $$\frac{a}{b}$$ holds") == [(r"\frac{a}{b}", True)]


def test_display_math_over_lines():
    source = "Before\n\n$$\n\\frac{a}{b}\n+ c\n$$\n\nAfter $y$\n"
    text, formulas = math_protect(source)
    assert text == f"Before\n\n{OPEN}0{CLOSE}\n\nAfter {OPEN}1{CLOSE}\n"
    assert formulas[0] == Formula("\\frac{a}{b}\n+ c", True, "$$\n\\frac{a}{b}\n+ c\n$$")
    assert formulas[1].tex == "y"


def test_display_math_may_hold_a_single_dollar():
    assert found("$$ a $ b $$") == [("a $ b", True)]


def test_dollar_backtick_math():
    assert found("$`a$b`$") == [("a$b", False)]
    assert found("$`` a`b ``$") == [("a`b", False)]
    assert found(r"costs $`\sqrt{\$4}`$ here") == [(r"\sqrt{\$4}", False)]


def test_a_code_span_after_a_literal_dollar_is_code():
    assert found("x $`code $y$` z") == []


def test_escaped_dollars_never_delimit():
    assert found(r"\$5 and \$6") == []
    assert found(r"\$x\$") == []
    assert found(r"\$5 and $x$") == [("x", False)]
    assert found(r"$a\$b$") == [(r"a\$b", False)]
    assert found(r"$$a \$$ b$$") == [(r"a \$$ b", True)]


def test_an_escaped_backslash_does_not_escape_the_dollar():
    assert found(r"\\$x$") == [("x", False)]
    assert found(r"\\\$x$") == []


@pytest.mark.parametrize(
    "source",
    [
        "```\n$x$\n```\n",
        "```python\nprice = '$5'  # $x$\n$$\ny\n$$\n```\n",
        "~~~\n$x$\n```\n$y$\n~~~\n",  # a ``` line does not close a ~~~ fence
        "````\n$x$\n```\n$y$\n````\n",  # nor a shorter one
        "   ```\n$x$\n   ```\n",
        "```\nunclosed $x$ to the end\n\n$y$\n",
        "`$x$`",
        "``$x$ ` $y$``",
        "a `$x$\n$y$` b",  # a code span over two lines
        "``` $x$ ```",  # a code span, not a fence (backtick in the info string)
    ],
)
def test_code_is_untouched(source):
    assert found(source) == []


def test_math_after_code():
    assert found("```\n$x$\n```\n$y$") == [("y", False)]
    assert found("`$x$` and $y$") == [("y", False)]
    assert found("~~~~\n$x$\n~~~\n~~~~\n$z$") == [("z", False)]
    assert found("`` ` `` $y$") == [("y", False)]


def test_an_unmatched_backtick_run_is_literal():
    assert found("a ` b $x$") == [("x", False)]
    assert found("a `` b ` $x$") == [("x", False)]
    assert found("\\`$x$`") == [("x", False)]  # an escaped backtick opens nothing


def test_math_in_containers():
    assert found("- item $a$\n- $b$\n") == [("a", False), ("b", False)]
    assert found("| x | y |\n|---|---|\n| $a$ | $b$ |\n") == [("a", False), ("b", False)]
    assert found("> quoted $a$\n") == [("a", False)]
    assert found("# Heading $a$\n") == [("a", False)]


def test_display_math_in_a_block_quote_loses_the_quote_markers():
    assert found("> $$\n> x\n> y\n> $$\n") == [("x\ny", True)]


def test_math_does_not_cross_a_blank_line():
    assert found("$a\n\nb$") == []
    assert found("$a\n   \nb$") == []
    assert found("$$\na\n\nb\n$$") == []
    assert found("> $a\n>\n> b$") == []


def test_inline_math_may_cross_a_line_break_within_a_paragraph():
    assert found("$a\nb$") == [("a\nb", False)]


def test_math_does_not_cross_a_fence():
    assert found("price $5\n```\nx = '$'\n```\n") == []


def test_round_trip_of_a_mixed_document():
    source = (
        "# $E=mc^2$ and $20,000\n\n*$a_1$* `$b$` $`c$d`$ \\$e\n\n"
        "```sh\necho $HOME $$\n```\n\n> $$\n> \\int\n> $$\n\n| $|x|$ | y |\n"
        f"stray {OPEN}7{CLOSE} private-use chars {OPEN}x{CLOSE}\n"
    )
    text, formulas = math_protect(source)
    assert len(formulas) == 5
    assert placeholders_restore(text, formulas) == source


def test_placeholders_survive_cmark():
    """The integrator finds placeholders in cmark's text nodes: emphasis, tables and the rest
    must not split them."""
    source = "*emph $a$* _$b$_ and a_$c$_b\n\n| $d$ | $|e|$ |\n|---|---|\n| 1 | 2 |\n\n- $f$\n"
    text, formulas = math_protect(source)
    html = cmarkgfm.github_flavored_markdown_to_html(text)
    assert [int(i) for i in PLACEHOLDER.findall(html)] == list(range(len(formulas)))


def test_a_document_without_dollars_is_returned_as_is():
    source = "plain " * 1000
    text, formulas = math_protect(source)
    assert text is source and formulas == []


def test_work_is_bounded(monkeypatch):
    monkeypatch.setattr(markdown_math, "MAX_STEPS", 10)
    source = "$a$ " * 100
    text, formulas = math_protect(source)
    assert 0 < len(formulas) <= 10
    assert text.endswith("$a$ $a$ ")  # the rest is left as prose
    assert placeholders_restore(text, formulas) == source


def test_speed():
    """~2 MiB with a formula every 3 lines, and adversarial input: ~0.1-0.2 s each here, so
    2 s only fails on something quadratic. 16 MiB figures: the module's docstring."""
    line = "Some words of prose here, with `code` and C:\\dir in it, and more words.\n"
    para = (line * 2 + line[:30] + r" $\alpha_i + \frac{x}{y}$ " + line[30:]) * 2 + "\n"
    documents = [
        para * (2 * 1024 * 1024 // len(para)),
        "".join("`" * n + " x " for n in range(1, 1700)) + " $x$",  # unmatched runs
        "$a " * (1024 * 1024),
        "$$ " + "a $ b " * (300 * 1024),
    ]
    counts = []
    for source in documents:
        started = time.perf_counter()
        counts.append(len(math_protect(source)[1]))
        assert time.perf_counter() - started < 2
    assert counts == [len(documents[0]) // len(para) * 2, 1, 0, 0]


# -- Rendering formulas ---------------------------------------------------------------------


def assert_only_allowed_markup(markup: str):
    parsed = Parsed(markup)
    assert set(parsed.tags) <= ELEMENTS
    assert {name for name, _ in parsed.attrs} <= ATTRIBUTES
    # Every "<" opens an allow-listed tag: no raw "<" in text or attributes.
    for lt in re.finditer("<", markup):
        assert re.match(r"</?([a-z]+)[ >]", markup[lt.start() :]).group(1) in ELEMENTS


def test_math_html_is_mathml():
    out = math_html(r"\frac{a}{b}", display=False)
    assert out.startswith("<math><semantics><mrow><mfrac>")
    assert out.endswith(
        r'<annotation encoding="application/x-tex">\frac{a}{b}</annotation></semantics></math>'
    )
    assert "xmlns" not in out
    assert_only_allowed_markup(out)


def test_display_math_html_is_a_block():
    assert math_html("x", display=True).startswith('<math display="block">')
    assert "display" not in math_html("x", display=False)


def test_symbols_are_characters_not_escaped_references():
    out = math_html(r"\infty \leq \alpha", display=False)
    assert "∞" in out and "≤" in out and "α" in out
    assert "&amp;" not in out


def test_text_is_escaped():
    out = math_html(r"\text{<script>alert(1)</script>} < b", display=False)
    assert "<script" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert_only_allowed_markup(out)
    assert "<script>" in "".join(Parsed(out).text)  # as text


def test_href_is_dropped():
    out = math_html(r"\href{javascript:alert(1)}{x}", display=True)
    assert_only_allowed_markup(out)
    assert "x" in Parsed(out).text  # the link text stays
    # Only the TeX in the annotation, as text, still says so.
    annotation = '<annotation encoding="application/x-tex">\\href{javascript:alert(1)}{x}<'
    assert annotation in out
    assert "href" not in out.replace(annotation, "")
    assert "javascript" not in out.replace(annotation, "")


@pytest.mark.parametrize(
    "tex",
    [r"\class{x}{y}", r"\style{background:url(x)}{y}", r"\color{red}{y}", r"\colorbox{red}{y}"],
)
def test_other_attributes_are_dropped(tex):
    out = math_html(tex, display=False)
    assert_only_allowed_markup(out)
    assert not re.search(r"\b(class|style|mathcolor|mathbackground)=", out)


def test_attribute_values_are_checked():
    out = math_html(r"\hspace{1em}\rule{2em}{1em}x", display=False)
    assert 'width="1em"' in out and 'width="2em"' in out
    assert_only_allowed_markup(out)
    # latex2mathml's tokenizer keeps only the dimension; the serialiser checks values anyway.
    out = []
    attributes = {"width": '1em" onload="alert(1)', "height": "2em", "onclick": "x", "href": "y"}
    markdown_math._serialise(Element("mspace", attributes), out)
    assert "".join(out) == '<mspace height="2em"></mspace>'


def test_elements_outside_the_list_are_unwrapped():
    """latex2mathml makes none today; one day's new element must not pass unchecked."""
    row = Element("mrow")
    script = Element("script", {"src": "x"})
    script.text, script.tail = "alert(1)<", "&"
    row.append(script)
    row.append(Element("mi"))
    out = []
    markdown_math._serialise(row, out)
    assert "".join(out) == "<mrow>alert(1)&lt;&amp;<mi></mi></mrow>"


def test_unreadable_tex_is_shown_as_code():
    assert math_html(r"\frac{", display=False).startswith('<code class="math-error" title="')
    assert math_html(r"\frac{", display=False).endswith(r">$\frac{$</code>")
    assert math_html(r"\frac{", display=True).endswith(r">$$\frac{$$</code>")
    out = math_html(r"<b> \frac{", display=False, source=r"$`<b> \frac{`$")
    assert out.endswith(r">$`&lt;b&gt; \frac{`$</code>")
    assert "<b>" not in out


@pytest.mark.parametrize(
    "tex",
    ["", "   ", "{" * 5000, "a^{" * 3000 + "b" + "}" * 3000, "x" * (MAX_TEX + 1), r"\begin{"],
)
def test_weird_tex_never_raises(tex):
    out = math_html(tex, display=False)
    assert out.startswith('<code class="math-error" title="')
    assert Parsed(out).tags == ["code"]
    assert out.endswith(f">${tex}$</code>")


def test_deep_nesting_is_reported_as_such():
    assert 'title="formula nested too deeply"' in math_html("{" * 5000 + "}" * 5000, display=True)


def test_math_html_is_cached():
    assert math_html("y_1", display=False) is math_html("y_1", display=False)


# -- Placeholders back ----------------------------------------------------------------------


def test_placeholders_html():
    text, formulas = math_protect("a < $x$ & b")
    out = placeholders_html(text, formulas)
    assert out.startswith("a &lt; <math><semantics>")
    assert out.endswith("</math> &amp; b")


def test_placeholders_html_without_placeholders_is_escaped_text():
    assert placeholders_html("<b>&", []) == "&lt;b&gt;&amp;"


# Out of range, an Arabic-Indic zero (which \d matches), more digits than int() takes.
@pytest.mark.parametrize("index", ["1", "99", "٠", "1" * 5000])
def test_unknown_indices_are_text(index):
    formulas = [Formula("x", False, "$x$")]
    text = f"<{OPEN}{index}{CLOSE}>"
    assert placeholders_html(text, formulas) == f"&lt;{OPEN}{index}{CLOSE}&gt;"
    assert placeholders_restore(text, formulas) == text


def test_placeholders_restore_puts_back_the_source():
    text, formulas = math_protect(r"[$a$](http://e.com/$b$c) $$\frac{1}{2}$$")
    assert placeholders_restore(text, formulas) == r"[$a$](http://e.com/$b$c) $$\frac{1}{2}$$"
    assert placeholders_restore(f"{OPEN}2{CLOSE}", formulas) == r"$$\frac{1}{2}$$"
