"""The `artifact` command as every server offers it next to its tokens (SPEC §4.3): the
wheel of `cli/` (its own distribution, artifact-cli), built on each node once per version
with flit_core, at /cli/<wheel file name>, and the lines that install and set it up.

The download is public: the command holds nothing secret, and `uv tool install URL` or
`pipx install URL` send no cookie. pip and uv take a wheel by its file name, so the URL
names the version; it stays the same until the CLI's version changes.
"""

import hashlib
import re
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404
from django.views.decorators.http import require_safe
from flit_core.wheel import make_wheel_in

CLI_DIR = Path(settings.BASE_DIR) / "cli"
_VERSION = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)


@cache
def cli_version() -> str:
    source = (CLI_DIR / "artifact_cli" / "__init__.py").read_text(encoding="utf-8")
    return _VERSION.search(source).group(1)


def wheel_name() -> str:
    return f"artifact_cli-{cli_version()}-py3-none-any.whl"


def offered() -> bool:
    """A deployment may leave cli/ out (an image of the server alone): nothing to offer."""
    return (CLI_DIR / "pyproject.toml").is_file()


def setup_lines() -> list[str]:
    """What the tokens page tells a developer to run: install, log in, give it to the agent."""
    if not offered():
        return []
    url = settings.ARTIFACTS_APP_URL
    return [
        f"uv tool install {url}/cli/{wheel_name()}   # or: pipx install …",
        f"artifact login --url {url}",
        "claude mcp add artifacts -- artifact mcp",
    ]


@cache
def _source_digest() -> str:
    """Of the files the wheel is made of: a checkout changed without a new version (a
    developer's) gets a wheel of its own, never one of an older source."""
    digest = hashlib.sha256()
    files = [CLI_DIR / "pyproject.toml", *sorted((CLI_DIR / "artifact_cli").rglob("*.py"))]
    for file in files:
        digest.update(file.relative_to(CLI_DIR).as_posix().encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def wheel_build() -> Path:
    """The wheel of this source, built on first use. Builds race harmlessly: each writes a
    temporary file and renames it into place."""
    folder = Path(settings.DATA_DIR) / "cli" / _source_digest()
    path = folder / wheel_name()
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        make_wheel_in(CLI_DIR / "pyproject.toml", folder)
    return path


@require_safe
def wheel(request, filename: str):
    if not offered() or filename != wheel_name():
        raise Http404
    response = FileResponse(
        wheel_build().open("rb"), as_attachment=True, content_type="application/octet-stream"
    )
    response["Cache-Control"] = "public, max-age=3600"
    return response
