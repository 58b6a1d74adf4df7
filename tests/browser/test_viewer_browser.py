"""The viewer in Chromium: live refresh on the stable URL, and a versioned URL that stays."""

import time

import httpx


def push_version(server, artifact_id: str, data: bytes) -> dict:
    response = httpx.post(
        f"{server.app_url}/api/v1/artifacts/{artifact_id}/versions",
        headers={"Authorization": f"Bearer {server.token}"},
        files={"file": ("p.html", data)},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_new_version_appears_within_5_seconds_without_reloading(signed_in, server):
    artifact = server.push("live.html", b"<h1 id=v>one</h1>", visibility="org")
    page = signed_in.new_page()
    page.goto(artifact["url"])
    frame = page.frame_locator("#artifact-frame")
    assert frame.locator("#v").text_content() == "one"
    page.evaluate("window.__not_reloaded = true")
    push_version(server, artifact["id"], b"<h1 id=v>two</h1>")
    started = time.monotonic()
    frame.locator("#v", has_text="two").wait_for(timeout=5000)
    assert time.monotonic() - started < 5
    assert page.evaluate("window.__not_reloaded") is True  # the page itself did not reload
    assert page.locator("#live-notice").text_content() == "Updated to v2"
    page.close()


def test_a_versioned_url_never_moves(signed_in, server):
    artifact = server.push("fixed.html", b"<h1 id=v>one</h1>", visibility="org")
    page = signed_in.new_page()
    page.goto(artifact["version_url"])
    push_version(server, artifact["id"], b"<h1 id=v>two</h1>")
    page.wait_for_timeout(4000)
    assert page.frame_locator("#artifact-frame").locator("#v").text_content() == "one"
    page.close()


def test_pin_restore_and_diff_through_the_page(signed_in, server):
    artifact = server.push("flow.html", b"<h1 id=v>one</h1>\n<p>same</p>\n", visibility="org")
    push_version(server, artifact["id"], b"<h1 id=v>two</h1>\n<p>same</p>\n")
    page = signed_in.new_page()
    page.goto(artifact["url"])
    frame = page.frame_locator("#artifact-frame")
    assert frame.locator("#v").text_content() == "two"

    # Pin v1 through the share control: the stable link now shows v1 and says so.
    page.locator("details.manage summary").click()
    page.select_option("select[name=viewer_version]", "1")
    page.locator("details.manage button", has_text="Save").click()
    page.wait_for_url(artifact["url"])
    assert "(pinned)" in page.locator("p.muted").first.text_content()
    assert page.frame_locator("#artifact-frame").locator("#v").text_content() == "one"

    # Restore v1 as v3 from the history, then follow the latest again.
    page.locator("details.manage summary").click()
    page.select_option("select[name=viewer_version]", "0")
    page.locator("details.manage button", has_text="Save").click()
    page.wait_for_url(artifact["url"])
    page.locator("form[action$='/v/1/restore'] button").click()
    page.wait_for_url(artifact["url"])
    assert page.locator("[role=status]").first.text_content() == "Restored v1 as v3."
    assert page.frame_locator("#artifact-frame").locator("#v").text_content() == "one"

    # Compare v2 and v3: the source diff and both rendered versions side by side.
    page.goto(f"{server.app_url}/a/{artifact['id']}/diff?from=2&to=3")
    assert page.locator("tr.del td.code").text_content() == "<h1 id=v>two</h1>"
    assert page.locator("tr.add td.code").text_content() == "<h1 id=v>one</h1>"
    page.get_by_role("link", name="Rendered").click()
    frames = page.locator(".frames iframe")
    assert frames.count() == 2
    texts = [
        page.frame_locator(f".frames figure:nth-child({i}) iframe").locator("#v").text_content()
        for i in (1, 2)
    ]
    assert texts == ["two", "one"]
    page.close()
