package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** With real second sessions holding and awaiting locks. */
class BlockingSessionsRuleTest {
  @RegisterExtension
  static final RuleTestDatabase db = RuleTestDatabase.perClass().emptiedBeforeEach();

  private final RuleEngine engine = new RuleEngine();

  @BeforeEach
  void twoTables() {
    db.execute("CREATE TABLE \"user\" (id int PRIMARY KEY); CREATE TABLE post (id int PRIMARY KEY)");
  }

  @Test
  void warnsAboutASessionHoldingALockOnATableTheMigrationsAlter() throws SQLException {
    try (Connection holder = db.connect()) {
      int pid = lockInOpenTransaction(holder, "LOCK TABLE \"user\" IN ACCESS SHARE MODE");

      List<Finding> findings = findings(InspectionContext.empty().withTablesTouched(Set.of("public.user", "post")));
      assertThat(findings).singleElement().satisfies(finding -> {
        assertThat(finding.rule()).isEqualTo("blocking-sessions");
        assertThat(finding.severity()).isEqualTo(Severity.WARN);
        assertThat(finding.object()).isEqualTo("public.user");
        assertThat(finding.message()).startsWith("sessions hold or wait for locks on public.user, which the pending"
                + " migrations alter: pid " + pid + " holds AccessShareLock, idle in transaction, transaction open ")
            .contains(": \"LOCK TABLE \"user\" IN ACCESS SHARE MODE\". A migration altering public.user would wait"
                + " for them, and every later query on it would queue behind the migration; end them"
                + " (pg_terminate_backend(pid)) or wait for them to finish before the release");
        assertThat(finding.hasRepair()).isFalse();
      });
      assertThat(findings(InspectionContext.empty().withTablesTouched(Set.of("post")))).isEmpty();

      holder.commit();
    }
    assertThat(findings(InspectionContext.empty().withTablesTouched(Set.of("public.user")))).isEmpty();
  }

  @Test
  void reportsASessionWaitingForALockToo() throws Exception {
    try (Connection holder = db.connect(); Connection waiter = db.connect()) {
      int holderPid = lockInOpenTransaction(holder, "SELECT count(*) FROM post");
      int waiterPid = pid(waiter);
      waiter.setAutoCommit(false);
      CompletableFuture<Void> waiting = CompletableFuture.runAsync(() -> {
        try (Statement statement = waiter.createStatement()) {
          statement.execute("SET lock_timeout = '20s'; LOCK TABLE post IN ACCESS EXCLUSIVE MODE");
        } catch (SQLException e) {
          throw new IllegalStateException(e);
        }
      });
      awaitWaiting(waiterPid);

      Finding finding = findings(InspectionContext.empty().withTablesTouched(Set.of("post"))).get(0);
      assertThat(finding.message()).contains("pid " + holderPid + " holds AccessShareLock, idle in transaction")
          .contains("pid " + waiterPid + " waits for AccessExclusiveLock, active");

      holder.commit();
      waiting.get(10, TimeUnit.SECONDS);
      waiter.rollback();
    }
  }

  @Test
  void withoutKnowingTheTablesOnlyLongTransactionsAreReported() throws Exception {
    try (Connection holder = db.connect()) {
      int pid = lockInOpenTransaction(holder, "SELECT count(*) FROM post");
      assertThat(findings(InspectionContext.empty())).isEmpty(); // open for less than 60 s: ordinary traffic

      // The rule reads the transaction's age from PostgreSQL's clock: wait until PostgreSQL says it is over 1 s.
      await().atMost(Duration.ofSeconds(10)).until(() -> db.queryLong("SELECT count(*) FROM pg_stat_activity WHERE pid = "
          + pid + " AND now() - xact_start > interval '1.05 seconds'") == 1);
      List<Finding> findings = findings(InspectionContext.empty().withLongTransaction(Duration.ofSeconds(1)));
      assertThat(findings).singleElement().satisfies(finding -> {
        assertThat(finding.object()).isEqualTo("public.post");
        assertThat(finding.message()).startsWith("transactions open longer than 1 s hold or wait for locks on"
            + " public.post: pid " + pid + " holds AccessShareLock, idle in transaction, transaction open ")
            .contains(" s (long): \"SELECT count(*) FROM post\"");
      });
      holder.rollback();
    }
  }

  @Test
  void theInspectingSessionsOwnLocksDoNotCount() throws SQLException {
    try (Connection connection = db.connect()) {
      lockInOpenTransaction(connection, "LOCK TABLE \"user\" IN ACCESS EXCLUSIVE MODE");
      List<Finding> findings = engine.inspect(connection, InspectionContext.empty().withTablesTouched(Set.of("user")))
          .findings();
      assertThat(findings).filteredOn(finding -> finding.rule().equals(BlockingSessionsRule.ID)).isEmpty();
      connection.rollback();
    }
  }

  private List<Finding> findings(InspectionContext context) throws SQLException {
    return db.findings(engine, context, BlockingSessionsRule.ID);
  }

  /** The session's pid, asked first so that the lock statement stays its last query. */
  private static int lockInOpenTransaction(Connection connection, String sql) throws SQLException {
    int pid = pid(connection);
    connection.setAutoCommit(false);
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
    return pid;
  }

  private static int pid(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT pg_backend_pid()")) {
      rows.next();
      return rows.getInt(1);
    }
  }

  private static void awaitWaiting(int pid) {
    await().alias("session " + pid + " waits for its lock").atMost(Duration.ofSeconds(5))
        .until(() -> db.queryLong("SELECT count(*) FROM pg_locks WHERE pid = " + pid + " AND NOT granted") > 0);
  }
}
