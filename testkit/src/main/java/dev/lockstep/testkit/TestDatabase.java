package dev.lockstep.testkit;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One freshly created database that belongs to one test class, dropped by {@link #close()}.
 * Created by {@link TestPostgres#createDatabase(String)}.
 *
 * <pre>{@code
 * try (TestDatabase db = TestPostgres.instance().createDatabase("FenceTest")) {
 *   db.execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)");
 *   assertThat(db.queryLong("SELECT count(*) FROM t")).isEqualTo(2);
 *   String url = db.postgresUrl();   // for code that takes DATABASE_URL
 * }
 * }</pre>
 */
public final class TestDatabase implements AutoCloseable {
  private final TestPostgres server;
  private final String name;
  private final AtomicBoolean closed = new AtomicBoolean();

  TestDatabase(TestPostgres server, String name) {
    this.server = server;
    this.name = name;
  }

  public String name() {
    return name;
  }

  /** {@code jdbc:postgresql://host:port/name}; pass {@link #user()} and {@link #password()} separately. */
  public String jdbcUrl() {
    return server.jdbcUrl(name);
  }

  /** {@code postgresql://user[:password]@host:port/name}, the form {@code DATABASE_URL} takes. */
  public String postgresUrl() {
    String credentials = encode(user()) + (password().isEmpty() ? "" : ":" + encode(password()));
    String host = server.host().contains(":") ? "[" + server.host() + "]" : server.host();
    return "postgresql://" + credentials + "@" + host + ":" + server.port() + "/" + name;
  }

  public String user() {
    return server.user();
  }

  public String password() {
    return server.password();
  }

  /** A new JDBC connection to this database, in autocommit; the caller closes it. */
  public Connection connect() throws SQLException {
    ensureOpen();
    return server.connect(name);
  }

  /** Runs {@code sql} (one or several statements separated by {@code ;}) on a fresh connection. */
  public void execute(String sql) {
    try (Connection connection = connect(); Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw failure(sql, e);
    }
  }

  /** The first column of the first row of {@code sql}, as a long. */
  public long queryLong(String sql) {
    return firstValue(sql, rows -> rows.getLong(1));
  }

  /** The first column of the first row of {@code sql}, as text (null for SQL NULL): for diagnostics in a failure message. */
  public String queryText(String sql) {
    return firstValue(sql, rows -> rows.getString(1));
  }

  /** The first column of every row of {@code sql}, as text. */
  public java.util.List<String> queryTexts(String sql) {
    try (Connection connection = connect();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      java.util.List<String> values = new java.util.ArrayList<>();
      while (rows.next()) {
        values.add(rows.getString(1));
      }
      return values;
    } catch (SQLException e) {
      throw failure(sql, e);
    }
  }

  private interface Column<T> {
    T read(ResultSet rows) throws SQLException;
  }

  private <T> T firstValue(String sql, Column<T> column) {
    try (Connection connection = connect();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      if (!rows.next()) {
        throw new IllegalStateException("query on test database " + name + " returned no row: " + sql);
      }
      return column.read(rows);
    } catch (SQLException e) {
      throw failure(sql, e);
    }
  }

  /**
   * A digest of schema {@code public}: its catalog (relations, columns, constraints, indexes, sequences)
   * and every table's rows. Equal before and after means nothing there changed, Flyway's history included.
   */
  public String fingerprint() {
    return fingerprint(true);
  }

  /**
   * As {@link #fingerprint()}; without sequence positions when {@code withSequencePositions} is false,
   * for work rolled back that drew from sequences (PostgreSQL never rolls a sequence back).
   */
  public String fingerprint(boolean withSequencePositions) {
    StringBuilder all = new StringBuilder();
    try (Connection c = connect(); Statement s = c.createStatement()) {
      try (ResultSet rs = s.executeQuery("""
          SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
            SELECT c.relname || ':' || c.relkind::text || ':' || c.oid::text AS x FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
            UNION ALL SELECT a.attrelid::text || ':' || a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull || ':' || a.attisdropped
              FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND a.attnum > 0
            UNION ALL SELECT conname || ':' || contype::text || ':' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace
            UNION ALL SELECT indexrelid::text || ':' || indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace
            UNION ALL SELECT sequencename || ':' || CASE WHEN %s THEN coalesce(last_value, 0) ELSE 0 END FROM pg_sequences WHERE schemaname = 'public'
            UNION ALL SELECT p.proname || ':' || p.oid::text FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
          ) t""".formatted(withSequencePositions))) {
        rs.next();
        all.append(rs.getString(1));
      }
      java.util.List<String> tables = new java.util.ArrayList<>();
      try (ResultSet rs = s.executeQuery("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")) {
        while (rs.next()) {
          tables.add(rs.getString(1));
        }
      }
      for (String t : tables) {
        try (ResultSet rs = s.executeQuery("SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) FROM public." + t + " r")) {
          rs.next();
          all.append(' ').append(t).append('=').append(rs.getString(1));
        }
      }
    } catch (SQLException e) {
      throw failure("fingerprint", e);
    }
    return all.toString();
  }

  /** Drops the database, ending any session still connected to it. Calling it again does nothing. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      server.dropDatabase(name);
    }
  }

  @Override
  public String toString() {
    return name + " on " + server;
  }

  private void ensureOpen() {
    if (closed.get()) {
      throw new IllegalStateException("test database " + name + " was closed (dropped) already");
    }
  }

  private IllegalStateException failure(String sql, SQLException e) {
    return new IllegalStateException(
        "SQL failed on test database " + name + " [" + e.getSQLState() + "]: " + e.getMessage() + "\n  in: " + sql, e);
  }

  private static String encode(String text) {
    // URLEncoder is for forms (space becomes '+'); a URL's user-info wants %20.
    return URLEncoder.encode(text, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
