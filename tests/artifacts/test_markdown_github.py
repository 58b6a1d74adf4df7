"""What GitHub adds to Markdown and authors now expect (issue 14, part 3): alerts as
callouts, anchors on headings with GitHub's slugs, and a contents list from three
headings; none of it lets the author's text out of the page's rules."""

import pytest

from artifacts.render import heading_slugs
from tests.artifacts.test_render import Elements, assert_inert, body


@pytest.mark.parametrize("kind", ["NOTE", "TIP", "IMPORTANT", "WARNING", "caution"])
def test_each_alert_is_a_callout_with_its_title(kind):
    markup = body(f"> [!{kind}]\n> Restart the *worker* first.\n")
    label = kind.capitalize()
    assert markup.startswith(
        f'<div class="markdown-alert markdown-alert-{kind.lower()}" role="note">'
        f'<p class="markdown-alert-title">{label}</p>'
    )
    assert "<p>Restart the <em>worker</em> first.</p>\n</div>" in markup
    assert "[!" not in markup and "<blockquote>" not in markup


@pytest.mark.parametrize(
    "source",
    [
        "> [!NOTE] and more on its line\n",  # GitHub wants the marker alone
        "> [!DANGER]\n> not a kind GitHub has\n",
        "> a quote\n> [!NOTE]\n",  # not the first line
        "[!NOTE]\n",  # not in a quote
    ],
)
def test_what_is_not_an_alert_stays_as_written(source):
    markup = body(source)
    assert "markdown-alert" not in markup and "[!" in markup


def test_an_alert_keeps_the_page_rules_inside():
    markup = body(
        "> [!WARNING]\n> <script>alert(1)</script> [x](javascript:alert(1))\n>\n> - one\n"
    )
    assert_inert(markup)
    assert "markdown-alert-warning" in markup and "<li>one</li>" in markup


def test_headings_get_githubs_slugs_unique_in_order():
    assert heading_slugs(["Hello, World!", "Hello World", "hello world", "Ünïcode & stuff"]) == [
        "hello-world",
        "hello-world-1",
        "hello-world-2",
        "ünïcode--stuff",
    ]
    assert heading_slugs(["a-1", "a", "a"]) == ["a-1", "a", "a-2"]


def test_each_heading_links_to_itself_from_beside_it():
    markup = body("# Setup `make`\n\nText.\n\n## Setup make\n")
    assert "<h1>Setup <code>make</code></h1>" in markup  # its text stays the author's
    anchors = [attrs for tag, attrs in Elements(markup).elements if tag == "a"]
    assert [(a["id"], a["href"]) for a in anchors] == [
        ("setup-make", "#setup-make"),
        ("setup-make-1", "#setup-make-1"),
    ]
    assert "<nav" not in markup  # two headings: no contents list


def test_three_headings_make_a_nested_contents_list_after_the_title():
    markup = body("# Walk-through\n\nIntro.\n\n## The bug\n\n### Its cause\n\n## The fix & <b>\n")
    assert markup.startswith('<div class="heading">\n<h1>Walk-through</h1>\n')
    rest = markup.split('aria-label="Permalink: Walk-through">#</a></div>\n', 1)[1]
    assert rest.startswith('<nav class="contents" aria-label="Contents">')
    nav = rest.split("</nav>", 1)[0]
    assert nav.count("<ul>") == 3 and nav.count("<li>") == 4
    links = [a["href"] for tag, a in Elements(nav).elements if tag == "a"]
    assert links == ["#walk-through", "#the-bug", "#its-cause", "#the-fix-"]
    assert "The fix &amp; " in nav and "<b>" not in nav  # the text, escaped; no markup
    assert_inert(markup)


def test_contents_come_first_when_the_document_does_not_start_with_a_heading():
    markup = body("Intro.\n\n## One\n\n## Two\n\n## Three\n")
    assert markup.startswith('<nav class="contents"')
