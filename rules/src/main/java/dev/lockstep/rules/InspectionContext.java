package dev.lockstep.rules;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;

/**
 * What the rules may know besides the database: the release's migration files, the tables its
 * pending migrations alter, key columns declared in configuration, and how old a transaction must be
 * to count as long. Every part is optional; {@link #empty()} knows nothing, and rules that need a part
 * skip what depends on it.
 *
 * <p>Table names are {@code schema.table} as findings print them, or a bare name in the connection's
 * current schema.
 *
 * <pre>{@code
 * InspectionContext context = InspectionContext.empty()
 *     .withMigrationFiles("the uploaded set", files)            // failed-migration compares checksums
 *     .withTablesTouched(Set.of("public.user", "public.post"))  // blocking-sessions looks at these
 *     .withDeclaredKeys(Map.of("public.legacy", "code"))         // missing-primary-key may use code
 *     .withLongTransaction(Duration.ofSeconds(30));
 * Inspection inspection = engine.inspect(connection, context);
 * }</pre>
 *
 * @param migrations the release's migration files, in memory; null if not known
 * @param tablesTouched the tables the pending migrations alter; null if not known (then blocking-sessions
 *     reports only long transactions, on any table), empty if they alter none
 * @param declaredKeys table name to the column that is its key, for tables without a primary key
 * @param longTransaction a transaction open longer than this counts as long
 */
public record InspectionContext(MigrationFiles migrations, Set<String> tablesTouched, Map<String, String> declaredKeys,
    Duration longTransaction) {
  /** Sixty seconds: long past any healthy request, short of a batch job nobody meant to leave open. */
  public static final Duration DEFAULT_LONG_TRANSACTION = Duration.ofSeconds(60);

  private static final InspectionContext EMPTY = new InspectionContext(null, null, Map.of(), DEFAULT_LONG_TRANSACTION);

  public InspectionContext {
    tablesTouched = tablesTouched == null ? null : Set.copyOf(tablesTouched);
    declaredKeys = declaredKeys == null ? Map.of() : Map.copyOf(declaredKeys);
    longTransaction = longTransaction == null ? DEFAULT_LONG_TRANSACTION : longTransaction;
    if (longTransaction.isNegative()) {
      throw new IllegalArgumentException("the long-transaction threshold cannot be negative: " + longTransaction);
    }
  }

  /** Knows nothing beyond the database: no migration files, touched tables unknown, no declared keys, 60 s. */
  public static InspectionContext empty() {
    return EMPTY;
  }

  public InspectionContext withMigrationFiles(MigrationFiles files) {
    return new InspectionContext(files, tablesTouched, declaredKeys, longTransaction);
  }

  /**
   * @param origin where the files come from, for messages ({@code the uploaded set})
   * @param files file name to content, as a {@code MigrationSet}'s {@code files()}
   */
  public InspectionContext withMigrationFiles(String origin, SortedMap<String, String> files) {
    return withMigrationFiles(new MigrationFiles(origin, files));
  }

  public InspectionContext withTablesTouched(Set<String> tables) {
    return new InspectionContext(migrations, tables, declaredKeys, longTransaction);
  }

  public InspectionContext withDeclaredKeys(Map<String, String> keys) {
    return new InspectionContext(migrations, tablesTouched, keys, longTransaction);
  }

  public InspectionContext withLongTransaction(Duration threshold) {
    return new InspectionContext(migrations, tablesTouched, declaredKeys, threshold);
  }
}
