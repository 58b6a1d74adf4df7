"""The same measurement under pytest-benchmark, with the budgets as assertions:

python -m pytest bench -p no:django --benchmark-only
"""

import pytest
from bench_markdown import MIB, make_document

from artifacts.render import markdown_render


@pytest.mark.parametrize(("mib", "budget"), [(1, 1.0), (16, 15.0)])
def test_markdown_render_within_budget(benchmark, mib, budget):
    doc = make_document(mib * MIB)
    page = benchmark.pedantic(markdown_render, args=(doc,), rounds=3, iterations=1, warmup_rounds=1)
    assert "<script" not in page
    assert benchmark.stats.stats.median <= budget
