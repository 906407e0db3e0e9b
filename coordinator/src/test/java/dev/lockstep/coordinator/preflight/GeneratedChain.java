package dev.lockstep.coordinator.preflight;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * (A copy of bench/cost's generator, so the suite measures the chain the bench releases.) A generated Flyway chain shaped like an application's history: every fifth migration creates a table, and the
 * four after it index it, give it a foreign key to the table before, load 500 rows, and add a column with a
 * default. Nothing drops or rewrites, so a Lockstep release of it is {@code online}.
 */
final class GeneratedChain {
  private GeneratedChain() {}

  static void write(Path folder, int n) {
    try {
      for (int i = 1; i <= n; i++) {
        int table = (i - 1) / 5 + 1;
        String t = "item_" + table;
        String sql = switch ((i - 1) % 5) {
          case 0 -> "CREATE TABLE " + t + " (\n  id bigserial PRIMARY KEY,\n  name text NOT NULL,\n  parent_id bigint,\n"
              + "  amount numeric(12,2) NOT NULL DEFAULT 0,\n  created_at timestamptz NOT NULL DEFAULT now()\n);\n";
          case 1 -> "CREATE INDEX " + t + "_name_idx ON " + t + " (name);\nCREATE INDEX " + t + "_created_idx ON " + t
              + " (created_at);\n";
          case 2 -> table == 1
              ? "ALTER TABLE " + t + " ADD CONSTRAINT " + t + "_parent_fk FOREIGN KEY (parent_id) REFERENCES " + t + " (id);\n"
              : "ALTER TABLE " + t + " ADD CONSTRAINT " + t + "_parent_fk FOREIGN KEY (parent_id) REFERENCES item_"
                  + (table - 1) + " (id);\nCREATE INDEX " + t + "_parent_idx ON " + t + " (parent_id);\n";
          case 3 -> "INSERT INTO " + t + " (name, parent_id, amount)\nSELECT 'row ' || g, " + (table == 1 ? "NULL" : "g % 100 + 1")
              + ", g * 1.5 FROM generate_series(1, 500) g;\n";
          default -> "ALTER TABLE " + t + " ADD COLUMN status text DEFAULT 'new';\nCOMMENT ON COLUMN " + t
              + ".status IS 'added by migration " + i + "';\n";
        };
        Files.writeString(folder.resolve("V" + i + "__" + describe((i - 1) % 5, t) + ".sql"), sql);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String describe(int kind, String table) {
    return switch (kind) {
      case 0 -> "create_" + table;
      case 1 -> "index_" + table;
      case 2 -> "fk_" + table;
      case 3 -> "load_" + table;
      default -> "status_" + table;
    };
  }
}
