"""SmallPeer for Python: open small peers, turn on Small Peer Info, sync with a Big Peer.

    with Ditto("/tmp/app", identity=Identity.online_playground("app", "token")) as ditto:
        ditto.small_peer_info.is_enabled = True
        ditto.small_peer_info.sync_scope = SyncScope.BIG_PEER_ONLY

`collection_interval` is a `datetime.timedelta`; assigning a number means seconds (int or float).
"""

from __future__ import annotations

import datetime
import enum
import json
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
)

__version__ = _smallpeer.version()

__all__ = [
    "ChangeKind",
    "ClosedError",
    "Collection",
    "Ditto",
    "DittoError",
    "Identity",
    "InternalError",
    "InvalidArgumentError",
    "IOError_",
    "LockedError",
    "LogLevel",
    "Logger",
    "NotFoundError",
    "ObserverHandle",
    "PersistenceIOError",
    "Presence",
    "SmallPeerInfo",
    "Store",
    "StoreError",
    "SyncScope",
    "ValidationError",
]

if _smallpeer.abi_version() != _smallpeer.ABI_VERSION:  # pragma: no cover
    raise ImportError(f"libsmallpeer ABI {_smallpeer.abi_version()} != {_smallpeer.ABI_VERSION}")

JSONObject = Dict[str, Any]


class SyncScope(enum.IntEnum):
    """Sync scopes (values are the C enum values). Small Peer Info accepts the first two only."""

    LOCAL_PEER_ONLY = 0
    BIG_PEER_ONLY = 1
    ALL_PEERS = 2
    SMALL_PEERS_ONLY = 3


class LogLevel(enum.IntEnum):
    """Log levels, most severe first."""

    ERROR = 1
    WARNING = 2
    INFO = 3
    DEBUG = 4
    VERBOSE = 5


class ChangeKind(enum.IntEnum):
    UPSERT = 0
    REMOVE = 1


def _require(value: object, types: Union[type, tuple[type, ...]], what: str) -> None:
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise TypeError(f"{what} must be {types}, not bool")
    if not isinstance(value, types):
        raise TypeError(f"{what}: expected {types}, got {type(value).__name__}")


def _scope(value: object, what: str) -> int:
    if not isinstance(value, SyncScope):
        raise TypeError(f"{what} must be a SyncScope, got {type(value).__name__}")
    return int(value)


@dataclass(frozen=True)
class Identity:
    """Who the peer is: offline playground (no Big Peer) or online playground (app id + token)."""

    type: str
    app_id: Optional[str] = None
    token: Optional[str] = field(default=None, repr=False)

    @staticmethod
    def offline_playground(app_id: Optional[str] = None) -> "Identity":
        if app_id is not None:
            _require(app_id, str, "app_id")
        return Identity("offline_playground", app_id)

    @staticmethod
    def online_playground(app_id: str, token: str) -> "Identity":
        _require(app_id, str, "app_id")
        _require(token, str, "token")
        return Identity("online_playground", app_id, token)

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


