"""The wheel's consumer (python_package_test.sh): the job every package test's program does.

Usage: python consumer.py PERSISTENCE_DIR APP_ID APP_TOKEN SYNC_URL SECONDS
"""

import sys
import time

from smallpeer import ConnectConfig, Ditto, Identity, SyncScope, TransportConfig

directory, app_id, token, sync_url, seconds = sys.argv[1:6]
with Ditto(directory, identity=Identity.online_playground(app_id, token)) as ditto:
    ditto.transport_config = TransportConfig(ConnectConfig(websocket_urls=[sync_url]))
    ditto.small_peer_info.is_enabled = True
    ditto.small_peer_info.sync_scope = SyncScope.BIG_PEER_ONLY
    ditto.start_sync()
    print(f"peer_key {ditto.presence.local_peer_key}", flush=True)
    time.sleep(float(seconds))
