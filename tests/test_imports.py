"""Imports run one way: the import-linter contracts of pyproject.toml hold (layers config →
artifacts → orgs; the settings import no app; the CLI imports no Django and nothing of the
server; no cycles in any package, function-level imports included), and every import made
inside a function says why it cannot be at the top."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    *(ROOT / "artifacts").rglob("*.py"),
    *(ROOT / "orgs").rglob("*.py"),
    *(ROOT / "config").rglob("*.py"),
    *(ROOT / "cli" / "artifact_cli").rglob("*.py"),
    ROOT / "manage.py",
]


def test_the_import_contracts_hold():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def _function_imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for child in ast.walk(node):
                if isinstance(child, ast.Import | ast.ImportFrom):
                    yield child


def _explained(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or above the block of imports it belongs to."""
    if "#" in lines[lineno - 1]:
        return True
    index = lineno - 2
    while index >= 0 and (
        lines[index].strip().startswith(("from ", "import ")) or not lines[index].strip()
    ):
        index -= 1
    return index >= 0 and lines[index].strip().startswith("#")


def test_every_function_level_import_says_why():
    unexplained = []
    for path in SOURCES:
        if "migrations" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in _function_imports(ast.parse(source)):
            if not _explained(lines, node.lineno):
                unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unexplained == []
