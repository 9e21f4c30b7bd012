"""The behaviour table (tests/conformance/cases.json) run through the Python package's public API.

Each case is one test; the mapping from the table's operations to Python calls below (`OPS`) is the
Python column of the README's parity table in code. An operation without a mapping fails its case.
conftest.py prints `conformance python: N cases, P passed, F failed` at the end of the session.
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

from smallpeer import (
    ChangeKind,
    ClosedError,
    ConnectConfig,
    Ditto,
    DittoError,
    DittoLogger,
    Identity,
    InternalError,
    InvalidArgumentError,
    IOError_,
    ListenConfig,
    LockedError,
    LogLevel,
    NotFoundError,
    ObserverHandle,
    SmallPeerInfo,
    StoreError,
    SyncScope,
    TcpListenConfig,
    TransportConfig,
    ValidationError,
)
from smallpeer.testing import BigPeer

CASES_PATH = Path(
    os.environ.get("SMALLPEER_CONFORMANCE_CASES")
    or Path(__file__).resolve().parents[2] / "tests" / "conformance" / "cases.json"
)
CASES: List[Dict[str, Any]] = json.loads(CASES_PATH.read_text())["cases"]

ERROR_KINDS: Dict[str, type[DittoError]] = {
    "invalid_argument": InvalidArgumentError,
    "validation": ValidationError,
    "not_found": NotFoundError,
    "closed": ClosedError,
    "io": IOError_,
    "locked": LockedError,
    "store": StoreError,
    "internal": InternalError,
}


class StepTimeout(Exception):
    """The runner's own `timeout` kind: an await op did not see what it waited for."""


class StepFailed(AssertionError):
    pass


def error_kind(e: BaseException) -> str:
    if isinstance(e, StepTimeout):
        return "timeout"
    for kind, cls in ERROR_KINDS.items():
        if type(e) is cls:
            return kind
    return f"{type(e).__name__} (not a Ditto error kind)"


# ---- JSON values: equality, subset, types ------------------------------------------------------


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value, but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and bool(a == b)


def json_subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and json_subset(v, actual[k]) for k, v in expected.items())
    return json_equal(expected, actual)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def dotted(value: Any, path: str) -> Tuple[bool, Any]:
    if path == "":
        return True, value
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


# ---- Arguments: $var and $gen ------------------------------------------------------------------


def generate(spec: Dict[str, Any]) -> str:
    kind = spec["$gen"]
    if kind == "object_of_bytes":
        n = int(spec["bytes"])
        return '{"pad":"' + "x" * (n - len('{"pad":""}')) + '"}'
    if kind == "nested_object":
        depth = int(spec["depth"])
        return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)
    if kind == "string_of_bytes":
        return "x" * int(spec["bytes"])
    if kind == "not_utf8":
        return '{"k":"\ud800"}'  # a lone surrogate: no UTF-8 encoding exists
    raise StepFailed(f"unknown generator {kind!r}")


def resolve(value: Any, saved: Dict[str, Any]) -> Any:
    if isinstance(value, dict):
        if "$var" in value:
            name, *path = str(value["$var"]).split(".")
            if name not in saved:
                raise StepFailed(f"no saved value {name!r}")
            found, out = dotted(saved[name], ".".join(path))
            if not found:
                raise StepFailed(f"saved value has no {value['$var']!r}")
            if "plus" in value:
                out = out + value["plus"]
            return out
        if "$gen" in value:
            return generate(value)
        return {k: resolve(v, saved) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, saved) for v in value]
    return value


# ---- The case runner ---------------------------------------------------------------------------


def rfc3339(text: Optional[str]) -> Optional[datetime.datetime]:
    if text is None:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def level(name: Optional[str]) -> Optional[LogLevel]:
    return None if name is None else LogLevel.from_name(name)


