"""The version diff: exact hunks, unified order, the row cap, and the page for each persona."""

import re

from artifacts.diff import MAX_ROWS, Row, diff_lines, unified
from tests.helpers import sandbox_get


def test_a_change_in_the_middle_is_one_hunk_with_context():
    old = [f"l{i}" for i in range(1, 21)]
    new = list(old)
    new[9] = "changed"
    result = diff_lines(old, new)
    assert (result.added, result.removed, len(result.hunks)) == (1, 1, 1)
    hunk = result.hunks[0]
    assert [r.kind for r in hunk] == ["same"] * 3 + ["change"] + ["same"] * 3
    assert hunk[3] == Row("change", 10, "l10", 10, "changed")


def test_far_apart_changes_are_separate_hunks_and_line_numbers_follow_insertions():
    old = [f"l{i}" for i in range(1, 101)]
    new = ["new first", *old[:80], *old[81:]]  # one line added at the top, l81 removed
    result = diff_lines(old, new)
    assert len(result.hunks) == 2
    assert result.hunks[0][0] == Row("add", None, None, 1, "new first")
    removed = [r for r in result.hunks[1] if r.kind == "del"]
    assert removed == [Row("del", 81, "l81", None, None)]


def test_unified_puts_removals_before_additions():
    result = diff_lines(["a", "b", "c"], ["a", "x", "y", "c"])
    lines = unified(result.hunks[0])
    assert [(line.kind, line.text) for line in lines] == [
        ("same", "a"),
        ("del", "b"),
        ("add", "x"),
        ("add", "y"),
        ("same", "c"),
    ]


def test_identical_sources_have_no_hunks():
    assert diff_lines(["a"], ["a"]).identical


def test_a_huge_rewrite_is_capped_not_rendered_whole():
    old = [f"a{i}" for i in range(100_000)]
    new = [f"b{i}" for i in range(100_000)]
    result = diff_lines(old, new)
    assert result.truncated and result.rows == MAX_ROWS
    assert (result.added, result.removed) == (100_000, 100_000)


def test_diff_page_shows_unified_split_and_rendered(personas):
    member, viewer = personas["member"], personas["viewer"]
    artifact_id = member.push(data=b"<p>one</p>\n<p>same</p>\n", visibility="org").json()["id"]
    member.push(data=b"<p>two</p>\n<p>same</p>\n", to=artifact_id)
    page = viewer.client.get(f"/a/{artifact_id}/diff?from=1&to=2")
    html = page.content.decode()
    assert page.status_code == 200
    assert (
        '<tr class="del"><td class="no">1</td><td class="no"></td><td class="code">&lt;p&gt;one'
        in html
    )
    assert (
        '<tr class="add"><td class="no"></td><td class="no">1</td><td class="code">&lt;p&gt;two'
        in html
    )
    split = viewer.client.get(f"/a/{artifact_id}/diff?from=1&to=2&mode=split").content.decode()
    assert '<tr class="change"><td class="no">1</td>' in split
    rendered = viewer.client.get(
        f"/a/{artifact_id}/diff?from=1&to=2&mode=rendered"
    ).content.decode()
    srcs = re.findall(r'<iframe[^>]*src="([^"]+)"', rendered)
    assert [b"".join(sandbox_get(src).streaming_content) for src in srcs] == [
        b"<p>one</p>\n<p>same</p>\n",
        b"<p>two</p>\n<p>same</p>\n",
    ]


def test_diff_refuses_outsiders_and_missing_versions(personas):
    artifact_id = personas["member"].push(visibility="org").json()["id"]
    assert personas["outsider"].client.get(f"/a/{artifact_id}/diff").status_code == 404
    assert personas["viewer"].client.get(f"/a/{artifact_id}/diff?from=1&to=7").status_code == 404
    assert personas["viewer"].client.get(f"/a/{artifact_id}/diff?from=x").status_code == 404
    assert personas["anonymous"].client.get(f"/a/{artifact_id}/diff").status_code == 302


def test_myers_opcodes_rebuild_the_new_text_with_no_more_edits_than_difflib():
    import difflib
    import random

    from artifacts.diff import _myers

    rnd = random.Random(7)
    for _ in range(2000):
        a = [rnd.choice("abcd") for _ in range(rnd.randint(0, 15))]
        b = [rnd.choice("abcd") for _ in range(rnd.randint(0, 15))]
        ops = _myers(a, b, 100)
        rebuilt, i_end, j_end = [], 0, 0
        for tag, i1, i2, j1, j2 in ops:
            assert (i1, j1) == (i_end, j_end)  # contiguous, like difflib's opcodes
            if tag == "equal":
                assert a[i1:i2] == b[j1:j2]
            rebuilt += b[j1:j2]
            i_end, j_end = i2, j2
        assert rebuilt == b and (i_end, j_end) == (len(a), len(b))
        kept = sum(i2 - i1 for tag, i1, i2, *_ in ops if tag == "equal")
        reference = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        assert kept >= sum(i2 - i1 for tag, i1, i2, *_ in reference if tag == "equal")


def test_two_edits_in_a_huge_repetitive_file_are_two_small_hunks():
    old = ["<tr><td>row</td></tr>"] * 200_000
    new = list(old)
    new[1000], new[150_000] = "<tr>changed</tr>", "<tr>also</tr>"
    result = diff_lines(old, new)
    assert (len(result.hunks), result.added, result.removed, result.truncated) == (2, 2, 2, False)
