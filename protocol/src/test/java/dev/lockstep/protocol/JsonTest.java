package dev.lockstep.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonTest {
  @Test
  void enumsTravelInTheirDocumentedSpelling() {
    String json = Json.write(new AgentReport("web-1", "app", "v2", AgentState.SWITCHED, "r-1", 3, "ab", null, "2026-11-26T00:00:00Z"));
    assertThat(json).contains("\"state\":\"switched\"");
    DesiredState d = new DesiredState("app", 4, 3, "r-1", Phase.PREPARING, "v2", Mode.MAINTENANCE, "ab", "2");
    assertThat(Json.write(d)).contains("\"phase\":\"PREPARING\"").contains("\"mode\":\"maintenance\"");
    assertThat(Json.read(Json.write(d), DesiredState.class)).isEqualTo(d);
  }

  @Test
  void theAuditFieldsRoundTripAndAreNullInReleasesStoredBeforeThem() {
    ReleaseDocument doc = new ReleaseDocument.Builder().id("r-1").service("app").revision("v2").phase(Phase.ABORTED)
        .requestedBy("ci-deploy").requestedFrom("10.0.0.7").abortedBy("alice").abortedFrom("10.0.0.8").build();
    ReleaseDocument back = Json.read(Json.write(doc), ReleaseDocument.class);
    assertThat(back.requestedBy()).isEqualTo("ci-deploy");
    assertThat(back.requestedFrom()).isEqualTo("10.0.0.7");
    assertThat(back.abortedBy()).isEqualTo("alice");
    assertThat(back.abortedFrom()).isEqualTo("10.0.0.8");
    assertThat(back.toBuilder().build()).isEqualTo(back);
    // A document as a coordinator without the audit stored it.
    ReleaseDocument old = Json.read("{\"id\":\"r-0\",\"service\":\"app\",\"revision\":\"v1\",\"phase\":\"COMPLETED\","
        + "\"epoch\":3}", ReleaseDocument.class);
    assertThat(old.requestedBy()).isNull();
    assertThat(old.requestedFrom()).isNull();
    assertThat(old.abortedBy()).isNull();
    assertThat(old.abortedFrom()).isNull();
  }

  @Test
  void releaseDocumentsRoundTripWithTheContractFields() {
    ReleaseDocument doc = new ReleaseDocument.Builder().id("r-1").service("app").revision("v2").schema("2")
        .mode(Mode.ONLINE).phase(Phase.COMPLETED)
        .findings(List.of(new Finding("missing-primary-key", Severity.WARN, "public.user", "restored", List.of("ALTER TABLE …"))))
        .agents(List.of(new ReleaseAgent("web-1", AgentState.SERVING, "ab", "2026-11-26T00:00:00Z", null)))
        .switchSkewMs(12L).migrationsDigest("9f2c").build();
    String json = Json.write(doc);
    for (String field : List.of("id", "service", "revision", "schema", "mode", "phase", "reason", "findings", "applied",
        "agents", "switchedAt", "switchSkewMs", "migrationsDigest")) {
      assertThat(json).contains("\"" + field + "\"");
    }
    assertThat(Json.read(json, ReleaseDocument.class)).isEqualTo(doc);
  }

  @Test
  void unknownFieldsAreIgnoredSoOlderAgentsKeepWorking() {
    AgentReport r = Json.read("{\"id\":\"a\",\"service\":\"app\",\"revision\":\"v1\",\"state\":\"serving\",\"future\":1}",
        AgentReport.class);
    assertThat(r.state()).isEqualTo(AgentState.SERVING);
  }

  @Test
  void malformedInputNamesTheType() {
    assertThatThrownBy(() -> Json.read("{\"revision\":", ReleaseRequest.class))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ReleaseRequest");
    assertThatThrownBy(() -> Json.read("{\"mode\":\"sideways\"}", ReleaseRequest.class))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sideways");
  }

  @Test
  void phasesKnowWhenAbortIsStillPossible() {
    assertThat(Phase.PREPARING.isAbortable()).isTrue();
    assertThat(Phase.MIGRATING.isAbortable()).isFalse();
    assertThat(Phase.FAILED.isTerminal()).isTrue();
    assertThat(Phase.SWITCHING.isTerminal()).isFalse();
  }

  @Test
  void theDigestCoversNamesAndContentOfSqlFilesOnly(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("V1__a.sql"), "CREATE TABLE a (id int);");
    String first = MigrationsDigest.of(dir);
    Files.writeString(dir.resolve("README.txt"), "not a migration");
    assertThat(MigrationsDigest.of(dir)).isEqualTo(first);
    Files.writeString(dir.resolve("V1__a.sql"), "CREATE TABLE a (id bigint);");
    assertThat(MigrationsDigest.of(dir)).isNotEqualTo(first);
    assertThatThrownBy(() -> MigrationsDigest.of(dir.resolve("missing"))).hasMessageContaining("does not exist");
  }
}
