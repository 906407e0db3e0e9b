package dev.lockstep.bench.cost;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/**
 * A fresh PostgreSQL database for one run (created here, dropped here: the bench never touches a database it
 * did not create). Named {@code bench_cost_<label>_<random>}.
 */
final class Scratch implements AutoCloseable {
  static String host = "127.0.0.1";
  static int port = 5432;
  static String user = "postgres";

  final String name;

  private Scratch(String name) {
    this.name = name;
  }

  static Scratch create(String label) {
    String name = ("bench_cost_" + label + "_" + UUID.randomUUID().toString().substring(0, 8)).replaceAll("[^a-z0-9_]", "_");
    admin("CREATE DATABASE " + name);
    return new Scratch(name);
  }

  /** libpq form, for the coordinator, alembic and psql. */
  String url() {
    return "postgresql://" + user + "@" + host + ":" + port + "/" + name;
  }

  String jdbcUrl() {
    return "jdbc:postgresql://" + host + ":" + port + "/" + name + "?user=" + user;
  }

  Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbcUrl());
  }

  long queryLong(String sql) {
    try (Connection c = connect(); Statement s = c.createStatement(); var rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  void execute(String sql) {
    try (Connection c = connect(); Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  }

  private static void admin(String sql) {
    try (Connection c = DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/postgres?user=" + user);
        Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }
}
