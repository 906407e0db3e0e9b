package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.coordinator.cli.ApiClient;
import dev.lockstep.coordinator.cli.CliException;
import dev.lockstep.protocol.MigrationHistory;
import dev.lockstep.protocol.MigrationSetListing;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.rules.FlywayChecksum;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A coordinator started without {@code --migrations}: releases bring their set from the build (the "CI
 * checkout", a folder the coordinator never sees). An agent that staged another set aborts the release,
 * named with both digests; the uploaded set is applied, listed and served; bad uploads are refused with a
 * 4xx that names the file or limit, and leave nothing stored.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CarriedSetIT {
  private static final String V1 = "CREATE TABLE account (id bigint PRIMARY KEY, name text);\n";
  private static final String V2 = "ALTER TABLE account ADD COLUMN email text;\n";
  private static final String U2 = "ALTER TABLE account DROP COLUMN email;\n";

  private static TestDatabase db;
  private static Fleet fleet;
  private static Path checkout;
  private static Path otherBuild;

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("CarriedSetIT");
    fleet = new Fleet("CarriedSetIT", db);
    checkout = fleet.folder("ci-checkout", Map.of("V1__account.sql", V1, "V2__email.sql", V2, "U2__email.sql", U2));
    otherBuild = fleet.folder("other-build", Map.of("V1__account.sql", V1, "V2__email.sql", V2 + "-- hotfix\n"));
    fleet.startCoordinator(null);
    fleet.startAgent("good-1", "v0", checkout);
    fleet.startAgent("stale-1", "v0", otherBuild);
    fleet.awaitAgents("good-1", "stale-1");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  @Test
  @Order(1)
  void withoutAFolderOrAnUploadThereIsNothingToCheckOrRelease() {
    Fleet.CliRun check = fleet.cli("check");
    assertThat(check.exit()).isEqualTo(2);
    assertThat(check.err()).contains("started without --migrations").contains("check --migrations DIR");
    Fleet.CliRun release = fleet.cli("release", "--revision", "v1");
    assertThat(release.exit()).isEqualTo(2);
    assertThat(release.err()).contains("started without --migrations").contains("release --migrations DIR");
    assertThat(stored()).isZero();
  }

  @Test
  @Order(2)
  void checkRunsAgainstAnUploadedSetAndStoresNothing() {
    Fleet.CliRun check = fleet.cli("check", "--migrations", checkout.toString());
    assertThat(check.exit()).as(check.out() + check.err()).isZero();
    assertThat(check.out()).contains("2 pending migration(s): V1 (account), V2 (email)");
    assertThat(stored()).isZero();
  }

  @Test
  @Order(3)
  void anAgentThatStagedAnotherSetAbortsTheReleaseNamingBothDigests() {
    Fleet.CliRun run = fleet.cli("release", "--revision", "v1", "--migrations", checkout.toString(), "--json");
    assertThat(run.exit()).isEqualTo(1);
    ReleaseDocument end = dev.lockstep.protocol.Json.read(run.out(), ReleaseDocument.class);
    assertThat(end.phase()).isEqualTo(Phase.ABORTED);
    assertThat(end.migrationsDigest()).isEqualTo(MigrationsDigest.of(checkout));
    assertThat(end.reason()).contains("stale-1").contains(MigrationsDigest.shortForm(MigrationsDigest.of(otherBuild)))
        .contains(MigrationsDigest.shortForm(MigrationsDigest.of(checkout)));
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'account'")).isZero();
  }

  @Test
  @Order(4)
  void theUploadedSetIsAppliedListedAndServed() throws Exception {
    fleet.agent("stale-1").destroyForcibly().waitFor();
    fleet.api().delete("/v1/agents/stale-1?service=" + fleet.service, Map.class);
    Fleet.CliRun run = fleet.cli("release", "--revision", "v1", "--migrations", checkout.toString(), "--json");
    ReleaseDocument end = dev.lockstep.protocol.Json.read(run.out(), ReleaseDocument.class);
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);
    assertThat(run.err()).contains("uploading migration set " + MigrationsDigest.shortForm(MigrationsDigest.of(checkout)));
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.migration_sets")).as("one set, stored once").isEqualTo(1);

    MigrationSetListing listing = fleet.api().get("/v1/releases/" + end.id() + "/migrations", MigrationSetListing.class);
    assertThat(listing.migrationsDigest()).isEqualTo(end.migrationsDigest());
    assertThat(listing.files()).extracting(MigrationSetListing.File::name)
        .containsExactly("U2__email.sql", "V1__account.sql", "V2__email.sql");
    assertThat(listing.files()).filteredOn(f -> f.name().equals("V2__email.sql")).singleElement()
        .satisfies(f -> assertThat(f.checksum()).isEqualTo(FlywayChecksum.of(V2)));
    assertThat(db.queryLong("SELECT checksum FROM flyway_schema_history WHERE version = '2'")).isEqualTo(FlywayChecksum.of(V2));

    HttpResponse<String> file = raw("GET", "/v1/releases/" + end.id() + "/migrations/V2__email.sql", null);
    assertThat(file.statusCode()).isEqualTo(200);
    assertThat(file.body()).isEqualTo(V2);
    assertThat(raw("GET", "/v1/releases/" + end.id() + "/migrations/V9__nope.sql", null).statusCode()).isEqualTo(404);

    MigrationHistory history = fleet.api().get("/v1/migrations", MigrationHistory.class);
    assertThat(history.applied()).extracting(MigrationHistory.Entry::releaseId).containsExactly(end.id(), end.id());
    assertThat(history.applied()).extracting(MigrationHistory.Entry::migrationsDigest)
        .containsOnly(end.migrationsDigest());
    Fleet.CliRun table = fleet.cli("history");
    assertThat(table.out()).contains(end.id()).contains(MigrationsDigest.shortForm(end.migrationsDigest()));
  }

  @Test
  @Order(5)
  void badUploadsAreRefusedNamingTheFileOrLimitAndStoreNothing() throws Exception {
    long sets = stored();
    long files = db.queryLong("SELECT count(*) FROM lockstep.migration_files");
    long releases = db.queryLong("SELECT count(*) FROM lockstep.releases");

    Map<String, String> many = new TreeMap<>();
    for (int i = 1; i <= 10_001; i++) {
      many.put("V" + i + "__m.sql", b64("SELECT 1;"));
    }
    assertRefused(many, 413, "10000 files");
    assertRefused(Map.of("V1__big.sql", Base64.getEncoder().encodeToString(new byte[9 << 20])), 413, "8 MiB");
    assertRefused(Map.of("V1__account.sql", b64(V1), "notes.sql", b64("-- notes")), 422, "notes.sql");
    assertRefused(Map.of("V1__account.sql", b64(V1), "R__views.sql", b64("SELECT 1;")), 422, "R__views.sql");
    assertRefused(Map.of("V1__account.sql", b64(V1), "V1__again.sql", b64("SELECT 1;")), 422, "V1__again.sql");
    assertRefused(Map.of("V1__account.sql", b64(V1), "V2__latin1.sql",
        Base64.getEncoder().encodeToString("-- caf\u00e9".getBytes(StandardCharsets.ISO_8859_1))), 422, "V2__latin1.sql");
    assertRefused(Map.of("V1__account.sql", b64(V1), "U3__gone.sql", b64("SELECT 1;")), 422, "U3__gone.sql");
    assertRefused(Map.of("V1__account.sql", "not base64!"), 400, "V1__account.sql");
    assertRefused(Map.of("V1__account.sql", b64(V1), "../V2__up.sql", b64("SELECT 1;")), 422, "../V2__up.sql");

    assertThat(stored()).isEqualTo(sets);
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.migration_files")).isEqualTo(files);
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.releases")).isEqualTo(releases);
  }

  /** The closing note's figure: what a 270-file, ~1.3 MB set costs to upload and to store. */
  @Test
  @Order(6)
  void measureA270FileSet() throws Exception {
    Map<String, String> set = new TreeMap<>(Fleet.upload(checkout));
    long raw = 0;
    String body = "-- " + "x".repeat(4700) + "\nSELECT 1;\n";
    for (int i = 0; i < 270; i++) {
      set.put("V" + (100 + i) + "__step_" + i + ".sql", b64(body + i));
      raw += (body + i).length();
    }
    long before = db.queryLong("SELECT coalesce(sum(octet_length(content)), 0) FROM lockstep.migration_files");
    String json = dev.lockstep.protocol.Json.write(Map.of("revision", "v2", "schema", "2", "migrations", set));
    long started = System.nanoTime();
    HttpResponse<String> response = raw("POST", "/v1/releases", json);
    long ms = (System.nanoTime() - started) / 1_000_000;
    assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
    long after = db.queryLong("SELECT coalesce(sum(octet_length(content)), 0) FROM lockstep.migration_files");
    long tables = db.queryLong("SELECT pg_total_relation_size('lockstep.migration_files') + pg_total_relation_size("
        + "'lockstep.migration_set_files') + pg_total_relation_size('lockstep.migration_sets')");
    System.out.printf("SET-COST 270 files, %d bytes of SQL, %d bytes of JSON: POST /v1/releases answered in %d ms;"
        + " %d new bytes of content stored; the three set tables take %d bytes%n", raw, json.length(), ms, after - before, tables);
    ReleaseDocument doc = dev.lockstep.protocol.Json.read(response.body(), ReleaseDocument.class);
    await().atMost(Duration.ofSeconds(60)).until(() -> fleet.api().get("/v1/releases/" + doc.id(), ReleaseDocument.class)
        .phase().isTerminal());
  }

  private static void assertRefused(Map<String, String> files, int status, String named) throws Exception {
    Map<String, Object> request = new LinkedHashMap<>();
    request.put("revision", "v9");
    request.put("migrations", files);
    HttpResponse<String> response = raw("POST", "/v1/releases", dev.lockstep.protocol.Json.write(request));
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    assertThat(response.body()).contains(named);
    HttpResponse<String> check = raw("POST", "/v1/check", dev.lockstep.protocol.Json.write(Map.of("migrations", files)));
    assertThat(check.statusCode()).as(check.body()).isEqualTo(status);
  }

  private static HttpResponse<String> raw(String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fleet.url() + path)).timeout(Duration.ofSeconds(60))
        .header("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN).header("Content-Type", "application/json");
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static long stored() {
    return db.queryLong("SELECT count(*) FROM lockstep.migration_sets");
  }

  private static String b64(String text) {
    return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }
}
