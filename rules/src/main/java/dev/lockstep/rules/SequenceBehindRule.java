package dev.lockstep.rules;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import dev.lockstep.rules.CatalogSnapshot.Sequence;
import dev.lockstep.rules.CatalogSnapshot.Table;
import dev.lockstep.rules.CatalogSnapshot.TableName;
import java.math.BigInteger;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
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
 * The repair computes the maximum when it runs, and never moves a sequence backwards: the application
 * keeps inserting between PREFLIGHT and MIGRATING.
 *
 * <p>{@code setval} is not undone by a rollback (sequences are not transactional): a rehearsal must leave
 * it out ({@link Repairs#undoneByRollback(String)}), and once applied it stands even if the release fails,
 * which is harmless, as it only moves the sequence past values already taken.
 *
 * <p>The column values and sequence states are read in one query per 250 sequences, each batch in a
 * savepoint that is rolled back: that also lets go of its locks, as one transaction holding a lock on
 * every table, index and sequence of a large schema would fill the server's lock table.
 *
 * <pre>{@code
 * new SequenceBehindRule().inspect(CatalogSnapshot.read(connection), connection);
 * // [Finding[rule=sequence-behind, severity=WARN, object=public.user_id_seq, message=sequence public.user_id_seq
 * //   (of column public.user.id) would next give 3, but the column holds values up to 100, …,
 * //   repair=[SELECT setval('"public"."user_id_seq"', greatest((SELECT max("id") FROM "public"."user"),
 * //     (SELECT last_value FROM "public"."user_id_seq")))]]]
 * }</pre>
 */
public final class SequenceBehindRule implements Rule {
  public static final String ID = "sequence-behind";
  private static final Set<String> INTEGER_TYPES = Set.of("smallint", "integer", "bigint");
  /** Sequences per query: few round trips, and at most about a thousand locks held at a time. */
  private static final int BATCH = 250;

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
    String repair = repair(sequence, ascending);
    return new Finding(ID, Severity.WARN, sequence.name().toString(), what + "; it will be moved past them with setval"
        + " (which a rollback does not undo)", List.of(repair));
  }

  /**
   * {@code setval} to the column's extreme as it is when the repair runs, and never below the sequence's
   * own value then: between PREFLIGHT and MIGRATING the application keeps inserting (each failed insert
   * still takes a value), and a literal maximum read earlier could move the sequence back into values
   * handed out since.
   */
  private static String repair(Sequence sequence, boolean ascending) {
    String column = Sql.quoteIdent(sequence.ownedBy().column());
    String aggregate = ascending ? "max" : "min";
    return "SELECT setval(" + Sql.quoteLiteral(sequence.name().quoted()) + ", " + (ascending ? "greatest" : "least")
        + "((SELECT " + aggregate + "(" + column + ") FROM " + sequence.ownedBy().table().quoted() + "), (SELECT"
        + " last_value FROM " + sequence.name().quoted() + ")))";
  }

  /**
   * What the database holds now: the column's maximum (or minimum, for a descending sequence), null when
   * the table is empty, and the sequence's own state, read after the column in the same statement, so a
   * sequence that concurrent inserts move on is never seen behind values it handed out itself.
   */
  record State(BigInteger extreme, long lastValue, boolean called) {
    // One statement per batch, however many tables: query_to_xml runs each table's max() as its own
    // small query inside it (identifiers quoted by format's %I), so PostgreSQL plans hundreds of tiny
    // queries instead of one huge UNION, which it plans in more than linear time. pg_sequence_last_value
    // is null for a sequence never called; its last_value (the next value then) is read only for those.
    private static final String SQL = """
        select i, extreme, last_value,
               case when last_value is null
                    then substring(query_to_xml(format('select last_value::text as v from %I.%I', sschema, sname),
                                                false, true, '')::text from '<v>(.*)</v>') end
          from (select k.i, k.sschema, k.sname,
                       substring(query_to_xml(format('select %s(%I)::text as v from %I.%I', k.agg, k.col, k.tschema,
                                                     k.tname), false, true, '')::text from '<v>(.*)</v>') as extreme,
                       pg_sequence_last_value(format('%I.%I', k.sschema, k.sname)::regclass) as last_value
                  from unnest(?::int[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
                       as k(i, agg, col, tschema, tname, sschema, sname)
                offset 0) read
        """;

    BigInteger next(long increment) {
      BigInteger last = BigInteger.valueOf(lastValue);
      return called ? last.add(BigInteger.valueOf(increment)) : last;
    }

    static List<State> read(List<Sequence> sequences, Connection connection) throws SQLException {
      int n = sequences.size();
      Object[][] columns = new Object[7][n];
      for (int i = 0; i < n; i++) {
        Sequence sequence = sequences.get(i);
        columns[0][i] = i;
        columns[1][i] = sequence.increment() > 0 ? "max" : "min";
        columns[2][i] = sequence.ownedBy().column();
        columns[3][i] = sequence.ownedBy().table().schema();
        columns[4][i] = sequence.ownedBy().table().name();
        columns[5][i] = sequence.name().schema();
        columns[6][i] = sequence.name().name();
      }
      State[] states = new State[n];
      try (PreparedStatement statement = connection.prepareStatement(SQL)) {
        statement.setArray(1, connection.createArrayOf("int4", columns[0]));
        for (int c = 1; c < columns.length; c++) {
          statement.setArray(c + 1, connection.createArrayOf("text", columns[c]));
        }
        try (ResultSet rows = statement.executeQuery()) {
          while (rows.next()) {
            String extreme = rows.getString(2);
            long last = rows.getLong(3);
            boolean called = !rows.wasNull();
            states[rows.getInt(1)] = new State(extreme == null ? null : new BigInteger(extreme),
                called ? last : Long.parseLong(rows.getString(4)), called);
          }
        }
      }
      return List.of(states);
    }
  }
}
