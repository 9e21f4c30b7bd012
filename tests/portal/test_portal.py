"""The portal in a real headless Chromium against a real Big Peer and real small peers: login and
its refusals, the Device Dashboard, the device page, the Data Browser, the fleet charts, keyboard
use and labels, the log-request flow from the dialog to the downloaded bundle, and revoking a
device on the enrollment page with its audit entry listed on the audit log page."""

from __future__ import annotations

import csv
import gzip
import io
import json
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from playwright.sync_api import Page, expect

from smallpeer import LogLevel
from smallpeer.testing import BigPeer

from conftest import FLEET_NAMES, Fleet, log_in, screenshot_dir

Response = Tuple[int, Dict[str, str], bytes]
PAGES = ["/", "/charts.html", "/data.html", "/enrollments.html", "/admin-devices.html", "/audit.html", "/login.html"]


def http(
    big_peer: BigPeer, method: str, path: str, body: Optional[Any] = None, headers: Optional[Dict[str, str]] = None
) -> Response:
    """One request to the Big Peer without a browser; returns status, headers (lower-case names) and body."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(big_peer.url + path, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def error_of(body: bytes) -> Dict[str, str]:
    error: Dict[str, str] = json.loads(body)["error"]
    return error


# --- refusals, cookie and headers (no browser needed) ---


def test_api_calls_without_the_cookie_or_token_get_401(big_peer: BigPeer) -> None:
    for path in ["/api/v1/devices", "/api/v1/collections", "/api/v1/fleet/history"]:
        status, headers, body = http(big_peer, "GET", path)
        assert status == 401, path
        assert error_of(body)["code"] == "unauthorized"
        assert headers["content-type"] == "application/json"
    status, _, body = http(big_peer, "GET", "/api/v1/devices", headers={"Cookie": "sp_session=forged"})
    assert status == 401 and error_of(body)["code"] == "unauthorized"


def test_a_wrong_token_is_refused_by_the_session_endpoint(big_peer: BigPeer) -> None:
    status, headers, body = http(big_peer, "POST", "/api/v1/session", {"token": big_peer.admin_token + "x"})
    assert status == 401
    assert error_of(body) == {"code": "unauthorized", "message": "wrong admin token"}
    assert "set-cookie" not in headers
    status, _, body = http(big_peer, "POST", "/api/v1/session", {"tok": "x"})
    assert status == 400 and "token must be a non-empty string" in error_of(body)["message"]
    status, _, body = http(big_peer, "GET", "/api/v1/session")
    assert status == 401, "the session's CSRF token needs the session"


def test_login_sets_an_httponly_samesite_strict_cookie_that_logout_ends(big_peer: BigPeer) -> None:
    status, headers, _ = http(big_peer, "POST", "/api/v1/session", {"token": big_peer.admin_token})
    assert status == 204
    cookie = headers["set-cookie"]
    attributes = [a.strip() for a in cookie.split(";")]
    assert attributes[0].startswith("sp_session=") and len(attributes[0]) > len("sp_session=") + 40
    assert "HttpOnly" in attributes and "SameSite=Strict" in attributes and "Path=/" in attributes
    assert big_peer.admin_token not in cookie
    session = {"Cookie": attributes[0]}
    status, headers, _ = http(big_peer, "GET", "/api/v1/devices", headers=session)
    assert status == 200 and headers["cache-control"] == "no-store"
    status, headers, _ = http(big_peer, "DELETE", "/api/v1/session", headers=session)
    assert status == 204 and "Max-Age=0" in headers["set-cookie"]
    status, _, _ = http(big_peer, "GET", "/api/v1/devices", headers=session)
    assert status == 401


def test_pages_and_assets_have_content_types_and_security_headers(big_peer: BigPeer) -> None:
    expected = {
        "/": "text/html; charset=utf-8",
        "/device.html": "text/html; charset=utf-8",
        "/assets/style.css": "text/css; charset=utf-8",
        "/assets/dashboard.js": "text/javascript; charset=utf-8",
        "/assets/vendor/chart.min.js": "text/javascript; charset=utf-8",
    }
    for path, content_type in expected.items():
        status, headers, body = http(big_peer, "GET", path)
        assert status == 200, path
        assert headers["content-type"] == content_type, path
        assert headers["x-content-type-options"] == "nosniff"
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe" not in csp
        assert body
    _, _, chart = http(big_peer, "GET", "/assets/vendor/chart.min.js")
    with open("/usr/share/javascript/chart.js/chart.min.js", "rb") as f:
        assert chart == f.read()
    status, headers, _ = http(big_peer, "GET", "/api/v1/health")
    assert headers["x-content-type-options"] == "nosniff" and headers["cache-control"] == "no-store"
    status, _, _ = http(big_peer, "GET", "/no-such-page.html")
    assert status == 404


# --- the browser ---


def test_a_wrong_token_is_refused_at_login(page: Page, big_peer: BigPeer) -> None:
    page.goto(big_peer.url + "/")
    page.wait_for_url("**/login.html?next=%2F")
    page.get_by_label("Admin token").fill("not-the-token")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Login refused: wrong admin token")
    assert page.url.startswith(big_peer.url + "/login.html")
    assert page.context.cookies() == []


def test_the_dashboard_lists_the_fleet_with_search_filters_sorting_and_live_updates(
    page: Page, big_peer: BigPeer, fleet: Fleet, small_peer: Any
) -> None:
    log_in(page, big_peer)
    rows = page.locator("#devices tbody tr[data-peer-key]")
    expect(rows).to_have_count(3)
    for name, ditto in fleet.items():
        row = page.locator(f'#devices tbody tr[data-peer-key="{ditto.presence.local_peer_key}"]')
        expect(row.get_by_role("link", name=name)).to_be_visible()
        expect(row).to_contain_text("Online")
        expect(row).to_contain_text("Python")
        expect(row).to_contain_text("BigPeerOnly")
        expect(row).to_contain_text(ditto.presence.local_peer_key[:12])
    page.screenshot(path=str(screenshot_dir() / "dashboard.png"))

    page.get_by_label("Search").fill("BETA")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("portal-beta")
    page.get_by_label("Search").fill(fleet["portal-gamma"].presence.local_peer_key[:16])
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("portal-gamma")
    page.get_by_label("Search").fill("")
    page.get_by_label("Connection").select_option("offline")
    expect(page.locator("#devices tbody")).to_contain_text("No device matches.")
    page.get_by_label("Connection").select_option("online")
    expect(rows).to_have_count(3)
    page.get_by_label("Platform").select_option("Linux")
    expect(rows).to_have_count(3)
    sdk_options = page.get_by_label("SDK version").locator("option").all_inner_texts()
    assert len(sdk_options) == 2 and sdk_options[0] == "All"

    # Sorted by name ascending at first; the header button reverses it.
    expect(rows.first).to_contain_text("portal-alpha")
    page.get_by_role("button", name="Device name").click()
    expect(rows.first).to_contain_text("portal-gamma")
    expect(page.locator("th", has=page.get_by_role("button", name="Device name"))).to_have_attribute(
        "aria-sort", "descending"
    )

    page.get_by_label("Per page").select_option("10")
    expect(page.locator("#page-info")).to_have_text("Page 1 of 1")

    # Live: a device that appears later shows up without a reload.
    late = small_peer(device_name="portal-delta")
    late.small_peer_info.is_enabled = True
    expect(page.get_by_role("link", name="portal-delta")).to_be_visible(timeout=30_000)


def test_the_dashboard_row_menu_opens_requests_logs_and_copies_the_peer_key(
    page: Page, big_peer: BigPeer, fleet: Fleet
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=big_peer.url)
    log_in(page, big_peer)
    alpha = fleet["portal-alpha"].presence.local_peer_key
    menu = page.get_by_role("menu")
    actions = page.get_by_role("button", name="Actions for portal-alpha")
    actions.click()
    expect(menu).to_be_visible()
    expect(actions).to_have_attribute("aria-expanded", "true")
    expect(menu.get_by_role("menuitem")).to_have_text(["Open", "Request logs", "Copy peer key"])
    expect(menu.get_by_role("menuitem", name="Open")).to_be_focused()
    page.screenshot(path=str(screenshot_dir() / "dashboard-row-menu.png"))
    # The menu survives the table's refresh (every 3 s), and Escape closes it, back on its button.
    page.wait_for_timeout(3500)
    expect(menu).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(actions).to_be_focused()

    actions.click()
    menu.get_by_role("menuitem", name="Request logs").click()
    expect(page.locator("#status")).to_contain_text("Requested logs from portal-alpha")
    requests = big_peer.get(f"/api/v1/devices/{alpha}/log-requests")["log_requests"]
    assert len(requests) == 1 and requests[0]["peer_key"] == alpha

    actions.click()
    menu.get_by_role("menuitem", name="Copy peer key").click()
    expect(page.locator("#status")).to_contain_text("Copied the peer key of portal-alpha")
    assert page.evaluate("navigator.clipboard.readText()") == alpha

    actions.click()
    menu.get_by_role("menuitem", name="Open").click()
    page.wait_for_url(f"**/device.html?key={alpha}")


def test_a_device_that_stops_reporting_is_stale_filterable_exported_and_kept_in_the_url(
    page: Page, big_peer: BigPeer, fleet: Fleet
) -> None:
    # portal-gamma reports every second, then stops (still connected): after two intervals it is stale.
    gamma = fleet["portal-gamma"]
    gamma.small_peer_info.collection_interval = timedelta(seconds=1)
    gamma.small_peer_info.collect_now()
    assert big_peer.wait_for_document(
        "__small_peer_info",
        gamma.presence.local_peer_key,
        predicate=lambda doc: bool(doc["document"].get("collection_interval_ms") == 1000),
    )
    gamma.small_peer_info.is_enabled = False
    log_in(page, big_peer)
    rows = page.locator("#devices tbody tr[data-peer-key]")
    expect(page.locator("#summary")).to_have_text("3 devices · 3 online · 1 stale", timeout=15_000)
    page.get_by_label("Connection").select_option("stale")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("portal-gamma")
    expect(rows.first.locator(".badge.stale")).to_have_text("Stale")
    expect(rows.first).to_contain_text("Online")
    # Free disk and last report age are columns, sortable.
    page.get_by_label("Connection").select_option("")
    page.get_by_role("button", name="Free disk").click()
    expect(page.locator("th", has=page.get_by_role("button", name="Free disk"))).to_have_attribute(
        "aria-sort", "ascending"
    )
    assert all(cell.endswith("B") for cell in rows.locator("td:nth-child(8)").all_inner_texts())
    page.get_by_role("button", name="Last report").click()
    page.get_by_role("button", name="Last report").click()
    expect(page.locator("th", has=page.get_by_role("button", name="Last report"))).to_have_attribute(
        "aria-sort", "descending"
    )
    page.get_by_label("Connection").select_option("stale")
    page.screenshot(path=str(screenshot_dir() / "dashboard-stale.png"))
    # The view is in the URL: a reload (or a shared link) shows the same filter and sort.
    assert "connection=stale" in page.url and "sort=report" in page.url and "order=desc" in page.url
    page.reload()
    expect(page.get_by_label("Connection")).to_have_value("stale")
    expect(rows).to_have_count(1)
    # CSV of the current view: only the stale device.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("devices-") and download.suggested_filename.endswith(".csv")
    path = screenshot_dir().parent / "portal-csv" / download.suggested_filename
    download.save_as(str(path))
    table = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [r["device_name"] for r in table] == ["portal-gamma"]
    assert table[0]["peer_key"] == gamma.presence.local_peer_key
    assert table[0]["stale"] == "true" and table[0]["online"] == "true"
    assert int(table[0]["disk_available_bytes"]) > 0


def test_the_dashboard_filters_on_a_metadata_key_and_on_a_dql_condition(
    page: Page, big_peer: BigPeer, fleet: Fleet
) -> None:
    report_sites(big_peer, fleet)
    log_in(page, big_peer)
    rows = page.locator("#devices tbody tr[data-peer-key]")
    expect(rows).to_have_count(3)
    # The keys and values offered are the ones the fleet reports.
    expect(page.get_by_label("Metadata key").locator("option")).to_have_text(["Any", "site"])
    expect(page.get_by_label("Metadata value")).to_be_disabled()
    page.get_by_label("Metadata key").select_option("site")
    expect(page.get_by_label("Metadata value").locator("option")).to_have_text(["Any", "north", "south"])
    page.get_by_label("Metadata value").select_option("north")
    expect(rows).to_have_count(2)
    assert "meta_key=site" in page.url and "meta_value=north" in page.url
    page.get_by_label("Metadata key").select_option("")
    expect(rows).to_have_count(3)

    advanced = page.get_by_label("Advanced: a DQL condition on __small_peer_info (docs/QUERY.md)")
    advanced.fill("metadata.site = 'south' AND device_disk_usage.device_available > 0")
    advanced.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("portal-gamma")
    page.screenshot(path=str(screenshot_dir() / "dashboard-advanced-filter.png"))
    page.reload()
    expect(advanced).to_have_value("metadata.site = 'south' AND device_disk_usage.device_available > 0")
    expect(rows).to_have_count(1)
    # A bad condition is named, and filters nothing.
    advanced.fill("metadata.site =")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert").filter(has_text="Advanced filter")).to_contain_text("at the end of the condition")
    advanced.fill("metadata.site = 'north' AND # 1")
    advanced.press("Enter")
    expect(page.get_by_role("alert").filter(has_text="Advanced filter")).to_contain_text(
        "unexpected character '#' at position 29"
    )
    expect(rows).to_have_count(3)


@pytest.mark.parametrize("big_peer", [["--query-max-rows", "1"]], indirect=True)
def test_the_dashboard_pages_its_queries_past_the_big_peers_row_cap(
    page: Page, big_peer: BigPeer, fleet: Fleet
) -> None:
    """With a row cap of 1, every query the dashboard sends is cut to one item: it must follow the
    pages to see the whole fleet, and stop (with a message) when a condition escapes the page bound."""
    report_sites(big_peer, fleet)
    queries: List[str] = []
    page.on(
        "request",
        lambda r: (
            queries.append(json.loads(r.post_data or "{}").get("query", ""))
            if r.url.endswith("/api/v1/query")
            else None
        ),
    )
    log_in(page, big_peer)
    rows = page.locator("#devices tbody tr[data-peer-key]")
    expect(rows).to_have_count(3)
    page.get_by_label("Metadata key").select_option("site")
    expect(page.get_by_label("Metadata value").locator("option")).to_have_text(["Any", "north", "south"])
    advanced = page.get_by_label("Advanced: a DQL condition on __small_peer_info (docs/QUERY.md)")
    advanced.fill("metadata.site = 'north'")
    advanced.press("Enter")
    expect(rows).to_have_count(2)
    assert all("_id > :page_after" in q and "OFFSET" not in q for q in queries), queries
    # Three devices at one row a page: three metadata queries (the first two say truncated) per refresh.
    assert sum(1 for q in queries if q.startswith("SELECT _id, metadata")) >= 3
    advanced.fill("metadata.site = 'north') OR (_id IS NOT MISSING")
    advanced.press("Enter")
    expect(page.get_by_role("alert").filter(has_text="Advanced filter")).to_contain_text(
        "the condition's parentheses do not balance"
    )
    expect(rows).to_have_count(3)


def test_the_device_page_shows_the_spi_json_history_and_metadata(page: Page, big_peer: BigPeer, fleet: Fleet) -> None:
    fleet["portal-beta"].small_peer_info.metadata = {"site": "depot-7"}
    fleet["portal-beta"].small_peer_info.collect_now()
    key = fleet["portal-beta"].presence.local_peer_key
    assert big_peer.wait_for_document(
        "__small_peer_info", key, predicate=lambda d: d["document"].get("metadata") == {"site": "depot-7"}
    )
    log_in(page, big_peer)
    page.get_by_role("link", name="portal-beta").click()
    page.wait_for_url(f"**/device.html?key={key}")
    expect(page.get_by_role("heading", level=1)).to_have_text("portal-beta")
    expect(page.locator("#spi")).to_contain_text('"device_name": "portal-beta"')
    spi = json.loads(page.locator("#spi").inner_text())
    assert spi["_id"] == key and spi["sync_scope"] == "BigPeerOnly"
    assert json.loads(page.locator("#metadata").inner_text()) == {"site": "depot-7"}
    expect(page.locator("#history tbody")).to_contain_text("connected")
    expect(page.locator("#summary")).to_contain_text(key)
    page.screenshot(path=str(screenshot_dir() / "device.png"), full_page=True)

    # The dialog opens with its labelled controls and closes with Escape.
    page.get_by_role("button", name="Request logs…").click()
    dialog = page.get_by_role("dialog", name="Request logs")
    expect(dialog).to_be_visible()
    for label in ["Minimum level", "From", "To", "Size cap in KiB (optional, at least 1)"]:
        expect(dialog.get_by_label(label)).to_be_visible()
    expect(dialog.get_by_label("Minimum level")).to_be_focused()
    dialog.get_by_label("Size cap in KiB (optional, at least 1)").fill("0")
    dialog.get_by_role("button", name="Request").click()
    expect(dialog.get_by_role("alert")).to_contain_text("at least 1")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_the_device_page_charts_its_reports_and_counts_the_missed_ones(
    page: Page, big_peer: BigPeer, fleet: Fleet
) -> None:
    device = fleet["portal-gamma"]
    key = device.presence.local_peer_key
    # Only collect_now writes from here: enabled, the device also writes a report 1 s after its
    # connection changes (start_sync below), which could land after the history read.
    device.small_peer_info.is_enabled = False

    def arrived(sequence: int) -> None:
        assert big_peer.wait_for_document(
            "__small_peer_info", key, predicate=lambda d: d["document"].get("sequence", -1) >= sequence
        ), f"report {sequence} did not reach the Big Peer"

    for _ in range(2):
        arrived(int(device.small_peer_info.collect_now()["sequence"]))
    # Offline, the device keeps writing reports; back online it sends only its newest: the rest are missed.
    device.stop_sync()
    device.small_peer_info.collect_now()
    device.small_peer_info.collect_now()
    device.start_sync()
    arrived(int(device.small_peer_info.collect_now()["sequence"]))
    history = big_peer.get(f"/api/v1/devices/{key}/history")
    reports = history["reports"]
    assert history["missed"] >= 1, history
    assert history["missed"] == sum(r.get("missed_before", 0) for r in reports)
    gaps = [r for r in reports if r.get("missed_before")]
    assert all(r["disk"]["device_available"] > 0 for r in reports)

    log_in(page, big_peer)
    page.goto(f"{big_peer.url}/device.html?key={key}")
    status = page.locator("#reports-status")
    expect(status).to_contain_text(f"{len(reports)} reports received in the last 24 hours, {history['missed']} missed")
    expect(page.locator("#disk-chart")).to_be_visible()
    expect(page.locator("#connections-chart")).to_be_visible()
    # Each chart has a point per report and a null point (a break in the line) per run of missed reports.
    for chart in ["disk-chart", "connections-chart"]:
        points = page.evaluate(f"Chart.getChart('{chart}').data.datasets[0].data")
        assert len(points) == len(reports) + len(gaps)
        assert points.count(None) >= len(gaps)
    labels = page.evaluate("Chart.getChart('disk-chart').data.labels")
    assert [label for label in labels if label.endswith("missed")] == [f"{r['missed_before']} missed" for r in gaps]
    page.get_by_text("Data (newest first)").click()
    table = page.locator("#reports-data tbody tr")
    expect(table).to_have_count(len(reports))
    expect(table.first).to_contain_text(str(reports[-1]["sequence"]))
    page.locator("#reports-heading").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir() / "device-history.png"), full_page=True)


def test_the_data_browser_lists_collections_and_shows_a_document(page: Page, big_peer: BigPeer, fleet: Fleet) -> None:
    cars = fleet["portal-alpha"].store.collection("cars")
    cars.upsert({"_id": "car-1", "make": "Volvo", "year": 2021})
    cars.upsert({"_id": "car-2", "make": "Saab"})
    assert big_peer.wait_for_document("cars", "car-1") and big_peer.wait_for_document("cars", "car-2")
    log_in(page, big_peer)
    page.get_by_role("link", name="Data").click()
    collections = page.locator("#collections")
    expect(collections.get_by_role("button", name="cars (2)")).to_be_visible()
    expect(collections.get_by_role("button", name="__small_peer_info (system)")).to_be_visible()
    collections.get_by_role("button", name="cars (2)").click()
    documents = page.locator("#documents")
    expect(documents.get_by_role("button")).to_have_count(2)
    documents.get_by_role("button", name="car-1").click()
    expect(page.locator("#document")).to_contain_text('"make": "Volvo"')
    assert json.loads(page.locator("#document").inner_text()) == {"_id": "car-1", "make": "Volvo", "year": 2021}
    # The choice is in the URL, so a reload shows the same document.
    page.reload()
    expect(page.locator("#document")).to_contain_text('"make": "Volvo"')


SITES = {"portal-alpha": "north", "portal-beta": "north", "portal-gamma": "south"}


def report_sites(big_peer: BigPeer, fleet: Fleet) -> None:
    """Each device of the fleet reports SITES[name] as metadata.site; returns once the Big Peer has every report."""
    for name, site in SITES.items():
        ditto = fleet[name]
        ditto.small_peer_info.metadata = {"site": site}
        ditto.small_peer_info.collect_now()

        def reports(doc: Dict[str, Any], wanted: str = site) -> bool:
            return bool(doc["document"].get("metadata", {}).get("site") == wanted)

        assert big_peer.wait_for_document("__small_peer_info", ditto.presence.local_peer_key, predicate=reports), (
            f"{name}'s site did not reach the Big Peer"
        )


def test_the_data_browser_runs_a_query_as_a_table_and_as_json_and_names_a_bad_one(
    page: Page, big_peer: BigPeer, fleet: Fleet
) -> None:
    # Each device reports its site in its metadata; the query filters on it.
    report_sites(big_peer, fleet)
    log_in(page, big_peer)
    page.get_by_role("link", name="Data").click()
    query = "SELECT device_name, metadata.site FROM __small_peer_info WHERE metadata.site = :site ORDER BY device_name DESC LIMIT 1"
    page.get_by_label("DQL query").fill(query)
    page.get_by_label("Arguments (a JSON object, optional)").fill('{"site": "north"}')
    page.get_by_role("button", name="Run query").click()
    expect(page.locator("#query-status")).to_have_text("1 item.")
    table = page.locator("#query-table table")
    expect(table.locator("th")).to_have_text(["device_name", "site"])
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody td")).to_have_text(["portal-beta", "north"])
    page.screenshot(path=str(screenshot_dir() / "data-query.png"), full_page=True)
    # The same items as JSON, and the same as the HTTP API gives.
    page.get_by_role("radio", name="JSON").check()
    expect(page.locator("#query-json")).to_be_visible()
    shown = json.loads(page.locator("#query-json").inner_text())
    assert shown == [{"device_name": "portal-beta", "site": "north"}]
    assert big_peer.post("/api/v1/query", {"query": query, "args": {"site": "north"}})["items"] == shown
    # The URL keeps the query, its arguments and the view: a reload runs it again.
    page.reload()
    expect(page.get_by_label("DQL query")).to_have_value(query)
    expect(page.locator("#query-json")).to_be_visible()
    assert json.loads(page.locator("#query-json").inner_text()) == shown
    # A bad query is named, with where it went wrong; bad arguments are caught before sending.
    page.get_by_label("DQL query").fill("SELECT * __small_peer_info")
    page.get_by_role("button", name="Run query").click()
    expect(page.locator("#query-error")).to_contain_text("expected FROM at position 10")
    expect(page.locator("#query-json")).to_be_hidden()
    page.get_by_label("DQL query").fill("SELECT * FROM __small_peer_info")
    page.get_by_label("Arguments (a JSON object, optional)").fill("{site: north}")
    page.get_by_role("button", name="Run query").click()
    expect(page.locator("#query-error")).to_contain_text("The arguments are not JSON")
    page.screenshot(path=str(screenshot_dir() / "data-query-error.png"), full_page=True)


def test_the_fleet_charts_draw_from_the_fleet_and_its_history(page: Page, big_peer: BigPeer, fleet: Fleet) -> None:
    history = big_peer.get("/api/v1/fleet/history")
    assert history["samples"], "the Big Peer samples the fleet at start"
    sample = history["samples"][0]
    assert set(sample) == {"t", "online", "total"} and sample["t"].endswith("Z")
    # The sampler (every 10 s) sees the fleet come online.
    deadline = time.monotonic() + 30
    while not any(s["online"] == 3 and s["total"] == 3 for s in big_peer.get("/api/v1/fleet/history")["samples"]):
        assert time.monotonic() < deadline, "no fleet history sample shows the three devices online"
        time.sleep(0.5)
    log_in(page, big_peer)
    page.get_by_role("link", name="Charts").click()
    expect(page.locator("#status")).to_contain_text("3 devices")
    newest = page.locator("#online-data tbody tr").first.locator("td")
    expect(newest.nth(1)).to_have_text("3")  # online
    expect(newest.nth(2)).to_have_text("3")  # total
    expect(page.locator("#platform-data")).to_contain_text("Linux")
    expect(page.locator("#platform-data tbody tr").first).to_contain_text("3")
    expect(page.locator("#sdk-data tbody tr")).to_have_count(1)
    expect(page.locator("#sdk-data tbody tr")).to_contain_text("Python")
    for canvas in ["#by-platform", "#by-sdk", "#online"]:
        drawn = page.evaluate(
            """(sel) => { const c = document.querySelector(sel); const ctx = c.getContext('2d');
                 const px = ctx.getImageData(0, 0, c.width, c.height).data;
                 for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) return true; return false; }""",
            canvas,
        )
        assert drawn, f"{canvas} is blank"
    page.screenshot(path=str(screenshot_dir() / "charts.png"))


def test_every_page_is_keyboard_usable_labelled_and_fits_1280x800(page: Page, big_peer: BigPeer, fleet: Fleet) -> None:
    # Log in with the keyboard only.
    page.goto(big_peer.url + "/login.html")
    expect(page.get_by_label("Admin token")).to_be_focused()
    page.keyboard.type(big_peer.admin_token)
    page.keyboard.press("Enter")
    page.wait_for_url(big_peer.url + "/")
    expect(page.get_by_role("link", name="portal-alpha")).to_be_visible()
    # Tab from the top: the skip link first, then on to the search box; Enter on a name opens the device.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "search":
            break
    expect(page.get_by_label("Search")).to_be_focused()
    page.keyboard.type("gamma")
    expect(page.locator("#devices tbody tr[data-peer-key]")).to_have_count(1)
    page.get_by_role("link", name="portal-gamma").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/device.html?key=*")
    expect(page.locator("#spi")).to_contain_text("portal-gamma")

    device_page = page.url.replace(big_peer.url, "")
    for path in PAGES + [device_page]:
        page.goto(big_peer.url + path)
        page.wait_for_load_state("networkidle")
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea, button')]
                 .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                              && !e.getAttribute('aria-labelledby') && !(e.tagName === 'BUTTON' && e.textContent.trim()))
                 .map(e => e.outerHTML)"""
        )
        assert unlabelled == [], f"{path}: {unlabelled}"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280, f"{path} is {width} px wide at a 1280x800 viewport"


