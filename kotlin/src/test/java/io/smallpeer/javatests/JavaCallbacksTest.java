package io.smallpeer.javatests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallpeer.Ditto;
import io.smallpeer.DittoError;
import io.smallpeer.DittoStoreObserver;
import io.smallpeer.testing.BigPeer;
import java.io.File;
import java.util.Collections;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Callbacks from engine threads, from Java: attached for the call, stopped by close, no thread left behind. */
class JavaCallbacksTest {
  @Test
  void observerCallbacksStopAtCloseAndLeaveNoThread() throws DittoError {
    File dir = BigPeer.tempDirectory();
    Set<String> threads = Collections.synchronizedSet(new HashSet<>());
    AtomicInteger calls = new AtomicInteger();
    AtomicInteger afterClose = new AtomicInteger();
    try (Ditto ditto = new Ditto(dir)) {
      DittoStoreObserver observer = ditto.getStore().collection("java").observe(change -> {
        threads.add(Thread.currentThread().getName());
        calls.incrementAndGet();
      });
      for (int i = 0; i < 20; i++) ditto.getStore().collection("java").upsert(Map.of("_id", "j" + i));
      assertTrue(BigPeer.eventually(10_000, () -> calls.get() == 20));
      assertEquals(Set.of("smallpeer-callback"), Set.copyOf(threads));
      observer.close();
      assertFalse(observer.isActive());
      DittoStoreObserver second = ditto.getStore().collection("java").observe(change -> afterClose.incrementAndGet());
      ditto.getStore().collection("java").upsert(Map.of("_id", "late"));
      assertTrue(BigPeer.eventually(10_000, () -> afterClose.get() == 1));
      assertEquals(20, calls.get(), "a closed observer was called");
      assertTrue(second.isActive());
    }
    assertTrue(BigPeer.eventually(5000, () -> BigPeer.callbackThreads().isEmpty()), BigPeer.callbackThreads().toString());
    JavaApiTest.BigPeerFiles.delete(dir);
  }
}
