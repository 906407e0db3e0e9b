package dev.lockstep.coordinator.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.testkit.TestCertificates;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A TLS file that cannot be used is one line naming the file and what is wrong, never its content. */
class TlsMaterialTest {
  private static final Path DIR = Path.of("target", "certificates", "TlsMaterialTest").toAbsolutePath();
  private static TestCertificates ca;
  private static TestCertificates.Issued server;
  private static TestCertificates.Issued other;
  private static Vertx vertx;

  @BeforeAll
  static void setUp() {
    ca = TestCertificates.create(DIR);
    server = ca.server("server");
    other = ca.server("other");
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void tearDown() {
    vertx.close();
  }

  @Test
  void aGoodPairIsReadAndDescribed() {
    TlsMaterial tls = TlsMaterial.read(vertx, TlsFiles.of(server.cert(), server.key(), ca.caCert()));
    assertThat(tls.describe()).contains("CN=localhost").contains(server.serial().toString(16));
    assertThat(tls.sslOptions().getClientAuth()).isEqualTo(io.vertx.core.http.ClientAuth.REQUIRED);
    assertThat(TlsMaterial.read(vertx, TlsFiles.of(server.cert(), server.key(), null)).sslOptions().getTrustOptions()).isNull();
  }

  @Test
  void aPkcs1RsaKeyIsReadToo() throws Exception {
    Path pkcs1 = DIR.resolve("server-pkcs1.key");
    Process p = new ProcessBuilder("openssl", "rsa", "-in", server.key().toString(), "-traditional", "-out", pkcs1.toString())
        .redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    assertThat(p.waitFor()).isZero();
    assertThat(Files.readString(pkcs1)).startsWith("-----BEGIN RSA PRIVATE KEY-----");
    assertThat(TlsMaterial.read(vertx, TlsFiles.of(server.cert(), pkcs1, null)).describe()).contains("CN=localhost");
  }

  @Test
  void aKeyOfAnotherCertificateIsRefusedNamingTheKeyFile() throws Exception {
    assertThatThrownBy(() -> TlsMaterial.read(vertx, TlsFiles.of(server.cert(), other.key(), null)))
        .isInstanceOf(TlsFileException.class)
        .hasMessageStartingWith("--tls-key " + other.key() + ": is not the private key of the certificate CN=localhost")
        .hasMessageNotContaining(Files.readString(other.key()).substring(40, 80));
  }

  @Test
  void missingEmptyAndNonPemFilesAreRefusedNamingTheFile() throws Exception {
    Path missing = DIR.resolve("missing.crt");
    assertThatThrownBy(() -> TlsMaterial.read(vertx, TlsFiles.of(missing, server.key(), null)))
        .hasMessage("--tls-cert " + missing + ": no such file");
    Path empty = Files.writeString(DIR.resolve("empty.key"), "");
    assertThatThrownBy(() -> TlsMaterial.read(vertx, TlsFiles.of(server.cert(), empty, null)))
        .hasMessage("--tls-key " + empty + ": the file is empty");
    Path text = Files.writeString(DIR.resolve("text.crt"), "not a certificate\n");
    assertThatThrownBy(() -> TlsMaterial.read(vertx, TlsFiles.of(text, server.key(), null)))
        .hasMessageStartingWith("--tls-cert " + text + ":");
    assertThatThrownBy(() -> TlsMaterial.read(vertx, TlsFiles.of(server.cert(), text, null)))
        .hasMessageStartingWith("--tls-key " + text + ":");
    assertThatThrownBy(() -> TlsMaterial.read(vertx, TlsFiles.of(server.cert(), server.key(), text)))
        .hasMessageStartingWith("--tls-client-ca " + text + ":");
  }

  @Test
  void aCertificateWithoutItsKeyOrAClientCaWithoutTlsIsAUsageError() {
    assertThat(TlsFiles.of(null, null, null)).isNull();
    assertThatThrownBy(() -> TlsFiles.of(server.cert(), null, null)).hasMessageContaining("without --tls-key");
    assertThatThrownBy(() -> TlsFiles.of(null, server.key(), null)).hasMessageContaining("without --tls-cert");
    assertThatThrownBy(() -> TlsFiles.of(null, null, ca.caCert())).hasMessageContaining("--tls-client-ca needs --tls-cert");
  }
}