def test_logs_are_requested_downloaded_and_hold_a_line_logged_after_the_test_started(
    page: Page, big_peer: BigPeer, fleet: Fleet
) -> None:
    started = datetime.now(timezone.utc)
    marker = f"portal-log-marker-{time.monotonic_ns()}"
    fleet["portal-gamma"].log(LogLevel.INFO, marker)
    log_in(page, big_peer)
    page.get_by_label("Search").fill("portal-gamma")
    page.get_by_role("link", name="portal-gamma").click()
    page.get_by_role("button", name="Request logs…").click()
    dialog = page.get_by_role("dialog", name="Request logs")
    dialog.get_by_label("Minimum level").select_option("debug")
    dialog.get_by_role("button", name="Request").click()
    expect(dialog).to_be_hidden()
    row = page.locator("#log-requests tbody tr[data-id]").first
    expect(row).to_have_attribute("data-state", "ready", timeout=60_000)
    expect(row.locator("progress")).to_have_attribute("aria-label", "Progress 100%")
    page.screenshot(path=str(screenshot_dir() / "device-log-request.png"), full_page=True)
    with page.expect_download() as info:
        row.get_by_role("link", name="Download").click()
    download = info.value
    assert download.suggested_filename.startswith("portal-gamma_") and download.suggested_filename.endswith(".jsonl.gz")
    path = screenshot_dir().parent / "portal-logs" / download.suggested_filename
    download.save_as(str(path))
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    found = [line for line in lines if line.get("msg") == marker]
    assert found, f"the bundle ({len(lines)} lines) lacks the line logged after the test started"
    assert found[0]["level"] == "info"
    assert datetime.fromisoformat(found[0]["ts"].replace("Z", "+00:00")) >= started.replace(microsecond=0)


