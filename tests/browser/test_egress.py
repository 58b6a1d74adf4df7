"""Chromium proves that an artifact cannot reach the network (SPEC §2.6-2.7, §8).

Each egress channel is its own probe, aimed at a collector on a loopback port picked at
runtime (`egress_probe.py`): an artifact tries them all through the viewer, as a signed-in
member, and no collector hears anything. The positive control serves the same pages plainly
(no CSP, no sandbox, top-level) and every probe does arrive, so a silent sandbox means the
sandbox works, not that a probe is broken. WebRTC and <link rel=preconnect>, which no header
closes in Chromium, are measured and reported (record_property + a printed line), not
failed on. Observations per probe go to the JUnit properties (`--junitxml`) and, with `-s`,
to the terminal.
"""

import json
import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.egress_probe import (
    CONSOLE_MARKER,
    MARKER,
    NAVIGATION_PROBES,
    PRECONNECT_HOST,
    SUBRESOURCE_PROBES,
    Collectors,
    navigation_page,
    residual_page,
    subresource_page,
)

QUIET_MS = 3000  # after the last probe fired: long enough for anything in flight to land
# Probes that navigate the artifact's own frame: the viewer's `frame-src <sandbox origin>`
# refuses them, and Chromium then shows its own error page in the frame (no request made).
FRAME_NAVIGATIONS = {"meta-refresh", "location", "download", "form-submit"}
BLOCKED_NAVIGATION_PAGE = "chrome-error://chromewebdata/"
# The violation report for a frame or a plugin names only the origin, not the path.
ORIGIN_ONLY_REPORTS = {"iframe": "frame-src", "object": "object-src", "embed": "object-src"}


@pytest.fixture
def collectors():
    started = Collectors.start()
    yield started
    started.close()


def _wait_until(page, condition, timeout_ms: int) -> bool:
    deadline = time.monotonic() + timeout_ms / 1000
    while not condition():
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(50)  # lets Playwright deliver events meanwhile
    return True


def _artifact_frame(page):
    return page.locator("#artifact-frame").element_handle().content_frame()


def _outcomes(frame) -> dict:
    try:
        return frame.evaluate("() => window.__egress || {}")
    except Exception:  # the frame shows Chromium's error page: nothing to read
        return {}


def _sandbox_observation(name: str, outcomes: dict, console: list[str]) -> str:
    """What stopped probe `name` in the sandbox, in words, for the report."""
    seen = []
    for violation in outcomes.get("violations", []):
        directive, _, blocked = violation.partition(" ")
        if re.search(f"/p/{name}(/|$)", blocked) or ORIGIN_ONLY_REPORTS.get(name) == directive:
            seen.append(f"CSP {directive}")
        elif name.endswith("-importscripts") and blocked == name.split("-")[0]:
            seen.append(f"CSP {directive} ({blocked}: worker)")
    if error := outcomes.get("errors", {}).get(name):
        seen.append(error[:110])
    if name in NAVIGATION_PROBES:
        for line in console:
            if "frame-src" in line and "Framing" in line:
                seen.append("viewer CSP frame-src")
            elif "allow-popups" in line:
                seen.append("sandbox: no allow-popups")
            elif "allow-top-navigation" in line and name != "top-location":
                seen.append("sandbox: no allow-top-navigation")
            elif "form-action" in line:
                seen.append("CSP form-action")
    return "; ".join(dict.fromkeys(seen)) or "nothing reported"


