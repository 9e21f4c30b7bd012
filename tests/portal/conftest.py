"""Fixtures for the portal's browser tests: Debian's Chromium driven by Playwright (never
Playwright's own browsers), a fleet of real small peers reporting to the real Big Peer that the
`big_peer` fixture (smallpeer.testing) starts, and a logged-in page at a 1280x800 viewport."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

from smallpeer import Ditto, SyncScope
from smallpeer.testing import BigPeer

CHROMIUM = os.environ.get("SMALLPEER_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
# The names the fleet's devices report; tests find devices by them.
FLEET_NAMES = ["portal-alpha", "portal-beta", "portal-gamma"]


def screenshot_dir() -> Path:
    """Where screenshots go: $SMALLPEER_SCREENSHOTS, else build/dev/screenshots."""
    path = Path(os.environ.get("SMALLPEER_SCREENSHOTS", ROOT / "build" / "dev" / "screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver for the whole run."""
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium (the sandbox needs user namespaces, which containers often lack)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium or set SMALLPEER_CHROMIUM")
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
    yield b
    b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page (own cookies) at 1280x800; fails the test on any script error or CSP violation."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    p = context.new_page()
    problems: List[str] = []
    p.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    # A CSP violation is reported on the console only.
    p.on(
        "console",
        lambda m: problems.append(f"CSP violation: {m.text}") if "Content Security Policy" in m.text else None,
    )
    yield p
    context.close()
    assert not problems, "\n".join(problems)


def log_in(page: Page, big_peer: BigPeer) -> None:
    """Logs in through the login page with the admin token and waits for the dashboard."""
    page.goto(big_peer.url + "/login.html")
    page.get_by_label("Admin token").fill(big_peer.admin_token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(big_peer.url + "/")


Fleet = Dict[str, Ditto]


@pytest.fixture
def fleet(big_peer: BigPeer, small_peer: Callable[..., Ditto]) -> Fleet:
    """Three real small peers with Small Peer Info on (BigPeerOnly), by device name, each report stored."""
    devices: Fleet = {}
    for name in FLEET_NAMES:
        ditto = small_peer(device_name=name)
        ditto.small_peer_info.is_enabled = True
        ditto.small_peer_info.sync_scope = SyncScope.BIG_PEER_ONLY
        devices[name] = ditto
    deadline = time.monotonic() + 30
    for name, ditto in devices.items():
        remaining = max(1.0, deadline - time.monotonic())

        def named(doc: Dict[str, Any], wanted: str = name) -> bool:
            return bool(doc["document"].get("device_name") == wanted)

        doc = big_peer.wait_for_document(
            "__small_peer_info", ditto.presence.local_peer_key, timeout=remaining, predicate=named
        )
        assert doc is not None, f"{name}'s Small Peer Info document did not reach the Big Peer"
    return devices