def test_a_device_is_revoked_in_the_portal_and_the_audit_log_lists_it(
    page: Page, big_peer: BigPeer, fleet: Fleet
) -> None:
    device = fleet["portal-beta"]
    key = device.presence.local_peer_key
    log_in(page, big_peer)
    page.get_by_role("link", name="Enrollment").click()
    page.wait_for_url("**/enrollments.html")
    row = page.locator(f'#enrollments tbody tr[data-key="{key}"]')
    expect(row).to_have_attribute("data-state", "approved")
    row.get_by_role("button", name="Revoke portal-beta").click()
    expect(row).to_have_attribute("data-state", "revoked")
    expect(row.locator(".badge")).to_have_text("Revoked")
    expect(page.locator("#status")).to_contain_text("portal-beta is now revoked")
    page.screenshot(path=str(screenshot_dir() / "enrollments.png"), full_page=True)
    # The Big Peer refuses the device at its next handshake: it goes offline in the API.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, _, body = http(
            big_peer, "GET", f"/api/v1/devices/{key}", headers={"Authorization": f"Bearer {big_peer.admin_token}"}
        )
        if status == 200 and json.loads(body)["online"] is False:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the revoked device stayed online")

    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url("**/audit.html")
    entry = page.locator('#audit tbody tr[data-action="device.revoke"]').first
    expect(entry).to_contain_text(key)
    expect(entry).to_contain_text("session ")
    expect(entry).to_contain_text("127.0.0.1")
    expect(entry).to_contain_text("was approved")
    expect(page.locator('#audit tbody tr[data-action="login"]').first).to_be_visible()
    page.screenshot(path=str(screenshot_dir() / "audit.png"), full_page=True)

    # Allowed again from the portal, the device reconnects (the big_peer fixture is shared).
    page.get_by_role("link", name="Enrollment").click()
    row = page.locator(f'#enrollments tbody tr[data-key="{key}"]')
    row.get_by_role("button", name="Allow again portal-beta").click()
    expect(row).to_have_attribute("data-state", "approved")


