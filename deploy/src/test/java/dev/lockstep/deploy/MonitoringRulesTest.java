package dev.lockstep.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * deploy/monitoring: the alert rules pass {@code promtool check rules} and their unit tests ({@code promtool test
 * rules}), which fail when a rule is changed; every dashboard query names a Lockstep metric. That those metrics are
 * what a coordinator exports is MonitoringIT's (coordinator module), which scrapes a real one.
 */
class MonitoringRulesTest {
  private static final Path MONITORING = Tools.repository().resolve("deploy/monitoring");

  @Test
  void promtoolChecksTheRules() {
    String out = Tools.run(Tools.promtool(), "check", "rules", MONITORING.resolve("lockstep-alerts.yaml").toString())
        .ok().output();
    assertThat(out).contains("SUCCESS: 5 rules found");
  }

  @Test
  void theRulesPassTheirUnitTests() {
    String out = Tools.runIn(MONITORING, Tools.promtool(), List.of("test", "rules", "lockstep-alerts.test.yaml"))
        .ok().output();
    assertThat(out).contains("SUCCESS");
  }

  @Test
  void theUnitTestsFailWhenARuleChanges() throws IOException {
    Path copy = Files.createDirectories(Path.of("target", "rules-mutated").toAbsolutePath());
    Files.copy(MONITORING.resolve("lockstep-alerts.test.yaml"), copy.resolve("lockstep-alerts.test.yaml"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    for (String[] mutation : List.of(new String[] {"> 900", "> 9000"}, new String[] {"state=\"lost\"", "state=\"gone\""},
        new String[] {"[10m])) > 2", "[10m])) > 20"}, new String[] {"outcome=\"failed\"", "outcome=\"aborted\""},
        new String[] {"for: 30m", "for: 3h"}, new String[] {"(lockstep_contract_pending) > 0", "(lockstep_contract_pending) > 1"},
        new String[] {"max by (service) (lockstep_contract_pending)", "max(lockstep_contract_pending)"})) {
      String rules = Files.readString(MONITORING.resolve("lockstep-alerts.yaml"));
      assertThat(rules).contains(mutation[0]);
      Files.writeString(copy.resolve("lockstep-alerts.yaml"), rules.replace(mutation[0], mutation[1]));
      Tools.Result result = Tools.runIn(copy, Tools.promtool(), List.of("test", "rules", "lockstep-alerts.test.yaml"));
      assertThat(result.exitCode()).as("promtool test rules with %s replaced by %s", mutation[0], mutation[1])
          .isNotZero();
    }
  }

  @Test
  void everyDashboardQueryNamesALockstepMetric() {
    JsonNode dashboard = Manifests.readJson(MONITORING.resolve("grafana-dashboard.json"));
    List<String> exprs = new ArrayList<>();
    dashboard.path("panels").forEach(p -> p.path("targets").forEach(t -> exprs.add(t.path("expr").asString())));
    assertThat(exprs).hasSize(dashboard.path("panels").valueStream().mapToInt(p -> p.path("targets").size()).sum())
        .isNotEmpty();
    Pattern metric = Pattern.compile("\\blockstep_[a-z_]+");
    for (String expr : exprs) {
      Matcher m = metric.matcher(expr);
      assertThat(m.find()).as("query %s names a lockstep_ metric", expr).isTrue();
    }
  }
}
