package io.smallpeer.javatests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallpeer.Ditto;
import io.smallpeer.DittoChange;
import io.smallpeer.DittoChangeKind;
import io.smallpeer.DittoCollection;
import io.smallpeer.DittoError;
import io.smallpeer.DittoIdentity;
import io.smallpeer.DittoLogLevel;
import io.smallpeer.DittoLogger;
import io.smallpeer.DittoPresenceGraph;
import io.smallpeer.DittoQueryResult;
import io.smallpeer.DittoQueryResultItem;
import io.smallpeer.DittoSmallPeerInfo;
import io.smallpeer.DittoSmallPeerInfoSyncScope;
import io.smallpeer.DittoStoreObserver;
import io.smallpeer.DittoSyncScope;
import io.smallpeer.DittoTransportConfig;
import io.smallpeer.testing.BigPeer;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every row of SPEC section 3, from Java: the same classes, used the Java way. */
class JavaApiTest {
  private File dir;
  private Ditto ditto;

  @BeforeEach
  void open() throws DittoError {
    dir = BigPeer.tempDirectory();
    ditto = new Ditto(dir, new DittoIdentity.OfflinePlayground("java-api"), "java-device");
  }

  @AfterEach
  void close() {
    ditto.close();
    BigPeerFiles.delete(dir);
  }

  @Test
  void opensWithDirectoryIdentityAndDeviceName() throws DittoError {
    assertEquals(dir, ditto.getPersistenceDirectory());
    assertFalse(Ditto.getVersion().isEmpty());
    assertEquals("java-device", ditto.getDeviceName());
    Map<String, Object> doc = ditto.smallPeerInfo.collectNow();
    assertEquals("Java", doc.get("ditto_sdk_language"));
    assertEquals(ditto.getPresence().getLocalPeerKey(), doc.get("_id"));
    File other = BigPeer.tempDirectory();
    try (Ditto defaults = new Ditto(other)) {
      assertTrue(defaults.getIdentity() instanceof DittoIdentity.OfflinePlayground);
    } finally {
      BigPeerFiles.delete(other);
    }
  }

  @Test
  void smallPeerInfoIsAFieldAndAGetter() throws DittoError {
    ditto.smallPeerInfo.setEnabled(true); // Ditto's Android SDK: a public field
    assertTrue(ditto.getSmallPeerInfo().isEnabled()); // SPEC's documented Java line: the getter
    assertTrue(ditto.smallPeerInfo == ditto.getSmallPeerInfo());
  }

  @Test
  void smallPeerInfoSettings() throws DittoError {
    DittoSmallPeerInfo info = ditto.smallPeerInfo;
    assertFalse(info.isEnabled());
    assertNull(info.getDocument());
    info.setEnabled(true);
    assertTrue(info.isEnabled());
    assertTrue(BigPeer.eventually(5000, () -> hasDocument(info)));
    assertEquals(DittoSmallPeerInfoSyncScope.LocalPeerOnly, info.getSyncScope());
    info.setSyncScope(DittoSmallPeerInfoSyncScope.BigPeerOnly);
    assertEquals(DittoSmallPeerInfoSyncScope.BigPeerOnly, info.getSyncScope());

    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("site", "south");
    metadata.put("count", 7L);
    metadata.put("list", Arrays.asList(1L, "two", null));
    info.setMetadata(metadata);
    assertEquals(metadata, info.getMetadata());
    info.setMetadataJsonString("{\"a\": {\"b\": true}}");
    assertEquals("{\"a\":{\"b\":true}}", info.getMetadataJsonString());

    ditto.setDeviceName("java renamed");
    assertEquals("java renamed", ditto.getDeviceName());
    assertEquals(Duration.ofMinutes(5), info.getCollectionInterval());
    info.setCollectionInterval(Duration.ofSeconds(2));
    assertEquals(Duration.ofSeconds(2), info.getCollectionInterval());

    Map<String, Object> doc = info.collectNow();
    assertEquals("BigPeerOnly", doc.get("sync_scope"));
    assertEquals("java renamed", doc.get("device_name"));
    assertEquals(doc, info.getDocument());
  }

  @Test
  void transportConfigAndSync() throws DittoError {
    DittoTransportConfig config = new DittoTransportConfig();
    config.getConnect().getTcpServers().add("127.0.0.1:1");
    config.getListen().getTcp().setEnabled(true);
    ditto.setTransportConfig(config);
    assertEquals(config, ditto.getTransportConfig());
    assertFalse(ditto.isSyncActive());
    assertNull(ditto.getLanPort(), "not listening: no port");
    ditto.startSync();
    assertTrue(ditto.isSyncActive());
    assertTrue(ditto.getLanPort() > 0);
    ditto.stopSync();
    assertFalse(ditto.isSyncActive());
  }

