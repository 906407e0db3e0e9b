package dev.lockstep.protocol;

import java.util.List;
import java.util.Locale;

/**
 * A table lock a migration takes, as the pre-flight rehearsal measured it: what the application will feel while the
 * release migrates. Only locks on tables that existed before the release are listed (a table the release creates is
 * invisible to other sessions until it commits), and only modes from {@code SHARE UPDATE EXCLUSIVE} up (weaker ones
 * conflict with no query the application runs).
 *
 * <pre>{@code V7 (index orders): SHARE lock on public.orders (3.0 M rows, 412 MB) held 0.91 s in rehearsal — blocks
 * writes; hint: CREATE INDEX CONCURRENTLY …}</pre>
 *
 * @param migration the migration that takes it first, as messages name it ({@code V7 (index orders)})
 * @param table the table, {@code schema.name}
 * @param mode PostgreSQL's name of the lock mode, upper case: {@code SHARE}, {@code ACCESS EXCLUSIVE}, …
 * @param blocks what of the application's it blocks: {@code writes} (SHARE and stronger), {@code reads} (ACCESS
 *     EXCLUSIVE); empty for {@code SHARE UPDATE EXCLUSIVE}, which blocks only other schema changes and VACUUM
 * @param rows the planner's estimate of the table's rows ({@code pg_class.reltuples}); null if never analysed
 * @param bytes the table's size with its indexes and TOAST ({@code pg_total_relation_size}); null if unknown
 * @param heldMs how long the rehearsal held the lock on the live database: from the start of the migration that took
 *     it to the end of the rehearsed migrations, as the release's one transaction will hold it (at least); null when
 *     the migration was rehearsed only on a schema-only clone, where nothing is timed
 * @param migrationMs how long that migration itself ran in the rehearsal; null likewise
 * @param cutShort true when the rehearsal stopped early and stepped aside because a session of the application waited
 *     for this lock: {@code heldMs} is then a lower bound, and the release will hold it longer
 * @param hint how to take a weaker or shorter lock for the statement that takes this one; null when none is known
 */
public record LockFootprint(String migration, String table, String mode, List<String> blocks, Long rows, Long bytes,
                            Long heldMs, Long migrationMs, boolean cutShort, String hint) {
  public static final String WRITES = "writes";
  public static final String READS = "reads";

  public LockFootprint {
    blocks = blocks == null ? List.of() : List.copyOf(blocks);
  }

  /** Whether the application's writes (and perhaps reads) wait while the lock is held. */
  public boolean blocksApplication() {
    return blocks.contains(WRITES) || blocks.contains(READS);
  }

  /** The same, with the table's size. */
  public LockFootprint sized(Long rows, Long bytes) {
    return new LockFootprint(migration, table, mode, blocks, rows, bytes, heldMs, migrationMs, cutShort, hint);
  }

  /** One line for {@code lockstep check} and findings. */
  public String describe() {
    StringBuilder text = new StringBuilder(migration).append(": ").append(mode).append(" lock on ").append(table)
        .append(" (").append(size()).append(") ");
    if (heldMs == null) {
      text.append("not timed (rehearsed on a schema-only clone, after the rehearsal stepped aside for the application)");
    } else if (cutShort) {
      text.append("held ").append(seconds(heldMs)).append(" in rehearsal before it stepped aside for a waiting session"
          + " (the release holds it longer)");
    } else {
      text.append("held ").append(seconds(heldMs)).append(" in rehearsal");
    }
    text.append(" — ").append(blocks.contains(READS) ? "blocks reads and writes"
        : blocks.contains(WRITES) ? "blocks writes" : "blocks only schema changes and VACUUM");
    if (hint != null) {
      text.append("; hint: ").append(hint);
    }
    return text.toString();
  }

  /** {@code 3.0 M rows, 412 MB}; {@code rows unknown} for a table never analysed. */
  public String size() {
    String r = rows == null ? "rows unknown" : count(rows) + " rows";
    return bytes == null ? r : r + ", " + bytes(bytes);
  }

  static String count(long n) {
    if (n >= 1_000_000_000L) {
      return String.format(Locale.ROOT, "%.1f G", n / 1e9);
    }
    if (n >= 1_000_000L) {
      return String.format(Locale.ROOT, "%.1f M", n / 1e6);
    }
    if (n >= 10_000L) {
      return String.format(Locale.ROOT, "%.0f k", n / 1e3);
    }
    return Long.toString(n);
  }

  static String bytes(long n) {
    if (n >= 1L << 30) {
      return String.format(Locale.ROOT, "%.1f GB", n / (double) (1L << 30));
    }
    if (n >= 1L << 20) {
      return String.format(Locale.ROOT, "%d MB", Math.round(n / (double) (1L << 20)));
    }
    if (n >= 1L << 10) {
      return String.format(Locale.ROOT, "%d kB", Math.round(n / (double) (1L << 10)));
    }
    return n + " bytes";
  }

  static String seconds(long ms) {
    return ms < 10_000 ? String.format(Locale.ROOT, "%.2f s", ms / 1000.0) : String.format(Locale.ROOT, "%.0f s", ms / 1000.0);
  }
}
