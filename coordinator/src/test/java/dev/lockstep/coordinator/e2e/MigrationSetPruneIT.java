package dev.lockstep.coordinator.e2e;

import static dev.lockstep.coordinator.store.StoreHarness.set;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.store.StoreHarness;
import dev.lockstep.protocol.ErrorBody;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.MigrationSetListing;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.PruneReport;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * {@code lockstep prune} against a real coordinator: a history of releases whose sets share files (written
 * straight through the stores, with a clock the test sets, so their order is known), pruned with {@code
 * --keep}, {@code --dry-run} and {@code --older-than}; exact rows left in the three set tables; kept
 * releases still serve their files, pruned ones answer 410 naming the digest and when. The race with a
 * release being created is {@code MigrationSetPruneRaceIT}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MigrationSetPruneIT {
  private static final String OTHER = "other-service";
  private static final String V1 = "CREATE TABLE account (id bigint PRIMARY KEY);\n";
  private static final String V2 = "ALTER TABLE account ADD COLUMN email text;\n";
  private static final String V3_OLD = "ALTER TABLE account ADD COLUMN phone integer; -- before the hotfix\n";
  private static final String V3 = "ALTER TABLE account ADD COLUMN phone text;\n";
  private static final String V4 = "CREATE INDEX account_email ON account (email);\n";

  // The service's builds, oldest first: each adds a file, C has the V3 that D replaced.
  private static final MigrationSet A = set(Map.of("V1__account.sql", V1));
  private static final MigrationSet B = set(Map.of("V1__account.sql", V1, "V2__email.sql", V2));
  private static final MigrationSet C = set(Map.of("V1__account.sql", V1, "V2__email.sql", V2, "V3__phone.sql", V3_OLD));
  private static final MigrationSet D = set(Map.of("V1__account.sql", V1, "V2__email.sql", V2, "V3__phone.sql", V3));
  private static final MigrationSet E = set(Map.of("V1__account.sql", V1, "V2__email.sql", V2, "V3__phone.sql", V3,
      "V4__index.sql", V4));
  // Another service in the same lockstep schema; X is carried by its unfinished release.
  private static final MigrationSet X = set(Map.of("V1__account.sql", V1, "V2__skew.sql", "SELECT 'skew';\n"));
  private static final MigrationSet Y = set(Map.of("V1__account.sql", V1, "V2__other.sql", "SELECT 'y';\n"));
  private static final MigrationSet Z = set(Map.of("V1__account.sql", V1, "V2__other.sql", "SELECT 'y';\n",
      "V3__other.sql", "SELECT 'z';\n"));

  private static TestDatabase db;
  private static Fleet fleet;
  private static StoreHarness stores;
  private static final Map<String, ReleaseDocument> releases = new TreeMap<>();
  private static PruneReport dryRun;
  private static PruneReport pruned;

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("MigrationSetPruneIT");
    fleet = new Fleet("MigrationSetPruneIT", db);
    fleet.startCoordinator(null);
    stores = new StoreHarness(db);
    String service = fleet.service;
    releases.put("r1", stores.release(service, Phase.COMPLETED, A));
    releases.put("r2", stores.release(service, Phase.FAILED, B));
    releases.put("r3", stores.release(service, Phase.COMPLETED, B));
    releases.put("r4", stores.release(service, Phase.COMPLETED, C));
    releases.put("r5", stores.release(service, Phase.ABORTED, D));
    releases.put("r6", stores.release(service, Phase.COMPLETED, E));
    releases.put("o1", stores.release(OTHER, Phase.COMPLETED, Y));
    releases.put("o2", stores.release(OTHER, Phase.COMPLETED, Z));
    // Created by a coordinator whose clock is behind: unfinished, yet older than two finished releases of its service.
    stores.clock.set(Instant.parse("2029-01-01T00:00:00Z"));
    releases.put("o0", stores.release(OTHER, Phase.PREPARING, X));
  }

  @AfterAll
  static void stop() {
    if (stores != null) {
      stores.close();
    }
    fleet.close();
    db.close();
  }

  @Test
  @Order(1)
  void aDryRunNamesWhatWouldGoAndDeletesNothing() {
    List<List<String>> before = tables();

    Fleet.CliRun run = fleet.cli("prune", "--keep", "2", "--dry-run", "--json");
    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    dryRun = Json.read(run.out(), PruneReport.class);
    assertThat(dryRun.dryRun()).isTrue();
    assertThat(dryRun.prunedAt()).isNull();
    assertThat(dryRun.pruned()).extracting(PruneReport.PrunedSet::digest).containsExactly(A.digest(), B.digest(), C.digest());
    assertThat(dryRun.pruned()).extracting(PruneReport.PrunedSet::releases)
        .containsExactly(List.of(id("r1")), List.of(id("r2"), id("r3")), List.of(id("r4")));
    assertThat(dryRun.pruned()).extracting(PruneReport.PrunedSet::files).containsExactly(1, 2, 3);
    assertThat(dryRun.kept()).as("D and E (this service's two newest), Y and Z (the other's), X (unfinished)").isEqualTo(5);
    assertThat(dryRun.files()).as("only C's old V3 is in no kept set").isEqualTo(1);
    assertThat(dryRun.bytes()).isEqualTo(V3_OLD.getBytes(StandardCharsets.UTF_8).length);
    assertThat(tables()).as("a dry run deletes nothing").isEqualTo(before);
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.pruned_sets")).isZero();

    Fleet.CliRun human = fleet.cli("prune", "--keep", "2", "--dry-run");
    assertThat(human.exit()).as(human.out() + human.err()).isZero();
    assertThat(human.out()).contains(MigrationsDigest.shortForm(B.digest())).contains(id("r2") + ", " + id("r3"))
        .contains("would prune 3 migration set(s) and 1 stored file(s)").contains("5 set(s) kept")
        .contains("nothing was deleted");
    assertThat(tables()).isEqualTo(before);
  }

  @Test
  @Order(2)
  void pruneKeepsEachServicesNewestReleasesAndUnfinishedOnesAndDeletesTheRest() {
    Fleet.CliRun run = fleet.cli("prune", "--keep", "2", "--json");
    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    pruned = Json.read(run.out(), PruneReport.class);
    assertThat(pruned.dryRun()).isFalse();
    assertThat(pruned.prunedAt()).isNotNull();
    assertThat(pruned.pruned()).as("what the dry run said").isEqualTo(dryRun.pruned());
    assertThat(List.of(pruned.kept(), pruned.files(), pruned.bytes()))
        .isEqualTo(List.of(dryRun.kept(), dryRun.files(), dryRun.bytes()));

    assertThat(tables()).isEqualTo(expectedTables(D, E, X, Y, Z));
    assertThat(strings("SELECT digest || ' ' || files || ' ' || bytes || ' ' || (pruned_at = '" + pruned.prunedAt()
        + "'::timestamptz) FROM lockstep.pruned_sets ORDER BY digest"))
        .containsExactlyElementsOf(Stream.of(A, B, C).map(s -> s.digest() + " " + s.files().size() + " " + bytes(s) + " true")
            .sorted().toList());
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.releases")).as("releases are history: none deleted")
        .isEqualTo(releases.size());
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.readString(fleet.dir.resolve("coordinator.log")))
        .contains("pruned 3 migration set(s) [" + MigrationsDigest.shortForm(A.digest()) + ", "));
  }

  @Test
  @Order(3)
  void keptReleasesStillServeTheirFilesTheUnfinishedOneIncluded() throws Exception {
    for (String kept : List.of("r5", "r6", "o0", "o1", "o2")) {
      HttpResponse<String> listing = get("/v1/releases/" + id(kept) + "/migrations");
      assertThat(listing.statusCode()).as(kept + ": " + listing.body()).isEqualTo(200);
      assertThat(Json.read(listing.body(), MigrationSetListing.class).migrationsDigest())
          .isEqualTo(releases.get(kept).migrationsDigest());
    }
    HttpResponse<String> file = get("/v1/releases/" + id("r5") + "/migrations/V3__phone.sql");
    assertThat(file.statusCode()).isEqualTo(200);
    assertThat(file.body()).isEqualTo(V3);
    assertThat(get("/v1/releases/" + id("o0") + "/migrations/V2__skew.sql").body()).isEqualTo("SELECT 'skew';\n");
  }

  @Test
  @Order(4)
  void aPrunedReleaseAnswers410NamingTheDigestAndWhen() throws Exception {
    for (String path : List.of("/v1/releases/" + id("r2") + "/migrations", "/v1/releases/" + id("r2") + "/migrations/V2__email.sql")) {
      HttpResponse<String> gone = get(path);
      assertThat(gone.statusCode()).as(path + ": " + gone.body()).isEqualTo(410);
      ErrorBody error = Json.read(gone.body(), ErrorBody.class);
      assertThat(error.error()).isEqualTo("pruned");
      assertThat(error.detail()).contains(B.digest()).contains(id("r2"))
          .contains("pruned at " + Instant.parse(pruned.prunedAt()));
    }
    assertThat(get("/v1/releases/" + id("r2")).statusCode()).as("the release itself is still there").isEqualTo(200);
  }

  @Test
  @Order(5)
  void olderThanKeepsSetsStoredMoreRecentlyThanThat() {
    MigrationSet f = set(Map.of("V1__account.sql", V1, "V2__email.sql", V2, "V3__phone.sql", V3, "V4__index.sql", V4,
        "V5__f.sql", "SELECT 5;\n"));
    MigrationSet g = set(Map.of("V1__account.sql", V1, "V2__email.sql", V2, "V3__phone.sql", V3, "V4__index.sql", V4,
        "V5__f.sql", "SELECT 5;\n", "V6__g.sql", "SELECT 6;\n"));
    stores.clock.set(Instant.parse("2031-01-01T00:00:00Z"));
    releases.put("r7", stores.release(fleet.service, Phase.COMPLETED, f));
    releases.put("r8", stores.release(fleet.service, Phase.COMPLETED, g));
    db.execute("UPDATE lockstep.migration_sets SET created_at = now() - interval '40 days' WHERE digest IN ('"
        + D.digest() + "', '" + E.digest() + "')");

    Fleet.CliRun run = fleet.cli("prune", "--keep", "1", "--older-than", "30d");
    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    // D and E are 40 days old and no newest release's: gone. F is not r8's either, but stored just now.
    assertThat(run.out()).contains(MigrationsDigest.shortForm(D.digest())).contains(MigrationsDigest.shortForm(E.digest()))
        .doesNotContain(MigrationsDigest.shortForm(f.digest()))
        .contains("pruned 2 migration set(s) and 0 stored file(s), 0 bytes; 5 set(s) kept");
    assertThat(tables()).isEqualTo(expectedTables(f, g, X, Y, Z));
  }

  @Test
  @Order(6)
  void aPrunedSetReleasedAgainIsStoredAgainAndServedForItsOldReleaseToo() throws Exception {
    releases.put("r9", stores.release(fleet.service, Phase.COMPLETED, B));
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.pruned_sets WHERE digest = '" + B.digest() + "'")).isZero();
    HttpResponse<String> file = get("/v1/releases/" + id("r2") + "/migrations/V2__email.sql");
    assertThat(file.statusCode()).as(file.body()).isEqualTo(200);
    assertThat(file.body()).isEqualTo(V2);
  }

  @Test
  @Order(7)
  void keepIsRequiredByTheCli() {
    Fleet.CliRun run = fleet.cli("prune");
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("--keep");
  }

  private static String id(String name) {
    return releases.get(name).id();
  }

  private static long bytes(MigrationSet set) {
    return set.bytes().values().stream().mapToLong(b -> b.length).sum();
  }

  /** The three set tables: digests, (digest, name, sha256) rows, file hashes with their sizes. */
  private static List<List<String>> tables() {
    return List.of(
        strings("SELECT digest FROM lockstep.migration_sets ORDER BY 1"),
        strings("SELECT digest || ' ' || name || ' ' || sha256 FROM lockstep.migration_set_files ORDER BY 1"),
        strings("SELECT sha256 || ' ' || octet_length(content) FROM lockstep.migration_files ORDER BY 1"));
  }

  /** What {@link #tables()} must read when exactly {@code kept} are stored. */
  private static List<List<String>> expectedTables(MigrationSet... kept) {
    TreeSet<String> digests = new TreeSet<>();
    TreeSet<String> names = new TreeSet<>();
    TreeSet<String> files = new TreeSet<>();
    for (MigrationSet s : kept) {
      digests.add(s.digest());
      s.bytes().forEach((name, content) -> {
        names.add(s.digest() + " " + name + " " + s.sha256(name));
        files.add(s.sha256(name) + " " + content.length);
      });
    }
    return List.of(List.copyOf(digests), List.copyOf(names), List.copyOf(files));
  }

  private static List<String> strings(String sql) {
    try (Connection c = db.connect(); Statement s = c.createStatement(); ResultSet rows = s.executeQuery(sql)) {
      List<String> out = new ArrayList<>();
      while (rows.next()) {
        out.add(rows.getString(1));
      }
      // Sorted as Java sorts, like expectedTables, whatever the database's collation.
      return out.stream().sorted().toList();
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  private static HttpResponse<String> get(String path) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create(fleet.url() + path)).timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN).GET().build();
    return HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
  }
}