def poll(what: str, timeout_ms: float, probe: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        got = probe()
        if got is not None and got is not False:
            return got
        if time.monotonic() >= deadline:
            raise StepTimeout(f"{what} not seen within {timeout_ms} ms")
        time.sleep(0.05)


class Case:
    """One case's world: its directory, `d`, callbacks, observers and Big Peer."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.d: Optional[Ditto] = None
        self.open_args: Dict[str, Any] = {}
        self.big_peer: Optional[BigPeer] = None
        self.observers: List[ObserverHandle] = []
        self.changes: List[Tuple[str, str, str]] = []
        self.messages: List[str] = []
        self.lock = threading.Lock()

    @property
    def ditto(self) -> Ditto:
        if self.d is None:
            raise StepFailed("no instance: the case has not opened one")
        return self.d

    def path(self, relative: str) -> Path:
        return self.dir / relative

    def new_ditto(self) -> Ditto:
        args = self.open_args
        identity: Optional[Identity] = None
        if args.get("online"):
            if self.big_peer is None:
                raise StepFailed("open online needs bigpeer.start first")
            identity = Identity.online_playground(self.big_peer.app_id, self.big_peer.app_token)
        d = Ditto(self.dir / "ditto", identity=identity, device_name=args.get("device_name"))
        if args.get("online"):
            assert self.big_peer is not None
            try:
                d.transport_config = TransportConfig(ConnectConfig(websocket_urls=[self.big_peer.sync_url]))
            except BaseException:
                d.close()
                raise
        return d

    def teardown(self) -> None:
        """Closes everything the case made, each step even if an earlier one fails."""
        try:
            for handle in self.observers:
                handle.cancel()
            DittoLogger.unset_custom_log_callback()
            DittoLogger.set_log_file(None)
        finally:
            try:
                if self.d is not None:
                    self.d.close()
            finally:
                if self.big_peer is not None:
                    self.big_peer.stop()

    # -- records
    def on_message(self, lvl: LogLevel, message: str) -> None:
        with self.lock:
            self.messages.append(message)

    def saw_message(self, text: str) -> bool:
        with self.lock:
            return any(text in m for m in self.messages)

    def saw_change(self, collection: str, id: str, kind: str) -> bool:
        with self.lock:
            return (collection, id, kind) in self.changes


def transport_shape(config: TransportConfig) -> Dict[str, Any]:
    tcp = config.listen.tcp
    return {
        "bigPeerUrls": list(config.connect.websocket_urls),
        "lanListen": tcp.address if tcp.is_enabled else None,
        "lanConnect": list(config.connect.tcp_servers),
    }


def transport_config(shape: Dict[str, Any]) -> TransportConfig:
    listen = shape.get("lanListen")
    return TransportConfig(
        ConnectConfig(websocket_urls=list(shape.get("bigPeerUrls", [])), tcp_servers=list(shape.get("lanConnect", []))),
        ListenConfig(TcpListenConfig.parse(listen) if listen is not None else TcpListenConfig()),
    )


def op_open(c: Case, a: Dict[str, Any]) -> None:
    c.open_args = dict(a)
    c.d = c.new_ditto()


def op_open_second(c: Case, a: Dict[str, Any]) -> None:
    c.new_ditto().close()


def op_reopen(c: Case, a: Dict[str, Any]) -> None:
    if c.d is not None:
        c.d.close()
    c.d = None
    c.d = c.new_ditto()


def op_set_device_name(c: Case, a: Dict[str, Any]) -> None:
    c.ditto.device_name = a["value"]


def op_set_interval(c: Case, a: Dict[str, Any]) -> None:
    c.ditto.small_peer_info.collection_interval = datetime.timedelta(milliseconds=a["value"])


def op_await_new_document(c: Case, a: Dict[str, Any]) -> Any:
    after = a.get("after")

    def newer() -> Any:
        doc = c.ditto.small_peer_info.document
        if doc is not None and (after is None or doc["sequence"] > after["sequence"]):
            return doc
        return None

    return poll("a new Small Peer Info document", a["timeout_ms"], newer)


def op_store_get(c: Case, a: Dict[str, Any]) -> Any:
    # find_by_id answers None for a missing document, as Ditto's findByID: the table's null.
    return c.ditto.store.collection(a["collection"]).find_by_id(a["id"])


def change_recorder(c: Case, collection: str) -> Callable[[str, ChangeKind, Optional[Dict[str, Any]]], None]:
    """An observer callback that records (collection, id, kind) for store.awaitChange."""

    def record(id: str, kind: ChangeKind, doc: Optional[Dict[str, Any]]) -> None:
        with c.lock:
            c.changes.append((collection, id, kind.name.lower()))

    return record


def op_store_observe(c: Case, a: Dict[str, Any]) -> None:
    collection = a["collection"]
    c.observers.append(c.ditto.store.collection(collection).observe(change_recorder(c, collection)))


def op_observe_fleet(c: Case, a: Dict[str, Any]) -> None:
    recorder = change_recorder(c, SmallPeerInfo.FLEET_COLLECTION_NAME)
    c.observers.append(c.ditto.small_peer_info.observe_fleet(recorder))


def op_set_collection_scope(c: Case, a: Dict[str, Any]) -> None:
    c.ditto.store.collection(a["collection"]).sync_scope = SyncScope.from_name(a["value"])


def op_presence(c: Case, a: Dict[str, Any]) -> Any:
    g = c.ditto.presence.graph
    return {
        "localPeerKey": g.local_peer_key,
        "isConnectedToBigPeer": g.is_connected_to_big_peer,
        "peers": [
            {"peerKey": p.peer_key, "deviceName": p.device_name, "transport": p.transport, "isBigPeer": p.is_big_peer}
            for p in g.peers
        ],
        "connectionsByTransport": dict(g.connections_by_transport),
        "bigPeerConnectionHistory": [
            {"event": e.event, "timestamp": e.timestamp, "reason": e.reason} for e in g.big_peer_connection_history
        ],
    }


def op_set_log_file(c: Case, a: Dict[str, Any]) -> None:
    path = a.get("path")
    DittoLogger.set_log_file(None if path is None else c.path(path))


def op_callback_saw(c: Case, a: Dict[str, Any]) -> bool:
    time.sleep(a["wait_ms"] / 1000)
    return c.saw_message(a["contains"])


def op_export(c: Case, a: Dict[str, Any]) -> int:
    return DittoLogger.export_to_file(
        c.path(a["path"]),
        minimum_log_level=level(a.get("minimumLogLevel")),
        since=rfc3339(a.get("since")),
        until=rfc3339(a.get("until")),
        max_bytes=a.get("maxBytes"),
    )


def op_send_logs(c: Case, a: Dict[str, Any]) -> str:
    return c.ditto.send_logs(
        minimum_log_level=level(a.get("minimumLogLevel")),
        since=rfc3339(a.get("since")),
        until=rfc3339(a.get("until")),
        max_bytes=a.get("maxBytes"),
    )


def gzip_lines(path: Path) -> List[str]:
    return [line for line in gzip.decompress(path.read_bytes()).decode().splitlines() if line.strip()]


def op_bigpeer_start(c: Case, a: Dict[str, Any]) -> None:
    if c.big_peer is not None:
        raise StepFailed("the case already started a Big Peer")
    c.big_peer = BigPeer(c.path("big-peer"))


def running_big_peer(c: Case) -> BigPeer:
    if c.big_peer is None:
        raise StepFailed("no Big Peer: bigpeer.start first")
    return c.big_peer


def op_await_device(c: Case, a: Dict[str, Any]) -> None:
    bp, key = running_big_peer(c), c.ditto.presence.local_peer_key
    poll(
        f"GET /api/v1/collections/__small_peer_info/documents/{key}",
        a["timeout_ms"],
        lambda: bp.get(f"/api/v1/collections/__small_peer_info/documents/{key}") is not None,
    )


def op_grant_admin(c: Case, a: Dict[str, Any]) -> None:
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    running_big_peer(c).post(
        "/api/v1/admin-devices",
        {
            "peer_key": c.ditto.presence.local_peer_key,
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "label": "conformance",
        },
    )


def op_await_fleet(c: Case, a: Dict[str, Any]) -> None:
    key = c.ditto.presence.local_peer_key
    poll(
        "this device in the fleet",
        a["timeout_ms"],
        lambda: any(doc.get("_id") == key for doc in c.ditto.small_peer_info.fleet),
    )


def op_await_log_upload(c: Case, a: Dict[str, Any]) -> None:
    bp, request_id = running_big_peer(c), a["request_id"]

    def ready() -> bool:
        state = bp.get(f"/api/v1/log-requests/{request_id}")
        return state is not None and state.get("state") == "ready"

    poll(f"log request {request_id} ready", a["timeout_ms"], ready)


Op = Callable[[Case, Dict[str, Any]], Any]

OPS: Dict[str, Op] = {
    "open": op_open,
    "openSecond": op_open_second,
    "close": lambda c, a: c.ditto.close(),
    "reopen": op_reopen,
    "ditto.deviceName": lambda c, a: c.ditto.device_name,
    "ditto.setDeviceName": op_set_device_name,
    "ditto.peerKey": lambda c, a: c.ditto.presence.local_peer_key,
    "ditto.log": lambda c, a: c.ditto.log(LogLevel.from_name(a["level"]), a["message"]),
    "ditto.sendLogs": op_send_logs,
    "spi.isEnabled": lambda c, a: c.ditto.small_peer_info.is_enabled,
    "spi.setEnabled": lambda c, a: setattr(c.ditto.small_peer_info, "is_enabled", a["value"]),
    "spi.syncScope": lambda c, a: c.ditto.small_peer_info.sync_scope.ditto_name,
    "spi.setSyncScope": lambda c, a: setattr(c.ditto.small_peer_info, "sync_scope", SyncScope.from_name(a["value"])),
    "spi.metadata": lambda c, a: c.ditto.small_peer_info.metadata,
    "spi.setMetadata": lambda c, a: setattr(c.ditto.small_peer_info, "metadata", a["value"]),
    "spi.metadataJSONString": lambda c, a: c.ditto.small_peer_info.metadata_json_string,
    "spi.setMetadataJSONString": lambda c, a: setattr(c.ditto.small_peer_info, "metadata_json_string", a["text"]),
    "spi.collectionIntervalMs": lambda c, a: (
        c.ditto.small_peer_info.collection_interval // datetime.timedelta(milliseconds=1)
    ),
    "spi.setCollectionIntervalMs": op_set_interval,
    "spi.collectNow": lambda c, a: c.ditto.small_peer_info.collect_now(),
    "spi.document": lambda c, a: c.ditto.small_peer_info.document,
    "spi.awaitNewDocument": op_await_new_document,
    "spi.adminSigningKey": lambda c, a: c.ditto.small_peer_info.admin_signing_key,
    "spi.setAdminSigningKey": lambda c, a: setattr(c.ditto.small_peer_info, "admin_signing_key", a["value"]),
    "spi.shareWithAdminDevices": lambda c, a: c.ditto.small_peer_info.share_with_admin_devices,
    "spi.setShareWithAdminDevices": lambda c, a: setattr(
        c.ditto.small_peer_info, "share_with_admin_devices", a["value"]
    ),
    "spi.isAdminDevice": lambda c, a: c.ditto.small_peer_info.is_admin_device,
    "spi.fleet": lambda c, a: c.ditto.small_peer_info.fleet,
    "spi.observeFleet": op_observe_fleet,
    "spi.awaitFleet": op_await_fleet,
    "store.upsert": lambda c, a: c.ditto.store.collection(a["collection"]).upsert(a["document"]),
    "store.get": op_store_get,
    "store.findAll": lambda c, a: c.ditto.store.collection(a["collection"]).find_all(),
    "store.execute": lambda c, a: [item.value for item in c.ditto.store.execute(a["query"], a.get("args")).items],
    "store.remove": lambda c, a: c.ditto.store.collection(a["collection"]).remove(a["id"]),
    "store.collectionNames": lambda c, a: c.ditto.store.collection_names(),
    "store.observe": op_store_observe,
    "store.awaitChange": lambda c, a: poll(
        f"{a['kind']} of {a['id']!r} in {a['collection']!r}",
        a["timeout_ms"],
        lambda: c.saw_change(a["collection"], a["id"], a["kind"]),
    ),
    "collection.syncScope": lambda c, a: c.ditto.store.collection(a["collection"]).sync_scope.ditto_name,
    "collection.setSyncScope": op_set_collection_scope,
    "sync.transportConfig": lambda c, a: transport_shape(c.ditto.transport_config),
    "sync.setTransportConfig": lambda c, a: setattr(c.ditto, "transport_config", transport_config(a["value"])),
    "sync.start": lambda c, a: c.ditto.start_sync(),
    "sync.stop": lambda c, a: c.ditto.stop_sync(),
    "sync.isRunning": lambda c, a: c.ditto.is_sync_active,
    "sync.lanPort": lambda c, a: c.ditto.lan_port,
    "presence.graph": op_presence,
    "logger.enabled": lambda c, a: DittoLogger.enabled,
    "logger.setEnabled": lambda c, a: setattr(DittoLogger, "enabled", a["value"]),
    "logger.minimumLogLevel": lambda c, a: DittoLogger.minimum_log_level.ditto_name,
    "logger.setMinimumLogLevel": lambda c, a: setattr(DittoLogger, "minimum_log_level", LogLevel.from_name(a["value"])),
    "logger.setLogFile": op_set_log_file,
    "logger.setCustomLogCallback": lambda c, a: DittoLogger.set_custom_log_callback(c.on_message),
    "logger.unsetCustomLogCallback": lambda c, a: DittoLogger.unset_custom_log_callback(),
    "logger.awaitCallbackMessage": lambda c, a: poll(
        f"a callback message containing {a['contains']!r}", a["timeout_ms"], lambda: c.saw_message(a["contains"])
    ),
    "logger.callbackSaw": op_callback_saw,
    "logger.exportToFile": op_export,
    "file.contains": lambda c, a: a["text"] in c.path(a["path"]).read_text(errors="replace"),
    "file.gzipLines": lambda c, a: len(gzip_lines(c.path(a["path"]))),
    "file.gzipContains": lambda c, a: any(a["text"] in line for line in gzip_lines(c.path(a["path"]))),
    "bigpeer.start": op_bigpeer_start,
    "bigpeer.awaitDevice": op_await_device,
    "bigpeer.awaitLogUpload": op_await_log_upload,
    "bigpeer.grantAdmin": op_grant_admin,
}

# Ops whose result is the value; the await ops return only whether they saw it.
NO_RESULT = {
    "store.awaitChange",
    "logger.awaitCallbackMessage",
    "bigpeer.awaitDevice",
    "bigpeer.awaitLogUpload",
    "bigpeer.grantAdmin",
    "spi.awaitFleet",
}


def check_outcome(step: Dict[str, Any], result: Any, saved: Dict[str, Any]) -> None:
    shown = json.dumps(result, default=str)
    if len(shown) > 300:
        shown = shown[:300] + "..."
    if "expect" in step:
        expected = resolve(step["expect"], saved)
        if not json_equal(expected, result):
            raise StepFailed(f"expected {json.dumps(expected)}, got {shown}")
    for path, types in (step.get("expect_fields") or {}).items():
        found, value = dotted(result, path)
        if not found:
            raise StepFailed(f"field {path!r} missing in {shown}")
        allowed = types.split("|")
        # An integer is also a number, as in every other runner.
        if json_type(value) not in allowed and not (json_type(value) == "integer" and "number" in allowed):
            raise StepFailed(f"field {path!r} is {json_type(value)}, expected {types}")
    if "expect_subset" in step:
        expected = resolve(step["expect_subset"], saved)
        if not json_subset(expected, result):
            raise StepFailed(f"expected a superset of {json.dumps(expected)}, got {shown}")
    if "expect_length" in step:
        n = step["expect_length"]
        if isinstance(result, str):
            length = len(result.encode("utf-8", "surrogatepass"))
        elif isinstance(result, list):
            length = len(result)
        else:
            raise StepFailed(f"expected a string or array of length {n}, got {shown}")
        if length != n:
            raise StepFailed(f"expected length {n}, got {length}")
    if "expect_match" in step:
        if not isinstance(result, str) or not re.search(step["expect_match"], result):
            raise StepFailed(f"expected a string matching {step['expect_match']!r}, got {shown}")


def run_case(case: Dict[str, Any], directory: Path) -> None:
    """Runs every step; the first that misses its outcome raises StepFailed naming the step."""
    c = Case(directory)
    saved: Dict[str, Any] = {}
    # The process-wide logger, reset: enabled, level info, no log file, no custom callback, console off.
    DittoLogger.enabled = True
    DittoLogger.minimum_log_level = LogLevel.INFO
    DittoLogger.set_log_file(None)
    DittoLogger.unset_custom_log_callback()
    DittoLogger.set_console_enabled(False)
    try:
        for index, step in enumerate(case["steps"]):
            op = step["op"]
            where = f"step {index} ({op})"
            fn = OPS.get(op)
            if fn is None:
                raise StepFailed(f"{where}: the Python runner has no mapping for op {op!r}")
            try:
                args = resolve(step.get("args") or {}, saved)
                result = fn(c, args)
            except StepFailed as e:
                raise StepFailed(f"{where}: {e}") from None
            except Exception as e:
                if "error" in step:
                    if error_kind(e) != step["error"]:
                        raise StepFailed(
                            f"{where}: expected the {step['error']} error, got {error_kind(e)}: {e}"
                        ) from None
                    continue
                raise StepFailed(f"{where}: failed with {error_kind(e)}: {type(e).__name__}: {e}") from None
            if "error" in step:
                raise StepFailed(f"{where}: expected the {step['error']} error, but it succeeded")
            if op in NO_RESULT:
                result = None
            try:
                check_outcome(step, result, saved)
            except StepFailed as e:
                raise StepFailed(f"{where}: {e}") from None
            if "save" in step:
                saved[step["save"]] = result
    finally:
        c.teardown()
        DittoLogger.set_console_enabled(True)


def case_id(index: int, case: Dict[str, Any]) -> str:
    return f"{index:02d}-" + re.sub(r"[^A-Za-z0-9]+", "-", case["name"]).strip("-")


@pytest.mark.parametrize("case", CASES, ids=[case_id(i, c) for i, c in enumerate(CASES)])
def test_case(case: Dict[str, Any], tmp_path: Path, conformance_results: Dict[str, bool]) -> None:
    conformance_results[case["name"]] = False
    failure: Optional[str] = None
    try:
        run_case(case, tmp_path)
    except StepFailed as e:
        failure = f"case {case['name']!r}: {e}"
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    conformance_results[case["name"]] = True


def test_table_is_loaded() -> None:
    """The table exists and every case names steps (a missing file would otherwise collect nothing)."""
    assert CASES, f"no cases in {CASES_PATH}"
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
