"""Render artifacts.conf: what `envsubst '${APP_HOST} …'` does, with only our variables
replaced (nginx's own $variables are left alone) and a clear error for a missing one.
Standard library only, so that it runs anywhere nginx does:

    APP_HOST=… SANDBOX_HOST=… UPSTREAM=… BLOB_ROOT=… TLS_CERT=… TLS_KEY=… \\
    HTTPS_PORT=443 HTTP_PORT=80 LOG_DIR=/var/log/nginx \\
        python3 deploy/nginx/render.py > /etc/nginx/conf.d/artifacts.conf

The tests of deploy/ and bench/bench_serve.py render it with this too.
"""

import os
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "artifacts.conf"
VARIABLES = (
    "APP_HOST",
    "SANDBOX_HOST",
    "UPSTREAM",
    "BLOB_ROOT",
    "TLS_CERT",
    "TLS_KEY",
    "HTTPS_PORT",
    "HTTP_PORT",
    "LOG_DIR",
)


class RenderError(Exception):
    """A variable is missing, or the template has one this script does not know."""


def render(values: dict) -> str:
    missing = [name for name in VARIABLES if not str(values.get(name, ""))]
    if missing:
        raise RenderError(f"artifacts.conf needs {', '.join(missing)}")
    text = TEMPLATE.read_text()
    unknown = sorted(set(re.findall(r"\$\{([A-Z_]+)\}", text)) - set(VARIABLES))
    if unknown:  # the template grew a variable that VARIABLES does not know
        raise RenderError(f"artifacts.conf has unknown variables: {', '.join(unknown)}")
    # One pass: a value that itself contains "${…}" is left as it is.
    return re.sub(r"\$\{([A-Z_]+)\}", lambda m: str(values[m.group(1)]), text)


def main() -> int:
    try:
        sys.stdout.write(render(dict(os.environ)))
    except RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
