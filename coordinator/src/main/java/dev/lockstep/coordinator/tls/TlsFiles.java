package dev.lockstep.coordinator.tls;

import java.nio.file.Path;

/**
 * Where the coordinator's TLS material lives: its certificate chain and private key (PEM), and, for
 * mutual TLS, the CA that signs the clients' certificates. The files are read again whenever they change
 * ({@link CertificateReloader}), so a renewed certificate needs no restart.
 *
 * <pre>{@code
 * TlsFiles files = TlsFiles.of(Path.of("server.crt"), Path.of("server.key"), Path.of("clients-ca.crt"));
 * }</pre>
 *
 * @param cert the server's certificate, followed by any intermediates (PEM)
 * @param key the server's private key (PEM, PKCS#8 or PKCS#1)
 * @param clientCa the CA that client certificates must chain to; null: no client certificates asked for
 */
public record TlsFiles(Path cert, Path key, Path clientCa) {

  /**
   * The files as given by {@code --tls-cert}, {@code --tls-key} and {@code --tls-client-ca}; null when none
   * is given (plain HTTP). A certificate without its key, or a client CA without both, is refused.
   */
  public static TlsFiles of(Path cert, Path key, Path clientCa) {
    if (cert == null && key == null) {
      if (clientCa != null) {
        throw new IllegalArgumentException("--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is TLS first");
      }
      return null;
    }
    if (cert == null || key == null) {
      throw new IllegalArgumentException(cert == null
          ? "--tls-key " + key + " is given without --tls-cert (or LOCKSTEP_TLS_CERT); give both"
          : "--tls-cert " + cert + " is given without --tls-key (or LOCKSTEP_TLS_KEY); give both");
    }
    return new TlsFiles(cert.toAbsolutePath(), key.toAbsolutePath(), clientCa == null ? null : clientCa.toAbsolutePath());
  }

  /** Whether clients must present a certificate signed by {@link #clientCa()}. */
  public boolean mutual() {
    return clientCa != null;
  }
}
