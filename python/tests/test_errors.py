"""SPEC section 9 error cases that apply to SDK calls, use after close, and wrong Python types (which
raise InvalidArgumentError, a DittoError, never a bare TypeError)."""

from __future__ import annotations

import datetime
import os
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

import smallpeer
from smallpeer import (
    ClosedError,
    ConnectConfig,
    Ditto,
    DittoError,
    DittoLogger,
    InvalidArgumentError,
    LockedError,
    LogLevel,
    SyncScope,
    TransportConfig,
    ValidationError,
)


@pytest.fixture
def ditto(tmp_path: Path) -> Iterator[Ditto]:
    d = Ditto(str(tmp_path / "peer"))
    yield d
    d.close()


def nested(depth: int) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for _ in range(depth - 1):
        doc = {"a": doc}
    return doc


def test_error_hierarchy() -> None:
    assert issubclass(ValidationError, DittoError) and issubclass(ValidationError, ValueError)
    assert issubclass(InvalidArgumentError, DittoError)
    assert issubclass(InvalidArgumentError, ValueError) and issubclass(InvalidArgumentError, TypeError)
    assert issubclass(ClosedError, DittoError) and issubclass(LockedError, DittoError)


@pytest.mark.parametrize("bad", ["[1,2]", '"text"', "42", "null", "{not json"])
def test_metadata_not_an_object(ditto: Ditto, bad: str) -> None:
    ditto.small_peer_info.metadata = {"keep": 1}
    with pytest.raises(DittoError) as info:
        ditto.small_peer_info.metadata_json_string = bad
    assert info.value.code in (1, 2)
    assert isinstance(info.value, ValueError)
    assert info.value.message
    assert ditto.small_peer_info.metadata == {"keep": 1}


def test_metadata_that_is_not_a_json_object(ditto: Ditto) -> None:
    # Ditto's validation error, as the engine says for an array or broken JSON text.
    with pytest.raises(ValidationError):
        ditto.small_peer_info.metadata = [1, 2]  # type: ignore[assignment]
    with pytest.raises(ValidationError):
        ditto.small_peer_info.metadata = {"x": object()}
    with pytest.raises(ValidationError):
        ditto.small_peer_info.metadata = {"x": float("nan")}


def test_text_that_is_not_utf8_or_holds_nul(ditto: Ditto) -> None:
    ditto.small_peer_info.metadata = {"keep": 1}
    with pytest.raises(InvalidArgumentError, match="UTF-8"):
        ditto.small_peer_info.metadata_json_string = '{"k":"\ud800"}'
    with pytest.raises(InvalidArgumentError, match="UTF-8"):
        ditto.small_peer_info.metadata = {"k": "\ud800"}
    with pytest.raises(InvalidArgumentError, match="NUL"):
        ditto.device_name = "a\x00b"
    with pytest.raises(InvalidArgumentError, match="UTF-8"):
        ditto.store.collection("cars").upsert({"_id": "\udfff"})
    assert ditto.small_peer_info.metadata == {"keep": 1}


def test_metadata_over_128_kb(ditto: Ditto) -> None:
    ditto.small_peer_info.metadata = {"keep": 1}
    with pytest.raises(ValidationError) as info:
        ditto.small_peer_info.metadata = {"blob": "x" * (128 * 1024)}
    assert info.value.code == smallpeer.errors.ERR_VALIDATION
    assert "128" in str(info.value)
    assert ditto.small_peer_info.metadata == {"keep": 1}


def test_metadata_depth_64_ok_65_refused(ditto: Ditto) -> None:
    ditto.small_peer_info.metadata = nested(64)
    with pytest.raises(ValidationError) as info:
        ditto.small_peer_info.metadata = nested(65)
    assert "64" in str(info.value)
    assert ditto.small_peer_info.metadata == nested(64)


def test_bad_scope(ditto: Ditto) -> None:
    with pytest.raises(InvalidArgumentError):
        ditto.small_peer_info.sync_scope = "BigPeerOnly"  # type: ignore[assignment]
    with pytest.raises(InvalidArgumentError):
        ditto.small_peer_info.sync_scope = 1  # type: ignore[assignment]
    with pytest.raises(InvalidArgumentError):
        SyncScope.from_name("bigpeeronly")
    with pytest.raises(InvalidArgumentError):  # valid enum, but not allowed for Small Peer Info
        ditto.small_peer_info.sync_scope = SyncScope.ALL_PEERS
    assert ditto.small_peer_info.sync_scope is SyncScope.LOCAL_PEER_ONLY
    with pytest.raises(InvalidArgumentError):
        ditto.store.collection("__small_peer_info").sync_scope = SyncScope.ALL_PEERS
    with pytest.raises(InvalidArgumentError):
        ditto.store.collection("cars").sync_scope = "AllPeers"  # type: ignore[assignment]


