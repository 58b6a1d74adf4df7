"""A real Chromium (Playwright, the system's /usr/bin/chromium, a persistent profile)
against the live server, for what only a browser can prove."""

import os
from pathlib import Path

import pytest

from tests.liveserver import server_fixture  # noqa: F401  (registers `server`)

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); CI runs these")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--host-resolver-rules=MAP * 127.0.0.1",
            ],
        )
        yield context
        context.close()


@pytest.fixture(scope="session")
def signed_in(browser, server):
    page = browser.new_page()
    page.goto(f"{server.app_url}/accounts/login/")
    page.fill("input[name=login]", server.email)
    page.fill("input[name=password]", server.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.app_url}/")
    page.close()
    return browser
