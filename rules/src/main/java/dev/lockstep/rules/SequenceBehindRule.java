package dev.lockstep.rules;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import dev.lockstep.rules.CatalogSnapshot.Sequence;
import dev.lockstep.rules.CatalogSnapshot.Table;
import dev.lockstep.rules.CatalogSnapshot.TableName;
import java.math.BigInteger;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * {@code sequence-behind}: a sequence owned by a column ({@code serial}, identity, {@code OWNED BY})
 * whose next value is not past the values the column already holds — typically after rows were copied
 * in with explicit ids, or a dump restored without its {@code setval}s. Every insert that takes the
 * next value then fails on a duplicate key. The repair moves the sequence with {@code setval} to the
 * column's maximum (minimum for a descending sequence), finding {@code warn}; if that value lies beyond
 * the sequence's own limit, the sequence is exhausted, which only a migration can fix, so it blocks.
 *
 * <p>{@code setval} is not undone by a rollback (sequences are not transactional): a rehearsal must leave
 * it out ({@link Repairs#undoneByRollback(String)}), and once applied it stands even if the release fails,
 * which is harmless, as it only moves the sequence past values already taken.
 *
 * <p>The column values and sequence states are read in a few batched queries, not one per sequence.
 *
 * <pre>{@code
 * new SequenceBehindRule().inspect(CatalogSnapshot.read(connection), connection);
 * // [Finding[rule=sequence-behind, severity=WARN, object=public.user_id_seq, message=sequence public.user_id_seq
 * //   (of column public.user.id) would next give 3, but the column holds values up to 100, …,
 * //   repair=[SELECT setval('"public"."user_id_seq"', 100)]]]
 * }</pre>
 */
public final class SequenceBehindRule implements Rule {
  public static final String ID = "sequence-behind";
  private static final Set<String> INTEGER_TYPES = Set.of("smallint", "integer", "bigint");
  /** Sequences per query: one round trip for hundreds of tables, a statement PostgreSQL plans quickly. */
  private static final int BATCH = 500;

  @Override
  public String id() {
    return ID;
  }

  @Override
  public List<Finding> inspect(CatalogSnapshot snapshot, Connection connection) throws SQLException {
    Map<TableName, Table> tables = snapshot.tables().stream().collect(Collectors.toMap(Table::name, Function.identity()));
    List<Sequence> checked = snapshot.sequences().stream().filter(sequence -> considered(sequence, tables)).toList();
    List<Finding> findings = new ArrayList<>();
    for (int from = 0; from < checked.size(); from += BATCH) {
      List<Sequence> batch = checked.subList(from, Math.min(from + BATCH, checked.size()));
      List<State> states;
      try {
        states = Transactions.undone(connection, () -> State.read(batch, connection));
      } catch (SQLException e) {
        states = null; // one table we may not read spoils the batch; find out which, one by one
      }
      for (int i = 0; i < batch.size(); i++) {
        Sequence sequence = batch.get(i);
        Finding finding = states != null ? judge(sequence, states.get(i)) : judgeAlone(sequence, connection);
        if (finding != null) {
          findings.add(finding);
        }
      }
    }
    return findings;
  }

  /** Owned by an integer column of a table the snapshot lists and no extension manages. */
  private static boolean considered(Sequence sequence, Map<TableName, Table> tables) {
    if (sequence.ownedBy() == null || sequence.increment() == 0) {
      return false;
    }
    Table table = tables.get(sequence.ownedBy().table());
    return table != null && !table.extensionMember() && INTEGER_TYPES.contains(sequence.ownedBy().columnType());
  }

  private Finding judgeAlone(Sequence sequence, Connection connection) {
    try {
      return judge(sequence, Transactions.undone(connection, () -> State.read(List.of(sequence), connection)).get(0));
    } catch (SQLException e) {
      return new Finding(ID, Severity.WARN, sequence.name().toString(), "sequence " + sequence.name() + " (of column "
          + sequence.ownedBy() + ") could not be checked: " + e.getMessage() + "; grant the coordinator SELECT on "
          + sequence.ownedBy().table() + " and the sequence, or check it by hand", List.of());
    }
  }

  private Finding judge(Sequence sequence, State state) {
    if (state.extreme() == null) {
      return null; // no rows: nothing to collide with
    }
    boolean ascending = sequence.increment() > 0;
    BigInteger next = state.next(sequence.increment());
    boolean behind = ascending ? next.compareTo(state.extreme()) <= 0 : next.compareTo(state.extreme()) >= 0;
    if (!behind) {
      return null;
    }
    String what = "sequence " + sequence.name() + " (of column " + sequence.ownedBy() + ") would next give " + next
        + ", but the column holds values " + (ascending ? "up to " : "down to ") + state.extreme()
        + ", so inserts that take the next value fail on duplicate keys";
    BigInteger limit = BigInteger.valueOf(ascending ? sequence.max() : sequence.min());
    boolean exhausted = ascending ? state.extreme().compareTo(limit) >= 0 : state.extreme().compareTo(limit) <= 0;
    if (exhausted) {
      return new Finding(ID, Severity.BLOCK, sequence.name().toString(), what + "; the sequence cannot move past them,"
          + " as its " + (ascending ? "maximum" : "minimum") + " is " + limit + "; widen it in a migration (ALTER SEQUENCE "
          + sequence.name() + " AS bigint " + (ascending ? "MAXVALUE" : "MINVALUE") + " …), then run the release again",
          List.of());
    }
    String repair = "SELECT setval(" + Sql.quoteLiteral(sequence.name().quoted()) + ", " + state.extreme() + ")";
    return new Finding(ID, Severity.WARN, sequence.name().toString(), what + "; it will be moved past them with setval"
        + " (which a rollback does not undo)", List.of(repair));
  }

  /**
   * What the database holds now: the column's maximum (or minimum, for a descending sequence), null when
   * the table is empty, and the sequence's own {@code last_value}/{@code is_called}, read from the sequence
   * itself since the catalog cannot tell a fresh sequence from one set with {@code setval(…, false)}.
   */
  record State(BigInteger extreme, long lastValue, boolean called) {
    BigInteger next(long increment) {
      BigInteger last = BigInteger.valueOf(lastValue);
      return called ? last.add(BigInteger.valueOf(increment)) : last;
    }

    static List<State> read(List<Sequence> sequences, Connection connection) throws SQLException {
      StringBuilder sql = new StringBuilder();
      for (int i = 0; i < sequences.size(); i++) {
        Sequence sequence = sequences.get(i);
        String aggregate = sequence.increment() > 0 ? "max" : "min";
        if (i > 0) {
          sql.append("\nunion all ");
        }
        sql.append("select ").append(i).append(", (select ").append(aggregate).append('(')
            .append(Sql.quoteIdent(sequence.ownedBy().column())).append(") from ")
            .append(sequence.ownedBy().table().quoted()).append(")::text, s.last_value, s.is_called from ")
            .append(sequence.name().quoted()).append(" s");
      }
      State[] states = new State[sequences.size()];
      try (Statement statement = connection.createStatement(); ResultSet rows = statement.executeQuery(sql.toString())) {
        while (rows.next()) {
          String extreme = rows.getString(2);
          states[rows.getInt(1)] = new State(extreme == null ? null : new BigInteger(extreme), rows.getLong(3),
              rows.getBoolean(4));
        }
      }
      return List.of(states);
    }
  }
}
