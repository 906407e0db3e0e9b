package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lockstep.protocol.ContractState;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.yaml.snakeyaml.Yaml;

/**
 * deploy/monitoring names only metrics a coordinator really exports: a real coordinator runs a real release with
 * real agents (and a real repair), its {@code /metrics} is scraped throughout (a gauge of an unfinished release exists only while one
 * runs), and every {@code lockstep_…} name in the Grafana dashboard's queries and in the alert rules' expressions
 * must be among the samples seen. Then the gauge the "contract pending" alert reads says what it should: 1 while a
 * release's contract is pending, 0 once {@code lockstep contract} applied it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MonitoringIT {
  /**
   * Metrics the dashboard and the alert rules use that the coordinator does not export yet (none now). Add one for a
   * metric the rules or the dashboard name ahead of the code; remove it when the metric lands: the test fails while a
   * listed metric is exported.
   */
  static final Set<String> NOT_EXPORTED_YET = Set.of();

  private static final Path MONITORING = Path.of("..", "deploy", "monitoring").toAbsolutePath().normalize();
  private static final Pattern METRIC = Pattern.compile("\\blockstep_[a-zA-Z0-9_]+");

  private static TestDatabase db;
  private static Fleet fleet;
  private static Path migrations;

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("MonitoringIT");
    fleet = new Fleet("MonitoringIT", db);
    // V1 leaves a table without a primary key: the second release repairs it, so lockstep_repairs_total has a sample.
    migrations = fleet.folder("migrations", Map.of("V1__accounts.sql",
        "CREATE TABLE accounts (id bigint PRIMARY KEY); CREATE TABLE legacy (id bigint NOT NULL);"));
    fleet.startCoordinator(migrations);
    // A slow prepare keeps the release in PREPARING for a few scrapes, and past one of lockstep_release_in_phase_seconds'
    // reads (every 5 s, ReleasePhaseGauge): with 3 s, both releases could fall between two reads (seen once).
    fleet.startAgent(Fleet.AgentSpec.of("mon-1", "v0", migrations).preparingFor(6));
    fleet.startAgent(Fleet.AgentSpec.of("mon-2", "v0", migrations).preparingFor(3));
    fleet.awaitAgents("mon-1", "mon-2");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  @Test
  @Order(1)
  void everyMetricOfTheDashboardAndTheAlertRulesIsOneTheCoordinatorExports() throws Exception {
    Set<String> exported = new TreeSet<>(sampleNames(scrape()));
    releaseScraping("v1", exported);
    Files.writeString(migrations.resolve("V2__notes.sql"), "CREATE TABLE notes (id bigint PRIMARY KEY);");
    ReleaseDocument second = releaseScraping("v2", exported);
    assertThat(second.toString()).contains("ADD PRIMARY KEY");
    await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(250)).until(() -> {
      String text = scrape();
      exported.addAll(sampleNames(text));
      return text.contains("lockstep_switch_skew_seconds_count 2");
    });
    assertThat(exported).contains("lockstep_agents", "lockstep_releases_total", "lockstep_switch_skew_seconds_max",
        "lockstep_repairs_total");

    Set<String> used = new TreeSet<>();
    for (String expr : dashboardQueries()) {
      used.addAll(metricNames(expr));
    }
    for (String expr : ruleExpressions()) {
      used.addAll(metricNames(expr));
    }
    assertThat(used).as("metric names in the dashboard and the rules").hasSizeGreaterThan(5);

    Set<String> missing = new TreeSet<>(used);
    missing.removeAll(exported);
    missing.removeAll(NOT_EXPORTED_YET);
    assertThat(missing).as("used but not exported (exported: %s)", exported).isEmpty();
    // Filtered rather than AssertJ's doesNotContainAnyElementsOf, which refuses an empty list (as NOT_EXPORTED_YET is now).
    assertThat(NOT_EXPORTED_YET.stream().filter(exported::contains).toList())
        .as("exported now: remove them from MonitoringIT.NOT_EXPORTED_YET").isEmpty();
    assertThat(NOT_EXPORTED_YET.stream().filter(name -> !used.contains(name)).toList())
        .as("NOT_EXPORTED_YET lists only names the dashboard or the rules use").isEmpty();
    assertThat(used).contains("lockstep_contract_pending");
  }

  /** Runs after the releases above (it needs the schema they left): a deferred contract, then lockstep contract. */
  @Test
  @Order(2)
  void contractPendingIsOneWhileAContractIsPendingAndZeroOnceApplied() throws Exception {
    assertThat(contractPending(scrape())).isEqualTo(0.0);
    Files.createDirectories(migrations.resolve("contract"));
    Files.writeString(migrations.resolve("contract").resolve("V3__drop_legacy.sql"), "DROP TABLE legacy;");
    ReleaseDocument deferred = fleet.api().post("/v1/releases", ReleaseRequest.of("v3", null).withContract("defer"),
        ReleaseDocument.class);
    ReleaseDocument end = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250))
        .until(() -> fleet.api().get("/v1/releases/" + deferred.id(), ReleaseDocument.class), d -> d.phase().isTerminal());
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);
    assertThat(end.contract().state()).isEqualTo(ContractState.PENDING);
    // Refreshed from PostgreSQL every 5 s.
    await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(250)).until(() -> contractPending(scrape()) == 1.0);

    ReleaseDocument applied = fleet.api().post("/v1/services/" + fleet.service + "/contract", null, ReleaseDocument.class);
    assertThat(applied.contract().state()).isEqualTo(ContractState.APPLIED);
    await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(250)).until(() -> contractPending(scrape()) == 0.0);
  }

  /** The value of {@code lockstep_contract_pending} for the fleet's service; fails if there is no such sample. */
  private static double contractPending(String exposition) {
    Pattern sample = Pattern.compile("^lockstep_contract_pending\\{[^}]*service=\"" + Pattern.quote(fleet.service)
        + "\"[^}]*} (\\S+)$", Pattern.MULTILINE);
    Matcher m = sample.matcher(exposition);
    assertThat(m.find()).as("a lockstep_contract_pending sample of service %s in:%n%s", fleet.service, exposition).isTrue();
    return Double.parseDouble(m.group(1));
  }

  /** Runs a release to {@code revision}, adding the names of every sample scraped meanwhile to {@code exported}. */
  private static ReleaseDocument releaseScraping(String revision, Set<String> exported) {
    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of(revision, null), ReleaseDocument.class);
    ReleaseDocument end = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).until(() -> {
      exported.addAll(sampleNames(scrape()));
      return fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class);
    }, d -> d.phase().isTerminal());
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);
    return end;
  }

  /** Every PromQL expression of the dashboard: panel targets and the service variable's query. */
  private static List<String> dashboardQueries() throws IOException {
    JsonNode dashboard = new ObjectMapper().readTree(MONITORING.resolve("grafana-dashboard.json").toFile());
    List<String> exprs = new ArrayList<>();
    dashboard.path("panels").forEach(p -> p.path("targets").forEach(t -> exprs.add(t.path("expr").asText())));
    dashboard.at("/templating/list").forEach(v -> {
      JsonNode query = v.path("query");
      exprs.add(query.isObject() ? query.path("query").asText() : query.asText());
    });
    assertThat(exprs).isNotEmpty();
    return exprs;
  }

  @SuppressWarnings("unchecked")
  private static List<String> ruleExpressions() throws IOException {
    Map<String, Object> file = new Yaml().load(Files.readString(MONITORING.resolve("lockstep-alerts.yaml")));
    List<String> exprs = new ArrayList<>();
    for (Map<String, Object> group : (List<Map<String, Object>>) file.get("groups")) {
      for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
        exprs.add((String) rule.get("expr"));
      }
    }
    assertThat(exprs).isNotEmpty();
    return exprs;
  }

  private static Set<String> metricNames(String expr) {
    Set<String> names = new TreeSet<>();
    Matcher m = METRIC.matcher(expr);
    while (m.find()) {
      names.add(m.group());
    }
    return names;
  }

  /** The names of the samples in a Prometheus text exposition ({@code name{labels} value} or {@code name value}). */
  private static Set<String> sampleNames(String exposition) {
    Set<String> names = new TreeSet<>();
    for (String line : exposition.lines().toList()) {
      if (!line.isBlank() && !line.startsWith("#")) {
        names.add(line.split("[{ ]", 2)[0]);
      }
    }
    return names;
  }

  private static String scrape() throws Exception {
    HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
        .send(HttpRequest.newBuilder(URI.create(fleet.url() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }
}
