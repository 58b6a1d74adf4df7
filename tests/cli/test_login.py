"""`artifact login`: the token is checked against /me before anything is written, and the
config file it writes (0600) is what later commands use without ARTIFACT_* variables."""

import json
import os
import stat
from pathlib import Path

from .conftest import one_error_line, unused_port

NO_ENV = {"ARTIFACT_URL": "", "ARTIFACT_TOKEN": ""}


def test_login_verifies_then_writes_a_0600_file(run, server, cli_env):
    config = cli_env["ARTIFACT_CONFIG"]
    result = run("login", "--url", server.app_url + "/", "--token", server.token, env=NO_ENV)
    assert result.returncode == 0, result.stderr
    assert server.email in result.stdout.decode()
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(Path(config).parent).st_mode) == 0o700
    assert json.loads(Path(config).read_text()) == {"url": server.app_url, "token": server.token}

    me = run("whoami", "--json", env=NO_ENV)  # from the file alone
    assert me.returncode == 0, me.stderr
    assert json.loads(me.stdout)["email"] == server.email


def test_login_reads_the_token_from_stdin(run, server, cli_env):
    result = run(
        "login",
        "--url",
        server.app_url,
        "--token",
        "-",
        "--json",
        input=f"{server.token}\n".encode(),
        env=NO_ENV,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["config"] == cli_env["ARTIFACT_CONFIG"]


def test_login_refuses_a_bad_token_without_writing(run, server, cli_env, tmp_path):
    result = run("login", "--url", server.app_url, "--token", "wrong", env=NO_ENV)
    assert result.returncode == 3
    assert "refused the token" in one_error_line(result)
    assert not (tmp_path / "config").exists()


def test_login_to_a_server_that_is_down_writes_nothing(run, tmp_path):
    url = f"http://127.0.0.1:{unused_port()}"
    result = run("login", "--url", url, "--token", "whatever", env=NO_ENV)
    assert result.returncode == 7
    assert "cannot reach" in one_error_line(result)
    assert not (tmp_path / "config").exists()


def test_environment_wins_over_the_file(run, server, cli_env):
    run("login", "--url", server.app_url, "--token", server.token, env=NO_ENV)
    result = run("whoami", env={"ARTIFACT_TOKEN": "revoked"})
    assert result.returncode == 3
