"""pytest plugin (entry point `smallpeer`): fixtures `big_peer` and `small_peer`.

    def test_report(big_peer, small_peer):
        ditto = small_peer()
        ditto.small_peer_info.is_enabled = True
        ditto.small_peer_info.sync_scope = SyncScope.BIG_PEER_ONLY
        assert big_peer.wait_for_document("__small_peer_info", ditto.presence.local_peer_key)

`big_peer` runs the real `smallpeer big-peer` command line (env SMALLPEER_CLI, else PATH).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import pytest

from . import ConnectConfig, Ditto, Identity, TransportConfig

APP_ID = "smallpeer-test"
APP_TOKEN = "smallpeer-test-token"


def find_cli() -> str:
    """The `smallpeer` command line: $SMALLPEER_CLI, else the one on PATH."""
    cli = os.environ.get("SMALLPEER_CLI") or shutil.which("smallpeer")
    if not cli:
        raise RuntimeError("smallpeer command line not found: set SMALLPEER_CLI or put `smallpeer` on PATH")
    return cli


class BigPeer:
    """A running `smallpeer big-peer` process on a free loopback port (`args`: more command-line flags)."""

    def __init__(
        self,
        data_dir: Path,
        app_id: str = APP_ID,
        app_token: str = APP_TOKEN,
        timeout: float = 30.0,
        args: Sequence[str] = (),
    ) -> None:
        self.app_id = app_id
        self.app_token = app_token
        self.data_dir = data_dir
        self.output: List[str] = []
        # The Big Peer writes its facts here as JSON once it listens (--ready-file); its log lines are for people.
        ready_file = data_dir.with_name(data_dir.name + ".ready.json")
        ready_file.unlink(missing_ok=True)
        self._proc = subprocess.Popen(
            [
                find_cli(),
                "big-peer",
                "--listen",
                "127.0.0.1:0",
                "--data",
                str(data_dir),
                "--app-id",
                app_id,
                "--app-token",
                app_token,
                "--ready-file",
                str(ready_file),
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )

        def pump() -> None:
            assert self._proc.stdout is not None
            for line in self._proc.stdout:
                self.output.append(line.rstrip("\n"))

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()
        deadline = time.monotonic() + timeout
        while not ready_file.exists() and self._proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if not ready_file.exists():
            self.stop()
            raise RuntimeError("big peer did not start:\n" + "\n".join(self.output))
        facts = json.loads(ready_file.read_text())
        self.url: str = facts["url"]
        self.admin_token: str = facts["admin_token"]

    @property
    def sync_url(self) -> str:
        """The Big Peer's WebSocket sync URL, for TransportConfig.connect.websocket_urls."""
        return self.url.replace("http://", "ws://", 1) + "/sync"

    def get(self, path: str) -> Any:
        """GET a Big Peer API path with the admin token; returns parsed JSON (None on 404)."""
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self.admin_token}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.loads(resp.read().decode())
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def post(self, path: str, body: Any) -> Any:
        """POST JSON to a Big Peer API path with the admin token; returns parsed JSON (raises on HTTP errors)."""
        req = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read().decode())

    def get_bytes(self, path: str) -> bytes:
        """GET a Big Peer API path with the admin token; returns the raw body (raises on HTTP errors)."""
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self.admin_token}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            body: bytes = resp.read()
            return body

    def document(self, collection: str, id: str) -> Optional[Dict[str, Any]]:
        """The Big Peer's copy of a document (None if it has none)."""
        doc: Optional[Dict[str, Any]] = self.get(f"/api/v1/collections/{collection}/documents/{id}")
        return doc

    def wait_for_document(
        self,
        collection: str,
        id: str,
        timeout: float = 20.0,
        predicate: Callable[[Dict[str, Any]], bool] = lambda d: True,
    ) -> Optional[Dict[str, Any]]:
        """Polls document() until it exists and `predicate` holds; None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            doc = self.document(collection, id)
            if doc is not None and predicate(doc):
                return doc
            time.sleep(0.1)
        return None

    def stop(self) -> None:
        """Stops the process (SIGTERM, then SIGKILL after 15 s)."""
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._pump.join(5)


@pytest.fixture
def big_peer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BigPeer]:
    """A real Big Peer process on a free loopback port, stopped (SIGTERM) afterwards; an indirect
    parameter (`@pytest.mark.parametrize("big_peer", [["--query-max-rows", "1"]], indirect=True)`)
    adds command-line flags."""
    bp = BigPeer(tmp_path_factory.mktemp("big-peer"), args=getattr(request, "param", ()))
    try:
        yield bp
    finally:
        bp.stop()


SmallPeerFactory = Callable[..., Ditto]


@pytest.fixture
def small_peer(big_peer: BigPeer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmallPeerFactory]:
    """A factory: small_peer(device_name=None, start_sync=True) opens a Ditto pointed at big_peer."""
    opened: List[Ditto] = []

    def factory(device_name: Optional[str] = None, start_sync: bool = True) -> Ditto:
        ditto = Ditto(
            str(tmp_path_factory.mktemp("small-peer")),
            identity=Identity.online_playground(big_peer.app_id, big_peer.app_token),
            device_name=device_name,
        )
        opened.append(ditto)
        ditto.transport_config = TransportConfig(ConnectConfig(websocket_urls=[big_peer.sync_url]))
        if start_sync:
            ditto.start_sync()
        return ditto

    try:
        yield factory
    finally:
        for d in opened:
            d.close()