def test_no_egress_channel_leaves_a_sandboxed_artifact(
    signed_in, server, collectors, record_property
):
    base = collectors.http.base
    pages_before = set(signed_in.pages)
    new_pages, downloads = [], []

    def on_page(new_page):
        new_pages.append(new_page)

    def on_download(download):
        downloads.append(download)

    signed_in.on("page", on_page)
    sources = {"subresources": subresource_page(base)}
    sources |= {name: navigation_page(base, name) for name in NAVIGATION_PROBES}
    opened = {}
    started = time.monotonic()
    try:
        for name, source in sources.items():
            artifact = server.push(f"{name}.html", source, visibility="org")
            page = signed_in.new_page()
            console: list[str] = []
            page.on("console", lambda message, log=console: log.append(message.text))
            page.on("download", on_download)
            page.goto(artifact["url"])
            frame = page.frame_locator("#artifact-frame")
            if name == "meta-refresh":  # navigates at once: the script's console line proves it
                assert _wait_until(page, lambda log=console: CONSOLE_MARKER in log, 10_000)
            else:  # the inline script ran: its marker is in the DOM, read through the frame
                expect(frame.locator("#marker")).to_have_text(MARKER, timeout=10_000)
            if name == "subresources":
                frame.locator("#ping").click()
            elif name != "meta-refresh":
                frame.locator("#go").click()
            opened[name] = (artifact, page, console)
        page.wait_for_timeout(QUIET_MS)

        observations = {}
        for name, (artifact, page, console) in opened.items():
            frame = _artifact_frame(page)
            outcomes = _outcomes(frame)
            probes = SUBRESOURCE_PROBES if name == "subresources" else [name]
            for probe in probes:
                observations[probe] = _sandbox_observation(probe, outcomes, console)
            observations[f"{name}: frame"] = frame.url.split("/g/")[0]
            # The viewer stays where it was: no top navigation.
            assert page.url == artifact["url"], name
            assert not frame.url.startswith(base), name
            if name in FRAME_NAVIGATIONS:
                assert frame.url.startswith(server.sandbox_url + "/") or (
                    frame.url == BLOCKED_NAVIGATION_PAGE
                ), (name, frame.url)
            else:  # nothing tried to move the frame: still the artifact, marker and all
                assert frame.url.startswith(server.sandbox_url + "/g/"), (name, frame.url)
                assert frame.locator("#marker").text_content() == MARKER, name
        for probe in SUBRESOURCE_PROBES:  # each probe fired, and something refused it
            assert observations[probe] != "nothing reported", probe

        record_property("egress_sandbox_observations", json.dumps(observations))
        print(f"\nsandbox ({time.monotonic() - started:.1f} s):")
        for probe, seen in observations.items():
            print(f"  {probe:28} {seen}")
        # The proof: not one request, from any channel, reached a collector.
        assert collectors.http.requests == []
        # No popup, no new window, no download.
        ours = {page for _, page, _ in opened.values()}
        assert [p for p in new_pages if p not in ours] == []
        assert set(signed_in.pages) == pages_before | ours
        assert downloads == []
    finally:
        signed_in.remove_listener("page", on_page)
        for _, page, _ in opened.values():
            page.close()


def test_positive_control_every_probe_leaks_without_our_headers(
    browser, collectors, record_property
):
    """The same pages, served top-level from the collector's own origin with no CSP and no
    sandbox: every probe must arrive, or it is a broken probe proving nothing above."""
    http = collectors.http
    http.pages["/page/subresources"] = subresource_page(http.base)
    for name in NAVIGATION_PROBES:
        http.pages[f"/page/{name}"] = navigation_page(http.base, name)
    pages_before = set(browser.pages)
    started = time.monotonic()
    try:
        page = browser.new_page()
        page.goto(f"{http.base}/page/subresources")
        expect(page.locator("#marker")).to_have_text(MARKER)
        page.click("#ping")
        for name in NAVIGATION_PROBES:  # one page each: each takes its page away
            nav = browser.new_page()
            nav.goto(f"{http.base}/page/{name}")
            if name != "meta-refresh":
                nav.click("#go")
        expected = set(SUBRESOURCE_PROBES) | set(NAVIGATION_PROBES)
        _wait_until(page, lambda: expected <= http.probes_hit(), 10_000)
        hit = http.probes_hit()
        record_property("egress_control_reached", json.dumps(sorted(hit)))
        print(
            f"\ncontrol ({time.monotonic() - started:.1f} s): {len(hit & expected)}/"
            f"{len(expected)} probes reached the collector"
        )
        assert expected - hit == set(), "probes that do not leak even unprotected"
        assert any(r.probe == "websocket" and r.upgrade == "websocket" for r in http.requests)
    finally:
        for extra in set(browser.pages) - pages_before:  # ours and the popups they opened
            extra.close()


