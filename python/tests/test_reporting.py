"""The README's example of a user's test with the pytest plugin, kept here so it stays true."""

from smallpeer import SyncScope
from smallpeer.testing import BigPeer, SmallPeerFactory


def test_device_reports_to_big_peer(big_peer: BigPeer, small_peer: SmallPeerFactory) -> None:
    ditto = small_peer(device_name="till-7")
    ditto.small_peer_info.metadata = {"store": "north"}
    ditto.small_peer_info.is_enabled = True
    ditto.small_peer_info.sync_scope = SyncScope.BIG_PEER_ONLY

    doc = big_peer.wait_for_document("__small_peer_info", ditto.presence.local_peer_key, timeout=20)
    assert doc is not None, "\n".join(big_peer.output)  # the Big Peer's own log explains a failure
    assert doc["device_name"] == "till-7"
    assert doc["metadata"] == {"store": "north"}
