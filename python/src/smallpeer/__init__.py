"""SmallPeer for Python: open small peers, turn on Small Peer Info, sync with a Big Peer.

    with Ditto("/tmp/app", identity=Identity.online_playground("app", "token")) as ditto:
        ditto.small_peer_info.is_enabled = True
        ditto.small_peer_info.sync_scope = SyncScope.BIG_PEER_ONLY

Names follow Ditto's (README "One API in six languages"): `ditto.device_name`, `DittoLogger` with
`minimum_log_level`, `collection.sync_scope`. Every bad value, wrong Python types included, raises a
`DittoError` subclass (`InvalidArgumentError`, `ValidationError`); `collection_interval` is a
`datetime.timedelta`. The blocking calls have asyncio twins named `*_async`.
"""

from __future__ import annotations

import asyncio
import datetime
import enum
import ipaddress
import json
import os
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Union

from . import _smallpeer
from .errors import (
    ClosedError,
    DittoError,
    InternalError,
    InvalidArgumentError,
    IOError_,
    LockedError,
    NotFoundError,
    PersistenceIOError,
    StoreError,
    ValidationError,
    _invalid,
)

__version__ = _smallpeer.version()

__all__ = [
    "BigPeerConnectionEvent",
    "ChangeKind",
    "ClosedError",
    "Collection",
    "ConnectConfig",
    "ConnectedPeer",
    "Ditto",
    "DittoError",
    "DittoLogger",
    "Identity",
    "InternalError",
    "InvalidArgumentError",
    "IOError_",
    "ListenConfig",
    "LockedError",
    "LogLevel",
    "NotFoundError",
    "ObserverHandle",
    "PersistenceIOError",
    "Presence",
    "PresenceGraph",
    "QueryResult",
    "QueryResultItem",
    "SmallPeerInfo",
    "Store",
    "StoreError",
    "SyncScope",
    "TcpListenConfig",
    "TransportConfig",
    "ValidationError",
]

if _smallpeer.abi_version() != _smallpeer.ABI_VERSION:  # pragma: no cover
    raise ImportError(f"libsmallpeer ABI {_smallpeer.abi_version()} != {_smallpeer.ABI_VERSION}")

JSONObject = Dict[str, Any]
PathLike = Union[str, "os.PathLike[str]"]


class SyncScope(enum.IntEnum):
    """Sync scopes, Ditto's cases in Ditto's order (values are the C `SP_SYNC_SCOPE_*` values).

    Small Peer Info accepts BIG_PEER_ONLY and LOCAL_PEER_ONLY; a user collection accepts all four."""

    BIG_PEER_ONLY = 1
    LOCAL_PEER_ONLY = 0
    ALL_PEERS = 2
    SMALL_PEERS_ONLY = 3

    @property
    def ditto_name(self) -> str:
        """Ditto's name of the scope, as the Small Peer Info document writes it: "BigPeerOnly", ..."""
        return _SCOPE_NAMES[self]

    @property
    def description(self) -> str:
        """What the scope means, in one sentence."""
        return _SCOPE_DESCRIPTIONS[self]

    @classmethod
    def from_name(cls, name: str) -> "SyncScope":
        """The scope with Ditto's name `name` ("LocalPeerOnly", ...); InvalidArgumentError for any other."""
        for scope, text in _SCOPE_NAMES.items():
            if name == text:
                return scope
        raise _invalid(f"unknown sync scope {name!r}; expected one of {', '.join(_SCOPE_NAMES.values())}")


_SCOPE_NAMES = {
    SyncScope.BIG_PEER_ONLY: "BigPeerOnly",
    SyncScope.LOCAL_PEER_ONLY: "LocalPeerOnly",
    SyncScope.ALL_PEERS: "AllPeers",
    SyncScope.SMALL_PEERS_ONLY: "SmallPeersOnly",
}
_SCOPE_DESCRIPTIONS = {
    SyncScope.BIG_PEER_ONLY: "Sent to the Big Peer over a direct connection, never to other small peers.",
    SyncScope.LOCAL_PEER_ONLY: "Kept on this device only (the Small Peer Info default).",
    SyncScope.ALL_PEERS: "Synced with every peer, small and big (the user collection default).",
    SyncScope.SMALL_PEERS_ONLY: "Synced with other small peers, never with the Big Peer.",
}


