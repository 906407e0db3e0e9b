package dev.lockstep.coordinator.cli;

import dev.lockstep.coordinator.tls.Pem;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

/**
 * The TLS side of the CLI's connection to an {@code https://} coordinator: whom to trust ({@code --ca-cert};
 * without it, the JVM's trust store) and, under mutual TLS, the certificate it presents
 * ({@code --client-cert}/{@code --client-key}). A bad file is a usage error naming it (exit 2).
 *
 * <pre>{@code
 * SSLContext tls = CliTls.context(Path.of("ca.crt"), Path.of("alice.crt"), Path.of("alice.key"));
 * }</pre>
 */
final class CliTls {
  private CliTls() {}

  /** Null when nothing is given: the JDK's defaults then apply. */
  static SSLContext context(Path caCert, Path clientCert, Path clientKey) {
    if ((clientCert == null) != (clientKey == null)) {
      throw new CliException(2, clientCert == null ? "--client-key is given without --client-cert; give both"
          : "--client-cert is given without --client-key; give both");
    }
    if (caCert == null && clientCert == null) {
      return null;
    }
    try {
      TrustManager[] trust = caCert == null ? null
          : Pem.trust("--ca-cert", caCert, Pem.read("--ca-cert", caCert)).getTrustManagers();
      KeyManager[] keys = clientCert == null ? null : keys(clientCert, clientKey);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys, trust, null);
      return context;
    } catch (IllegalArgumentException e) {
      throw new CliException(2, e.getMessage());
    } catch (GeneralSecurityException e) {
      throw new CliException(2, "cannot set up TLS: " + e.getMessage());
    }
  }

  /** Vert.x's PEM reader, so the CLI takes the same key files as the coordinator and the agents. */
  private static KeyManager[] keys(Path cert, Path key) {
    byte[] certPem = Pem.read("--client-cert", cert);
    byte[] keyPem = Pem.read("--client-key", key);
    X509Certificate leaf = Pem.certificates("--client-cert", cert, certPem).get(0);
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
    try {
      return Pem.keyPair(vertx, "--client-key", key, keyPem, leaf, certPem).getKeyManagers();
    } finally {
      try {
        vertx.close().await(5, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // the JVM exits soon anyway
      }
    }
  }
}
