package dev.lockstep.rules;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import dev.lockstep.rules.CatalogSnapshot.SessionLock;
import dev.lockstep.rules.CatalogSnapshot.TableName;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code blocking-sessions}: other sessions that hold or wait for locks on the tables the pending
 * migrations alter. A migration's {@code ALTER TABLE} needs an exclusive lock; it waits behind every
 * such session, and every later query on the table queues behind the migration, so one forgotten
 * {@code idle in transaction} session stalls the whole application. The rule warns per table with the
 * pids, their lock, state, transaction age and (truncated) query; it never ends a session itself.
 * The migration should run with a {@code lock_timeout} and bounded retries either way.
 *
 * <p>Which tables: {@link InspectionContext#tablesTouched()}. When the caller does not know them (null),
 * only transactions open longer than {@link InspectionContext#longTransaction()} are reported, on any
 * table, as brief locks of ordinary traffic would be noise. With touched tables known, every session
 * holding or awaiting a lock on them is reported. Autovacuum is left out: it cancels itself when it
 * blocks a lock request.
 *
 * <pre>{@code
 * engine.inspect(connection, InspectionContext.empty().withTablesTouched(Set.of("public.user")));
 * // Finding[rule=blocking-sessions, severity=WARN, object=public.user, message=sessions hold or wait for locks on
 * //   public.user, which the pending migrations alter: pid 4242 holds AccessShareLock, idle in transaction,
 * //   transaction open 312 s: "SELECT * FROM "user" …"; …]
 * }</pre>
 */
public final class BlockingSessionsRule implements Rule {
  public static final String ID = "blocking-sessions";
  private static final String AUTOVACUUM = "autovacuum worker";

  @Override
  public String id() {
    return ID;
  }

  @Override
  public List<Finding> inspect(CatalogSnapshot snapshot, Connection connection) {
    return inspect(snapshot, connection, InspectionContext.empty());
  }

  @Override
  public List<Finding> inspect(CatalogSnapshot snapshot, Connection connection, InspectionContext context) {
    Set<TableName> touched = context.tablesTouched() == null ? null : snapshot.resolveAll(context.tablesTouched());
    Map<TableName, List<SessionLock>> byTable = new LinkedHashMap<>();
    for (SessionLock lock : snapshot.locks()) {
      if (AUTOVACUUM.equals(lock.backendType())) {
        continue;
      }
      boolean reported = touched != null ? touched.contains(lock.table())
          : isLong(lock, snapshot.readAt(), context.longTransaction());
      if (reported) {
        byTable.computeIfAbsent(lock.table(), table -> new ArrayList<>()).add(lock);
      }
    }
    List<Finding> findings = new ArrayList<>();
    byTable.forEach((table, locks) -> findings.add(finding(table, locks, touched != null, snapshot.readAt(), context)));
    return findings;
  }

  private static boolean isLong(SessionLock lock, Instant now, Duration threshold) {
    return lock.transactionStart() != null && lock.transactionAge(now).compareTo(threshold) > 0;
  }

  private static Finding finding(TableName table, List<SessionLock> locks, boolean touched, Instant now,
      InspectionContext context) {
    // One session often holds several locks on a table (AccessShareLock and RowExclusiveLock): say it once.
    Map<Integer, List<SessionLock>> bySession = new LinkedHashMap<>();
    for (SessionLock lock : locks) {
      bySession.computeIfAbsent(lock.pid(), pid -> new ArrayList<>()).add(lock);
    }
    List<String> sessions = bySession.values().stream()
        .map(session -> describe(session, now, context.longTransaction())).toList();
    String who = touched
        ? "sessions hold or wait for locks on " + table + ", which the pending migrations alter"
        : "transactions open longer than " + context.longTransaction().toSeconds() + " s hold or wait for locks on "
            + table;
    return new Finding(ID, Severity.WARN, table.toString(), who + ": " + String.join("; ", sessions)
        + ". A migration altering " + table + " would wait for them, and every later query on it would queue behind"
        + " the migration; end them (pg_terminate_backend(pid)) or wait for them to finish before the release",
        List.of());
  }

  /** e.g. {@code pid 4242 holds AccessShareLock, idle in transaction, transaction open 312 s (long): "SELECT …"}. */
  private static String describe(List<SessionLock> locks, Instant now, Duration threshold) {
    SessionLock first = locks.get(0);
    List<String> held = locks.stream().filter(SessionLock::granted).map(SessionLock::mode).toList();
    List<String> awaited = locks.stream().filter(lock -> !lock.granted()).map(SessionLock::mode).toList();
    StringBuilder text = new StringBuilder(first.pid() == null ? "a prepared transaction" : "pid " + first.pid());
    if (!held.isEmpty()) {
      text.append(" holds ").append(String.join(", ", held));
    }
    if (!awaited.isEmpty()) {
      text.append(held.isEmpty() ? "" : " and").append(" waits for ").append(String.join(", ", awaited));
    }
    if (first.state() != null) {
      text.append(", ").append(first.state());
    }
    if (first.transactionStart() != null) {
      text.append(", transaction open ").append(first.transactionAge(now).toSeconds()).append(" s");
      if (isLong(first, now, threshold)) {
        text.append(" (long)");
      }
    }
    if (first.query() != null && !first.query().isBlank()) {
      boolean cut = first.query().length() >= CatalogReader.QUERY_WIDTH;
      text.append(": \"").append(first.query().strip().replaceAll("\\s+", " ")).append(cut ? "…" : "").append('"');
    }
    return text.toString();
  }
}
