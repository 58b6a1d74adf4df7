"""Every failure of the `artifact` command: one `error:` line on stderr, nothing on stdout,
and the documented exit code (1 API, 2 usage, 3 auth, 4 not found, 5 conflict, 6 file
refused, 7 unreachable)."""

import json

import pytest

from .conftest import one_error_line, unused_port


def _push_id(run, page) -> str:
    result = run("push", str(page), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["id"]


def test_bad_token_is_an_auth_error(run):
    result = run("ls", env={"ARTIFACT_TOKEN": "not-a-token"})
    assert result.returncode == 3
    assert "refused the token" in one_error_line(result)


def test_not_logged_in(run, tmp_path):
    result = run("ls", env={"ARTIFACT_URL": "", "ARTIFACT_TOKEN": ""})
    assert result.returncode == 3
    assert "not logged in" in one_error_line(result)


def test_server_down(run, page):
    url = f"http://127.0.0.1:{unused_port()}"
    result = run("push", str(page), env={"ARTIFACT_URL": url})
    assert result.returncode == 7
    message = one_error_line(result)
    assert f"cannot reach {url}" in message and "refused" in message


def test_missing_file(run, tmp_path):
    result = run("push", str(tmp_path / "nope.html"))
    assert result.returncode == 6
    assert one_error_line(result) == f"error: no such file: {tmp_path / 'nope.html'}"


# The server is unreachable in the next tests: a refusal (6, not 7) proves no byte was sent.
def test_too_large_is_refused_before_uploading(run, tmp_path):
    big = tmp_path / "big.html"
    with open(big, "wb") as out:
        out.truncate(16 * 1024 * 1024 + 1)
    result = run("push", str(big), env={"ARTIFACT_URL": f"http://127.0.0.1:{unused_port()}"})
    assert result.returncode == 6
    assert one_error_line(result) == (f"error: file {big} is larger than 16 MiB (16,777,217 bytes)")


def test_too_large_stdin_is_refused_before_uploading(run):
    result = run(
        "push",
        "-",
        "--name",
        "big.md",
        input=b"#" * (16 * 1024 * 1024 + 1),
        env={"ARTIFACT_URL": f"http://127.0.0.1:{unused_port()}"},
    )
    assert result.returncode == 6
    assert "stdin is larger than 16 MiB" in one_error_line(result)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("notes.txt", b"hello", "unsupported file type '.txt'"),
        ("page.html", "é".encode("latin-1"), "is not valid UTF-8 text"),
        ("page.html", b"<p>\x00</p>", "is a binary file"),
        ("page.html", b"", "is empty"),
    ],
)
def test_wrong_type_is_refused_before_uploading(run, tmp_path, name, data, expected):
    path = tmp_path / name
    path.write_bytes(data)
    result = run("push", str(path), env={"ARTIFACT_URL": f"http://127.0.0.1:{unused_port()}"})
    assert result.returncode == 6
    assert expected in one_error_line(result)


def test_conflict_says_which_version_is_live_and_how_to_push_anyway(run, page):
    artifact_id = _push_id(run, page)
    assert run("push", str(page), "--to", artifact_id).returncode == 0
    result = run("push", str(page), "--to", artifact_id, "--base-version", "1")
    assert result.returncode == 5
    message = one_error_line(result)
    assert f"version 2 of {artifact_id} is live, not 1" in message
    assert "--base-version 2" in message and "drop --base-version" in message


@pytest.mark.parametrize(
    "args",
    [
        ("versions", "nosuchartifact"),
        ("pull", "nosuchartifact"),
        ("share", "nosuchartifact"),
        ("rm", "nosuchartifact", "--yes"),
        ("push", "PAGE", "--to", "nosuchartifact"),
    ],
)
def test_not_found(run, page, args):
    result = run(*[str(page) if a == "PAGE" else a for a in args])
    assert result.returncode == 4
    assert "artifact nosuchartifact not found" in one_error_line(result)


def test_pull_of_a_missing_version(run, page):
    artifact_id = _push_id(run, page)
    result = run("pull", artifact_id, "--version", "7")
    assert result.returncode == 4
    assert "has no version 7 (latest is 1)" in one_error_line(result)


def test_an_id_starting_with_a_dash_is_an_id_not_options(run):
    result = run("versions", "-OpPgr1CQoycKtEfNlnYBg", "--json")
    assert result.returncode == 4
    assert "artifact -OpPgr1CQoycKtEfNlnYBg not found" in one_error_line(result)
    # `-Oy...` must not turn into `-y` (--yes): rm still asks, and stdin is no terminal.
    assert run("rm", "-Oyyyyyyyyyyyyyyyyyyyy").returncode == 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("push",), "Missing argument 'FILE|-'"),
        (("push", "-"), "needs --name"),
        (("push", "PAGE", "--base-version", "1"), "--base-version needs --to"),
        (("push", "x.md", "--inline"), "--inline works on HTML pages only"),
        (("rm", "abc"), "refusing to delete without --yes"),
        (("login",), "pass --url"),
        (("bogus",), "No such command 'bogus'"),
    ],
)
def test_usage_errors(run, page, args, expected):
    result = run(*[str(page) if a == "PAGE" else a for a in args])
    assert result.returncode == 2
    assert expected in one_error_line(result)
