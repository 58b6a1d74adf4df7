"""The `artifact` commands that succeed, checked through the API: push (file, stdin, new
version), share/unshare, pull, ls/versions --json, whoami, rm, --open."""

import json
import sys

from .conftest import PAGE


def _json(result) -> dict | list:
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_push_file_creates_a_private_artifact(run, page, api, server):
    result = _json(run("push", str(page), "--title", "Q3 report", "-m", "first", "--json"))
    assert result["version"] == 1
    assert result["visibility"] == "private"
    assert result["url"] == f"{server.app_url}/a/{result['id']}/"
    assert result["warnings"] == []
    detail = api.get(f"/artifacts/{result['id']}").json()
    assert detail["title"] == "Q3 report"
    assert detail["format"] == "html"
    assert detail["versions"][0]["message"] == "first"
    assert detail["versions"][0]["size"] == len(PAGE)


def test_push_human_output_shows_the_url_and_the_warnings(run, tmp_path):
    page = tmp_path / "cdn.html"
    page.write_text('<script src="https://cdn.example.com/lib.js"></script>')
    result = run("push", str(page))
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "Created version 1 of" in out
    assert "/a/" in out
    assert "warning(s)" in out and "https://cdn.example.com/lib.js" in out


def test_push_from_stdin_with_a_name(run, api):
    result = _json(run("push", "-", "--name", "notes.md", "--share", "--json", input=b"# Hi\n"))
    assert result["visibility"] == "org"
    detail = api.get(f"/artifacts/{result['id']}").json()
    assert detail["format"] == "markdown"
    assert detail["title"] == "notes.md"


def test_push_to_makes_the_next_version_and_can_share_it(run, page, api):
    first = _json(run("push", str(page), "--json"))
    page.write_bytes(PAGE + b"<p>v2</p>")
    second = _json(run("push", str(page), "--to", first["id"], "-m", "second", "--share", "--json"))
    assert (second["id"], second["version"], second["visibility"]) == (first["id"], 2, "org")
    third = _json(run("push", str(page), "--to", first["id"], "--base-version", "2", "--json"))
    assert third["version"] == 3
    detail = api.get(f"/artifacts/{first['id']}").json()
    assert [v["message"] for v in detail["versions"]] == ["", "second", ""]
    assert detail["visibility"] == "org"


def test_share_and_unshare_change_the_visibility(run, page, api):
    artifact_id = _json(run("push", str(page), "--json"))["id"]
    assert _json(run("share", artifact_id, "--json"))["visibility"] == "org"
    assert api.get(f"/artifacts/{artifact_id}").json()["visibility"] == "org"
    result = run("unshare", artifact_id)
    assert result.returncode == 0
    assert "only you" in result.stderr.decode()
    assert api.get(f"/artifacts/{artifact_id}").json()["visibility"] == "private"


def test_pull_gives_back_the_exact_bytes(run, page, tmp_path):
    crlf = "<!doctype html>\r\n<p>ça marche — ✓ 🎉</p>\r\n".encode()
    artifact_id = _json(run("push", str(page), "--json"))["id"]
    page.write_bytes(crlf)
    _json(run("push", str(page), "--to", artifact_id, "--json"))

    latest = run("pull", artifact_id)  # stdout is a pipe: the bytes go there
    assert latest.returncode == 0 and latest.stdout == crlf
    first = run("pull", artifact_id, "--version", "1", "-o", str(tmp_path / "v1.html"))
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "v1.html").read_bytes() == PAGE
    assert "saved version 1" in first.stderr.decode()


def test_ls_and_versions_print_json(run, page):
    artifact_id = _json(run("push", str(page), "--title", "listed page", "--json"))["id"]
    rows = _json(run("ls", "--json"))
    assert artifact_id in {row["id"] for row in rows}
    assert [r["id"] for r in _json(run("ls", "listed page", "--json"))] == [artifact_id]
    detail = _json(run("versions", artifact_id, "--json"))
    assert detail["id"] == artifact_id
    assert [v["number"] for v in detail["versions"]] == [1]
    human = run("versions", artifact_id)
    assert human.returncode == 0 and "listed page" in human.stdout.decode()
    assert "listed page" in run("ls").stdout.decode()


def test_whoami(run, server):
    me = _json(run("whoami", "--json"))
    assert me["email"] == server.email
    assert (me["organization"], me["role"], me["url"]) == ("acme", "member", server.app_url)
    assert server.email in run("whoami").stdout.decode()


def test_rm_with_yes_deletes(run, page, api):
    artifact_id = _json(run("push", str(page), "--json"))["id"]
    assert _json(run("rm", artifact_id, "--yes", "--json")) == {"id": artifact_id, "deleted": True}
    assert api.get(f"/artifacts/{artifact_id}").status_code == 404


def test_push_open_opens_the_browser_on_the_url(run, page, tmp_path):
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(
        f"#!{sys.executable}\nimport sys; open({str(opened)!r}, 'w').write(sys.argv[1])\n"
    )
    browser.chmod(0o755)
    result = _json(run("push", str(page), "--open", "--json", env={"BROWSER": str(browser)}))
    assert opened.read_text() == result["url"]


def test_push_files_in_a_collection_and_ls_filters_by_it(run, page, api):
    first = _json(run("push", str(page), "--collection", "CLI Reports", "--json"))
    assert api.get(f"/artifacts/{first['id']}").json()["collections"] == ["cli-reports"]
    page.write_bytes(PAGE + b"<p>v2</p>")
    other = _json(run("push", str(page), "--json"))
    run("push", str(page), "--to", other["id"], "--collection", "cli-reports", "--json")
    assert api.get(f"/artifacts/{other['id']}").json()["collections"] == ["cli-reports"]
    listed = _json(run("ls", "--collection", "cli-reports", "--json"))
    assert {a["id"] for a in listed} == {first["id"], other["id"]}
    missing = run("ls", "--collection", "no-such-one")
    assert missing.returncode != 0 and "no-such-one" in missing.stderr.decode()
