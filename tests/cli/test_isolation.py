"""The CLI is a pure HTTP client: importing any of it loads no Django, and nothing of the
server's packages (it must run on a laptop that only has the wheel's dependencies)."""

import subprocess
import sys

from tests.liveserver import ROOT

CHECK = """
import sys
import artifacts.cli.main, artifacts.cli.mcp_server, artifacts.cli.inline
server_side = [
    name for name in sys.modules
    if name.split(".")[0] in ("django", "ninja", "orgs", "config")
    or (name.startswith("artifacts.") and not name.startswith("artifacts.cli"))
]
assert not server_side, server_side
"""


def test_the_cli_imports_no_django_and_no_server_module():
    result = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
