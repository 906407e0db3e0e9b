package dev.lockstep.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTransientConnectionException;
import java.util.List;
import java.util.stream.Stream;
import org.flywaydb.core.api.FlywayException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;
import org.postgresql.util.ServerErrorMessage;

/**
 * What counts as a store being out of reach. The JDBC cases are the exceptions the PostgreSQL
 * driver and Flyway raise while the server restarts; they must become 503s, not 500s.
 */
class OutagesTest {

  static Stream<Arguments> postgresOutages() {
    return Stream.of(
        Arguments.of("admin shutdown (pg_terminate_backend, restart)", serverError("FATAL", "57P01", "terminating connection due to administrator command")),
        Arguments.of("57P01 as a plain SQLException", new SQLException("terminating connection due to administrator command", "57P01")),
        Arguments.of("57P02 crash shutdown", new SQLException("terminating connection because of crash of another server process", "57P02")),
        Arguments.of("57P03 cannot connect now", serverError("FATAL", "57P03", "the database system is starting up")),
        Arguments.of("08001 unable to connect", new PSQLException("Connection to 127.0.0.1:5432 refused", PSQLState.CONNECTION_UNABLE_TO_CONNECT)),
        Arguments.of("08003 connection does not exist", new PSQLException("This connection has been closed.", PSQLState.CONNECTION_DOES_NOT_EXIST)),
        Arguments.of("08006 connection failure", new PSQLException("An I/O error occurred while sending to the backend.", PSQLState.CONNECTION_FAILURE)),
        Arguments.of("transient connection exception", new SQLTransientConnectionException("pool timed out")),
        Arguments.of("non-transient connection exception", new SQLNonTransientConnectionException("connection reset")),
        Arguments.of("Flyway wrapping 57P01", new FlywayException("Unable to obtain connection from database",
            new SQLException("terminating connection due to administrator command", "57P01"))),
        Arguments.of("Flyway wrapping 08006 twice", new FlywayException("migration V2 failed",
            new RuntimeException("wrapper", new PSQLException("I/O error", PSQLState.CONNECTION_FAILURE)))),
        Arguments.of("chained next exception 57P01", chained(new SQLException("batch entry 0 failed", "25P02"),
            new SQLException("terminating connection due to administrator command", "57P01"))));
  }

  static List<Arguments> notOutages() {
    return List.of(
        Arguments.of("unique violation", new PSQLException("duplicate key value", PSQLState.UNIQUE_VIOLATION)),
        Arguments.of("undefined table 42P01", new SQLException("relation \"x\" does not exist", "42P01")),
        Arguments.of("statement timeout 57014", new SQLException("canceling statement due to statement timeout", "57014")),
        Arguments.of("SQLException without a state", new SQLException("no state")),
        Arguments.of("Flyway validation error", new FlywayException("Validate failed: Migrations have failed validation")),
        Arguments.of("a bug", new NullPointerException("x")));
  }

  // How the driver builds a server's error: fields as they arrive on the wire, NUL-separated.
  private static PSQLException serverError(String severity, String state, String message) {
    return new PSQLException(new ServerErrorMessage("S" + severity + "\0C" + state + "\0M" + message + "\0"));
  }

  private static SQLException chained(SQLException first, SQLException next) {
    first.setNextException(next);
    return first;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("postgresOutages")
  void jdbcAndFlywayConnectionLossIsAPostgresOutage(String name, Throwable failure) {
    assertThat(Outages.storeOf(failure)).isEqualTo("PostgreSQL");
    assertThat(Outages.isPostgresConnectionLoss(failure)).isTrue();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("notOutages")
  void otherErrorsAreNot(String name, Throwable failure) {
    assertThat(Outages.storeOf(failure)).isNull();
  }
}
