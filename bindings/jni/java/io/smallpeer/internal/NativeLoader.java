package io.smallpeer.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads libsmallpeer and libsmallpeer_jni once per class loader.
 *
 * <p>A desktop jar carries both libraries as resources under {@code io/smallpeer/internal/native/<os>-<arch>/};
 * they are copied to a fresh temporary directory, loaded with {@link System#load}, and deleted at
 * once (the mapping outlives the files). Where the jar has none for this platform (Android, whose
 * package manager installs the AAR's {@code jni/<abi>/} libraries), {@link System#loadLibrary} is used.
 * Either way the C library's ABI version must equal the one the bindings were generated from.
 */
public final class NativeLoader {
  /** The two libraries, in load order: the JNI library needs the C library. */
  private static final String[] LIBRARIES = {"smallpeer", "smallpeer_jni"};

  private static boolean loaded;

  private NativeLoader() {}

  /** Loads the libraries if this class loader has not yet done so, and checks the ABI version. */
  public static synchronized void load() {
    if (loaded) return;
    String dir = "native/" + platform() + "/";
    if (NativeLoader.class.getResource(dir + System.mapLibraryName(LIBRARIES[1])) != null) {
      loadFromResources(dir);
    } else {
      for (String name : LIBRARIES) System.loadLibrary(name);
    }
    loaded = true;
    int abi = SmallPeerNativeJNI.sp_abi_version();
    if (abi != SmallPeerNativeConstants.SP_ABI_VERSION) {
      throw new UnsatisfiedLinkError("libsmallpeer has ABI version " + abi + " but this jar was built for "
          + SmallPeerNativeConstants.SP_ABI_VERSION);
    }
  }

  /** "linux-x86_64", "linux-aarch64", ...: the resource folder for this JVM's platform. */
  static String platform() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    if (os.startsWith("linux")) os = "linux";
    else if (os.startsWith("mac")) os = "macos";
    else if (os.startsWith("windows")) os = "windows";
    if (arch.equals("amd64") || arch.equals("x86_64")) arch = "x86_64";
    else if (arch.equals("arm64")) arch = "aarch64";
    return os + "-" + arch;
  }

  private static void loadFromResources(String dir) {
    Path tmp = null;
    try {
      tmp = Files.createTempDirectory("smallpeer-jni");
      for (String name : LIBRARIES) {
        String file = System.mapLibraryName(name);
        Path target = tmp.resolve(file);
        try (InputStream in = NativeLoader.class.getResourceAsStream(dir + file)) {
          if (in == null) throw new UnsatisfiedLinkError("the jar has no " + dir + file);
          Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
        System.load(target.toAbsolutePath().toString());
      }
    } catch (IOException e) {
      UnsatisfiedLinkError error = new UnsatisfiedLinkError("cannot extract SmallPeer's native libraries: " + e);
      error.initCause(e);
      throw error;
    } finally {
      if (tmp != null) deleteQuietly(tmp);
    }
  }

  private static void deleteQuietly(Path dir) {
    for (String name : LIBRARIES) {
      try {
        Files.deleteIfExists(dir.resolve(System.mapLibraryName(name)));
      } catch (IOException ignored) {
        // A leftover file in the temporary directory is harmless.
      }
    }
    try {
      Files.deleteIfExists(dir);
    } catch (IOException ignored) {
      // Same.
    }
  }
}