  @Test
  void storeAndObservers() throws DittoError {
    DittoCollection cars = ditto.getStore().collection("cars");
    List<DittoChange> changes = new CopyOnWriteArrayList<>();
    DittoStoreObserver observer = cars.observe(changes::add);
    Map<String, Object> car = new LinkedHashMap<>();
    car.put("_id", "v1");
    car.put("make", "Volvo");
    assertEquals("v1", cars.upsert(car));
    String generated = cars.upsert(Map.of("make", "Saab"));
    assertEquals(car, cars.findById("v1"));
    assertEquals(2, cars.findAll().size());
    assertEquals(List.of("cars"), ditto.getStore().getCollectionNames());
    DittoQueryResult query = ditto.getStore().execute("SELECT _id FROM cars WHERE make = :make", Map.of("make", "Saab"));
    assertEquals(List.of(Map.of("_id", generated)), query.getItems().stream().map(DittoQueryResultItem::getValue).toList());
    assertThrows(DittoError.InvalidArgument.class, () -> ditto.getStore().execute("UPDATE cars SET make = 'x'"));
    assertTrue(cars.remove(generated));
    assertNull(cars.findById(generated));
    assertTrue(BigPeer.eventually(5000, () -> changes.size() == 3));
    assertEquals(DittoChangeKind.Upsert, changes.get(0).getKind());
    assertEquals(DittoChangeKind.Remove, changes.get(2).getKind());
    assertNull(changes.get(2).getDocument());
    observer.close();

    assertEquals(DittoSyncScope.AllPeers, cars.getSyncScope());
    cars.setSyncScope(DittoSyncScope.BigPeerOnly);
    assertEquals(DittoSyncScope.BigPeerOnly, cars.getSyncScope());
  }

  @Test
  void presence() throws DittoError {
    String key = ditto.getPresence().getLocalPeerKey();
    assertTrue(key.startsWith("pk"), key);
    DittoPresenceGraph graph = ditto.getPresence().getGraph();
    assertEquals(key, graph.getLocalPeerKey());
    assertFalse(graph.isConnectedToBigPeer());
    assertTrue(graph.getPeers().isEmpty());
    assertNotNull(graph.getConnectionsByTransport());
    assertTrue(graph.getBigPeerConnectionHistory().isEmpty());
  }

  @Test
  void logger() throws DittoError, IOException {
    List<String> messages = new CopyOnWriteArrayList<>();
    DittoLogLevel old = DittoLogger.getMinimumLogLevel();
    File logFile = new File(dir, "java.log");
    try {
      DittoLogger.setEnabled(true);
      assertTrue(DittoLogger.getEnabled());
      DittoLogger.setMinimumLogLevel(DittoLogLevel.DEBUG);
      assertEquals(DittoLogLevel.DEBUG, DittoLogger.getMinimumLogLevel());
      DittoLogger.setConsoleEnabled(false);
      DittoLogger.setLogFile(logFile.getPath());
      DittoLogger.setCustomLogCallback((level, message) -> messages.add(level + " " + message));
      ditto.log(DittoLogLevel.WARNING, "java warning line");
      assertTrue(BigPeer.eventually(5000, () -> messages.stream().anyMatch(m -> m.startsWith("WARNING ") && m.contains("java warning line"))),
          messages.toString());
      assertTrue(BigPeer.eventually(5000, () -> read(logFile).contains("java warning line")));
    } finally {
      DittoLogger.unsetCustomLogCallback();
      DittoLogger.setLogFile(null);
      DittoLogger.setConsoleEnabled(true);
      DittoLogger.setMinimumLogLevel(old);
    }
    File export = new File(dir, "java-export.jsonl.gz");
    long bytes = DittoLogger.exportToFile(export.getPath());
    assertEquals(export.length(), bytes, "exportToFile returns the bytes written");
    assertTrue(gunzip(export).contains("java warning line"));
    File errors = new File(dir, "errors.gz");
    DittoLogger.exportToFile(errors.getPath(), DittoLogLevel.ERROR);
    assertFalse(gunzip(errors).contains("java warning line"));
  }

  @Test
  void exportRefusesContradictoryFiltersAndWritesNothing() {
    Instant now = Instant.now();
    File backwards = new File(dir, "backwards.gz");
    DittoError.InvalidArgument error = assertThrows(DittoError.InvalidArgument.class,
        () -> DittoLogger.exportToFile(backwards.getPath(), null, now, now.minusSeconds(60), null));
    assertEquals("since is after until", error.getMessage());
    assertFalse(backwards.exists(), "a refused export wrote a file");
    DittoError.InvalidArgument zero = assertThrows(DittoError.InvalidArgument.class,
        () -> DittoLogger.exportToFile(new File(dir, "zero.gz").getPath(), null, null, null, 0L));
    assertTrue(zero.getMessage().contains("max_bytes must be a positive integer"), zero.getMessage());
  }

  /** Whether a document has been written (the getter throws the checked DittoError, which a Kotlin lambda cannot). */
  private static boolean hasDocument(DittoSmallPeerInfo info) {
    try {
      return info.getDocument() != null;
    } catch (DittoError e) {
      throw new AssertionError(e);
    }
  }

  private static String gunzip(File file) throws IOException {
    try (InputStream in = new GZIPInputStream(Files.newInputStream(file.toPath()))) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static String read(File file) {
    try {
      return file.exists() ? new String(Files.readAllBytes(file.toPath()), StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "";
    }
  }

  /** Removes a temporary directory tree. */
  static final class BigPeerFiles {
    private BigPeerFiles() {}

    static void delete(File dir) {
      List<File> all = new ArrayList<>();
      collect(dir, all);
      for (int i = all.size() - 1; i >= 0; i--) all.get(i).delete();
    }

    private static void collect(File f, List<File> out) {
      out.add(f);
      File[] children = f.listFiles();
      if (children != null) for (File c : children) collect(c, out);
    }
  }
}
