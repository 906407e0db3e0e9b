package dev.lockstep.coordinator.store;

import dev.lockstep.coordinator.config.DatabaseUrl;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * Direct JDBC connections for the blocking work that needs one session of its own: the fence's
 * advisory lock, repairs, pre-flight inspection. Each carries an application name, so an operator
 * reading {@code pg_stat_activity} sees which part of Lockstep holds it.
 */
public final class Connections {
  private final DatabaseUrl database;

  public Connections(DatabaseUrl database) {
    this.database = database;
  }

  public Connection open(String applicationName) throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", database.user());
    if (database.password() != null) {
      props.setProperty("password", database.password());
    }
    props.setProperty("ApplicationName", applicationName);
    props.setProperty("connectTimeout", "10");
    props.setProperty("tcpKeepAlive", "true");
    return DriverManager.getConnection(database.jdbcUrl(), props);
  }
}
