package dev.lockstep.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A certificate authority of the test's own, made with Debian's {@code openssl} in a folder of the test's,
 * and the certificates it signs: a server's for {@code 127.0.0.1}/{@code localhost}, agents' (the URI name
 * {@code lockstep://agent/<service>/<id>} that the coordinator reads as the agent's identity), operators'
 * (a CN). RSA 2048 keys in PKCS#8 PEM, valid for two days. Each certificate gets a serial of its own, so a
 * test can tell which one a server presents.
 *
 * <pre>{@code
 * TestCertificates ca = TestCertificates.create(dir.resolve("ca"));
 * TestCertificates.Issued server = ca.server("server");
 * TestCertificates.Issued web1 = ca.agent("app", "web-1");
 * // --tls-cert server.cert() --tls-key server.key() --tls-client-ca ca.caCert()
 * }</pre>
 */
public final class TestCertificates {
  private static final AtomicLong SERIALS = new AtomicLong(System.currentTimeMillis() << 8);

  private final Path dir;
  private final Path caCert;
  private final Path caKey;

  /** A certificate and its key, as PEM files. */
  public record Issued(Path cert, Path key) {
    /** The certificate's serial number. */
    public BigInteger serial() {
      return certificate(cert).getSerialNumber();
    }
  }

  private TestCertificates(Path dir, Path caCert, Path caKey) {
    this.dir = dir;
    this.caCert = caCert;
    this.caKey = caKey;
  }

  /** A new CA ({@code CN=<folder name> test CA}) in {@code dir}, created if need be. */
  public static TestCertificates create(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path cert = dir.resolve("ca.crt");
    Path key = dir.resolve("ca.key");
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out", cert.toString(),
        "-days", "2", "-subj", "/O=lockstep-test/CN=" + dir.getFileName() + " test CA", "-set_serial",
        Long.toString(SERIALS.incrementAndGet()));
    return new TestCertificates(dir, cert, key);
  }

  /** The CA's certificate: what clients trust ({@code --ca-cert}) and the coordinator checks clients against. */
  public Path caCert() {
    return caCert;
  }

  /** A server certificate for {@code 127.0.0.1} and {@code localhost}. */
  public Issued server(String name) {
    return issue(name, "/O=lockstep-test/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "extendedKeyUsage=serverAuth");
  }

  /**
   * A server certificate {@code CN=<name>} for exactly the names given, e.g. {@code "DNS:localhost"},
   * {@code "IP:127.0.0.1"} (or a wrong host, to see {@code verify-full} refuse it).
   */
  public Issued serverFor(String name, String... subjectAltNames) {
    return issue(name, "/O=lockstep-test/CN=" + name, "subjectAltName=" + String.join(",", subjectAltNames),
        "extendedKeyUsage=serverAuth");
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

  /** An agent's client certificate: {@code CN=<id>}, URI name {@code lockstep://agent/<service>/<id>}. */
  public Issued agent(String service, String id) {
    return issue("agent-" + service + "-" + id, "/O=lockstep-test/OU=agent/CN=" + id,
        "subjectAltName=URI:lockstep://agent/" + service + "/" + id, "extendedKeyUsage=clientAuth");
  }

  /** An operator's client certificate: {@code CN=<name>}, no agent name. */
  public Issued operator(String name) {
    return issue("operator-" + name, "/O=lockstep-test/OU=operator/CN=" + name, null, "extendedKeyUsage=clientAuth");
  }

  /**
   * Any certificate this CA signs: {@code subject} in openssl's {@code /K=V/…} form, and extension lines such as
   * {@code subjectAltName=URI:…} (null ones are left out). Files {@code <name>.crt} and {@code <name>.key}, replaced
   * if they exist.
   */
  public Issued issue(String name, String subject, String... extensions) {
    Path key = dir.resolve(name + ".key");
    Path csr = dir.resolve(name + ".csr");
    Path cert = dir.resolve(name + ".crt");
    Path ext = dir.resolve(name + ".ext");
    try {
      List<String> lines = new ArrayList<>(List.of("basicConstraints=CA:FALSE", "keyUsage=digitalSignature,keyEncipherment"));
      for (String e : extensions) {
        if (e != null) {
          lines.add(e);
        }
      }
      Files.write(ext, lines);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    openssl(dir, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out", csr.toString(),
        "-subj", subject);
    openssl(dir, "x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(),
        "-set_serial", Long.toString(SERIALS.incrementAndGet()), "-days", "2", "-out", cert.toString(),
        "-extfile", ext.toString());
    return new Issued(cert, key);
  }

  /**
   * A JDK {@link SSLContext} that trusts this CA and, unless {@code client} is null, presents that certificate:
   * for test clients (the JDK's {@code HttpClient}, {@code SSLSocket}) of a coordinator this CA's server
   * certificate serves.
   */
  public SSLContext clientContext(Issued client) {
    return context(caCert, client);
  }

  /** As {@link #clientContext}, trusting {@code trustedCa} instead (e.g. another test CA's, to fail the handshake). */
  public static SSLContext context(Path trustedCa, Issued client) {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("ca", certificate(trustedCa));
      TrustManagerFactory trustFactory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trustFactory.init(trust);
      KeyManagerFactory keyFactory = null;
      if (client != null) {
        String pem = Files.readString(client.key());
        String base64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        PrivateKey key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("client", key, new char[0], new Certificate[] {certificate(client.cert())});
        keyFactory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyFactory.init(keys, new char[0]);
      }
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keyFactory == null ? null : keyFactory.getKeyManagers(), trustFactory.getTrustManagers(), null);
      return context;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot build a TLS context from " + trustedCa + " and " + client, e);
    }
  }

  /** The certificate in a PEM file (the first, if there are several). */
  public static X509Certificate certificate(Path pem) {
    try (InputStream in = Files.newInputStream(pem)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (CertificateException e) {
      throw new IllegalStateException(pem + " is not a PEM certificate", e);
    }
  }

  private static void openssl(Path dir, String... args) {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    try {
      Path log = Files.createTempFile(dir, "openssl", ".log");
      Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile())
          .start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("openssl did not finish in 60 s: " + cmd);
      }
      String output = Files.readString(log);
      Files.delete(log);
      if (p.exitValue() != 0) {
        throw new IllegalStateException("openssl failed (exit " + p.exitValue() + "): " + cmd + "\n" + output
            + "\n(Debian: apt-get install -y openssl)");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run openssl (Debian: apt-get install -y openssl)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
