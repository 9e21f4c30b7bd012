package io.smallpeer.javatests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallpeer.Ditto;
import io.smallpeer.DittoCollection;
import io.smallpeer.DittoError;
import io.smallpeer.DittoSmallPeerInfo;
import io.smallpeer.DittoSmallPeerInfoSyncScope;
import io.smallpeer.DittoTransportConfig;
import io.smallpeer.testing.BigPeer;
import java.io.File;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Validation errors and use after close, from Java: checked DittoError subclasses carrying the C status. */
class JavaErrorsTest {
  private File dir;
  private Ditto ditto;

  @BeforeEach
  void open() throws DittoError {
    dir = BigPeer.tempDirectory();
    ditto = new Ditto(dir);
  }

  @AfterEach
  void close() {
    ditto.close();
    JavaApiTest.BigPeerFiles.delete(dir);
  }

  @Test
  void metadataLimits() throws DittoError {
    DittoSmallPeerInfo info = ditto.smallPeerInfo;
    info.setMetadata(Map.of("keep", "me"));
    Map<String, Object> deep = new HashMap<>();
    Map<String, Object> cursor = deep;
    for (int i = 0; i < 64; i++) {
      Map<String, Object> next = new HashMap<>();
      cursor.put("n", next);
      cursor = next;
    }
    DittoError.Validation tooDeep = assertThrows(DittoError.Validation.class, () -> info.setMetadata(deep));
    assertEquals(2, tooDeep.code);
    assertThrows(DittoError.Validation.class, () -> info.setMetadata(Map.of("blob", "x".repeat(200_000))));
    DittoError.Validation notObject = assertThrows(DittoError.Validation.class, () -> info.setMetadataJsonString("\"text\""));
    assertTrue(notObject.getMessage().contains("object"), notObject.getMessage());
    DittoError.Validation notJson = assertThrows(DittoError.Validation.class, () -> info.setMetadata(Map.of("t", Thread.currentThread())));
    assertTrue(notJson.getMessage().contains("metadata.t"), notJson.getMessage());
    assertEquals(Map.of("keep", "me"), info.getMetadata());
  }

  @Test
  void badSettingsAndUrls() throws DittoError {
    assertThrows(DittoError.InvalidArgument.class, () -> ditto.smallPeerInfo.setCollectionInterval(Duration.ofMillis(10)));
    assertThrows(DittoError.InvalidArgument.class, () -> ditto.setDeviceName(""));
    assertThrows(DittoError.InvalidArgument.class, () -> ditto.setDeviceName("nul\u0000inside"));
    DittoTransportConfig bad = new DittoTransportConfig();
    bad.getConnect().getWebsocketURLs().add("http//broken");
    DittoError.InvalidArgument e = assertThrows(DittoError.InvalidArgument.class, () -> ditto.setTransportConfig(bad));
    assertEquals(1, e.code);
    assertEquals(new DittoTransportConfig(), ditto.getTransportConfig());
    assertThrows(DittoError.Locked.class, () -> new Ditto(dir));
  }

  @Test
  void useAfterCloseThrowsDittoErrorClosed() {
    DittoSmallPeerInfo info = ditto.smallPeerInfo;
    DittoCollection docs = ditto.getStore().collection("docs");
    ditto.close();
    ditto.close();
    assertTrue(ditto.isClosed());
    assertThrows(DittoError.Closed.class, () -> info.setEnabled(true));
    assertThrows(DittoError.Closed.class, () -> info.setSyncScope(DittoSmallPeerInfoSyncScope.BigPeerOnly));
    assertThrows(DittoError.Closed.class, info::getMetadata);
    assertThrows(DittoError.Closed.class, () -> docs.upsert(Map.of("a", 1)));
    assertThrows(DittoError.Closed.class, () -> docs.observe(change -> { }));
    assertThrows(DittoError.Closed.class, ditto::startSync);
    assertThrows(DittoError.Closed.class, () -> ditto.getPresence().getLocalPeerKey());
    assertThrows(DittoError.Closed.class, ditto::getDeviceName);
    assertThrows(DittoError.Closed.class, info::collectNow);
    DittoError.Closed closed = assertThrows(DittoError.Closed.class, () -> ditto.sendLogs());
    assertEquals(4, closed.code);
  }
}
