package io.smallpeer.internal;

/** A failed C call: the sp_status_t code and sp_last_error_message(); the public API maps it to DittoError. */
public final class NativeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The sp_status_t value (SP_ERR_*). */
  public final int code;

  /** Called from JNI with the failed status and its message. */
  public NativeException(int code, String message) {
    super(message);
    this.code = code;
  }
}
