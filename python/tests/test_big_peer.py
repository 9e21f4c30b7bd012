"""The two documented lines of SPEC, against a live Big Peer started by the smallpeer.testing plugin."""

from __future__ import annotations

import gzip
import time

import pytest

import smallpeer
from smallpeer import LogLevel, SyncScope
from smallpeer.testing import BigPeer, SmallPeerFactory


def test_documented_lines_reach_big_peer(big_peer: BigPeer, small_peer: SmallPeerFactory) -> None:
    ditto = small_peer(device_name="python-documented-lines")
    ditto.small_peer_info.metadata = {"site": "north"}

    ditto.small_peer_info.is_enabled = True
    ditto.small_peer_info.sync_scope = SyncScope.BIG_PEER_ONLY

    key = ditto.presence.local_peer_key
    found = big_peer.wait_for_document("__small_peer_info", key, timeout=30)
    assert found is not None, "\n".join(big_peer.output)
    doc = found["document"]
    assert doc["_id"] == key
    assert doc["ditto_sdk_language"] == "Python"
    assert doc["device_name"] == "python-documented-lines"
    assert doc["metadata"] == {"site": "north"}
    assert ditto.presence.is_connected_to_big_peer


def test_local_peer_only_stays_local(big_peer: BigPeer, small_peer: SmallPeerFactory) -> None:
    ditto = small_peer()
    ditto.small_peer_info.is_enabled = True
    ditto.small_peer_info.collect_now()
    assert big_peer.wait_for_document("__small_peer_info", ditto.presence.local_peer_key, timeout=2) is None


def test_wrong_app_token_is_refused(big_peer: BigPeer, tmp_path: object) -> None:
    import time
    from pathlib import Path

    from smallpeer import BigPeerConnectionEvent, ConnectConfig, Ditto, Identity, TransportConfig

    assert isinstance(tmp_path, Path)
    with Ditto(str(tmp_path / "p"), identity=Identity.online_playground(big_peer.app_id, "wrong")) as d:
        d.transport_config = TransportConfig(ConnectConfig(websocket_urls=[big_peer.sync_url]))
        d.start_sync()
        deadline = time.monotonic() + 10
        history: list[BigPeerConnectionEvent] = []
        while time.monotonic() < deadline:
            history = d.presence.graph.big_peer_connection_history
            if any(h.reason for h in history):
                break
            time.sleep(0.1)
        assert any(h.reason for h in history), history
        assert not d.presence.is_connected_to_big_peer


def test_send_logs_reaches_big_peer(big_peer: BigPeer, small_peer: SmallPeerFactory) -> None:
    ditto = small_peer(device_name="support-button")
    marker = f"the user pressed send logs {time.time_ns()}"
    ditto.log(LogLevel.ERROR, marker)
    request_id = ditto.send_logs(minimum_log_level=LogLevel.WARNING)
    assert request_id.startswith("dev_")
    deadline = time.monotonic() + 30
    state = None
    while time.monotonic() < deadline:
        state = big_peer.get(f"/api/v1/log-requests/{request_id}")
        if state is not None and state["state"] == "ready":
            break
        time.sleep(0.1)
    assert state is not None and state["state"] == "ready", (state, "\n".join(big_peer.output))
    assert state["requested_by"] == "device"
    lines = gzip.decompress(big_peer.get_bytes(state["download_url"])).decode()
    assert marker in lines


def test_send_logs_refuses_bad_options(small_peer: SmallPeerFactory) -> None:
    ditto = small_peer(start_sync=False)
    with pytest.raises(smallpeer.InvalidArgumentError, match="unknown log level"):
        LogLevel.from_name("loud")
    with pytest.raises(smallpeer.InvalidArgumentError, match="minimum_log_level must be a LogLevel"):
        ditto.send_logs(minimum_log_level="warning")  # type: ignore[arg-type]
    with pytest.raises(smallpeer.InvalidArgumentError, match="max_bytes"):
        ditto.send_logs(max_bytes=0)
