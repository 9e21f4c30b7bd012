// The calls of CallBench.kt made from Java (see there); same output, Java's spelling.
//   java -cp <classpath of CallBench.kt> io.smallpeer.bench.JavaCallBench [calls-per-repeat] [repeats]
package io.smallpeer.bench;

import io.smallpeer.DittoLogLevel;
import io.smallpeer.DittoLogger;
import io.smallpeer.DittoSmallPeerInfo;

/** The calls made from Java. */
public final class JavaCallBench {
  private JavaCallBench() {}

  /** Runs the bench; arguments: [calls-per-repeat] [repeats]. */
  public static void main(String[] args) throws Exception {
    CallBench bench = new CallBench(args, "Java");
    CallBench.withDitto(ditto -> {
      DittoSmallPeerInfo spi = ditto.smallPeerInfo;
      bench.measure("BM_SpiIsEnabledGet", "ditto.smallPeerInfo.isEnabled()", calls -> {
        long n = 0;
        for (int i = 0; i < calls; i++) if (spi.isEnabled()) n++;
        return n;
      });
      bench.measure("BM_SpiIsEnabledSet", "ditto.smallPeerInfo.setEnabled(false)", calls -> {
        for (int i = 0; i < calls; i++) spi.setEnabled(false);
        return 0;
      });
      bench.measure("BM_LoggerMinimumLevelGet", "DittoLogger.getMinimumLogLevel()", calls -> {
        long n = 0;
        for (int i = 0; i < calls; i++) n += DittoLogger.getMinimumLogLevel().ordinal();
        return n;
      });
      bench.measure("BM_LoggerMinimumLevelSet", "DittoLogger.setMinimumLogLevel(DittoLogLevel.INFO)", calls -> {
        for (int i = 0; i < calls; i++) DittoLogger.setMinimumLogLevel(DittoLogLevel.INFO);
        return 0;
      });
    });
    bench.done();
  }
}