def test_wrong_types(ditto: Ditto) -> None:
    with pytest.raises(InvalidArgumentError):
        ditto.small_peer_info.is_enabled = 1  # type: ignore[assignment]
    with pytest.raises(InvalidArgumentError):
        ditto.device_name = 5  # type: ignore[assignment]
    with pytest.raises(InvalidArgumentError):
        ditto.small_peer_info.collection_interval = "300"  # type: ignore[assignment]
    with pytest.raises(InvalidArgumentError):
        ditto.small_peer_info.collection_interval = 300  # type: ignore[assignment]
    with pytest.raises(InvalidArgumentError):
        ditto.transport_config = "ws://x"  # type: ignore[assignment]
    with pytest.raises(InvalidArgumentError):
        ditto.transport_config = {"big_peer": {"urls": []}}  # type: ignore[assignment]
    with pytest.raises(InvalidArgumentError):
        ditto.transport_config = TransportConfig(ConnectConfig(websocket_urls="ws://127.0.0.1:1/sync"))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        ditto.store.collection(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        ditto.store.collection("cars").find_all(page_size=0)
    with pytest.raises(InvalidArgumentError):
        DittoLogger.minimum_log_level = 3  # type: ignore[assignment]
    with pytest.raises(InvalidArgumentError):
        DittoLogger.minimum_log_level = "debug"  # type: ignore[assignment]
    with pytest.raises(InvalidArgumentError):
        DittoLogger.set_custom_log_callback(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        ditto.log("info", "x")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        Ditto(42)  # type: ignore[arg-type]
    ditto.log(LogLevel.INFO, "still fine")


def test_setters_never_swallow_failure(ditto: Ditto) -> None:
    with pytest.raises(InvalidArgumentError):
        ditto.device_name = ""
    with pytest.raises(InvalidArgumentError):
        ditto.device_name = "x" * 257
    ditto.device_name = "x" * 256
    assert ditto.device_name == "x" * 256


def test_interval_below_one_second(ditto: Ditto) -> None:
    with pytest.raises(DittoError) as info:
        ditto.small_peer_info.collection_interval = datetime.timedelta(milliseconds=999, microseconds=999)
    assert isinstance(info.value, ValueError)
    assert ditto.small_peer_info.collection_interval.total_seconds() == 300


def test_bad_big_peer_url(ditto: Ditto) -> None:
    ditto.transport_config = TransportConfig(ConnectConfig(websocket_urls=["ws://127.0.0.1:1/sync"]))
    for bad in ["not a url", "http://127.0.0.1:80/sync", "ws://example.com/sync"]:
        with pytest.raises(InvalidArgumentError) as info:
            ditto.transport_config = TransportConfig(ConnectConfig(websocket_urls=[bad]))
        assert info.value.code == 1 and info.value.message
    assert ditto.transport_config.connect.websocket_urls == ["ws://127.0.0.1:1/sync"]


def test_second_open_of_same_dir_is_locked(tmp_path: Path) -> None:
    with Ditto(str(tmp_path / "p")):
        with pytest.raises(LockedError) as info:
            Ditto(str(tmp_path / "p"))
        assert info.value.code == smallpeer.errors.ERR_LOCKED
    with Ditto(str(tmp_path / "p")):  # free again after close
        pass


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_dir(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(DittoError):
        Ditto(str(ro / "p"))


def test_unwritable_dir_as_file(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(DittoError) as info:
        Ditto(str(f / "p"))
    assert info.value.code in (smallpeer.errors.ERR_IO, smallpeer.errors.ERR_INVALID_ARGUMENT)


def test_sync_start_offline_identity_with_big_peer_url(ditto: Ditto) -> None:
    ditto.transport_config = TransportConfig(ConnectConfig(websocket_urls=["ws://127.0.0.1:1/sync"]))
    with pytest.raises(DittoError):
        ditto.start_sync()


def test_use_after_close(tmp_path: Path) -> None:
    d = Ditto(str(tmp_path / "p"))
    spi = d.small_peer_info
    coll = d.store.collection("x")
    d.close()
    d.close()  # idempotent
    with pytest.raises(ClosedError):
        _ = spi.is_enabled
    with pytest.raises(ClosedError):
        spi.is_enabled = True
    with pytest.raises(ClosedError):
        spi.collect_now()
    with pytest.raises(ClosedError):
        coll.upsert({"a": 1})
    with pytest.raises(ClosedError):
        d.start_sync()
    with pytest.raises(ClosedError):
        _ = d.presence.local_peer_key
    with pytest.raises(ClosedError):
        _ = d.transport_config
    with pytest.raises(ClosedError):
        _ = d.device_name
    with pytest.raises(ClosedError):
        d.device_name = "late"
    with pytest.raises(ClosedError):
        d.send_logs()


def test_close_while_other_thread_uses_it(tmp_path: Path) -> None:
    d = Ditto(str(tmp_path / "p"))
    coll = d.store.collection("x")
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            try:
                coll.upsert({"_id": str(i)})
            except ClosedError:
                return
            except BaseException as e:  # anything else is a bug
                errors.append(e)
                return
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    d.close()
    stop.set()
    t.join()
    assert errors == []
