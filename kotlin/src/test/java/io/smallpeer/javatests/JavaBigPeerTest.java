package io.smallpeer.javatests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallpeer.Ditto;
import io.smallpeer.DittoError;
import io.smallpeer.DittoIdentity;
import io.smallpeer.DittoLogLevel;
import io.smallpeer.DittoSmallPeerInfoSyncScope;
import io.smallpeer.DittoTransportConfig;
import io.smallpeer.testing.BigPeer;
import java.io.File;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The documented Java lines against a real Big Peer process. */
class JavaBigPeerTest {
  @Test
  void documentedJavaLinesSendTheDocumentToTheBigPeer() throws DittoError {
    File dir = BigPeer.tempDirectory();
    try (BigPeer bigPeer = new BigPeer();
        Ditto ditto = new Ditto(dir, new DittoIdentity.OnlinePlayground(bigPeer.getAppId(), bigPeer.getAppToken()), "java-documented")) {
      DittoTransportConfig config = new DittoTransportConfig();
      config.getConnect().getWebsocketURLs().add(bigPeer.getSyncUrl());
      ditto.setTransportConfig(config);
      ditto.startSync();

      ditto.smallPeerInfo.setEnabled(true);
      ditto.smallPeerInfo.setSyncScope(DittoSmallPeerInfoSyncScope.BigPeerOnly);

      String key = ditto.getPresence().getLocalPeerKey();
      Map<String, Object> doc = bigPeer.waitForDocument("__small_peer_info", key, 20_000, d -> "BigPeerOnly".equals(d.get("sync_scope")));
      assertNotNull(doc, "the Big Peer never received " + key + ":\n" + bigPeer.getLog());
      assertEquals(key, doc.get("_id"));
      assertEquals("Java", doc.get("ditto_sdk_language"));
      assertEquals("java-documented", doc.get("device_name"));
    } finally {
      JavaApiTest.BigPeerFiles.delete(dir);
    }
  }

  @Test
  void sendLogsFromJavaReachesTheBigPeer() throws DittoError {
    File dir = BigPeer.tempDirectory();
    try (BigPeer bigPeer = new BigPeer();
        Ditto ditto = new Ditto(dir, new DittoIdentity.OnlinePlayground(bigPeer.getAppId(), bigPeer.getAppToken()))) {
      ditto.setTransportConfig(bigPeer.transportConfig());
      ditto.startSync();
      ditto.log(DittoLogLevel.ERROR, "java support button");
      String requestId = ditto.sendLogs(DittoLogLevel.ERROR);
      assertTrue(requestId.startsWith("dev_"), requestId);
      assertTrue(BigPeer.eventually(30_000, () -> {
        Map<String, Object> state = bigPeer.get("/api/v1/log-requests/" + requestId);
        return state != null && "ready".equals(state.get("state"));
      }), bigPeer.getLog());
    } finally {
      JavaApiTest.BigPeerFiles.delete(dir);
    }
  }
}
