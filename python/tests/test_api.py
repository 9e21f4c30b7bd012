"""Every row of the SPEC section 3 API table, through the Python names."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import json
import threading
import time
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pytest

import smallpeer
from smallpeer import (
    ChangeKind,
    ConnectConfig,
    ConnectedPeer,
    Ditto,
    DittoLogger,
    Identity,
    InvalidArgumentError,
    ListenConfig,
    LogLevel,
    PresenceGraph,
    SyncScope,
    TcpListenConfig,
    TransportConfig,
)


@pytest.fixture
def ditto(tmp_path: Path) -> Iterator[Ditto]:
    d = Ditto(str(tmp_path / "peer"), device_name="py-test")
    yield d
    d.close()


def test_open_as_context_manager(tmp_path: Path) -> None:
    with Ditto(str(tmp_path / "p"), identity=Identity.offline_playground()) as d:
        assert d.presence.local_peer_key.startswith("pk")
        assert len(d.presence.local_peer_key) == 45
    assert d.is_closed


def test_identities() -> None:
    assert Identity.offline_playground().type == "offline_playground"
    online = Identity.online_playground("app", "secret")
    assert (online.type, online.app_id, online.token) == ("online_playground", "app", "secret")
    assert "secret" not in repr(online)


def test_spi_enabled_default_off_then_on(ditto: Ditto) -> None:
    spi = ditto.small_peer_info
    assert spi.is_enabled is False
    spi.is_enabled = True
    assert spi.is_enabled is True
    deadline = time.monotonic() + 10
    while spi.document is None and time.monotonic() < deadline:
        time.sleep(0.05)
    doc = spi.document
    assert doc is not None and doc["_id"] == ditto.presence.local_peer_key
    assert doc["ditto_sdk_language"] == "Python"


def test_spi_sync_scope(ditto: Ditto) -> None:
    spi = ditto.small_peer_info
    assert spi.sync_scope is SyncScope.LOCAL_PEER_ONLY
    spi.sync_scope = SyncScope.BIG_PEER_ONLY
    assert spi.sync_scope is SyncScope.BIG_PEER_ONLY
    assert ditto.store.collection("__small_peer_info").sync_scope is SyncScope.BIG_PEER_ONLY


def test_sync_scope_names_are_dittos() -> None:
    assert [s.ditto_name for s in SyncScope] == ["BigPeerOnly", "LocalPeerOnly", "AllPeers", "SmallPeersOnly"]
    assert all(SyncScope.from_name(s.ditto_name) is s and s.description for s in SyncScope)
    assert [lvl.ditto_name for lvl in LogLevel] == ["error", "warning", "info", "debug", "verbose"]
    assert all(LogLevel.from_name(lvl.ditto_name) is lvl for lvl in LogLevel)


def test_spi_metadata(ditto: Ditto) -> None:
    spi = ditto.small_peer_info
    assert spi.metadata == {}
    spi.metadata = {"site": "north", "n": [1, 2, {"x": True}]}
    assert spi.metadata == {"site": "north", "n": [1, 2, {"x": True}]}
    assert json.loads(spi.metadata_json_string) == spi.metadata
    spi.metadata_json_string = '{"a": 1}'
    assert spi.metadata == {"a": 1}


def test_device_name_is_on_ditto(ditto: Ditto) -> None:
    assert ditto.device_name == "py-test"
    ditto.device_name = "renamed"
    assert ditto.device_name == "renamed"
    assert ditto.small_peer_info.collect_now()["device_name"] == "renamed"
    assert not hasattr(ditto.small_peer_info, "device_name")


def test_collection_interval(ditto: Ditto) -> None:
    spi = ditto.small_peer_info
    assert spi.collection_interval == datetime.timedelta(seconds=300)
    spi.collection_interval = datetime.timedelta(seconds=1.5)
    assert spi.collection_interval == datetime.timedelta(seconds=1.5)
    with pytest.raises(InvalidArgumentError, match="timedelta"):
        spi.collection_interval = 60  # type: ignore[assignment]
    spi.collection_interval = datetime.timedelta(minutes=2)
    assert spi.collection_interval.total_seconds() == 120


def test_collect_now(ditto: Ditto) -> None:
    ditto.small_peer_info.metadata = {"k": "v"}
    doc = ditto.small_peer_info.collect_now()
    assert doc["metadata"] == {"k": "v"}
    again = ditto.small_peer_info.collect_now()
    assert again["sequence"] == doc["sequence"] + 1
    assert ditto.small_peer_info.document == again


def test_transport_config(ditto: Ditto) -> None:
    assert ditto.transport_config == TransportConfig()
    config = TransportConfig()
    config.connect.websocket_urls.append("ws://127.0.0.1:9/sync")
    config.connect.tcp_servers.append("127.0.0.1:4040")
    config.listen.tcp.is_enabled = True
    config.listen.tcp.port = 4041
    ditto.transport_config = config
    assert ditto.transport_config == config
    assert ditto.transport_config.listen.tcp == TcpListenConfig(True, "127.0.0.1", 4041)
    ipv6 = TransportConfig(listen=ListenConfig(TcpListenConfig.parse("[::1]:0")))
    ditto.transport_config = ipv6
    assert ditto.transport_config == ipv6 and ipv6.listen.tcp.address == "[::1]:0"
    for bad in ["nowhere", "127.0.0.1:port", "host.example:80", "127.0.0.1:70000"]:
        with pytest.raises(InvalidArgumentError):
            TcpListenConfig.parse(bad)
    with pytest.raises(InvalidArgumentError, match="interface_ip"):
        ditto.transport_config = TransportConfig(listen=ListenConfig(TcpListenConfig(True, "lan", 0)))
    assert ditto.transport_config == ipv6


def test_start_stop_sync_lan(tmp_path: Path) -> None:
    with Ditto(str(tmp_path / "p")) as d:
        d.transport_config = TransportConfig(listen=ListenConfig(TcpListenConfig(is_enabled=True)))
        assert not d.is_sync_active
        assert d.lan_port is None
        d.start_sync()
        assert d.is_sync_active
        port = d.lan_port
        assert port is not None and port > 0
        d.stop_sync()
        assert not d.is_sync_active
        assert d.lan_port is None


def test_store_crud(ditto: Ditto) -> None:
    cars = ditto.store.collection("cars")
    id = cars.upsert({"_id": "a", "make": "vw"})
    assert id == "a"
    generated = cars.upsert({"make": "bmw"})
    assert generated and generated != "a"
    assert cars.find_by_id("a") == {"_id": "a", "make": "vw"}
    assert cars.find_by_id("missing") is None
    assert {d["_id"] for d in cars.find_all()} == {"a", generated}
    assert {d["_id"] for d in cars.find_all(page_size=1)} == {"a", generated}
    assert cars.remove("a") is True
    assert cars.remove("a") is False
    assert cars.find_by_id("a") is None
    assert ditto.store.collection_names() == ["cars"]


def test_store_execute_runs_dql_and_names_a_bad_query(ditto: Ditto) -> None:
    cars = ditto.store.collection("cars")
    cars.upsert({"_id": "c1", "make": "Volvo", "seats": 5})
    cars.upsert({"_id": "c2", "make": "Saab", "seats": 4})
    result = ditto.store.execute("SELECT make FROM cars WHERE seats >= :min ORDER BY seats DESC", {"min": 4})
    assert [item.value for item in result.items] == [{"make": "Volvo"}, {"make": "Saab"}]
    assert result.items[0].json_string() == '{"make":"Volvo"}'
    counted = asyncio.run(ditto.store.execute_async("SELECT COUNT(*) FROM cars"))
    assert counted.items[0].value == {"count": 2}
    with pytest.raises(InvalidArgumentError, match="expected FROM at position 10"):
        ditto.store.execute("SELECT * cars")
    with pytest.raises(InvalidArgumentError, match=r"argument :m \(position 33\) is not given"):
        ditto.store.execute("SELECT * FROM cars WHERE make = :m")


def test_user_collection_sync_scope(ditto: Ditto) -> None:
    cars = ditto.store.collection("cars")
    assert cars.sync_scope is SyncScope.ALL_PEERS
    cars.sync_scope = SyncScope.SMALL_PEERS_ONLY
    assert ditto.store.collection("cars").sync_scope is SyncScope.SMALL_PEERS_ONLY


def test_presence(ditto: Ditto) -> None:
    graph = ditto.presence.graph
    assert isinstance(graph, PresenceGraph)
    assert graph.local_peer_key == ditto.presence.local_peer_key
    assert graph.peers == [] and graph.big_peer_connection_history == []
    assert graph.connections_by_transport.get("AccessPoint") == 0
    assert ditto.presence.connected_peers == []
    assert ditto.presence.is_connected_to_big_peer is False


def test_presence_lists_a_lan_peer(tmp_path: Path) -> None:
    with Ditto(tmp_path / "a", device_name="a") as a, Ditto(tmp_path / "b", device_name="b") as b:
        a.transport_config = TransportConfig(listen=ListenConfig(TcpListenConfig(is_enabled=True)))
        a.start_sync()
        b.transport_config = TransportConfig(ConnectConfig(tcp_servers=[f"127.0.0.1:{a.lan_port}"]))
        b.start_sync()
        deadline = time.monotonic() + 10
        while not b.presence.connected_peers and time.monotonic() < deadline:
            time.sleep(0.05)
        assert b.presence.connected_peers == [ConnectedPeer(a.presence.local_peer_key, "a", "AccessPoint", False)]
        assert b.presence.graph.connections_by_transport["AccessPoint"] == 1


def test_observer_from_engine_thread_while_python_thread_runs(ditto: Ditto) -> None:
    seen: List[Tuple[str, ChangeKind, Optional[dict[str, object]], int]] = []
    got = threading.Event()
    stop = threading.Event()
    spins = [0]

    def busy() -> None:  # another Python thread holding and releasing the GIL
        while not stop.is_set():
            spins[0] += 1

    def on_change(id: str, kind: ChangeKind, doc: Optional[dict[str, object]]) -> None:
        seen.append((id, kind, doc, threading.get_ident()))
        if len(seen) == 20:
            got.set()

    spinner = threading.Thread(target=busy)
    spinner.start()
    try:
        coll = ditto.store.collection("obs")
        with coll.observe(on_change) as handle:
            for i in range(10):
                coll.upsert({"_id": f"d{i}", "i": i})
            for i in range(10):
                coll.remove(f"d{i}")
            assert got.wait(10)
        assert not handle.active
    finally:
        stop.set()
        spinner.join()
    assert spins[0] > 0
    assert [s[0] for s in seen[:10]] == [f"d{i}" for i in range(10)]
    assert all(s[1] is ChangeKind.UPSERT for s in seen[:10])
    assert all(s[1] is ChangeKind.REMOVE and s[2] is None for s in seen[10:])
    assert all(s[3] != threading.main_thread().ident for s in seen)
    count = len(seen)
    coll.upsert({"_id": "after-cancel"})
    time.sleep(0.2)
    assert len(seen) == count


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_observer_exception_does_not_break_engine(ditto: Ditto) -> None:
    calls: List[str] = []

    def bad(id: str, kind: ChangeKind, doc: Optional[dict[str, object]]) -> None:
        calls.append(id)
        raise RuntimeError("boom")

    coll = ditto.store.collection("bad")
    h = coll.observe(bad)
    coll.upsert({"_id": "x"})
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.02)
    h.cancel()
    assert calls == ["x"]
    assert coll.find_by_id("x") == {"_id": "x"}


def test_logger_settings_and_callback(ditto: Ditto, tmp_path: Path) -> None:
    old_level, old_enabled = DittoLogger.minimum_log_level, DittoLogger.enabled
    try:
        DittoLogger.enabled = True
        DittoLogger.minimum_log_level = LogLevel.DEBUG
        assert DittoLogger.minimum_log_level is LogLevel.DEBUG
        DittoLogger.set_console_enabled(False)
        log_file = tmp_path / "out.log"
        DittoLogger.set_log_file(log_file)
        messages: List[Tuple[LogLevel, str]] = []
        got = threading.Event()

        def cb(level: LogLevel, msg: str) -> None:
            messages.append((level, msg))
            if "hello from python" in msg:
                got.set()

        DittoLogger.set_custom_log_callback(cb)
        ditto.log(LogLevel.WARNING, "hello from python")
        assert got.wait(5)
        assert any(lvl is LogLevel.WARNING for lvl, m in messages if "hello from python" in m)
        DittoLogger.unset_custom_log_callback()
        ditto.log(LogLevel.WARNING, "after unset")
        DittoLogger.set_log_file(None)
        assert "hello from python" in log_file.read_text()
        assert not any("after unset" in m for _, m in messages)
        DittoLogger.enabled = False
        assert DittoLogger.enabled is False
    finally:
        DittoLogger.enabled = old_enabled
        DittoLogger.minimum_log_level = old_level
        DittoLogger.set_console_enabled(True)


def test_export_logs(ditto: Ditto, tmp_path: Path) -> None:
    ditto.log(LogLevel.INFO, "exported line")
    out = tmp_path / "logs.jsonl.gz"
    written = DittoLogger.export_to_file(out)  # no Ditto argument: every open instance's logs
    assert written == out.stat().st_size > 0
    lines = gzip.decompress(out.read_bytes()).decode().splitlines()
    assert any("exported line" in line for line in lines)


def test_export_covers_every_open_instance(ditto: Ditto, tmp_path: Path) -> None:
    with Ditto(tmp_path / "other") as other:
        ditto.log(LogLevel.INFO, "from the first")
        other.log(LogLevel.INFO, "from the second")
        out = tmp_path / "both.gz"
        DittoLogger.export_to_file(str(out))
        text = gzip.decompress(out.read_bytes()).decode()
        assert "from the first" in text and "from the second" in text


def test_export_logs_filters_follow_the_engines_rules(ditto: Ditto, tmp_path: Path) -> None:
    ditto.log(LogLevel.INFO, "filtered line")
    now = datetime.datetime.now(datetime.timezone.utc)

    def lines(name: str) -> List[str]:
        return gzip.decompress((tmp_path / name).read_bytes()).decode().splitlines()

    DittoLogger.export_to_file(tmp_path / "future.gz", since=now + datetime.timedelta(hours=1))
    assert lines("future.gz") == []
    DittoLogger.export_to_file(tmp_path / "all.gz")
    DittoLogger.export_to_file(tmp_path / "capped.gz", max_bytes=200)
    assert 0 < len(lines("capped.gz")) < len(lines("all.gz"))
    DittoLogger.export_to_file(tmp_path / "errors.gz", minimum_log_level=LogLevel.ERROR)
    assert not any("filtered line" in line for line in lines("errors.gz"))
    backwards = tmp_path / "backwards.gz"
    with pytest.raises(InvalidArgumentError, match="^since is after until"):
        DittoLogger.export_to_file(backwards, since=now, until=now - datetime.timedelta(minutes=1))
    assert not backwards.exists(), "a refused export wrote a file"
    with pytest.raises(InvalidArgumentError, match="max_bytes must be a positive integer"):
        DittoLogger.export_to_file(tmp_path / "zero.gz", max_bytes=0)
    with pytest.raises(InvalidArgumentError, match="since must be a datetime"):
        DittoLogger.export_to_file(tmp_path / "x.gz", since="yesterday")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="minimum_log_level must be a LogLevel"):
        DittoLogger.export_to_file(tmp_path / "x.gz", minimum_log_level="error")  # type: ignore[arg-type]


def test_async_variants(tmp_path: Path) -> None:
    async def main() -> None:
        d = Ditto(tmp_path / "p")
        doc = await d.small_peer_info.collect_now_async()
        assert doc["_id"] == d.presence.local_peer_key
        d.log(LogLevel.INFO, "async export")
        out = tmp_path / "async.gz"
        assert await DittoLogger.export_to_file_async(out, minimum_log_level=LogLevel.INFO) == out.stat().st_size
        assert (await d.send_logs_async(max_bytes=1000)).startswith("dev_")
        await d.close_async()
        assert d.is_closed

    asyncio.run(main())


def test_version() -> None:
    assert smallpeer.__version__


def test_observer_calls_back_into_api(ditto: Ditto) -> None:
    coll = ditto.store.collection("reentrant")
    found: List[Optional[dict[str, object]]] = []
    done = threading.Event()

    def on_change(id: str, kind: ChangeKind, doc: Optional[dict[str, object]]) -> None:
        if kind is ChangeKind.UPSERT and id == "src":
            found.append(coll.find_by_id("src"))
            coll.upsert({"_id": "echo"})
            done.set()

    with coll.observe(on_change):
        coll.upsert({"_id": "src", "v": 1})
        assert done.wait(5)
    assert found == [{"_id": "src", "v": 1}]
    assert coll.find_by_id("echo") == {"_id": "echo"}


def test_log_callback_while_other_threads_change_logger(ditto: Ditto) -> None:
    old = DittoLogger.minimum_log_level
    got: List[str] = []
    DittoLogger.set_console_enabled(False)
    DittoLogger.set_custom_log_callback(lambda level, msg: got.append(msg))
    stop = threading.Event()

    def toggler() -> None:
        while not stop.is_set():
            DittoLogger.minimum_log_level = LogLevel.INFO
            _ = DittoLogger.enabled

    t = threading.Thread(target=toggler)
    t.start()
    try:
        for i in range(200):
            ditto.log(LogLevel.ERROR, f"line {i}")
        deadline = time.monotonic() + 5
        while sum(1 for m in got if "line " in m) < 200 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        t.join()
        DittoLogger.unset_custom_log_callback()
        DittoLogger.set_console_enabled(True)
        DittoLogger.minimum_log_level = old
    assert sum(1 for m in got if "line " in m) == 200
