import io.smallpeer.Ditto;
import io.smallpeer.DittoIdentity;
import io.smallpeer.DittoSmallPeerInfoSyncScope;
import io.smallpeer.DittoTransportConfig;
import java.io.File;

/** The jar's Java consumer (jvm_package_test.sh): the job every package test's program does. */
public final class Consumer {
  /** Usage: java Consumer PERSISTENCE_DIR APP_ID APP_TOKEN SYNC_URL SECONDS */
  public static void main(String[] args) throws Exception {
    try (Ditto ditto = new Ditto(new File(args[0]), new DittoIdentity.OnlinePlayground(args[1], args[2]))) {
      DittoTransportConfig config = new DittoTransportConfig();
      config.getConnect().getWebsocketURLs().add(args[3]);
      ditto.setTransportConfig(config);
      ditto.smallPeerInfo.setEnabled(true);
      ditto.smallPeerInfo.setSyncScope(DittoSmallPeerInfoSyncScope.BigPeerOnly);
      ditto.startSync();
      System.out.println("peer_key " + ditto.getPresence().getLocalPeerKey());
      System.out.flush();
      Thread.sleep(Long.parseLong(args[4]) * 1000);
    }
  }
}
