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
    DittoSmallPeerInfo info = ditto.getSmallPeerInfo();
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
    IllegalArgumentException notJson = assertThrows(IllegalArgumentException.class, () -> info.setMetadata(Map.of("t", Thread.currentThread())));
    assertTrue(notJson.getMessage().contains("metadata.t"), notJson.getMessage());
    assertEquals(Map.of("keep", "me"), info.getMetadata());
  }

  @Test
  void badSettingsAndUrls() throws DittoError {
    assertThrows(DittoError.class, () -> ditto.getSmallPeerInfo().setCollectionInterval(Duration.ofMillis(10)));
    assertThrows(DittoError.class, () -> ditto.getSmallPeerInfo().setDeviceName(""));
    DittoTransportConfig bad = new DittoTransportConfig();
    bad.getConnect().getWebsocketURLs().add("http//broken");
    DittoError.InvalidArgument e = assertThrows(DittoError.InvalidArgument.class, () -> ditto.setTransportConfig(bad));
    assertEquals(1, e.code);
    assertEquals(new DittoTransportConfig(), ditto.getTransportConfig());
    assertThrows(DittoError.Locked.class, () -> new Ditto(dir));
  }

  @Test
  void useAfterCloseThrowsIllegalStateException() {
    DittoSmallPeerInfo info = ditto.getSmallPeerInfo();
    DittoCollection docs = ditto.getStore().collection("docs");
    ditto.close();
    ditto.close();
    assertTrue(ditto.isClosed());
    assertThrows(IllegalStateException.class, () -> info.setEnabled(true));
    assertThrows(IllegalStateException.class, () -> info.setSyncScope(DittoSmallPeerInfoSyncScope.BigPeerOnly));
    assertThrows(IllegalStateException.class, info::getMetadata);
    assertThrows(IllegalStateException.class, () -> docs.upsert(Map.of("a", 1)));
    assertThrows(IllegalStateException.class, () -> docs.observe(change -> { }));
    assertThrows(IllegalStateException.class, ditto::startSync);
    assertThrows(IllegalStateException.class, () -> ditto.getPresence().getLocalPeerKey());
  }
}
