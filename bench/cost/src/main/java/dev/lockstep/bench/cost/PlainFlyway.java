package dev.lockstep.bench.cost;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;

/**
 * Plain Flyway, as a user runs it without Lockstep: {@code Flyway.configure()…migrate()} in a JVM of its own
 * (Flyway's jars, PostgreSQL's driver), default settings, a {@code filesystem:} location. It prints
 * {@code main <millis>} when the JVM reaches main and {@code migrated <millis> <executed> <migrateMs>} at the end,
 * so the bench can tell JVM start from the migration.
 *
 * <pre>{@code java -cp 'target/classes:target/lib/*' dev.lockstep.bench.cost.PlainFlyway JDBC_URL DIR [TARGET]}</pre>
 */
public final class PlainFlyway {
  private PlainFlyway() {}

  public static void main(String[] args) {
    System.out.println("main " + System.currentTimeMillis());
    long started = System.nanoTime();
    var config = Flyway.configure().dataSource(args[0], null, null).locations("filesystem:" + args[1]);
    if (args.length > 2) {
      config.target(args[2]); // the status quo's starting point: the schema the old code runs on
    }
    MigrateResult result = config.load().migrate();
    long migrateMs = (System.nanoTime() - started) / 1_000_000;
    System.out.println("migrated " + System.currentTimeMillis() + " " + result.migrationsExecuted + " " + migrateMs);
  }
}
