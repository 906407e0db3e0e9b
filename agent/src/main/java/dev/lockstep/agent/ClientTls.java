package dev.lockstep.agent;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.X509KeyManager;

/**
 * How the agent talks TLS to {@code https://} coordinators: the CA it trusts ({@code --ca-cert}; null: the
 * JVM's trust store) and, for mutual TLS, its own certificate and key ({@code --client-cert},
 * {@code --client-key}), whose certificate names this agent as {@code lockstep://agent/<service>/<id>}.
 *
 * <pre>{@code
 * ClientTls tls = new ClientTls(Path.of("ca.crt"), Path.of("web-1.crt"), Path.of("web-1.key"));
 * tls.check(vertx);                                   // IllegalArgumentException naming a bad file
 * HttpClientOptions options = tls.applyTo(new HttpClientOptions());
 * }</pre>
 *
 * @param caCert PEM CA certificate(s) to trust, or null
 * @param clientCert PEM certificate to present, or null (then {@code clientKey} is null too)
 * @param clientKey PEM private key of {@code clientCert}, or null
 */
public record ClientTls(Path caCert, Path clientCert, Path clientKey) {
  public static final ClientTls NONE = new ClientTls(null, null, null);

  public ClientTls {
    if ((clientCert == null) != (clientKey == null)) {
      throw new IllegalArgumentException(clientCert == null ? "--client-key is given without --client-cert; give both"
          : "--client-cert is given without --client-key; give both");
    }
  }

  /** {@code options} with this trust and client certificate; plain {@code http://} URLs do not use them. */
  public HttpClientOptions applyTo(HttpClientOptions options) {
    if (caCert != null) {
      options.setTrustOptions(trust());
    }
    if (clientCert != null) {
      options.setKeyCertOptions(keys());
    }
    return options;
  }

  /**
   * Reads the files now, as Vert.x will (blocking), so a missing file, a non-PEM file or a key that is not
   * the certificate's is one line at start-up rather than a failed handshake every report interval.
   */
  public void check(Vertx vertx) {
    readable("--ca-cert", caCert);
    readable("--client-cert", clientCert);
    readable("--client-key", clientKey);
    if (caCert != null) {
      try {
        trust().getTrustManagerFactory(vertx);
      } catch (Exception e) {
        throw new IllegalArgumentException("--ca-cert " + caCert + ": is not a PEM CA certificate (" + e.getMessage() + ")");
      }
    }
    if (clientCert != null) {
      KeyManagerFactory factory;
      try {
        factory = keys().getKeyManagerFactory(vertx);
      } catch (Exception e) {
        throw new IllegalArgumentException("--client-key " + clientKey + ": is not a PEM private key that fits --client-cert "
            + clientCert + " (" + e.getMessage() + ")");
      }
      if (!matches(factory)) {
        throw new IllegalArgumentException("--client-key " + clientKey + ": is not the private key of the certificate in "
            + "--client-cert " + clientCert);
      }
    }
  }

  private PemTrustOptions trust() {
    return new PemTrustOptions().addCertPath(caCert.toString());
  }

  private PemKeyCertOptions keys() {
    return new PemKeyCertOptions().setCertPath(clientCert.toString()).setKeyPath(clientKey.toString());
  }

  private static void readable(String flag, Path file) {
    if (file != null && !Files.isReadable(file)) {
      throw new IllegalArgumentException(flag + " " + file + ": " + (Files.exists(file) ? "cannot read it" : "no such file"));
    }
  }

  /** Signs a nonce with the key and checks it with the certificate: the one proof that they belong together. */
  private static boolean matches(KeyManagerFactory factory) {
    for (KeyManager manager : factory.getKeyManagers()) {
      if (!(manager instanceof X509KeyManager keys)) {
        continue;
      }
      for (String type : new String[] {"RSA", "EC", "EdDSA", "Ed25519"}) {
        String[] aliases = keys.getClientAliases(type, null);
        if (aliases == null || aliases.length == 0) {
          continue;
        }
        X509Certificate[] chain = keys.getCertificateChain(aliases[0]);
        PrivateKey key = keys.getPrivateKey(aliases[0]);
        String algorithm = switch (key.getAlgorithm()) {
          case "RSA" -> "SHA256withRSA";
          case "EC" -> "SHA256withECDSA";
          default -> "Ed25519";
        };
        try {
          byte[] nonce = "lockstep key check".getBytes(StandardCharsets.US_ASCII);
          Signature sign = Signature.getInstance(algorithm);
          sign.initSign(key);
          sign.update(nonce);
          Signature verify = Signature.getInstance(algorithm);
          verify.initVerify(chain[0].getPublicKey());
          verify.update(nonce);
          return verify.verify(sign.sign());
        } catch (java.security.GeneralSecurityException e) {
          return false;
        }
      }
    }
    return false;
  }
}
