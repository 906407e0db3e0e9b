package dev.lockstep.coordinator.migration;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.error.LockstepException.Code;
import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.store.Connections;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A scratch copy of a live database's schema, without its rows, on the same server: where an Alembic
 * upgrade is rehearsed, since Alembic opens its own connection and Lockstep cannot hold (and roll back)
 * its transaction. Made with {@code pg_dump --schema-only --no-owner --no-privileges} restored by
 * {@code psql -v ON_ERROR_STOP=1} into a new database {@code lockstep_rehearsal_<random>}; {@link #close()}
 * drops it. A coordinator killed in between leaves one behind, which {@link #sweep(DatabaseUrl)} drops an
 * hour later. Blocks: call it on a worker pool.
 *
 * <p>The live database's user needs {@code CREATEDB}; the child processes get the password through
 * {@code PGPASSWORD} and the TLS settings through {@code PGSSLMODE}/{@code PGSSLROOTCERT}, never in an argument.
 * Other URL parameters are not passed on.
 *
 * <pre>{@code
 * try (ScratchClone clone = ScratchClone.create(live, "rehearsal of release r-12")) {
 *   alembic.upgrade(clone.url(), "head");   // on the copy; the live database is untouched
 * }
 * }</pre>
 */
public final class ScratchClone implements AutoCloseable {
  /** Every clone's name starts with this; nothing else should. */
  public static final String PREFIX = "lockstep_rehearsal_";
  /** A clone older than this is taken as left behind by a killed coordinator. */
  public static final Duration LEFT_BEHIND_AFTER = Duration.ofHours(1);

  private static final Logger log = LoggerFactory.getLogger(ScratchClone.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int TAIL_LINES = 10;
  private static final String APPLICATION_NAME = "lockstep-rehearsal";
  /** The comment on every clone; the sweep reads the creation time back from it. */
  private static final Pattern CREATED = Pattern.compile("created (\\S+)\\)$");

  private final DatabaseUrl live;
  private final DatabaseUrl url;
  private final AtomicBoolean closed = new AtomicBoolean();

  /** The client programs and how long each may run; tests replace them. */
  record Tools(String pgDump, String psql, Duration timeout, Clock clock) {
    static final Tools DEFAULT = new Tools("pg_dump", "psql", Duration.ofMinutes(10), Clock.systemUTC());
  }

  private ScratchClone(DatabaseUrl live, DatabaseUrl url) {
    this.live = live;
    this.url = url;
  }

  /**
   * Copies the schema of {@code live} into a new database on the same server.
   *
   * @param purpose why the copy exists (e.g. the release id); kept in the database's comment for an operator
   * @throws LockstepException {@code UNPROCESSABLE} naming the command, its exit code and the last lines of its
   *     error output when pg_dump or psql fails, or what to install when they are missing; the half-made copy is dropped
   */
  public static ScratchClone create(DatabaseUrl live, String purpose) {
    return create(live, newUrl(live), purpose, Tools.DEFAULT);
  }

  /**
   * As {@link #create(DatabaseUrl, String)}, under a name {@link #newUrl} gave beforehand: a program that will work on
   * the copy can be started while it is made (the Alembic rehearsal's Python).
   */
  public static ScratchClone create(DatabaseUrl live, DatabaseUrl url, String purpose) {
    return create(live, url, purpose, Tools.DEFAULT);
  }

  /** Where a new copy of {@code live}'s schema will be: a fresh name on the same server, with the same user and TLS. */
  public static DatabaseUrl newUrl(DatabaseUrl live) {
    String name = PREFIX + HexFormat.of().formatHex(randomBytes());
    return new DatabaseUrl(live.host(), live.port(), name, live.user(), live.password(), live.params(), live.tls());
  }

  static ScratchClone create(DatabaseUrl live, String purpose, Tools tools) {
    return create(live, newUrl(live), purpose, tools);
  }

  private static ScratchClone create(DatabaseUrl live, DatabaseUrl url, String purpose, Tools tools) {
    if (!url.database().startsWith(PREFIX) || !url.host().equals(live.host()) || url.port() != live.port()) {
      throw new IllegalArgumentException(url + " is not a scratch copy's place on the server of " + live + " (newUrl)");
    }
    String name = url.database();
    Path dump;
    try {
      dump = Files.createTempFile("lockstep-rehearsal-", ".sql");
    } catch (IOException e) {
      throw new LockstepException(Code.UNPROCESSABLE, "cannot copy the schema of " + live + " into a scratch database: " + e, e);
    }
    try {
      // The live schema is dumped while the empty copy is made (0.1–0.5 s for CREATE DATABASE): neither needs the other.
      Created created = createDatabase(live, name, purpose, tools.clock(), major -> start(List.of(tools.pgDump(),
          "--schema-only", "--no-owner", "--no-privileges", "--lock-wait-timeout=" + tools.timeout().toMillis(),
          "--file=" + dump), live, tools, major, "the schema of " + live));
      String serverMajor = created.serverMajor();
      ScratchClone clone = new ScratchClone(live, url);
      try {
        created.beside().finish();
        run(List.of(tools.psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--file=" + dump),
            url, tools, serverMajor, "restoring the schema of " + live + " into " + name);
      } catch (IOException | RuntimeException e) {
        clone.close();
        if (e instanceof LockstepException l) {
          throw l;
        }
        throw new LockstepException(Code.UNPROCESSABLE, "cannot copy the schema of " + live + " into a scratch database: " + e, e);
      }
      log.info("scratch copy {} of the schema of {} created ({})", name, live, purpose);
      return clone;
    } finally {
      deleteQuietly(dump);
    }
  }

  private static byte[] randomBytes() {
    byte[] bytes = new byte[4];
    RANDOM.nextBytes(bytes);
    return bytes;
  }

  /** The copy, with the live database's user, password and TLS settings. */
  public DatabaseUrl url() {
    return url;
  }

  public String name() {
    return url.database();
  }

  /** Drops the copy, ending any session still on it. Never throws: a failure is logged, and the sweep drops it later. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      try {
        drop(live, name());
      } catch (SQLException | RuntimeException e) {
        log.warn("could not drop scratch database {} on {}:{}: {}; it is dropped by the next sweep after {}", name(),
            live.host(), live.port(), e.getMessage(), LEFT_BEHIND_AFTER);
      }
    }
  }

  /**
   * Drops the clones on {@code live}'s server older than {@link #LEFT_BEHIND_AFTER}: those a killed coordinator left.
   * Never throws; returns the names dropped.
   */
  public static List<String> sweep(DatabaseUrl live) {
    return sweep(live, Clock.systemUTC(), LEFT_BEHIND_AFTER);
  }

  static List<String> sweep(DatabaseUrl live, Clock clock, Duration olderThan) {
    Instant cutoff = clock.instant().minus(olderThan);
    List<String> dropped = new ArrayList<>();
    try (Connection c = new Connections(live).open(APPLICATION_NAME); Statement s = c.createStatement();
        ResultSet rows = s.executeQuery("SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database"
            + " WHERE datname LIKE '" + PREFIX.replace("_", "\\_") + "%'")) {
      List<String> names = new ArrayList<>();
      while (rows.next()) {
        Instant created = createdAt(rows.getString(2));
        // A clone whose comment does not say when it was made is not dropped: it may not be Lockstep's.
        if (created != null && created.isBefore(cutoff)) {
          names.add(rows.getString(1));
        }
      }
      for (String name : names) {
        try {
          s.execute("DROP DATABASE IF EXISTS " + quote(name) + " WITH (FORCE)");
          dropped.add(name);
          log.info("dropped scratch database {} left behind on {}:{}", name, live.host(), live.port());
        } catch (SQLException e) {
          log.warn("could not drop scratch database {} left behind on {}:{}: {}", name, live.host(), live.port(), e.getMessage());
        }
      }
    } catch (SQLException | RuntimeException e) {
      log.warn("could not look for scratch databases left behind on {}:{}: {}", live.host(), live.port(), e.getMessage());
    }
    return dropped;
  }

  static Instant createdAt(String comment) {
    if (comment == null) {
      return null;
    }
    Matcher m = CREATED.matcher(comment);
    if (!m.find()) {
      return null;
    }
    try {
      return Instant.parse(m.group(1));
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  /** The empty copy was made on a server of this major version; {@code beside} was started while it was made. */
  private record Created(String serverMajor, Running beside) {}

  /**
   * Creates the empty database, like the live one in encoding and locale. {@code beside} is started with the server's
   * major version once that is read, before CREATE DATABASE, and ended when the database cannot be made.
   */
  private static Created createDatabase(DatabaseUrl live, String name, String purpose, Clock clock,
                                        Function<String, Running> beside) {
    Running started = null;
    try (Connection c = new Connections(live).open(APPLICATION_NAME); Statement s = c.createStatement()) {
      String encoding;
      String collate;
      String ctype;
      String major;
      try (ResultSet rows = s.executeQuery("SELECT pg_encoding_to_char(encoding), datcollate, datctype,"
          + " current_setting('server_version_num')::int / 10000 FROM pg_database WHERE datname = current_database()")) {
        rows.next();
        encoding = rows.getString(1);
        collate = rows.getString(2);
        ctype = rows.getString(3);
        major = rows.getString(4);
      }
      started = beside.apply(major);
      // template0: a restored dump expects an empty database, and template1 may hold objects of its own.
      s.execute("CREATE DATABASE " + quote(name) + " TEMPLATE template0 ENCODING " + literal(encoding)
          + " LC_COLLATE " + literal(collate) + " LC_CTYPE " + literal(ctype));
      String comment = "Lockstep scratch copy of the schema of " + live.database() + ": " + purpose + " (created "
          + clock.instant() + ")";
      s.execute("COMMENT ON DATABASE " + quote(name) + " IS " + literal(comment));
      return new Created(major, started);
    } catch (SQLException e) {
      abandon(started);
      if ("42501".equals(e.getSQLState())) {
        throw new LockstepException(Code.UNPROCESSABLE, "user " + live.user() + " may not create databases on " + live.host()
            + ":" + live.port() + ", and rehearsing Alembic migrations needs a scratch copy of the schema there; grant it"
            + " (ALTER ROLE " + quote(live.user()) + " CREATEDB) or skip the rehearsal", e);
      }
      throw new LockstepException(Code.UNPROCESSABLE, "cannot create scratch database " + name + " on " + live.host() + ":"
          + live.port() + " to rehearse on: [" + e.getSQLState() + "] " + e.getMessage(), e);
    } catch (RuntimeException e) {
      abandon(started);
      throw e;
    }
  }

  private static void abandon(Running started) {
    if (started != null) {
      started.abandon();
    }
  }

  private static void drop(DatabaseUrl live, String name) throws SQLException {
    try (Connection c = new Connections(live).open(APPLICATION_NAME); Statement s = c.createStatement()) {
      s.execute("DROP DATABASE IF EXISTS " + quote(name) + " WITH (FORCE)");
    }
  }

  /** Runs a libpq client against {@code target}, connected through its environment only. */
  private static void run(List<String> command, DatabaseUrl target, Tools tools, String serverMajor, String what)
      throws IOException {
    start(command, target, tools, serverMajor, what).finish();
  }

  /** Starts a libpq client against {@code target}; {@link Running#finish} waits for it. */
  private static Running start(List<String> command, DatabaseUrl target, Tools tools, String serverMajor, String what) {
    Path err;
    try {
      err = Files.createTempFile("lockstep-rehearsal-", ".err");
    } catch (IOException e) {
      throw new LockstepException(Code.UNPROCESSABLE, "cannot run " + command.get(0) + " (" + what + "): " + e, e);
    }
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile());
    environment(builder.environment(), target);
    try {
      return new Running(builder.start(), err, command, what, serverMajor, tools);
    } catch (IOException e) {
      deleteQuietly(err);
      throw new LockstepException(Code.UNPROCESSABLE, "cannot run " + command.get(0) + " (" + e.getMessage() + "), which"
          + " rehearsing Alembic migrations needs to copy the schema; install postgresql-client of the database server's"
          + " major version " + serverMajor + " or later (e.g. apt-get install postgresql-client-" + serverMajor + ")", e);
    }
  }

  /** A libpq client that was started: {@link #finish} waits for it and turns a failure into the error to report. */
  private record Running(Process process, Path err, List<String> command, String what, String serverMajor, Tools tools) {
    void finish() throws IOException {
      String program = Path.of(command.get(0)).getFileName().toString();
      try {
        boolean finished;
        try {
          finished = process.waitFor(tools.timeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          process.destroyForcibly();
          Thread.currentThread().interrupt();
          throw new LockstepException(Code.UNPROCESSABLE, program + " (" + what + ") was interrupted", e);
        }
        if (!finished) {
          process.destroyForcibly();
          throw new LockstepException(Code.UNPROCESSABLE, program + " (" + what + ") did not finish in " + tools.timeout()
              + "; " + tail(err));
        }
        if (process.exitValue() != 0) {
          String tail = tail(err);
          String hint = tail.contains("server version mismatch") ? "; install postgresql-client of major version "
              + serverMajor + " or later" : "";
          throw new LockstepException(Code.UNPROCESSABLE, String.join(" ", command) + " ("
              + what + ") exited " + process.exitValue() + ": " + tail + hint);
        }
      } finally {
        Files.deleteIfExists(err);
      }
    }

    /** Not needed after all (the copy could not be made): ended, its error output deleted. */
    void abandon() {
      process.destroyForcibly();
      deleteQuietly(err);
    }
  }

  private static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      log.debug("could not delete {}: {}", file, e.getMessage());
    }
  }

  private static void environment(Map<String, String> env, DatabaseUrl target) {
    // Only what the URL says: an inherited PGSERVICE, PGOPTIONS or PGPASSFILE could point the copy elsewhere.
    env.keySet().removeIf(k -> k.startsWith("PG"));
    env.put("PGHOST", target.host());
    env.put("PGPORT", Integer.toString(target.port()));
    env.put("PGUSER", target.user());
    env.put("PGDATABASE", target.database());
    env.put("PGAPPNAME", APPLICATION_NAME);
    env.put("PGCONNECT_TIMEOUT", "10");
    if (target.password() != null) {
      env.put("PGPASSWORD", target.password());
    }
    if (target.tls() != null) {
      env.put("PGSSLMODE", target.tls().mode().value());
      if (target.tls().rootCert() != null) {
        env.put("PGSSLROOTCERT", target.tls().rootCert().toString());
      }
    }
  }

  private static String tail(Path err) throws IOException {
    List<String> lines = Files.readAllLines(err, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).toList();
    if (lines.isEmpty()) {
      return "no error output";
    }
    return String.join(" | ", lines.subList(Math.max(0, lines.size() - TAIL_LINES), lines.size()));
  }

  private static String quote(String identifier) {
    return '"' + identifier.replace("\"", "\"\"") + '"';
  }

  private static String literal(String text) {
    return "'" + text.replace("'", "''") + "'";
  }

  @Override
  public String toString() {
    return name() + " (scratch copy of " + live + ")";
  }
}
