package io.smallpeer.internal;

/** Receives sp_store_observe changes on an engine thread (attached to the JVM for the call). */
public interface NativeStoreObserver {
  /** One committed change; {@code documentJson} is null when {@code kind} is SP_CHANGE_REMOVE. */
  void onChange(String collection, String id, int kind, String documentJson);
}