class LogLevel(enum.IntEnum):
    """Log levels, most severe first (values are the C `SP_LOG_*` values)."""

    ERROR = 1
    WARNING = 2
    INFO = 3
    DEBUG = 4
    VERBOSE = 5

    @property
    def ditto_name(self) -> str:
        """The level's name as the engine and the log files write it: "error", "warning", ..."""
        return self.name.lower()

    @classmethod
    def from_name(cls, name: str) -> "LogLevel":
        """The level named `name` ("error" ... "verbose"); InvalidArgumentError for any other."""
        for level in cls:
            if name == level.ditto_name:
                return level
        raise _invalid(f"unknown log level {name!r}; expected error, warning, info, debug or verbose")


# The level for each C value: a dict lookup costs ~70 ns where calling LogLevel(value) costs ~1 us
# (the enum machinery), and the minimum_log_level getter and every log callback convert one.
_LOG_LEVEL_OF: Dict[int, LogLevel] = {int(level): level for level in LogLevel}


class ChangeKind(enum.IntEnum):
    """What happened to a document, as told to an observer (values are the C `SP_CHANGE_*` values)."""

    UPSERT = 0
    REMOVE = 1


def _type_name(value: object) -> str:
    return type(value).__name__


def _text(value: object, what: str) -> str:
    """`value` as a str the C API can carry (UTF-8, no NUL); InvalidArgumentError otherwise."""
    if not isinstance(value, str):
        raise _invalid(f"{what} must be a str, got {_type_name(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise _invalid(f"{what} is not valid UTF-8: {e.reason} at index {e.start}") from None
    if "\x00" in value:
        raise _invalid(f"{what} contains a NUL character")
    return value


def _path(value: object, what: str) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise _invalid(f"{what} must be a str or path, got {_type_name(value)}")
    return _text(value, what)


def _bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise _invalid(f"{what} must be a bool, got {_type_name(value)}")
    return value


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"{what} must be an int, got {_type_name(value)}")
    return value


def _scope(value: object, what: str) -> int:
    if not isinstance(value, SyncScope):
        raise _invalid(f"{what} must be a SyncScope, got {_type_name(value)}")
    return int(value)


def _level(value: object, what: str) -> int:
    if not isinstance(value, LogLevel):
        raise _invalid(f"{what} must be a LogLevel, got {_type_name(value)}")
    return int(value)


def _callable(value: object, what: str) -> None:
    if not callable(value):
        raise _invalid(f"{what} must be callable, got {_type_name(value)}")


@dataclass(frozen=True)
class Identity:
    """Who the peer is: offline playground (no Big Peer) or online playground (app id + token)."""

    type: str
    app_id: Optional[str] = None
    token: Optional[str] = field(default=None, repr=False)

    @staticmethod
    def offline_playground(app_id: Optional[str] = None) -> "Identity":
        """An identity for a peer that never talks to a Big Peer."""
        return Identity("offline_playground", None if app_id is None else _text(app_id, "app_id"))

    @staticmethod
    def online_playground(app_id: str, token: str) -> "Identity":
        """An identity that authenticates to the Big Peer with the app's id and token."""
        return Identity("online_playground", _text(app_id, "app_id"), _text(token, "token"))

    def _json(self) -> JSONObject:
        out: JSONObject = {"type": self.type}
        if self.app_id is not None:
            out["app_id"] = self.app_id
        if self.token is not None:
            out["token"] = self.token
        return out


class _Handle:
    """Holds the native handle; raises ClosedError after close() (never touches a freed handle)."""

    def __init__(self, native: _smallpeer.Ditto) -> None:
        self._native: Optional[_smallpeer.Ditto] = native

    @property
    def native(self) -> _smallpeer.Ditto:
        n = self._native
        if n is None:
            raise ClosedError(4, "the Ditto instance is closed")
        return n


async def _in_thread(fn: Callable[[], Any]) -> Any:
    """Runs a blocking call on the default executor so the event loop keeps running."""
    return await asyncio.get_running_loop().run_in_executor(None, fn)


