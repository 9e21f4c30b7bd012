package io.smallpeer.internal;

/** Receives sp_logger_add_callback messages on an engine thread (attached to the JVM for the call). */
public interface NativeLogCallback {
  /** One shown log message at an SP_LOG_* level. */
  void onLog(int level, String message);
}
