package dev.lockstep.coordinator.tls;

import java.nio.file.Path;

/**
 * A TLS file that cannot be used: missing, unreadable, not PEM, or a key that does not belong to its
 * certificate. The message is one line that names the file and says what is wrong with it, never any of
 * its content. An {@link IllegalArgumentException}, so {@code serve} exits 2 with it at start-up.
 */
public final class TlsFileException extends IllegalArgumentException {
  public TlsFileException(String what, Path file, String problem) {
    super(what + " " + file + ": " + problem);
  }
}