def test_an_admin_device_is_granted_sees_the_fleet_and_is_revoked_in_the_portal(
    page: Page, big_peer: BigPeer, fleet: Fleet
) -> None:
    device = fleet["portal-gamma"]
    key = device.presence.local_peer_key
    others = {fleet[name].presence.local_peer_key for name in FLEET_NAMES}
    log_in(page, big_peer)
    page.get_by_role("link", name="Admin devices").click()
    page.wait_for_url("**/admin-devices.html")
    expect(page.locator("#signing-key")).to_contain_text("ask")

    # Bad input is named and grants nothing.
    page.get_by_role("button", name="Grant").click()
    expect(page.locator("#status")).to_have_text("Enter the peer key of the device to grant.")
    page.get_by_label("Device peer key").fill("pkbad")
    page.get_by_role("button", name="Grant").click()
    expect(page.locator("#status")).to_contain_text("The grant was refused: peer_key must be a peer key")
    expect(page.locator("#admin-devices tbody tr[data-grant]")).to_have_count(0)

    page.get_by_label("Device peer key").fill(key)
    page.get_by_label("For").select_option("30")
    page.get_by_label("Label").fill("IT tablet")
    page.get_by_role("button", name="Grant").click()
    expect(page.locator("#status")).to_contain_text("is an admin device until")
    row = page.locator(f'#admin-devices tbody tr[data-key="{key}"]')
    expect(row).to_have_attribute("data-state", "active")
    expect(row).to_contain_text("IT tablet")
    expect(row).to_contain_text("portal-gamma")

    # The device learns its grant over its sync session and receives the whole fleet.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        info = device.small_peer_info
        if info.is_admin_device and others <= {doc["_id"] for doc in info.fleet}:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"portal-gamma did not receive the fleet: {device.small_peer_info.fleet}")
    page.reload()
    expect(row.locator(".badge.online")).to_be_visible()
    page.screenshot(path=str(screenshot_dir() / "admin-devices.png"), full_page=True)

    row.get_by_role("button", name="Revoke portal-gamma").click()
    expect(row).to_have_attribute("data-state", "revoked")
    expect(page.locator("#status")).to_contain_text("portal-gamma is no longer an admin device")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and device.small_peer_info.is_admin_device:
        time.sleep(0.2)
    assert not device.small_peer_info.is_admin_device
    assert device.small_peer_info.fleet == []

    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url("**/audit.html")
    expect(page.locator('#audit tbody tr[data-action="admin_device.grant"]').first).to_contain_text(key)
    expect(page.locator('#audit tbody tr[data-action="admin_device.revoke"]').first).to_be_visible()


