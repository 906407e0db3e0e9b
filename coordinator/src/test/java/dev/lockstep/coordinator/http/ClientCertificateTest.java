package dev.lockstep.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.testkit.TestCertificates;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The certificate identity convention: {@code lockstep://agent/<service>/<id>} for agents, the CN for operators. */
class ClientCertificateTest {
  private static TestCertificates ca;

  @BeforeAll
  static void makeCa() {
    ca = TestCertificates.create(Path.of("target", "certificates", "ClientCertificateTest").toAbsolutePath());
  }

  @Test
  void anAgentsCertificateNamesItsServiceAndId() {
    TestCertificates.Issued web1 = ca.agent("shop", "web-1");
    ClientCertificate cert = ClientCertificate.parse(TestCertificates.certificate(web1.cert()));
    assertThat(cert.agent()).contains(new ClientCertificate.Agent("shop", "web-1"));
    assertThat(cert.commonName()).isEqualTo("web-1");
    assertThat(cert.subject()).isEqualTo("CN=web-1,OU=agent,O=lockstep-test");
    assertThat(cert.serial()).isEqualTo(web1.serial().toString(16));
    assertThat(cert.name()).isEqualTo("shop/web-1");
  }

  @Test
  void anyOtherCertificateIsAnOperatorsNamedByItsCommonName() {
    ClientCertificate alice = ClientCertificate.parse(TestCertificates.certificate(ca.operator("alice").cert()));
    assertThat(alice.agent()).isEmpty();
    assertThat(alice.name()).isEqualTo("alice");
    // A URI name of another scheme (SPIFFE, say) says nothing about Lockstep agents.
    ClientCertificate spiffe = ClientCertificate.parse(TestCertificates.certificate(ca.issue("spiffe", "/CN=ci-pipeline",
        "subjectAltName=URI:spiffe://example.org/ci", "extendedKeyUsage=clientAuth").cert()));
    assertThat(spiffe.agent()).isEmpty();
    assertThat(spiffe.name()).isEqualTo("ci-pipeline");
  }

  @Test
  void aCertificateNamingTwoAgentsIsRefused() {
    TestCertificates.Issued two = ca.issue("two-agents", "/CN=two",
        "subjectAltName=URI:lockstep://agent/shop/web-1,URI:lockstep://agent/shop/web-2", "extendedKeyUsage=clientAuth");
    assertThatThrownBy(() -> ClientCertificate.parse(TestCertificates.certificate(two.cert())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("CN=two").hasMessageContaining("names 2 agents")
        .hasMessageContaining("agent web-1 of service shop").hasMessageContaining("agent web-2 of service shop");
  }

  @Test
  void partsArePercentDecodedAndCheckedLikeEveryOtherName() {
    assertThat(ClientCertificate.agentOf("CN=x", "lockstep://agent/shop/web%2D1"))
        .isEqualTo(new ClientCertificate.Agent("shop", "web-1"));
    assertThat(ClientCertificate.agentOf("CN=x", "LOCKSTEP://agent/a.b_c:d@e/host-1.example.com"))
        .isEqualTo(new ClientCertificate.Agent("a.b_c:d@e", "host-1.example.com"));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "lockstep://agent/shop",
      "lockstep://agent/shop/",
      "lockstep://agent//web-1",
      "lockstep://agent/shop/web-1/extra",
      "lockstep://operator/shop/web-1",
      "lockstep://user@agent/shop/web-1",
      "lockstep://agent:8080/shop/web-1",
      "lockstep://agent/shop/web-1?as=web-2",
      "lockstep://agent/shop/web-1#x",
      "lockstep://agent/shop/web%2F1",
      "lockstep://agent/shop/web%0A1",
      "lockstep:agent/shop/web-1",
      "lockstep://agent/sh op/web-1"})
  void anythingElseThatClaimsToBeAnAgentIsRefusedNamingIt(String uri) {
    assertThatThrownBy(() -> ClientCertificate.agentOf("CN=mallory", uri))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("client certificate CN=mallory")
        .hasMessageContaining("lockstep://agent/<service>/<id>");
  }
}
