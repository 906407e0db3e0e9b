package dev.lockstep.coordinator.tls;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.ServerSSLOptions;
import java.security.cert.X509Certificate;
import java.util.Arrays;

/**
 * One reading of the coordinator's {@link TlsFiles}, checked: the certificate parses, the key is its key,
 * the client CA (if any) parses. It hands Vert.x the bytes it checked, not the paths, so what the server
 * uses is exactly what was checked, even if a file changes a moment later. Reading is blocking: call it
 * at start-up or on a worker.
 *
 * <pre>{@code
 * TlsMaterial tls = TlsMaterial.read(vertx, files);   // TlsFileException naming the file if anything is wrong
 * server.updateSSLOptions(tls.sslOptions());
 * }</pre>
 */
public final class TlsMaterial {
  private final TlsFiles files;
  private final Contents contents;
  private final X509Certificate certificate;

  private TlsMaterial(TlsFiles files, Contents contents, X509Certificate certificate) {
    this.files = files;
    this.contents = contents;
    this.certificate = certificate;
  }

  /** The raw bytes of the files, to tell cheaply whether anything changed since the last reading. */
  static final class Contents {
    final byte[] cert;
    final byte[] key;
    final byte[] clientCa;

    Contents(byte[] cert, byte[] key, byte[] clientCa) {
      this.cert = cert;
      this.key = key;
      this.clientCa = clientCa;
    }

    static Contents read(TlsFiles files) {
      return new Contents(Pem.read("--tls-cert", files.cert()), Pem.read("--tls-key", files.key()),
          files.clientCa() == null ? null : Pem.read("--tls-client-ca", files.clientCa()));
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Contents c && Arrays.equals(cert, c.cert) && Arrays.equals(key, c.key)
          && Arrays.equals(clientCa, c.clientCa);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(cert) * 31 + Arrays.hashCode(key);
    }
  }

  /** Reads and checks the files (blocking). */
  public static TlsMaterial read(Vertx vertx, TlsFiles files) {
    return of(vertx, files, Contents.read(files));
  }

  static TlsMaterial of(Vertx vertx, TlsFiles files, Contents contents) {
    X509Certificate leaf = Pem.certificates("--tls-cert", files.cert(), contents.cert).get(0);
    Pem.keyPair(vertx, "--tls-key", files.key(), contents.key, leaf, contents.cert);
    if (contents.clientCa != null) {
      Pem.trust("--tls-client-ca", files.clientCa(), contents.clientCa);
    }
    return new TlsMaterial(files, contents, leaf);
  }

  /** The server's TLS options: this certificate and key and, with a client CA, client certificates required. */
  public ServerSSLOptions sslOptions() {
    ServerSSLOptions options = new ServerSSLOptions()
        .setKeyCertOptions(new PemKeyCertOptions().setCertValue(Buffer.buffer(contents.cert))
            .setKeyValue(Buffer.buffer(contents.key)));
    if (contents.clientCa != null) {
      options.setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(contents.clientCa)))
          .setClientAuth(ClientAuth.REQUIRED);
    }
    return options;
  }

  /** {@code options} serving HTTPS with this material (what {@link #sslOptions()} says, for the first listen). */
  public HttpServerOptions applyTo(HttpServerOptions options) {
    ServerSSLOptions ssl = sslOptions();
    options.setSsl(true).setKeyCertOptions(ssl.getKeyCertOptions());
    if (ssl.getTrustOptions() != null) {
      options.setTrustOptions(ssl.getTrustOptions()).setClientAuth(ssl.getClientAuth());
    }
    return options;
  }

  public TlsFiles files() {
    return files;
  }

  Contents contents() {
    return contents;
  }

  /** The server certificate: subject, serial and expiry, for logs. */
  public String describe() {
    return Pem.describe(certificate);
  }
}
