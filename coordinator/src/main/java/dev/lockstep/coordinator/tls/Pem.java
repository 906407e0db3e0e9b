package dev.lockstep.coordinator.tls;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509KeyManager;

/**
 * Reads PEM files the way Vert.x will use them (keys through Vert.x's own PEM reader), and checks them up front, so a bad file is one line naming
 * it at start-up (or at reload) rather than a handshake that fails later for every client. Used by
 * {@code serve} for its own certificate and by the CLI for the trust and client certificate it presents.
 *
 * <pre>{@code
 * byte[] cert = Pem.read("--tls-cert", certFile);
 * byte[] key = Pem.read("--tls-key", keyFile);
 * X509Certificate leaf = Pem.certificates("--tls-cert", certFile, cert).get(0);
 * KeyManagerFactory keys = Pem.keyPair(vertx, "--tls-key", keyFile, key, leaf, cert);
 * }</pre>
 */
public final class Pem {
  private Pem() {}

  /** The bytes of {@code file}; missing, unreadable or empty is a {@link TlsFileException} naming it. */
  public static byte[] read(String what, Path file) {
    try {
      byte[] bytes = Files.readAllBytes(file);
      if (bytes.length == 0) {
        throw new TlsFileException(what, file, "the file is empty");
      }
      return bytes;
    } catch (NoSuchFileException e) {
      throw new TlsFileException(what, file, "no such file");
    } catch (IOException | SecurityException e) {
      throw new TlsFileException(what, file, "cannot read it (" + e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
    }
  }

  /** The certificates of a PEM file, in file order (the first is the leaf); none is an error. */
  public static List<X509Certificate> certificates(String what, Path file, byte[] pem) {
    try {
      List<X509Certificate> certs = CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(pem)).stream().map(X509Certificate.class::cast).toList();
      if (certs.isEmpty()) {
        throw new TlsFileException(what, file, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
      }
      return certs;
    } catch (CertificateException e) {
      throw new TlsFileException(what, file, "is not a PEM certificate (" + e.getMessage() + ")");
    }
  }

  /**
   * The key managers of a certificate and its private key, after checking that the key is the one the
   * certificate's public key belongs to (Vert.x and the JDK accept a mismatched pair and fail every handshake).
   */
  public static KeyManagerFactory keyPair(Vertx vertx, String keyWhat, Path keyFile, byte[] key, X509Certificate leaf,
                                          byte[] certPem) {
    KeyManagerFactory factory;
    try {
      factory = new PemKeyCertOptions().setKeyValue(Buffer.buffer(key)).setCertValue(Buffer.buffer(certPem))
          .getKeyManagerFactory(vertx);
    } catch (Exception e) {
      throw new TlsFileException(keyWhat, keyFile, "is not a PEM private key that fits the certificate ("
          + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
    }
    PrivateKey privateKey = privateKey(factory, leaf);
    if (privateKey == null || !signs(privateKey, leaf)) {
      throw new TlsFileException(keyWhat, keyFile, "is not the private key of the certificate "
          + leaf.getSubjectX500Principal().getName() + " (serial " + leaf.getSerialNumber().toString(16) + ")");
    }
    return factory;
  }

  /** The trust managers of a CA file: the peer must chain to one of its certificates. */
  public static TrustManagerFactory trust(String what, Path file, byte[] pem) {
    List<X509Certificate> cas = certificates(what, file, pem);
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      for (int i = 0; i < cas.size(); i++) {
        store.setCertificateEntry("ca-" + i, cas.get(i));
      }
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(store);
      return factory;
    } catch (IOException | java.security.GeneralSecurityException e) {
      throw new TlsFileException(what, file, "cannot be used as a trust store (" + e.getMessage() + ")");
    }
  }

  /** A one-line description of a certificate for logs: subject, serial, expiry. */
  public static String describe(X509Certificate cert) {
    return cert.getSubjectX500Principal().getName() + " (serial " + cert.getSerialNumber().toString(16) + ", expires "
        + cert.getNotAfter().toInstant() + ")";
  }

  private static PrivateKey privateKey(KeyManagerFactory factory, X509Certificate leaf) {
    String algorithm = leaf.getPublicKey().getAlgorithm();
    for (KeyManager manager : factory.getKeyManagers()) {
      if (manager instanceof X509KeyManager keys) {
        String[] aliases = keys.getServerAliases(algorithm, null);
        if (aliases != null && aliases.length > 0) {
          return keys.getPrivateKey(aliases[0]);
        }
      }
    }
    return null;
  }

  /** Signs a nonce with the key and checks it with the certificate: the only proof that the two belong together. */
  private static boolean signs(PrivateKey key, X509Certificate leaf) {
    String algorithm = switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      case "Ed448" -> "Ed448";
      default -> null;
    };
    if (algorithm == null) {
      return true;  // a key type we cannot sign with here; the handshake will tell
    }
    try {
      byte[] nonce = "lockstep key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      Signature sign = Signature.getInstance(algorithm);
      sign.initSign(key);
      sign.update(nonce);
      byte[] signature = sign.sign();
      Signature verify = Signature.getInstance(algorithm);
      verify.initVerify(leaf.getPublicKey());
      verify.update(nonce);
      return verify.verify(signature);
    } catch (java.security.GeneralSecurityException e) {
      return false;
    }
  }
}
