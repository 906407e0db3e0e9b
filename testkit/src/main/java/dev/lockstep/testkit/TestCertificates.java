package dev.lockstep.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private CA of a test's own and the server certificates it signs, made with Debian's
 * {@code openssl}, for stores (PostgreSQL, Redis) that speak TLS in a test. Each certificate names
 * the hosts it is for in its subjectAltName, which is what host name checks read.
 *
 * <pre>{@code TestCertificates certs = TestCertificates.create(dir);
 * TestCertificates.Issued server = certs.issue("pg", "DNS:localhost", "IP:127.0.0.1");
 * certs.caCert();   // the PEM file a client trusts
 * server.cert(); server.key();}</pre>
 */
public final class TestCertificates {
  private final Path dir;
  private final Path caCert;
  private final Path caKey;

  /** A certificate and its unencrypted PEM key. */
  public record Issued(Path cert, Path key) {}

  private TestCertificates(Path dir, Path caCert, Path caKey) {
    this.dir = dir;
    this.caCert = caCert;
    this.caKey = caKey;
  }

  /** Whether {@code openssl} is on the PATH here. */
  public static boolean available() {
    try {
      return new ProcessBuilder("openssl", "version").redirectErrorStream(true).start().waitFor() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** A new CA ({@code ca.pem}, {@code ca.key}) in {@code dir}, valid for a day. */
  public static TestCertificates create(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path cert = dir.resolve("ca.pem");
    Path key = dir.resolve("ca.key");
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=lockstep test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", key.toString(), "-out", cert.toString());
    return new TestCertificates(dir, cert, key);
  }

  public Path caCert() {
    return caCert;
  }

  /**
   * A server certificate signed by this CA, {@code <name>.pem} and {@code <name>.key}.
   *
   * @param subjectAltNames e.g. {@code "DNS:localhost"}, {@code "IP:127.0.0.1"}
   */
  public Issued issue(String name, String... subjectAltNames) {
    Path key = dir.resolve(name + ".key");
    Path csr = dir.resolve(name + ".csr");
    Path cert = dir.resolve(name + ".pem");
    Path ext = dir.resolve(name + ".ext");
    try {
      Files.writeString(ext, "subjectAltName=" + String.join(",", subjectAltNames) + "\n"
          + "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout", key.toString(), "-out", csr.toString());
    openssl(dir, "x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(), "-CAcreateserial",
        "-days", "1", "-extfile", ext.toString(), "-out", cert.toString());
    return new Issued(cert, key);
  }

  private static void openssl(Path dir, String... args) {
    List<String> command = new ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
