"""Imports run one way: the import-linter contracts of pyproject.toml hold (layers config →
artifacts → orgs; the settings import no app; the CLI imports no Django and nothing of the
server; no cycles in any package, function-level imports included), and every import made
inside a function says why it cannot be at the top."""

import ast
import os
import re
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
        # The checkout's cli/, whatever copy of the command is installed.
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "cli")])},
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def _function_imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for child in ast.walk(node):
                if isinstance(child, ast.Import | ast.ImportFrom):
                    yield child


NOQA = re.compile(r"#\s*noqa(:\s*[A-Z]+\d+(,\s*[A-Z]+\d+)*)?")


def _says_why(line: str) -> bool:
    """A comment with words in it (a bare `# noqa: F401` says nothing)."""
    if "#" not in line:
        return False
    comment = NOQA.sub("", line[line.index("#") :])
    return bool(re.search(r"[a-z]{3}", comment))


def _explained(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or above the block of imports it belongs to."""
    if _says_why(lines[lineno - 1]):
        return True
    index = lineno - 2
    while index >= 0 and (
        lines[index].strip().startswith(("from ", "import ")) or not lines[index].strip()
    ):
        index -= 1
    return index >= 0 and lines[index].strip().startswith("#") and _says_why(lines[index])


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
