package dev.lockstep.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.coordinator.store.StoreFailure.Kind;
import java.net.ConnectException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;
import org.postgresql.util.ServerErrorMessage;
import org.redisson.client.RedisAuthRequiredException;
import org.redisson.client.RedisConnectionException;
import org.redisson.client.RedisException;
import org.redisson.client.RedisWrongPasswordException;

/**
 * What start-up does with a failed attempt to reach a store. The exceptions are built as the
 * PostgreSQL driver and Redisson build them (the messages are theirs, seen on this machine), so a
 * wrong password, which the local server (trust auth) cannot produce, is covered here.
 */
class StoreFailureTest {

  static Stream<Arguments> postgres() {
    return Stream.of(
        Arguments.of(serverError("28P01", "password authentication failed for user \"app\""), Kind.MISCONFIGURED,
            "password authentication failed for user \"app\" (SQL state 28P01)"),
        Arguments.of(serverError("28000", "role \"nobody\" does not exist"), Kind.MISCONFIGURED,
            "role \"nobody\" does not exist (SQL state 28000)"),
        Arguments.of(serverError("28000", "no pg_hba.conf entry for host \"10.0.0.9\", user \"app\", database \"shop\""),
            Kind.MISCONFIGURED, "no pg_hba.conf entry"),
        Arguments.of(serverError("3D000", "database \"shop\" does not exist"), Kind.MISCONFIGURED,
            "database \"shop\" does not exist (SQL state 3D000)"),
        Arguments.of(serverError("42501", "permission denied for database shop"), Kind.MISCONFIGURED, "permission denied"),
        Arguments.of(new PSQLException("Connection to 127.0.0.1:5439 refused. Check that the hostname and port are correct and"
            + " that the postmaster is accepting TCP/IP connections.", PSQLState.CONNECTION_UNABLE_TO_CONNECT,
            new ConnectException("Connection refused")), Kind.UNREACHABLE, "Connection refused"),
        Arguments.of(serverError("57P03", "the database system is starting up"), Kind.UNREACHABLE,
            "the database system is starting up (SQL state 57P03)"),
        Arguments.of(serverError("53300", "sorry, too many clients already"), Kind.UNREACHABLE, "too many clients"),
        Arguments.of(serverError("55P03", "canceling statement due to lock timeout"), Kind.UNREACHABLE, "lock timeout"),
        Arguments.of(serverError("42P01", "relation \"lockstep.fence\" does not exist"), Kind.UNEXPECTED, "does not exist"),
        Arguments.of(new IllegalStateException("a bug"), Kind.UNEXPECTED, "a bug"),
        // TLS, as pgjdbc words it: a certificate for another host (verify-full), an untrusted one, a server without TLS.
        Arguments.of(new PSQLException("The hostname 127.0.0.1 could not be verified by hostnameverifier PgjdbcHostnameVerifier.",
            PSQLState.CONNECTION_FAILURE), Kind.MISCONFIGURED, "could not be verified"),
        Arguments.of(new PSQLException("SSL error: PKIX path building failed", PSQLState.CONNECTION_FAILURE,
            new javax.net.ssl.SSLHandshakeException("PKIX path building failed: unable to find valid certification path")),
            Kind.MISCONFIGURED, "unable to find valid certification path"),
        Arguments.of(new PSQLException("The server does not support SSL.", PSQLState.CONNECTION_REJECTED), Kind.MISCONFIGURED,
            "does not support SSL"),
        // A handshake cut short by a server going away is an outage, not a certificate problem.
        Arguments.of(new PSQLException("SSL error: Connection reset", PSQLState.CONNECTION_FAILURE,
            new javax.net.ssl.SSLException("Connection reset")), Kind.UNREACHABLE, "Connection reset"));
  }

  static Stream<Arguments> redis() {
    String channel = ". channel: [id: 0xb1ad12a0, L:/127.0.0.1:58538 - R:127.0.0.1/127.0.0.1:6391] data: CommandData"
        + " [command=(AUTH), params: (password masked), codec=null]";
    return Stream.of(
        Arguments.of(redisson(new RedisWrongPasswordException("WRONGPASS invalid username-password pair or user is disabled." + channel)),
            Kind.MISCONFIGURED, "WRONGPASS invalid username-password pair or user is disabled."),
        Arguments.of(redisson(new RedisAuthRequiredException("NOAUTH Authentication required." + channel)),
            Kind.MISCONFIGURED, "NOAUTH Authentication required."),
        Arguments.of(new RedisException("ERR AUTH <password> called without any password configured for the default user."
            + " Are you sure your configuration is correct?" + channel), Kind.MISCONFIGURED, "without any password configured"),
        Arguments.of(new RedisConnectionException("Unable to connect to Redis server: 127.0.0.1/127.0.0.1:6390",
            new ConnectException("Connection refused: /127.0.0.1:6390")), Kind.UNREACHABLE, "Connection refused: /127.0.0.1:6390"),
        Arguments.of(new CompletionException(new java.util.concurrent.TimeoutException()), Kind.UNREACHABLE, "no answer in time"),
        Arguments.of(new IllegalArgumentException("Redis url should start with redis:// or rediss://"), Kind.UNEXPECTED, "redis://"),
        Arguments.of(new RedisConnectionException("Unable to connect to Redis server: 127.0.0.1/127.0.0.1:6380",
            new javax.net.ssl.SSLHandshakeException("PKIX path building failed")), Kind.MISCONFIGURED, "PKIX path building failed"),
        Arguments.of(new RedisConnectionException("Unable to connect to Redis server: 127.0.0.1/127.0.0.1:6380",
            new javax.net.ssl.SSLHandshakeException("No subject alternative names matching IP address 127.0.0.1 found")
                .initCause(new java.security.cert.CertificateException("No subject alternative names matching IP address 127.0.0.1 found"))),
            Kind.MISCONFIGURED, "No subject alternative names"));
  }

  static Stream<Arguments> failures() {
    return Stream.concat(postgres().map(a -> Arguments.of(prepend("PostgreSQL", a.get()))),
        redis().map(a -> Arguments.of(prepend("Redis", a.get()))));
  }

  @ParameterizedTest(name = "{0} {2}: {3}")
  @MethodSource("failures")
  void classified(String store, Throwable failure, Kind kind, String cause) {
    StoreFailure f = store.equals("Redis") ? StoreFailure.ofRedis(failure) : StoreFailure.ofPostgres(failure);
    assertThat(f.kind()).isEqualTo(kind);
    assertThat(f.cause()).contains(cause).doesNotContain("channel").doesNotContain("masked");
    assertThat(f.fix() != null).as("a fix is named for a configuration error, only").isEqualTo(kind == Kind.MISCONFIGURED);
  }

  private static Object[] prepend(String store, Object[] rest) {
    Object[] all = new Object[rest.length + 1];
    all[0] = store;
    System.arraycopy(rest, 0, all, 1, rest.length);
    return all;
  }

  @Test
  void aCauseIsNeverEmpty() {
    assertThat(StoreFailure.cause(new RuntimeException((String) null))).isEqualTo("RuntimeException");
  }

  private static PSQLException serverError(String state, String message) {
    return new PSQLException(new ServerErrorMessage("SFATAL\0C" + state + "\0M" + message + "\0"));
  }

  // How Redisson.create wraps what the server answered.
  private static RedisConnectionException redisson(RedisException answer) {
    return new RedisConnectionException(new ExecutionException(new RedisConnectionException(
        "Unable to connect to Redis server: 127.0.0.1/127.0.0.1:6391", new CompletionException(answer))));
  }
}