# A page of another origin on the same host: another port of 127.0.0.1, the same site for
# SameSite=Strict. Its script tries the log-request POST with the operator's cookie two ways: the
# "simple" no-cors text/plain request the browser sends without asking (issue 17, finding 4), and a
# CORS JSON request that needs a preflight the Big Peer never grants.
ELSEWHERE_PAGE = b"""<!doctype html><meta charset="utf-8"><title>elsewhere</title>
<script>
window.attack = async (target) => {
  const results = [];
  try {
    const r = await fetch(target, { method: "POST", mode: "no-cors", credentials: "include",
                                    headers: { "Content-Type": "text/plain" }, body: "{}" });
    results.push("no-cors sent: " + r.type);
  } catch (e) {
    results.push("no-cors failed");
  }
  try {
    const r = await fetch(target, { method: "POST", mode: "cors", credentials: "include",
                                    headers: { "Content-Type": "application/json" }, body: "{}" });
    results.push("cors answered: " + r.status);
  } catch (e) {
    results.push("cors blocked");
  }
  return results;
};
</script>
<p>Nothing to see here.</p>
"""


class ElsewhereHandler(BaseHTTPRequestHandler):
    """Serves ELSEWHERE_PAGE for any GET."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(ELSEWHERE_PAGE)))
        self.end_headers()
        self.wfile.write(ELSEWHERE_PAGE)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture
def elsewhere() -> Iterator[str]:
    """A tiny http.server on another port of 127.0.0.1 (chosen by the OS), stopped after the test;
    yields its page's URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), ElsewhereHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_page_on_another_port_cannot_post_with_the_operators_cookie(
    page: Page, big_peer: BigPeer, fleet: Fleet, elsewhere: str
) -> None:
    key = fleet["portal-beta"].presence.local_peer_key
    target = f"{big_peer.url}/api/v1/devices/{key}/log-requests"
    bearer = {"Authorization": f"Bearer {big_peer.admin_token}"}
    log_in(page, big_peer)
    assert elsewhere.split(":")[2] != big_peer.url.split(":")[2], "another port of the same host"
    page.goto(elsewhere)
    statuses: List[Tuple[str, int]] = []
    page.on("response", lambda r: statuses.append((r.request.method, r.status)) if "/log-requests" in r.url else None)
    with page.expect_response(lambda r: r.request.method == "POST" and "/log-requests" in r.url) as posted:
        results = page.evaluate("(target) => window.attack(target)", target)
    assert results == ["no-cors sent: opaque", "cors blocked"], results
    # The cookie went along (SameSite=Strict does not stop another port of the same host): the
    # answer is the CSRF refusal, not 401 (an opaque response's body cannot be read back).
    assert posted.value.status == 403, f"the cross-site POST got {posted.value.status}"
    assert all(method != "POST" or status == 403 for method, status in statuses), statuses
    status, _, body = http(big_peer, "GET", f"/api/v1/devices/{key}/log-requests", headers=bearer)
    assert status == 200 and json.loads(body)["log_requests"] == [], "no log request was created from the other page"

    # The portal's own Request logs, with the same cookie, still works.
    page.goto(big_peer.url + "/")
    page.get_by_label("Search").fill("portal-beta")
    page.get_by_role("link", name="portal-beta").click()
    page.get_by_role("button", name="Request logs…").click()
    dialog = page.get_by_role("dialog", name="Request logs")
    with page.expect_response(lambda r: r.request.method == "POST" and "/log-requests" in r.url) as own:
        dialog.get_by_role("button", name="Request").click()
    assert own.value.status == 202, own.value.text()
    expect(dialog).to_be_hidden()
    expect(page.locator("#log-requests tbody tr[data-id]")).to_have_count(1)
    page.screenshot(path=str(screenshot_dir() / "device-log-request-csrf.png"), full_page=True)
    status, _, body = http(big_peer, "GET", f"/api/v1/devices/{key}/log-requests", headers=bearer)
    requests = json.loads(body)["log_requests"]
    assert status == 200 and len(requests) == 1 and requests[0]["requested_by"] == "admin", requests
