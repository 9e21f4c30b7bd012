package io.smallpeer.javatests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.smallpeer.Ditto;
import io.smallpeer.DittoBigPeerConnectionEvent;
import io.smallpeer.DittoConnectedPeer;
import io.smallpeer.DittoError;
import io.smallpeer.DittoIdentity;
import io.smallpeer.DittoLogLevel;
import io.smallpeer.DittoLogger;
import io.smallpeer.DittoPresenceGraph;
import io.smallpeer.DittoQueryResult;
import io.smallpeer.DittoQueryResultItem;
import io.smallpeer.DittoSmallPeerInfoSyncScope;
import io.smallpeer.DittoStoreObserver;
import io.smallpeer.DittoSyncScope;
import io.smallpeer.DittoTransportConfig;
import io.smallpeer.testing.Args;
import io.smallpeer.testing.BigPeer;
import io.smallpeer.testing.CaseContext;
import io.smallpeer.testing.ConformanceOps;
import io.smallpeer.testing.ConformanceSuite;
import io.smallpeer.testing.UnknownOp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * The behaviour table (tests/conformance/cases.json) through the API as Java sees it: {@link JavaOps}
 * is the parity table in Java, each op its Java call (getters and setters, the {@code smallPeerInfo}
 * field, the blocking {@code exportToFile}, {@code sendLogs} and {@code collectNow}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JavaConformanceTest {
  private final ConformanceSuite suite = new ConformanceSuite("java", JavaOps::new);

  /** Every case, one dynamic test each. */
  @TestFactory
  List<DynamicTest> cases() {
    return suite.dynamicTests();
  }

  /** Prints the summary line and fails unless every case passed. */
  @AfterAll
  void summary() {
    System.out.println(suite.summary());
    assertEquals(List.of(), suite.failures(), suite.summary());
  }

  /** The table's ops in Java. */
  private static final class JavaOps implements ConformanceOps {
    private CaseContext context;
    private Ditto ditto;
    private Map<String, ?> openArgs = Map.of();
    private final List<DittoStoreObserver> observers = new ArrayList<>();

    @Override
    public void begin(CaseContext context) {
      this.context = context;
      try {
        DittoLogger.setEnabled(true);
        DittoLogger.setMinimumLogLevel(DittoLogLevel.INFO);
        DittoLogger.setLogFile(null);
        DittoLogger.unsetCustomLogCallback();
        DittoLogger.setConsoleEnabled(false);
      } catch (DittoError e) {
        throw new IllegalStateException("resetting the logger failed", e);
      }
    }

    @Override
    public void end() {
      observers.forEach(DittoStoreObserver::close);
      DittoLogger.unsetCustomLogCallback();
      try {
        DittoLogger.setLogFile(null);
      } catch (DittoError e) {
        throw new IllegalStateException("unsetting the log file failed", e);
      }
      if (ditto != null) ditto.close();
    }

    @Override
    public String errorKind(Throwable error) {
      if (error instanceof DittoError.InvalidArgument) return "invalid_argument";
      if (error instanceof DittoError.Validation) return "validation";
      if (error instanceof DittoError.NotFound) return "not_found";
      if (error instanceof DittoError.Closed) return "closed";
      if (error instanceof DittoError.Io) return "io";
      if (error instanceof DittoError.Locked) return "locked";
      if (error instanceof DittoError.Store) return "store";
      if (error instanceof DittoError.Internal) return "internal";
      return null;
    }

    private Ditto d() {
      if (ditto == null) throw new IllegalStateException("no instance is open (op 'open' first)");
      return ditto;
    }

    private Ditto open() throws DittoError {
      boolean online = Boolean.TRUE.equals(openArgs.get("online"));
      DittoIdentity identity = new DittoIdentity.OfflinePlayground();
      if (online) {
        BigPeer bigPeer = context.bigPeer();
        identity = new DittoIdentity.OnlinePlayground(bigPeer.getAppId(), bigPeer.getAppToken());
      }
      Ditto opened = new Ditto(context.dittoDirectory(), identity, (String) openArgs.get("device_name"));
      if (online) {
        DittoTransportConfig config = new DittoTransportConfig();
        config.getConnect().getWebsocketURLs().add(context.bigPeer().getSyncUrl());
        opened.setTransportConfig(config);
      }
      return opened;
    }

    @Override
    public Object run(String op, Map<String, ?> args) throws Exception {
      switch (op) {
        case "open":
          openArgs = args;
          ditto = open();
          return null;
        case "openSecond":
          open().close();
          return null;
        case "close":
          d().close();
          return null;
        case "reopen":
          if (ditto != null) ditto.close();
          ditto = open();
          return null;

        case "ditto.deviceName":
          return d().getDeviceName();
        case "ditto.setDeviceName":
          d().setDeviceName(Args.string(args, "value"));
          return null;
        case "ditto.peerKey":
          return d().getPresence().getLocalPeerKey();
        case "ditto.log":
          d().log(level(Args.string(args, "level")), Args.string(args, "message"));
          return null;
        case "ditto.sendLogs": {
          String minimum = Args.optString(args, "minimumLogLevel");
          return d().sendLogs(minimum == null ? null : level(minimum), instant(args, "since"), instant(args, "until"),
              Args.optInteger(args, "maxBytes"));
        }

        case "spi.isEnabled":
          return d().smallPeerInfo.isEnabled();
        case "spi.setEnabled":
          d().smallPeerInfo.setEnabled(Args.bool(args, "value"));
          return null;
        case "spi.syncScope":
          return d().smallPeerInfo.getSyncScope().name();
        case "spi.setSyncScope":
          d().smallPeerInfo.setSyncScope(spiScope(Args.string(args, "value")));
          return null;
        case "spi.metadata":
          return d().smallPeerInfo.getMetadata();
        case "spi.setMetadata":
          d().smallPeerInfo.setMetadata(Args.obj(args, "value"));
          return null;
        case "spi.metadataJSONString":
          return d().smallPeerInfo.getMetadataJsonString();
        case "spi.setMetadataJSONString":
          d().smallPeerInfo.setMetadataJsonString(Args.string(args, "text"));
          return null;
        case "spi.collectionIntervalMs":
          return d().smallPeerInfo.getCollectionInterval().toMillis();
        case "spi.setCollectionIntervalMs":
          d().smallPeerInfo.setCollectionInterval(Duration.ofMillis(Args.integer(args, "value")));
          return null;
        case "spi.collectNow":
          return d().smallPeerInfo.collectNow();
        case "spi.document":
          return d().smallPeerInfo.getDocument();
        case "spi.adminSigningKey":
          return d().smallPeerInfo.getAdminSigningKey();
        case "spi.setAdminSigningKey":
          d().smallPeerInfo.setAdminSigningKey(Args.optString(args, "value"));
          return null;
        case "spi.shareWithAdminDevices":
          return d().smallPeerInfo.getShareWithAdminDevices();
        case "spi.setShareWithAdminDevices":
          d().smallPeerInfo.setShareWithAdminDevices(Args.bool(args, "value"));
          return null;
        case "spi.isAdminDevice":
          return d().smallPeerInfo.isAdminDevice();
        case "spi.fleet":
          return d().smallPeerInfo.getFleet();
        case "spi.observeFleet":
          observers.add(d().smallPeerInfo.observeFleet(change ->
              context.getChanges().add(change.getCollection() + "/" + change.getId() + "/" + change.getKind().name().toLowerCase(Locale.ROOT))));
          return null;

        case "store.upsert":
          return d().getStore().collection(Args.string(args, "collection")).upsert(Args.obj(args, "document"));
        case "store.get":
          // findById is Ditto's: null for an absent document, the table's null.
          return d().getStore().collection(Args.string(args, "collection")).findById(Args.string(args, "id"));
        case "store.findAll":
          return d().getStore().collection(Args.string(args, "collection")).findAll();
        case "store.execute": {
          @SuppressWarnings("unchecked")
          Map<String, Object> queryArgs = (Map<String, Object>) args.get("args");
          DittoQueryResult result = queryArgs == null
              ? d().getStore().execute(Args.string(args, "query"))
              : d().getStore().execute(Args.string(args, "query"), queryArgs);
          List<Object> items = new ArrayList<>();
          for (DittoQueryResultItem item : result.getItems()) items.add(item.getValue());
          return items;
        }
        case "store.remove":
          return d().getStore().collection(Args.string(args, "collection")).remove(Args.string(args, "id"));
        case "store.collectionNames":
          return d().getStore().getCollectionNames();
        case "store.observe":
          observers.add(d().getStore().collection(Args.string(args, "collection")).observe(change ->
              context.getChanges().add(change.getCollection() + "/" + change.getId() + "/" + change.getKind().name().toLowerCase(Locale.ROOT))));
          return null;
        case "collection.syncScope":
          return d().getStore().collection(Args.string(args, "collection")).getSyncScope().name();
        case "collection.setSyncScope":
          d().getStore().collection(Args.string(args, "collection")).setSyncScope(collectionScope(Args.string(args, "value")));
          return null;

        case "sync.transportConfig":
          return tableShape(d().getTransportConfig());
        case "sync.setTransportConfig":
          d().setTransportConfig(typed(Args.obj(args, "value")));
          return null;
        case "sync.start":
          d().startSync();
          return null;
        case "sync.stop":
          d().stopSync();
          return null;
        case "sync.isRunning":
          return d().isSyncActive();
        case "sync.lanPort":
          return d().getLanPort();

        case "presence.graph":
          return presenceShape(d().getPresence().getGraph());

        case "logger.enabled":
          return DittoLogger.getEnabled();
        case "logger.setEnabled":
          DittoLogger.setEnabled(Args.bool(args, "value"));
          return null;
        case "logger.minimumLogLevel":
          return DittoLogger.getMinimumLogLevel().name().toLowerCase(Locale.ROOT);
        case "logger.setMinimumLogLevel":
          DittoLogger.setMinimumLogLevel(level(Args.string(args, "value")));
          return null;
        case "logger.setLogFile": {
          String path = Args.optString(args, "path");
          DittoLogger.setLogFile(path == null ? null : context.file(path).getPath());
          return null;
        }
        case "logger.setCustomLogCallback":
          DittoLogger.setCustomLogCallback((level, message) -> context.getLogMessages().add(message));
          return null;
        case "logger.unsetCustomLogCallback":
          DittoLogger.unsetCustomLogCallback();
          return null;
        case "logger.exportToFile": {
          String minimum = Args.optString(args, "minimumLogLevel");
          long bytes = DittoLogger.exportToFile(context.file(Args.string(args, "path")).getPath(), minimum == null ? null : level(minimum),
              instant(args, "since"), instant(args, "until"), Args.optInteger(args, "maxBytes"));
          return bytes;
        }

        default:
          throw new UnknownOp(op);
      }
    }

    /** A level name of the table as the Java enum; a name it has no case for is refused here. */
    private static DittoLogLevel level(String name) throws DittoError {
      for (DittoLogLevel level : DittoLogLevel.values()) {
        if (level.name().toLowerCase(Locale.ROOT).equals(name)) return level;
      }
      throw new DittoError.InvalidArgument("no DittoLogLevel '" + name + "'");
    }

    private static DittoSmallPeerInfoSyncScope spiScope(String name) throws DittoError {
      for (DittoSmallPeerInfoSyncScope scope : DittoSmallPeerInfoSyncScope.values()) {
        if (scope.name().equals(name)) return scope;
      }
      throw new DittoError.InvalidArgument("no DittoSmallPeerInfoSyncScope '" + name + "'");
    }

    private static DittoSyncScope collectionScope(String name) throws DittoError {
      for (DittoSyncScope scope : DittoSyncScope.values()) {
        if (scope.name().equals(name)) return scope;
      }
      throw new DittoError.InvalidArgument("no DittoSyncScope '" + name + "'");
    }

    private static Instant instant(Map<String, ?> args, String key) {
      String text = Args.optString(args, key);
      return text == null ? null : Instant.parse(text);
    }

    /** The table's {bigPeerUrls, lanListen, lanConnect} as Ditto's typed config. */
    private static DittoTransportConfig typed(Map<String, Object> value) throws DittoError {
      DittoTransportConfig config = new DittoTransportConfig();
      for (Object url : (List<?>) value.get("bigPeerUrls")) config.getConnect().getWebsocketURLs().add((String) url);
      for (Object server : (List<?>) value.get("lanConnect")) config.getConnect().getTcpServers().add((String) server);
      String listen = (String) value.get("lanListen");
      if (listen != null) {
        // "host:port" into the typed interfaceIp and port; text without a port has no typed form and is refused here.
        int colon = listen.lastIndexOf(':');
        int port;
        try {
          port = Integer.parseInt(colon < 0 ? "" : listen.substring(colon + 1));
        } catch (NumberFormatException e) {
          throw new DittoError.InvalidArgument("lanListen '" + listen + "' is not host:port");
        }
        String host = listen.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        config.getListen().getTcp().setEnabled(true);
        config.getListen().getTcp().setInterfaceIp(host);
        config.getListen().getTcp().setPort(port);
      }
      return config;
    }

    /** Ditto's typed config in the table's shape. */
    private static Map<String, Object> tableShape(DittoTransportConfig config) {
      DittoTransportConfig.Tcp tcp = config.getListen().getTcp();
      String host = tcp.getInterfaceIp().contains(":") ? "[" + tcp.getInterfaceIp() + "]" : tcp.getInterfaceIp();
      Map<String, Object> shape = new LinkedHashMap<>();
      shape.put("bigPeerUrls", new ArrayList<>(config.getConnect().getWebsocketURLs()));
      shape.put("lanListen", tcp.isEnabled() ? host + ":" + tcp.getPort() : null);
      shape.put("lanConnect", new ArrayList<>(config.getConnect().getTcpServers()));
      return shape;
    }

    /** The typed presence graph in the table's shape. */
    private static Map<String, Object> presenceShape(DittoPresenceGraph graph) {
      List<Object> peers = new ArrayList<>();
      for (DittoConnectedPeer peer : graph.getPeers()) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("peerKey", peer.getPeerKey());
        p.put("deviceName", peer.getDeviceName());
        p.put("transport", peer.getTransport());
        p.put("isBigPeer", peer.isBigPeer());
        peers.add(p);
      }
      List<Object> history = new ArrayList<>();
      for (DittoBigPeerConnectionEvent event : graph.getBigPeerConnectionHistory()) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("event", event.getEvent());
        e.put("timestamp", event.getTimestamp());
        e.put("reason", event.getReason());
        history.add(e);
      }
      Map<String, Object> shape = new LinkedHashMap<>();
      shape.put("localPeerKey", graph.getLocalPeerKey());
      shape.put("isConnectedToBigPeer", graph.isConnectedToBigPeer());
      shape.put("peers", peers);
      shape.put("connectionsByTransport", graph.getConnectionsByTransport());
      shape.put("bigPeerConnectionHistory", history);
      return shape;
    }
  }
}