def test_residual_channels_webrtc_and_preconnect_are_measured(
    signed_in, server, collectors, record_property
):
    """WebRTC (STUN over UDP) and <link rel=preconnect> (a bare TCP connection): measured in
    the sandbox and in a plain control page, reported, never failed on in the sandbox."""
    source = residual_page(collectors.udp.port, collectors.tcp.port)
    artifact = server.push("residual.html", source, visibility="org")
    warnings = " | ".join(artifact["warnings"])
    assert "WebRTC" in warnings and "preconnect" in warnings  # the pusher was told (§2.7)

    page = signed_in.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    response = page.goto(artifact["url"])
    assert response.ok
    frame = page.frame_locator("#artifact-frame")
    expect(frame.locator("#marker")).to_have_text(MARKER, timeout=10_000)
    _wait_until(page, lambda: collectors.udp.stun_requests and collectors.tcp.connections, QUIET_MS)
    sandbox = {
        "stun_packets": collectors.udp.stun_requests,
        "preconnect_tcp_connections": collectors.tcp.connections,
        "preconnect_bytes": collectors.tcp.bytes_received,
        "page": _outcomes(_artifact_frame(page)),
        "csp_webrtc_directive": next(
            (line for line in console if "'webrtc'" in line), "no console complaint"
        ),
    }
    page.close()
    assert collectors.http.requests == []  # the residual page makes no HTTP request either

    control_collectors = Collectors.start()  # a fresh pair: nothing carries over
    try:
        http = control_collectors.http
        http.pages["/page/residual"] = residual_page(
            control_collectors.udp.port, control_collectors.tcp.port
        )
        page = signed_in.new_page()
        page.goto(f"{http.base}/page/residual")
        _wait_until(
            page,
            lambda: control_collectors.udp.stun_requests and control_collectors.tcp.connections,
            QUIET_MS,
        )
        control = {
            "stun_packets": control_collectors.udp.stun_requests,
            "preconnect_tcp_connections": control_collectors.tcp.connections,
        }
        page.close()
    finally:
        control_collectors.close()

    record_property("residual_sandbox", json.dumps(sandbox))
    record_property("residual_control", json.dumps(control))
    webrtc = "REACHES the network" if sandbox["stun_packets"] else "blocked"
    preconnect = "REACHES the network" if sandbox["preconnect_tcp_connections"] else "blocked"
    print(
        f"\nRESIDUAL WebRTC from the sandbox: {webrtc} ({sandbox['stun_packets']} STUN "
        f"binding requests at the collector despite CSP webrtc 'block'; control: "
        f"{control['stun_packets']}; Chromium says: {sandbox['csp_webrtc_directive']})"
        f"\nRESIDUAL <link rel=preconnect> from the sandbox: {preconnect} "
        f"({sandbox['preconnect_tcp_connections']} TCP connection(s), "
        f"{sandbox['preconnect_bytes']} bytes sent; control: "
        f"{control['preconnect_tcp_connections']})"
    )
    # The measurement itself must work: unprotected, both channels do arrive.
    assert control["stun_packets"] > 0
    assert control["preconnect_tcp_connections"] > 0


def test_markdown_artifact_runs_no_script_and_reaches_nothing(
    signed_in, server, collectors, record_property
):
    base = collectors.http.base
    source = f"""# Notes

<script>document.title = "pwned"; fetch("{base}/p/md-script")</script>

<img src="{base}/p/md-img" onerror="document.title = 'pwned'">

<link rel=preconnect href="http://{PRECONNECT_HOST}:{collectors.tcp.port}">

<svg onload="document.title = 'pwned'"></svg>

![picture]({base}/p/md-image)

<iframe src="{base}/p/md-iframe"></iframe>

[click me](javascript:document.title='pwned')
""".encode()
    artifact = server.push("notes.md", source, visibility="org")
    page = signed_in.new_page()
    with page.expect_response(lambda r: r.url.startswith(server.sandbox_url + "/g/")) as served:
        page.goto(artifact["url"])
    csp = served.value.headers["content-security-policy"]
    frame = page.frame_locator("#artifact-frame")
    expect(frame.locator("h1")).to_have_text("Notes", timeout=10_000)
    frame.get_by_text("click me").click()
    page.wait_for_timeout(1000)
    title = _artifact_frame(page).title()
    record_property("markdown_csp", csp)
    page.close()

    # Scripts are off by header, not only by the sanitiser.
    assert re.search(r"(^|;)\s*script-src 'none'", csp), csp
    sandbox = re.search(r"(?:^|;)\s*sandbox([^;]*)", csp)
    assert sandbox and "allow-scripts" not in sandbox.group(1), csp
    assert title != "pwned"
    assert collectors.http.requests == []
    assert collectors.tcp.connections == 0  # Markdown closes preconnect too (§2.7)