class SmallPeerInfo:
    """`ditto.small_peer_info`: the Small Peer Info settings of one small peer."""

    def __init__(self, handle: _Handle) -> None:
        self._h = handle

    @property
    def is_enabled(self) -> bool:
        return self._h.native.spi_get_enabled()

    @is_enabled.setter
    def is_enabled(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"is_enabled must be a bool, got {type(value).__name__}")
        self._h.native.spi_set_enabled(value)

    @property
    def sync_scope(self) -> SyncScope:
        return SyncScope(self._h.native.spi_get_sync_scope())

    @sync_scope.setter
    def sync_scope(self, value: SyncScope) -> None:
        self._h.native.spi_set_sync_scope(_scope(value, "sync_scope"))

    @property
    def metadata(self) -> JSONObject:
        value: JSONObject = json.loads(self._h.native.spi_get_metadata_json())
        return value

    @metadata.setter
    def metadata(self, value: Mapping[str, Any]) -> None:
        if not isinstance(value, Mapping):
            raise TypeError(f"metadata must be a dict, got {type(value).__name__}")
        try:
            text = json.dumps(dict(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except RecursionError:
            raise ValidationError(2, "metadata is deeper than 64 levels") from None
        except (TypeError, ValueError) as e:
            raise TypeError(f"metadata is not JSON-serializable: {e}") from None
        self._h.native.spi_set_metadata_json(text)

    @property
    def metadata_json_string(self) -> str:
        return self._h.native.spi_get_metadata_json()

    @metadata_json_string.setter
    def metadata_json_string(self, value: str) -> None:
        _require(value, str, "metadata_json_string")
        self._h.native.spi_set_metadata_json(value)

    @property
    def device_name(self) -> str:
        return self._h.native.spi_get_device_name()

    @device_name.setter
    def device_name(self, value: str) -> None:
        _require(value, str, "device_name")
        self._h.native.spi_set_device_name(value)

    @property
    def collection_interval(self) -> datetime.timedelta:
        return datetime.timedelta(milliseconds=self._h.native.spi_get_collection_interval_ms())

    @collection_interval.setter
    def collection_interval(self, value: Union[datetime.timedelta, float, int]) -> None:
        if isinstance(value, datetime.timedelta):
            seconds = value.total_seconds()
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
        else:
            raise TypeError(f"collection_interval must be a timedelta or seconds, got {type(value).__name__}")
        self._h.native.spi_set_collection_interval_ms(int(round(seconds * 1000)))

    def collect_now(self) -> JSONObject:
        """Writes the Small Peer Info document now and returns it."""
        doc: JSONObject = json.loads(self._h.native.spi_collect_now())
        return doc

    @property
    def document(self) -> Optional[JSONObject]:
        """The last written document, or None before the first write."""
        try:
            doc: JSONObject = json.loads(self._h.native.spi_get_document())
        except NotFoundError:
            return None
        return doc


class ObserverHandle:
    """Returned by observe(); cancel() (or leaving the `with` block) stops the callbacks."""

    def __init__(self, token: _smallpeer.Token) -> None:
        self._token = token

    def cancel(self) -> None:
        self._token.cancel()

    @property
    def active(self) -> bool:
        return self._token.active

    def __enter__(self) -> "ObserverHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


ObserverCallback = Callable[[str, ChangeKind, Optional[JSONObject]], None]


class Collection:
    def __init__(self, handle: _Handle, name: str) -> None:
        self._h = handle
        self.name = name

    def upsert(self, document: Mapping[str, Any]) -> str:
        """Inserts or replaces a document; returns its _id."""
        if not isinstance(document, Mapping):
            raise TypeError(f"document must be a dict, got {type(document).__name__}")
        return self._h.native.store_upsert(self.name, json.dumps(dict(document), separators=(",", ":")))

    def find_by_id(self, id: str) -> Optional[JSONObject]:
        _require(id, str, "id")
        try:
            doc: JSONObject = json.loads(self._h.native.store_get(self.name, id))
        except NotFoundError:
            return None
        return doc

    def find_all(self, page_size: int = 1000) -> List[JSONObject]:
        return list(self.iter_all(page_size))

    def iter_all(self, page_size: int = 1000) -> Iterator[JSONObject]:
        _require(page_size, int, "page_size")
        after: Optional[str] = None
        while True:
            page = json.loads(self._h.native.store_find_all(self.name, page_size, after))
            yield from page["documents"]
            after = page["next_after"]
            if after is None:
                return

    def remove(self, id: str) -> bool:
        _require(id, str, "id")
        return self._h.native.store_remove(self.name, id)

    def observe(self, callback: ObserverCallback) -> ObserverHandle:
        """Calls callback(id, kind, document_or_None) on an engine thread for each committed change."""
        if not callable(callback):
            raise TypeError("callback must be callable")

        def trampoline(collection: str, id: str, kind: int, document_json: Optional[str]) -> None:
            callback(id, ChangeKind(kind), json.loads(document_json) if document_json is not None else None)

        return ObserverHandle(self._h.native.store_observe(self.name, trampoline))

    @property
    def sync_scope(self) -> SyncScope:
        return SyncScope(self._h.native.store_get_collection_scope(self.name))


class Store:
    def __init__(self, handle: _Handle) -> None:
        self._h = handle

    def collection(self, name: str) -> Collection:
        _require(name, str, "name")
        return Collection(self._h, name)

    def collection_names(self) -> List[str]:
        names: List[str] = json.loads(self._h.native.store_collection_names())
        return names

    def set_sync_scope(self, collection: str, scope: SyncScope) -> None:
        _require(collection, str, "collection")
        self._h.native.store_set_collection_scope(collection, _scope(scope, "scope"))

    def sync_scope(self, collection: str) -> SyncScope:
        _require(collection, str, "collection")
        return SyncScope(self._h.native.store_get_collection_scope(collection))


class Presence:
    def __init__(self, handle: _Handle) -> None:
        self._h = handle

    @property
    def graph(self) -> JSONObject:
        g: JSONObject = json.loads(self._h.native.presence_json())
        return g

    @property
    def local_peer_key(self) -> str:
        return self._h.native.peer_key()

    @property
    def connected_peers(self) -> List[JSONObject]:
        peers: List[JSONObject] = self.graph["peers"]
        return peers

    @property
    def is_connected_to_big_peer(self) -> bool:
        return bool(self.graph["is_connected_to_big_peer"])


class Ditto:
    """One open small peer. Use as a context manager, or call close()."""

    def __init__(
        self,
        persistence_dir: str,
        identity: Optional[Identity] = None,
        device_name: Optional[str] = None,
    ) -> None:
        import os

        if not isinstance(persistence_dir, (str, os.PathLike)):
            raise TypeError(f"persistence_dir must be a str or path, got {type(persistence_dir).__name__}")
        if identity is None:
            identity = Identity.offline_playground()
        if not isinstance(identity, Identity):
            raise TypeError("identity must be an Identity")
        config: JSONObject = {
            "persistence_dir": os.fspath(persistence_dir),
            "identity": identity._json(),
            "sdk_language": "Python",
        }
        if device_name is not None:
            _require(device_name, str, "device_name")
            config["device_name"] = device_name
        self.persistence_dir = os.fspath(persistence_dir)
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

    @property
    def is_closed(self) -> bool:
        return self._h._native is None

    def __enter__(self) -> "Ditto":
        return self

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()

    @property
    def transport_config(self) -> JSONObject:
        cfg: JSONObject = json.loads(self._h.native.sync_get_transport_config())
        return cfg

    @transport_config.setter
    def transport_config(self, value: Mapping[str, Any]) -> None:
        if not isinstance(value, Mapping):
            raise TypeError(f"transport_config must be a dict, got {type(value).__name__}")
        self._h.native.sync_set_transport_config(json.dumps(dict(value)))

    def start_sync(self) -> None:
        self._h.native.sync_start()

    def stop_sync(self) -> None:
        self._h.native.sync_stop()

    @property
    def is_sync_active(self) -> bool:
        return self._h.native.sync_is_running()

    @property
    def lan_port(self) -> int:
        return self._h.native.sync_lan_port()

    def log(self, level: LogLevel, message: str) -> None:
        if not isinstance(level, LogLevel):
            raise TypeError("level must be a LogLevel")
        _require(message, str, "message")
        self._h.native.log(int(level), message)

    def export_logs(
        self,
        path: str,
        *,
        min_level: Optional[str] = None,
        since: Optional[datetime.datetime] = None,
        until: Optional[datetime.datetime] = None,
        max_bytes: Optional[int] = None,
    ) -> int:
        """Exports this instance's engine logs as gzip JSON Lines; returns the number of lines.

        Every filter is optional (the engine's one log filter, README "Logs"): lines at ``min_level``
        or more severe (default "debug": every line the engine log holds), written in [since, until]
        (naive datetimes are local time), the newest within ``max_bytes``. ``since`` after ``until``
        or ``max_bytes`` below 1 raise InvalidArgumentError and write nothing."""
        return self._h.native.export_logs(str(path), _log_filter_json(min_level, since, until, max_bytes))

    def send_logs(
        self,
        *,
        min_level: Optional[str] = None,
        since: Optional[datetime.datetime] = None,
        until: Optional[datetime.datetime] = None,
        max_bytes: Optional[int] = None,
    ) -> str:
        """Sends this instance's engine logs to the Big Peer now ("send logs to support"), filtered as in
        export_logs; returns the log request id the Big Peer lists it under. Uploads at once if
        connected, else on reconnect."""
        return self._h.native.send_logs(_log_filter_json(min_level, since, until, max_bytes))


def _log_filter_json(
    min_level: Optional[str],
    since: Optional[datetime.datetime],
    until: Optional[datetime.datetime],
    max_bytes: Optional[int],
) -> Optional[str]:
    """The engine's log filter as JSON, or None when no filter is set; the engine checks the values."""
    options: JSONObject = {}
    if min_level is not None:
        options["min_level"] = min_level
    for key, moment in (("since", since), ("until", until)):
        if moment is not None:
            if not isinstance(moment, datetime.datetime):
                raise TypeError(f"{key} must be a datetime")
            utc = moment.astimezone(datetime.timezone.utc)
            options[key] = utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if max_bytes is not None:
        options["max_bytes"] = max_bytes
    return json.dumps(options) if options else None


LogCallback = Callable[[LogLevel, str], None]


class _LoggerType:
    """Process-wide log output (like Ditto's DittoLogger): `smallpeer.Logger`."""

    _callback_token: Optional[_smallpeer.Token] = None

    @property
    def enabled(self) -> bool:
        return _smallpeer.logger_get_enabled()

    @enabled.setter
    def enabled(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError("enabled must be a bool")
        _smallpeer.logger_set_enabled(value)

    @property
    def minimum_level(self) -> LogLevel:
        return LogLevel(_smallpeer.logger_get_minimum_level())

    @minimum_level.setter
    def minimum_level(self, value: LogLevel) -> None:
        if not isinstance(value, LogLevel):
            raise TypeError("minimum_level must be a LogLevel")
        _smallpeer.logger_set_minimum_level(int(value))

    def set_log_file(self, path: Optional[str]) -> None:
        if path is not None:
            _require(path, str, "path")
        _smallpeer.logger_set_log_file(path)

    def set_console_enabled(self, enabled: bool) -> None:
        _require(enabled, bool, "enabled")
        _smallpeer.logger_set_console_enabled(enabled)

    def set_custom_log_callback(self, callback: Optional[LogCallback]) -> None:
        """Replaces the custom callback (None removes it). It runs on an engine thread."""
        old, self._callback_token = self._callback_token, None
        if old is not None:
            old.cancel()
        if callback is None:
            return
        if not callable(callback):
            raise TypeError("callback must be callable")

        def trampoline(level: int, message: str) -> None:
            callback(LogLevel(level), message)

        self._callback_token = _smallpeer.logger_add_callback(trampoline)

    @staticmethod
    def export_to_file(
        ditto: Ditto,
        path: str,
        *,
        min_level: Optional[str] = None,
        since: Optional[datetime.datetime] = None,
        until: Optional[datetime.datetime] = None,
        max_bytes: Optional[int] = None,
    ) -> int:
        """Exports ``ditto``'s engine logs to ``path`` as gzip JSON Lines (Ditto.export_logs)."""
        return ditto.export_logs(path, min_level=min_level, since=since, until=until, max_bytes=max_bytes)


Logger = _LoggerType()
