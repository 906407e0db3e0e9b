package dev.lockstep.coordinator.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * How the coordinator's PostgreSQL connections use TLS, read from the database URL's {@code sslmode},
 * {@code ssl} and {@code sslrootcert} exactly as pgjdbc reads them, so the Vert.x pool (which reads
 * nothing from the URL) is told the same thing JDBC, Flyway and the backup command are told. A URL
 * whose TLS settings the pool could not honour, or that contradict each other, is refused when it is
 * parsed: better exit 2 at start-up than talk TLS on one connection and cleartext on another.
 *
 * <p>pgjdbc's rules, followed here: without {@code sslmode}, {@code ssl=true} (or a bare {@code ssl})
 * means {@code verify-full}, anything else {@code prefer}. {@code allow}, {@code prefer} and
 * {@code require} encrypt without checking the server's certificate; {@code verify-ca} checks it
 * against {@code sslrootcert} (default {@code ~/.postgresql/root.crt}); {@code verify-full} also
 * checks that it names the host the URL connects to.
 *
 * <pre>{@code DatabaseTls tls = DatabaseUrl.parse("postgresql://app@db/shop?sslmode=verify-full&sslrootcert=/etc/ca.pem").tls();
 * tls.mode();        // VERIFY_FULL
 * tls.rootCert();    // /etc/ca.pem}</pre>
 *
 * @param mode the effective mode
 * @param rootCert the PEM file of trusted CAs for {@code verify-ca}/{@code verify-full}; null below them
 */
public record DatabaseTls(Mode mode, Path rootCert) {

  /** pgjdbc's (and libpq's) {@code sslmode} values, weakest first. */
  public enum Mode {
    DISABLE, ALLOW, PREFER, REQUIRE, VERIFY_CA, VERIFY_FULL;

    /** The value as written in a URL: {@code verify-full}. */
    public String value() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Whether a connection without TLS is refused. */
    public boolean requiresEncryption() {
      return compareTo(REQUIRE) >= 0;
    }

    public boolean verifiesCertificate() {
      return this == VERIFY_CA || this == VERIFY_FULL;
    }

    static Mode of(String value) {
      for (Mode m : values()) {
        if (m.value().equalsIgnoreCase(value)) {
          return m;
        }
      }
      return null;
    }
  }

  /** pgjdbc's TLS settings the pool has no equivalent for: honoured by JDBC only, so refused rather than half-applied. */
  private static final Set<String> UNSUPPORTED = Set.of("sslfactory", "sslfactoryarg", "sslhostnameverifier", "sslcert", "sslkey",
      "sslpassword", "sslpasswordcallback", "sslnegotiation");

  /** The parameters this record reads, which a libpq URL spells its own way. */
  static final Set<String> PARAMETERS = Set.of("sslmode", "ssl", "sslrootcert");

  /**
   * Reads the TLS settings of a database URL's query parameters.
   *
   * @param shown the URL as it may be shown (no password), for the messages
   * @throws IllegalArgumentException naming the parameter and the fix, for an unknown {@code sslmode}, a setting the
   *     pool cannot honour, contradictory settings, or a root certificate file that cannot be read
   */
  static DatabaseTls of(Map<String, String> params, String shown) {
    for (String key : params.keySet()) {
      if (UNSUPPORTED.contains(key.toLowerCase(Locale.ROOT))) {
        throw new IllegalArgumentException("database URL " + shown + ": " + key + " is not supported (the coordinator's"
            + " connection pool could not honour it); remove it and use sslmode and sslrootcert");
      }
    }
    String sslmode = params.get("sslmode");
    String ssl = params.get("ssl");
    if (ssl != null && !ssl.isEmpty() && !ssl.equalsIgnoreCase("true") && !ssl.equalsIgnoreCase("false")) {
      throw new IllegalArgumentException("database URL " + shown + ": ssl=" + ssl + " is neither true nor false; prefer sslmode="
          + "require, verify-ca or verify-full");
    }
    Mode mode;
    if (sslmode == null) {
      // pgjdbc: a bare "ssl" or ssl=true without sslmode is verify-full.
      mode = ssl != null && (ssl.isEmpty() || ssl.equalsIgnoreCase("true")) ? Mode.VERIFY_FULL : Mode.PREFER;
    } else {
      mode = Mode.of(sslmode);
      if (mode == null) {
        throw new IllegalArgumentException("database URL " + shown + ": sslmode=" + sslmode + " is not one of disable, allow,"
            + " prefer, require, verify-ca, verify-full");
      }
      if (ssl != null && (ssl.equalsIgnoreCase("false") ? mode.requiresEncryption() : !mode.requiresEncryption())) {
        throw new IllegalArgumentException("database URL " + shown + ": ssl=" + ssl + " contradicts sslmode=" + sslmode
            + "; keep only sslmode");
      }
    }
    String rootCert = params.get("sslrootcert");
    if (rootCert != null && !mode.verifiesCertificate()) {
      // pgjdbc ignores it below verify-ca, libpq (the backup command's pg_dump) checks the CA under require: say so instead.
      throw new IllegalArgumentException("database URL " + shown + ": sslrootcert is only used with sslmode=verify-ca or"
          + " verify-full, but sslmode is " + mode.value() + "; raise sslmode to check the server's certificate, or drop"
          + " sslrootcert");
    }
    Path file = null;
    if (mode.verifiesCertificate()) {
      file = rootCert != null ? Path.of(rootCert) : Path.of(System.getProperty("user.home"), ".postgresql", "root.crt");
      if (!Files.isReadable(file)) {
        throw new IllegalArgumentException("database URL " + shown + ": sslmode=" + mode.value() + " needs the CA certificate"
            + " (PEM) that signed the server's, but " + file + " cannot be read; give it as sslrootcert=/path/to/ca.pem");
      }
    }
    return new DatabaseTls(mode, file);
  }
}
