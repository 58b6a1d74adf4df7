"""Where the CLI finds the server and its token.

`ARTIFACT_URL` / `ARTIFACT_TOKEN` win, each on its own; otherwise the JSON file written by
`artifact login`: `$ARTIFACT_CONFIG`, else `~/.config/artifact/config.json` (or under
`$XDG_CONFIG_HOME`). The file holds a secret, so it is created 0600 in a 0700 folder.
"""

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import EXIT_AUTH, EXIT_USAGE, ArtifactError

DEFAULT_URL = "http://localhost:8000"


@dataclass(frozen=True)
class Config:
    url: str
    token: str


def config_path() -> Path:
    if explicit := os.environ.get("ARTIFACT_CONFIG"):
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "artifact" / "config.json"


def normalize_url(url: str) -> str:
    """`https://host/` or a pasted `https://host/api/v1` → `https://host`."""
    url = url.strip().rstrip("/")
    url = url.removesuffix("/api/v1").rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ArtifactError(
            f"invalid server URL {url!r}: expected http(s)://host[:port]", EXIT_USAGE
        )
    return url


def _read_file() -> dict:
    path = config_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise ArtifactError(f"cannot read the config file {path}: {error}", EXIT_AUTH) from error
    return data if isinstance(data, dict) else {}


def load_partial() -> tuple[str | None, str | None]:
    """The URL and token as far as they are known (for defaults of `login`)."""
    stored = _read_file()
    url = os.environ.get("ARTIFACT_URL") or stored.get("url")
    token = os.environ.get("ARTIFACT_TOKEN") or stored.get("token")
    return url, token


def load() -> Config:
    url, token = load_partial()
    if not url or not token:
        raise ArtifactError(
            "not logged in: run `artifact login` or set ARTIFACT_URL and ARTIFACT_TOKEN",
            EXIT_AUTH,
        )
    return Config(normalize_url(url), token.strip())


def save(config: Config) -> Path:
    """Write the file atomically: a reader never sees half a token or looser permissions."""
    path = config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"url": config.url, "token": config.token}, out, indent=2)
            out.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
