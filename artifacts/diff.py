"""Line diff between two versions' sources, bounded so a 16 MiB file cannot stall a request
or freeze the page: common head and tail are trimmed first (a version usually changes a
few places), the rest goes to difflib (see EXACT_LINES), and at most MAX_ROWS rows are
rendered."""

import difflib
from dataclasses import dataclass, field

CONTEXT = 3
MAX_ROWS = 4000
# Myers' O((N+M)·D) algorithm finds a minimal diff fast when versions differ in few places,
# whatever the text (a 16 MiB table of identical rows with two edits: no heuristic needed).
# Past MAX_EDITS, difflib takes over: exact up to EXACT_LINES middle lines (it is quadratic
# on low-entropy text: 50k lines from a 10-line vocabulary take 74 s), with its "junk"
# heuristic beyond (300k lines with scattered changes: ~2 s).
MAX_EDITS = 500
EXACT_LINES = 10_000


@dataclass(frozen=True)
class Row:
    kind: str  # "same", "del", "add", "change"
    old_no: int | None
    old: str | None
    new_no: int | None
    new: str | None


@dataclass
class Diff:
    hunks: list[list[Row]] = field(default_factory=list)
    rows: int = 0
    truncated: bool = False
    added: int = 0
    removed: int = 0

    @property
    def identical(self) -> bool:
        return not self.hunks


def _opcodes(old: list[str], new: list[str]):
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    mid_old, mid_new = old[head : len(old) - tail], new[head : len(new) - tail]
    ops = [("equal", 0, head, 0, head)] if head else []
    inner = _myers(mid_old, mid_new, MAX_EDITS)
    if inner is None:
        exact = len(mid_old) + len(mid_new) <= EXACT_LINES
        inner = difflib.SequenceMatcher(None, mid_old, mid_new, autojunk=not exact).get_opcodes()
    for tag, i1, i2, j1, j2 in inner:
        if i1 != i2 or j1 != j2:
            ops.append((tag, i1 + head, i2 + head, j1 + head, j2 + head))
    if tail:
        ops.append(("equal", len(old) - tail, len(old), len(new) - tail, len(new)))
    return ops


def _myers(a: list[str], b: list[str], max_edits: int):
    """Opcodes of a minimal diff (as difflib's get_opcodes), or None past max_edits."""
    n, m = len(a), len(b)
    v = {1: 0}  # furthest x reached on each diagonal k = x - y
    trace = []
    for d in range(max_edits + 1):
        trace.append(dict(v))
        for k in range(-d, d + 1, 2):
            down = k == -d or (k != d and v[k - 1] < v[k + 1])
            x = v[k + 1] if down else v[k - 1] + 1
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x, y = x + 1, y + 1
            v[k] = x
            if x >= n and y >= m:
                return _opcodes_from_path(_backtrack(trace, n, m))
    return None


def _backtrack(trace, x: int, y: int) -> list[str]:
    steps = []  # "=", "-" (old line only), "+" (new line only), from the end
    for d in range(len(trace) - 1, -1, -1):
        v, k = trace[d], x - y
        prev_k = k + 1 if k == -d or (k != d and v[k - 1] < v[k + 1]) else k - 1
        prev_x = v[prev_k]
        prev_y = prev_x - prev_k
        while x > prev_x and y > prev_y:
            steps.append("=")
            x, y = x - 1, y - 1
        if d > 0:
            steps.append("+" if x == prev_x else "-")
        x, y = prev_x, prev_y
    steps.reverse()
    return steps


def _opcodes_from_path(steps: list[str]):
    ops, i, j, pos = [], 0, 0, 0
    while pos < len(steps):
        if steps[pos] == "=":
            start = pos
            while pos < len(steps) and steps[pos] == "=":
                pos += 1
            ops.append(("equal", i, i + pos - start, j, j + pos - start))
            i, j = i + pos - start, j + pos - start
            continue
        dels = adds = 0
        while pos < len(steps) and steps[pos] != "=":
            dels += steps[pos] == "-"
            adds += steps[pos] == "+"
            pos += 1
        tag = "replace" if dels and adds else ("delete" if dels else "insert")
        ops.append((tag, i, i + dels, j, j + adds))
        i, j = i + dels, j + adds
    return ops


def _group(ops, context: int):
    """Like SequenceMatcher.get_grouped_opcodes, on our own opcode list."""
    matcher = difflib.SequenceMatcher()
    matcher.get_opcodes = lambda: ops  # get_grouped_opcodes only reads the opcodes
    return matcher.get_grouped_opcodes(context)


def diff_lines(old: list[str], new: list[str], *, context: int = CONTEXT) -> Diff:
    result = Diff()
    ops = _opcodes(old, new)
    if all(tag == "equal" for tag, *_ in ops):
        return result
    for group in _group(ops, context):
        hunk: list[Row] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows = [
                    Row("same", i + 1, old[i], j + 1, new[j])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
            else:
                result.removed += i2 - i1
                result.added += j2 - j1
                rows = []
                for k in range(max(i2 - i1, j2 - j1)):
                    i, j = i1 + k, j1 + k
                    has_old, has_new = i < i2, j < j2
                    kind = "change" if has_old and has_new else ("del" if has_old else "add")
                    rows.append(
                        Row(
                            kind,
                            i + 1 if has_old else None,
                            old[i] if has_old else None,
                            j + 1 if has_new else None,
                            new[j] if has_new else None,
                        )
                    )
            room = MAX_ROWS - result.rows
            if len(rows) > room:
                rows, result.truncated = rows[:room], True
            hunk.extend(rows)
            result.rows += len(rows)
            if result.truncated:
                break
        result.hunks.append(hunk)
        if result.truncated:
            break
    return result


@dataclass(frozen=True)
class Line:
    kind: str  # "same", "del", "add"
    old_no: int | None
    new_no: int | None
    text: str


def unified(hunk: list[Row]) -> list[Line]:
    """A hunk as unified-diff lines: within each changed run, removals before additions."""
    lines: list[Line] = []
    dels: list[Line] = []
    adds: list[Line] = []

    def flush():
        lines.extend(dels)
        lines.extend(adds)
        dels.clear()
        adds.clear()

    for row in hunk:
        if row.kind == "same":
            flush()
            lines.append(Line("same", row.old_no, row.new_no, row.old))
            continue
        if row.old is not None:
            dels.append(Line("del", row.old_no, None, row.old))
        if row.new is not None:
            adds.append(Line("add", None, row.new_no, row.new))
    flush()
    return lines
