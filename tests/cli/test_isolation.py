"""The CLI is a pure HTTP client: importing any of it loads no Django, and nothing of the
server's packages (it must run on a laptop that only has its own distribution's
dependencies). The import contracts (tests/test_imports.py) say so statically; this runs it."""

import subprocess
import sys

from tests.liveserver import ROOT

CHECK = """
import sys
import artifact_cli.main, artifact_cli.mcp_server, artifact_cli.inline, artifact_cli.watch
server_side = [
    name for name in sys.modules
    if name.split(".")[0] in ("django", "ninja", "orgs", "config", "artifacts")
]
assert not server_side, server_side
"""


def test_the_cli_imports_no_django_and_no_server_module():
    result = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
