package dev.lockstep.coordinator.store;

import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import org.postgresql.util.PSQLException;
import org.redisson.client.RedisAuthRequiredException;
import org.redisson.client.RedisException;
import org.redisson.client.RedisWrongPasswordException;

/**
 * Why an attempt to reach a store failed, in the terms start-up acts on, and a one-line cause that
 * is safe to log (a store's own words, never a stack, never a password). Pure functions over the
 * exception, so every case is tested without a server.
 *
 * <pre>{@code
 * StoreFailure f = StoreFailure.ofPostgres(e);
 * switch (f.kind()) { case UNREACHABLE -> retry(); case MISCONFIGURED -> exit(2, f.cause()); ... }
 * }</pre>
 */
public record StoreFailure(Kind kind, String cause, String fix) {

  public enum Kind {
    /** Wrong credentials, no such role or database: retrying cannot help, so the coordinator exits 2. */
    MISCONFIGURED,
    /** Out of reach for now (refused, reset, timed out, starting up, too many connections): retried. */
    UNREACHABLE,
    /** Neither: a bug or something not foreseen; start-up fails with it as it is. */
    UNEXPECTED
  }

  // SQL states that mean the URL is wrong, each with what to change.
  private static final Map<String, String> POSTGRES_CONFIGURATION = Map.of(
      "28P01", "check the password in --database-url",
      "28000", "check the user in --database-url (and that pg_hba.conf lets it in from here)",
      "3D000", "check the database name in --database-url, or create the database",
      "42501", "grant the user of --database-url the right to create schema lockstep, or create it for them");

  /** A failed JDBC connection or schema set-up. */
  public static StoreFailure ofPostgres(Throwable failure) {
    String tls = postgresTlsFix(failure);
    if (tls != null) {
      return new StoreFailure(Kind.MISCONFIGURED, cause(failure), tls);
    }
    String state = sqlState(failure);
    if (state != null && POSTGRES_CONFIGURATION.containsKey(state)) {
      return new StoreFailure(Kind.MISCONFIGURED, cause(failure), POSTGRES_CONFIGURATION.get(state));
    }
    // Outages has the rules for a connection that is lost; at start-up a busy server (class 53) is one too, and so is
    // a schema upgrade that waited LockstepSchema.LOCK_TIMEOUT for a table another coordinator holds (55P03).
    boolean transientState = state != null && (state.startsWith("53") || state.equals("55P03"));
    return new StoreFailure(Outages.isPostgresConnectionLoss(failure) || transientState ? Kind.UNREACHABLE : Kind.UNEXPECTED,
        cause(failure), null);
  }

  /** A failed Redis connection, PING or Redisson client creation. */
  public static StoreFailure ofRedis(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof RedisProbe.RedisMisconfigured wrong) {
        return new StoreFailure(Kind.MISCONFIGURED, wrong.getMessage(), wrong.fix());
      }
    }
    if (tlsFailure(failure)) {
      return new StoreFailure(Kind.MISCONFIGURED, cause(failure), "the Redis server's certificate is not trusted or does not"
          + " name the host of --redis-url: give the CA that signed it with --redis-ca-cert, or connect by a name it holds");
    }
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof RedisWrongPasswordException) {
        return new StoreFailure(Kind.MISCONFIGURED, cause(failure), "check the user and password in --redis-url");
      }
      if (t instanceof RedisAuthRequiredException) {
        return new StoreFailure(Kind.MISCONFIGURED, cause(failure),
            "this Redis wants a password: give it in --redis-url, as redis://:PASSWORD@host:6379");
      }
      // Redis 6+ answers AUTH on a server without a password this way.
      if (t instanceof RedisException && t.getMessage() != null && t.getMessage().contains("without any password configured")) {
        return new StoreFailure(Kind.MISCONFIGURED, cause(failure), "this Redis has no password: remove it from --redis-url");
      }
    }
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof RedisException || t instanceof java.net.ConnectException || t instanceof TimeoutException) {
        return new StoreFailure(Kind.UNREACHABLE, cause(failure), null);
      }
    }
    return new StoreFailure(Kind.UNEXPECTED, cause(failure), null);
  }

  /**
   * The store's own words: PostgreSQL's message with its SQL state, else the innermost message of the
   * chain (where "Connection refused" is), cut before the channel and command dump Redisson appends.
   */
  public static String cause(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof PSQLException p && p.getServerErrorMessage() != null && p.getServerErrorMessage().getMessage() != null) {
        return p.getServerErrorMessage().getMessage() + " (SQL state " + p.getSQLState() + ")";
      }
    }
    Throwable innermost = failure;
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof TimeoutException) {
        return "no answer in time";
      }
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        innermost = t;
      }
    }
    String message = innermost.getMessage();
    if (message == null || message.isBlank()) {
      return innermost.getClass().getSimpleName();
    }
    // Redisson appends ". channel: [...] data: CommandData [...]" to the server's answer.
    int channel = message.indexOf(". channel: ");
    return (channel > 0 ? message.substring(0, channel) : message).strip();
  }

  // pgjdbc reports these without an SSLException in the chain, in words of its own.
  private static final String HOSTNAME_NOT_VERIFIED = "could not be verified by hostnameverifier";
  private static final String NO_SSL = "The server does not support SSL";

  /** What to change when a PostgreSQL connection failed over TLS (an untrusted certificate, a wrong host); else null. */
  private static String postgresTlsFix(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      String message = t.getMessage() == null ? "" : t.getMessage();
      if (message.contains(NO_SSL)) {
        return "this server does not offer TLS: turn ssl on in its postgresql.conf, or lower sslmode in --database-url";
      }
      if (message.contains(HOSTNAME_NOT_VERIFIED)) {
        return "the server's certificate does not name the host of --database-url (sslmode=verify-full): connect by a name"
            + " or address in its subjectAltName, or reissue the certificate";
      }
    }
    return tlsFailure(failure) ? "the server's certificate is not signed by a CA in sslrootcert: check sslrootcert in"
        + " --database-url" : null;
  }

  /**
   * A certificate the client refused. Not any SSLException: a handshake cut by a server going down is an outage,
   * retried like any other.
   */
  private static boolean tlsFailure(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      String message = t.getMessage() == null ? "" : t.getMessage();
      if (t instanceof java.security.cert.CertificateException || t instanceof javax.net.ssl.SSLPeerUnverifiedException
          || (t instanceof javax.net.ssl.SSLHandshakeException && (message.contains("PKIX") || message.contains("certificate")))) {
        return true;
      }
    }
    return false;
  }

  private static String sqlState(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof SQLException sql && sql.getSQLState() != null) {
        return sql.getSQLState();
      }
    }
    return null;
  }
}