class SmallPeerInfo:
    """`ditto.small_peer_info`: the Small Peer Info settings of one small peer."""

    def __init__(self, handle: _Handle) -> None:
        self._h = handle

    @property
    def is_enabled(self) -> bool:
        """Whether the engine writes the Small Peer Info document (off by default)."""
        return self._h.native.spi_get_enabled()

    @is_enabled.setter
    def is_enabled(self, value: bool) -> None:
        self._h.native.spi_set_enabled(_bool(value, "is_enabled"))

    @property
    def sync_scope(self) -> SyncScope:
        """Where the document goes: LOCAL_PEER_ONLY (default) or BIG_PEER_ONLY."""
        return SyncScope(self._h.native.spi_get_sync_scope())

    @sync_scope.setter
    def sync_scope(self, value: SyncScope) -> None:
        self._h.native.spi_set_sync_scope(_scope(value, "sync_scope"))

    @property
    def metadata(self) -> JSONObject:
        """The app's metadata, a JSON object of at most 128 KB and 64 levels (ValidationError beyond)."""
        value: JSONObject = json.loads(self._h.native.spi_get_metadata_json())
        return value

    @metadata.setter
    def metadata(self, value: Mapping[str, Any]) -> None:
        if not isinstance(value, Mapping):
            # Not an object: Ditto's validation error, as the engine and every language say it.
            raise ValidationError(2, f"metadata must be a dict (a JSON object), got {_type_name(value)}")
        try:
            text = json.dumps(dict(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except RecursionError:
            raise ValidationError(2, "metadata is deeper than 64 levels") from None
        except (TypeError, ValueError) as e:
            # Values JSON cannot hold (NaN, a set, an object) are Ditto's validation error, as in every language.
            raise ValidationError(2, f"metadata is not JSON: {e}") from None
        self._h.native.spi_set_metadata_json(_text(text, "metadata"))

    @property
    def metadata_json_string(self) -> str:
        """The metadata as minified JSON text; setting it takes any JSON object text."""
        return self._h.native.spi_get_metadata_json()

    @metadata_json_string.setter
    def metadata_json_string(self, value: str) -> None:
        self._h.native.spi_set_metadata_json(_text(value, "metadata_json_string"))

    @property
    def collection_interval(self) -> datetime.timedelta:
        """How often the document is written while enabled (default 5 minutes, at least 1 second)."""
        return datetime.timedelta(milliseconds=self._h.native.spi_get_collection_interval_ms())

    @collection_interval.setter
    def collection_interval(self, value: datetime.timedelta) -> None:
        if not isinstance(value, datetime.timedelta):
            raise _invalid(f"collection_interval must be a datetime.timedelta, got {_type_name(value)}")
        # Whole milliseconds, rounded down: 999.9 ms is under the 1 s minimum, not 1 s.
        self._h.native.spi_set_collection_interval_ms(value // datetime.timedelta(milliseconds=1))

    def collect_now(self) -> JSONObject:
        """Writes the Small Peer Info document now (enabled or not) and returns it."""
        doc: JSONObject = json.loads(self._h.native.spi_collect_now())
        return doc

    async def collect_now_async(self) -> JSONObject:
        """collect_now() on a worker thread."""
        doc: JSONObject = await _in_thread(self.collect_now)
        return doc

    @property
    def document(self) -> Optional[JSONObject]:
        """The last written document, or None before the first write."""
        try:
            doc: JSONObject = json.loads(self._h.native.spi_get_document())
        except NotFoundError:
            return None
        return doc

    #: The collection that holds the fleet's documents from the Big Peer on an admin device (query it with execute).
    FLEET_COLLECTION_NAME = "__small_peer_info_fleet"

    @property
    def share_with_admin_devices(self) -> bool:
        """Whether this device's document goes straight to an admin device met on the LAN (default False; persisted)."""
        return self._h.native.spi_get_share_with_admin_devices()

    @share_with_admin_devices.setter
    def share_with_admin_devices(self, value: bool) -> None:
        self._h.native.spi_set_share_with_admin_devices(_bool(value, "share_with_admin_devices"))

    @property
    def is_admin_device(self) -> bool:
        """True while this device holds a valid, unexpired, unrevoked admin grant from its Big Peer."""
        return self._h.native.spi_is_admin_device()

    @property
    def admin_signing_key(self) -> Optional[str]:
        """The admin signing key ("ask…") grants are checked with: the app's configured one, else its Big Peer's; or None."""
        return self._h.native.spi_get_admin_signing_key() or None

    @admin_signing_key.setter
    def admin_signing_key(self, value: Optional[str]) -> None:
        self._h.native.spi_set_admin_signing_key("" if value is None else _text(value, "admin_signing_key"))

    @property
    def fleet(self) -> List[JSONObject]:
        """On an admin device, every device's Small Peer Info document, ordered by _id; [] on any other device."""
        docs: List[JSONObject] = json.loads(self._h.native.spi_get_fleet_json())
        return docs

    def observe_fleet(self, callback: "ObserverCallback") -> "ObserverHandle":
        """On an admin device, calls callback(peer_key, kind, document_or_None) on an engine thread as the fleet changes.

        The document is the device's newest, from the Big Peer or carried from the field; REMOVE once none is held.
        """
        _callable(callback, "callback")
        return ObserverHandle(self._h.native.spi_observe_fleet(_change_trampoline(callback)))


class ObserverHandle:
    """Returned by observe(); cancel() (or leaving the `with` block) stops the callbacks."""

    def __init__(self, token: _smallpeer.Token) -> None:
        self._token = token

    def cancel(self) -> None:
        """Stops the callbacks; when it returns none is running and none runs again."""
        self._token.cancel()

    @property
    def active(self) -> bool:
        """Whether the observer still receives changes."""
        return self._token.active

    def __enter__(self) -> "ObserverHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


ObserverCallback = Callable[[str, ChangeKind, Optional[JSONObject]], None]


def _change_trampoline(callback: ObserverCallback) -> Callable[[str, str, int, Optional[str]], None]:
    """The engine's change (collection, id, kind, document JSON) as an observer callback receives it."""

    def trampoline(collection: str, id: str, kind: int, document_json: Optional[str]) -> None:
        callback(id, ChangeKind(kind), json.loads(document_json) if document_json is not None else None)

    return trampoline


def _object_json(value: Mapping[str, Any], what: str) -> str:
    """`value` as minified JSON for the engine: InvalidArgumentError if it is not a dict of JSON values."""
    if not isinstance(value, Mapping):
        raise _invalid(f"{what} must be a dict, got {_type_name(value)}")
    try:
        text = json.dumps(dict(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except RecursionError:
        raise ValidationError(2, f"{what} is nested too deeply") from None
    except (TypeError, ValueError) as e:
        raise _invalid(f"{what} is not JSON-serializable: {e}") from None
    return _text(text, what)


class Collection:
    """`ditto.store.collection(name)`: one user collection."""

    def __init__(self, handle: _Handle, name: str) -> None:
        self._h = handle
        self.name = name

    def upsert(self, document: Mapping[str, Any]) -> str:
        """Inserts or replaces a document (its "_id" a str, or absent and generated); returns the _id."""
        return self._h.native.store_upsert(self.name, _object_json(document, "document"))

    def find_by_id(self, id: str) -> Optional[JSONObject]:
        """The document with this _id, or None."""
        try:
            doc: JSONObject = json.loads(self._h.native.store_get(self.name, _text(id, "id")))
        except NotFoundError:
            return None
        return doc

    def find_all(self, page_size: int = 1000) -> List[JSONObject]:
        """Every live document, ordered by _id."""
        return list(self.iter_all(page_size))

    def iter_all(self, page_size: int = 1000) -> Iterator[JSONObject]:
        """Every live document, ordered by _id, read `page_size` (1-1000) at a time."""
        _int(page_size, "page_size")
        if not 1 <= page_size <= 1000:
            raise _invalid(f"page_size must be from 1 to 1000, got {page_size}")
        after: Optional[str] = None
        while True:
            page = json.loads(self._h.native.store_find_all(self.name, page_size, after))
            yield from page["documents"]
            after = page["next_after"]
            if after is None:
                return

    def remove(self, id: str) -> bool:
        """Removes the document with this _id; returns whether one was there."""
        return self._h.native.store_remove(self.name, _text(id, "id"))

    def observe(self, callback: ObserverCallback) -> ObserverHandle:
        """Calls callback(id, kind, document_or_None) on an engine thread for each committed change."""
        _callable(callback, "callback")
        return ObserverHandle(self._h.native.store_observe(self.name, _change_trampoline(callback)))

    @property
    def sync_scope(self) -> SyncScope:
        """Who this collection syncs with (default ALL_PEERS); persisted. System collections are read-only."""
        return SyncScope(self._h.native.store_get_collection_scope(self.name))

    @sync_scope.setter
    def sync_scope(self, value: SyncScope) -> None:
        self._h.native.store_set_collection_scope(self.name, _scope(value, "sync_scope"))


class Store:
    """`ditto.store`: the user collections."""

    def __init__(self, handle: _Handle) -> None:
        self._h = handle

    def collection(self, name: str) -> Collection:
        """The collection called `name` (it exists once it holds a document)."""
        return Collection(self._h, _text(name, "name"))

    def collection_names(self) -> List[str]:
        """The user collections that hold documents, sorted."""
        names: List[str] = json.loads(self._h.native.store_collection_names())
        return names

    def execute(self, query: str, args: Optional[Mapping[str, Any]] = None) -> "QueryResult":
        """Runs a read-only DQL query (docs/QUERY.md) over any collection, binding :name placeholders from `args`."""
        args_json = _object_json(args, "args") if args else None
        result = json.loads(self._h.native.store_execute(_text(query, "query"), args_json))
        return QueryResult([QueryResultItem(item) for item in result["items"]])

    async def execute_async(self, query: str, args: Optional[Mapping[str, Any]] = None) -> "QueryResult":
        """execute() on a worker thread."""
        result: QueryResult = await _in_thread(lambda: self.execute(query, args))
        return result


@dataclass(frozen=True)
class QueryResultItem:
    """One item of a query result: a document, a projection of one, or a group's count."""

    value: JSONObject

    def json_string(self) -> str:
        """The item as JSON text."""
        return json.dumps(self.value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class QueryResult:
    """What a DQL query returned: its items, in the query's order."""

    items: List[QueryResultItem]


@dataclass(frozen=True)
class ConnectedPeer:
    """A peer this one is connected to."""

    peer_key: str
    """The peer's key."""
    device_name: str
    """The name the peer reports."""
    transport: str
    """"WebSocket" (the Big Peer) or "AccessPoint" (LAN TCP)."""
    is_big_peer: bool
    """Whether the peer is the Big Peer."""


@dataclass(frozen=True)
class BigPeerConnectionEvent:
    """One entry of the Big Peer connection history."""

    event: str
    """"connected", "disconnected" or "auth_failed"."""
    timestamp: str
    """When, RFC 3339 UTC."""
    reason: Optional[str] = None
    """Why the connection ended or failed, when known."""


@dataclass(frozen=True)
class PresenceGraph:
    """A snapshot of this peer's live connections."""

    local_peer_key: str
    """This peer's key."""
    is_connected_to_big_peer: bool
    """Whether a Big Peer connection is up."""
    peers: List[ConnectedPeer]
    """The connected peers."""
    connections_by_transport: Dict[str, int]
    """Connection counts by transport name (AccessPoint, Bluetooth, P2PWiFi, WebSocket)."""
    big_peer_connection_history: List[BigPeerConnectionEvent]
    """The last Big Peer connection events, oldest first."""

    @staticmethod
    def _from_json(g: JSONObject) -> "PresenceGraph":
        return PresenceGraph(
            local_peer_key=g["local_peer_key"],
            is_connected_to_big_peer=bool(g["is_connected_to_big_peer"]),
            peers=[
                ConnectedPeer(p["peer_key"], p["device_name"], p["transport"], bool(p["is_big_peer"]))
                for p in g.get("peers", [])
            ],
            connections_by_transport={str(k): int(v) for k, v in g.get("connections_by_transport", {}).items()},
            big_peer_connection_history=[
                BigPeerConnectionEvent(e["event"], e["timestamp"], e.get("reason"))
                for e in g.get("big_peer_connection_history", [])
            ],
        )


class Presence:
    """`ditto.presence`: this peer's key and who it is connected to."""

    def __init__(self, handle: _Handle) -> None:
        self._h = handle

    @property
    def graph(self) -> PresenceGraph:
        """The live connections now."""
        return PresenceGraph._from_json(json.loads(self._h.native.presence_json()))

    @property
    def local_peer_key(self) -> str:
        """This peer's key: the `_id` of its Small Peer Info document."""
        return self._h.native.peer_key()

    @property
    def connected_peers(self) -> List[ConnectedPeer]:
        """The peers connected now (graph.peers)."""
        return self.graph.peers

    @property
    def is_connected_to_big_peer(self) -> bool:
        """Whether a Big Peer connection is up (graph.is_connected_to_big_peer)."""
        return self.graph.is_connected_to_big_peer


@dataclass
class TcpListenConfig:
    """The LAN TCP listener (Ditto's `listen.tcp`): off by default."""

    is_enabled: bool = False
    """Whether to listen."""
    interface_ip: str = "127.0.0.1"
    """The IP address to bind."""
    port: int = 0
    """0 lets the system choose; Ditto.lan_port tells which."""

    @property
    def address(self) -> str:
        """The listener as "ip:port" ("[ip6]:port" for IPv6)."""
        host = f"[{self.interface_ip}]" if ":" in self.interface_ip else self.interface_ip
        return f"{host}:{self.port}"

    @staticmethod
    def parse(address: str) -> "TcpListenConfig":
        """An enabled listener from "ip:port" (or "[ip6]:port"); InvalidArgumentError if it is not one."""
        config = TcpListenConfig._split(_text(address, "address"))
        config._check()
        return config

    @staticmethod
    def _split(address: str) -> "TcpListenConfig":
        host, sep, port = address.rpartition(":")
        if not sep or not port.isdigit():
            raise _invalid(f"{address!r} is not ip:port")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return TcpListenConfig(True, host, int(port))

    def _check(self) -> None:
        _bool(self.is_enabled, "listen.tcp.is_enabled")
        _text(self.interface_ip, "listen.tcp.interface_ip")
        try:
            ipaddress.ip_address(self.interface_ip)
        except ValueError:
            raise _invalid(f"listen.tcp.interface_ip {self.interface_ip!r} is not an IP address") from None
        if not 0 <= _int(self.port, "listen.tcp.port") <= 65535:
            raise _invalid(f"listen.tcp.port {self.port} is not from 0 to 65535")


@dataclass
class ListenConfig:
    """Incoming connections (Ditto's `listen`)."""

    tcp: TcpListenConfig = field(default_factory=TcpListenConfig)
    """The LAN TCP listener."""


@dataclass
class ConnectConfig:
    """Outgoing connections (Ditto's `connect`)."""

    websocket_urls: List[str] = field(default_factory=list)
    """Big Peer sync URLs (ws:// on loopback only, wss:// otherwise)."""
    tcp_servers: List[str] = field(default_factory=list)
    """LAN peers' TCP listeners as "host:port"."""


@dataclass
class TransportConfig:
    """Where a small peer connects and listens, in Ditto's shape:

    config = TransportConfig()
    config.connect.websocket_urls.append("wss://big-peer.example.com/sync")
    config.listen.tcp.is_enabled = True
    ditto.transport_config = config
    """

    connect: ConnectConfig = field(default_factory=ConnectConfig)
    """Outgoing connections."""
    listen: ListenConfig = field(default_factory=ListenConfig)
    """Incoming connections."""

    def _json(self) -> str:
        if not isinstance(self.connect, ConnectConfig):
            raise _invalid(f"connect must be a ConnectConfig, got {_type_name(self.connect)}")
        if not isinstance(self.listen, ListenConfig) or not isinstance(self.listen.tcp, TcpListenConfig):
            raise _invalid("listen must be a ListenConfig holding a TcpListenConfig")
        lists: Dict[str, List[str]] = {}
        for what, items in (("websocket_urls", self.connect.websocket_urls), ("tcp_servers", self.connect.tcp_servers)):
            if not isinstance(items, (list, tuple)):
                raise _invalid(f"connect.{what} must be a list of str, got {_type_name(items)}")
            lists[what] = [_text(item, f"connect.{what}[]") for item in items]
        tcp = self.listen.tcp
        tcp._check()
        return json.dumps(
            {
                "big_peer": {"urls": lists["websocket_urls"]},
                "lan": {"listen": tcp.address if tcp.is_enabled else None, "connect": lists["tcp_servers"]},
            }
        )

    @staticmethod
    def _from_json(cfg: JSONObject) -> "TransportConfig":
        lan = cfg.get("lan") or {}
        listen = lan.get("listen")
        return TransportConfig(
            ConnectConfig(list((cfg.get("big_peer") or {}).get("urls", [])), list(lan.get("connect", []))),
            ListenConfig(TcpListenConfig._split(listen) if listen is not None else TcpListenConfig()),
        )


class Ditto:
    """One open small peer. Use as a context manager, or call close()."""

    def __init__(
        self,
        persistence_dir: PathLike,
        identity: Optional[Identity] = None,
        device_name: Optional[str] = None,
    ) -> None:
        """Opens the small peer stored in `persistence_dir` (made if missing); LockedError if it is open."""
        path = _path(persistence_dir, "persistence_dir")
        if identity is None:
            identity = Identity.offline_playground()
        if not isinstance(identity, Identity):
            raise _invalid(f"identity must be an Identity, got {_type_name(identity)}")
        config: JSONObject = {"persistence_dir": path, "identity": identity._json(), "sdk_language": "Python"}
        if device_name is not None:
            config["device_name"] = _text(device_name, "device_name")
        self.persistence_dir = path
        self.identity = identity
        self._h = _Handle(_smallpeer.Ditto(json.dumps(config)))
        self._lock = threading.Lock()
        self.small_peer_info = SmallPeerInfo(self._h)
        self.store = Store(self._h)
        self.presence = Presence(self._h)

    def close(self) -> None:
        """Stops background work and closes the store. Idempotent; later calls raise ClosedError."""
        with self._lock:
            native = self._h._native
            if native is None:
                return
            native.close()
            self._h._native = None
        del native

    async def close_async(self) -> None:
        """close() on a worker thread."""
        await _in_thread(self.close)

    @property
    def is_closed(self) -> bool:
        """Whether close() has run."""
        return self._h._native is None

    def __enter__(self) -> "Ditto":
        return self

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()

    @property
    def device_name(self) -> str:
        """The name this device reports (1-256 bytes; default: the host name). Set it before sync starts."""
        return self._h.native.spi_get_device_name()

    @device_name.setter
    def device_name(self, value: str) -> None:
        self._h.native.spi_set_device_name(_text(value, "device_name"))

    @property
    def transport_config(self) -> TransportConfig:
        """Where this peer connects and listens (a copy: assign a changed one to apply it); persisted."""
        return TransportConfig._from_json(json.loads(self._h.native.sync_get_transport_config()))

    @transport_config.setter
    def transport_config(self, value: TransportConfig) -> None:
        if not isinstance(value, TransportConfig):
            raise _invalid(f"transport_config must be a TransportConfig, got {_type_name(value)}")
        self._h.native.sync_set_transport_config(value._json())

    def start_sync(self) -> None:
        """Starts sync: listens and connects, reconnecting with back-off."""
        self._h.native.sync_start()

    def stop_sync(self) -> None:
        """Stops sync and closes every connection."""
        self._h.native.sync_stop()

    @property
    def is_sync_active(self) -> bool:
        """Whether sync is running."""
        return self._h.native.sync_is_running()

    @property
    def lan_port(self) -> Optional[int]:
        """The bound LAN TCP port, or None when not listening."""
        port = self._h.native.sync_lan_port()
        return port if port > 0 else None

    def log(self, level: LogLevel, message: str) -> None:
        """Writes a message to this instance's engine log (and to the log output, if it passes)."""
        self._h.native.log(_level(level, "level"), _text(message, "message"))

    def send_logs(
        self,
        *,
        minimum_log_level: Optional[LogLevel] = None,
        since: Optional[datetime.datetime] = None,
        until: Optional[datetime.datetime] = None,
        max_bytes: Optional[int] = None,
    ) -> str:
        """Sends this instance's engine logs to the Big Peer ("send logs to support"), filtered as in
        DittoLogger.export_to_file; returns the log request id ("dev_..."). Uploads at once if
        connected, else on reconnect."""
        options = _log_filter_json(minimum_log_level, since, until, max_bytes)
        return self._h.native.send_logs(options)

    async def send_logs_async(
        self,
        *,
        minimum_log_level: Optional[LogLevel] = None,
        since: Optional[datetime.datetime] = None,
        until: Optional[datetime.datetime] = None,
        max_bytes: Optional[int] = None,
    ) -> str:
        """send_logs() on a worker thread."""
        request_id: str = await _in_thread(
            lambda: self.send_logs(minimum_log_level=minimum_log_level, since=since, until=until, max_bytes=max_bytes)
        )
        return request_id


def _log_filter_json(
    minimum_log_level: Optional[LogLevel],
    since: Optional[datetime.datetime],
    until: Optional[datetime.datetime],
    max_bytes: Optional[int],
) -> Optional[str]:
    """The engine's log filter as JSON, or None when no filter is set; the engine checks the values."""
    options: JSONObject = {}
    if minimum_log_level is not None:
        _level(minimum_log_level, "minimum_log_level")
        options["min_level"] = minimum_log_level.ditto_name
    for key, moment in (("since", since), ("until", until)):
        if moment is not None:
            if not isinstance(moment, datetime.datetime):
                raise _invalid(f"{key} must be a datetime, got {_type_name(moment)}")
            utc = moment.astimezone(datetime.timezone.utc)  # naive datetimes are local time
            options[key] = utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if max_bytes is not None:
        options["max_bytes"] = _int(max_bytes, "max_bytes")
    return json.dumps(options) if options else None


LogCallback = Callable[[LogLevel, str], None]


class _DittoLogger:
    """Process-wide log output, like Ditto's DittoLogger: use the instance `smallpeer.DittoLogger`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callback_token: Optional[_smallpeer.Token] = None

    @property
    def enabled(self) -> bool:
        """Whether log output (console, log file, custom callback) is on (default True)."""
        return _smallpeer.logger_get_enabled()

    @enabled.setter
    def enabled(self, value: bool) -> None:
        _smallpeer.logger_set_enabled(_bool(value, "enabled"))

    @property
    def minimum_log_level(self) -> LogLevel:
        """Only messages at this level or more severe are shown (default LogLevel.INFO)."""
        return _LOG_LEVEL_OF[_smallpeer.logger_get_minimum_level()]

    @minimum_log_level.setter
    def minimum_log_level(self, value: LogLevel) -> None:
        _smallpeer.logger_set_minimum_level(_level(value, "minimum_log_level"))

    def set_log_file(self, path: Optional[PathLike]) -> None:
        """Also appends shown messages to the file at `path`; None stops that."""
        _smallpeer.logger_set_log_file(None if path is None else _path(path, "path"))

    def set_console_enabled(self, enabled: bool) -> None:
        """Turns the console (stderr) output on (default) or off."""
        _smallpeer.logger_set_console_enabled(_bool(enabled, "enabled"))

    def set_custom_log_callback(self, callback: Optional[LogCallback]) -> None:
        """Sends each shown message to callback(level, message) on an engine thread, replacing any
        earlier callback; None is the same as unset_custom_log_callback()."""
        if callback is None:
            self.unset_custom_log_callback()
            return
        _callable(callback, "callback")

        def trampoline(level: int, message: str) -> None:
            callback(_LOG_LEVEL_OF[level], message)

        self.unset_custom_log_callback()  # first, so no message reaches both callbacks
        token = _smallpeer.logger_add_callback(trampoline)
        with self._lock:
            old, self._callback_token = self._callback_token, token
        if old is not None:  # another thread set one meanwhile: the last set wins
            old.cancel()

    def unset_custom_log_callback(self) -> None:
        """Removes the custom callback; when it returns the callback is not running and never runs again."""
        with self._lock:
            old, self._callback_token = self._callback_token, None
        if old is not None:
            old.cancel()

    def export_to_file(
        self,
        path: PathLike,
        *,
        minimum_log_level: Optional[LogLevel] = None,
        since: Optional[datetime.datetime] = None,
        until: Optional[datetime.datetime] = None,
        max_bytes: Optional[int] = None,
    ) -> int:
        """Exports the engine logs of every Ditto open in this process to `path` as one gzip JSON Lines
        file, oldest line first; returns the bytes written.

        Every filter is optional (the engine's one log filter, README "Logs"): lines at
        ``minimum_log_level`` or more severe (default DEBUG: every line the engine log holds), written
        in [since, until] (naive datetimes are local time), the newest within ``max_bytes``. ``since``
        after ``until`` or ``max_bytes`` below 1 raise InvalidArgumentError and write nothing."""
        options = _log_filter_json(minimum_log_level, since, until, max_bytes)
        return _smallpeer.logger_export_to_file(_path(path, "path"), options)

    async def export_to_file_async(
        self,
        path: PathLike,
        *,
        minimum_log_level: Optional[LogLevel] = None,
        since: Optional[datetime.datetime] = None,
        until: Optional[datetime.datetime] = None,
        max_bytes: Optional[int] = None,
    ) -> int:
        """export_to_file() on a worker thread."""
        written: int = await _in_thread(
            lambda: self.export_to_file(
                path, minimum_log_level=minimum_log_level, since=since, until=until, max_bytes=max_bytes
            )
        )
        return written


DittoLogger = _DittoLogger()
"""The process-wide logger (Ditto's DittoLogger): `DittoLogger.minimum_log_level = LogLevel.DEBUG`."""
