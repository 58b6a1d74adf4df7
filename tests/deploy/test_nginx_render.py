"""deploy/nginx/render.py: the envsubst alternative that operators, the nginx tests and the
serving bench use to render artifacts.conf."""

import os
import re
import subprocess
import sys

from deploy.nginx.render import VARIABLES
from tests.liveserver import ROOT

VALUES = {
    "APP_HOST": "artifacts.example.com",
    "SANDBOX_HOST": "usercontent.example.net",
    "UPSTREAM": "127.0.0.1:8000",
    "BLOB_ROOT": "/var/lib/artifacts/blobs",
    "TLS_CERT": "/etc/ssl/a.pem",
    "TLS_KEY": "/etc/ssl/a.key",
    "HTTPS_PORT": "443",
    "HTTP_PORT": "80",
    "LOG_DIR": "/var/log/nginx",
}


def _render(**values):
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    return subprocess.run(
        [sys.executable, "deploy/nginx/render.py"],
        cwd=ROOT,
        env={**env, **values},
        capture_output=True,
        text=True,
    )


def test_renders_our_variables_and_leaves_nginx_own_alone():
    result = _render(**VALUES)
    assert result.returncode == 0, result.stderr
    assert "server_name usercontent.example.net;" in result.stdout
    assert "alias /var/lib/artifacts/blobs/;" in result.stdout
    assert not re.search(r"\$\{[A-Z_]+\}", result.stdout)
    # nginx's own variables are left alone
    assert '"${head}[grant]${tail}"' in result.stdout
    assert "$upstream_http_content_security_policy" in result.stdout


def test_a_missing_variable_is_one_line_naming_it_and_exit_2():
    values = {k: v for k, v in VALUES.items() if k != "LOG_DIR"}
    result = _render(**values)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "error: artifacts.conf needs LOG_DIR\n"


def test_a_value_is_never_read_as_a_variable():
    result = _render(**{**VALUES, "LOG_DIR": "/var/log/${APP_HOST}"})
    assert result.returncode == 0, result.stderr
    assert "/var/log/${APP_HOST}/artifacts-access.log" in result.stdout
