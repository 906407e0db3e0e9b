package dev.lockstep.bench.cost;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The status quo's migration set, in Flyway's and in Alembic's form: a table the old code uses ({@code app_user.name},
 * applied before the run, 200,000 rows, so the expand's backfill takes a
 * moment as real ones do), then the release: add {@code display_name}, copy, and a trigger that keeps
 * both in step (expand), then drop {@code name} (the destructive change, marked as a contract migration: Flyway's
 * {@code contract/} folder, Alembic's {@code lockstep_phase = "contract"}; plain tools run both as one chain).
 */
final class StatusQuoChain {
  private StatusQuoChain() {}

  static final String BASE = "CREATE TABLE app_user (id bigserial PRIMARY KEY, name text NOT NULL);\n"
      + "INSERT INTO app_user (name) SELECT 'user ' || g FROM generate_series(1, 200000) g;\n";
  static final String EXPAND = "ALTER TABLE app_user ADD COLUMN display_name text;\n"
      + "UPDATE app_user SET display_name = name;\n"
      + "CREATE FUNCTION app_user_sync() RETURNS trigger LANGUAGE plpgsql AS $$\n"
      + "BEGIN\n  IF NEW.display_name IS NULL THEN NEW.display_name := NEW.name; END IF;\n"
      + "  IF NEW.name IS NULL THEN NEW.name := NEW.display_name; END IF;\n  RETURN NEW;\nEND $$;\n"
      + "CREATE TRIGGER app_user_sync BEFORE INSERT OR UPDATE ON app_user FOR EACH ROW EXECUTE FUNCTION app_user_sync();\n";
  static final String CONTRACT = "DROP TRIGGER app_user_sync ON app_user;\nDROP FUNCTION app_user_sync();\n"
      + "ALTER TABLE app_user DROP COLUMN name;\n";

  /** The old code's request and the new code's (a read and a write each). */
  static final String[] OLD_CODE = {"SELECT id, name FROM app_user ORDER BY id DESC LIMIT 5",
      "INSERT INTO app_user (name) VALUES ('old code')"};
  static final String[] NEW_CODE = {"SELECT id, display_name FROM app_user ORDER BY id DESC LIMIT 5",
      "INSERT INTO app_user (display_name) VALUES ('new code')"};

  static Chain write(Chain.Tool tool, Path corpora, Path work) {
    try {
      if (tool == Chain.Tool.FLYWAY) {
        Path dir = Chain.fresh(work.resolve("statusquo-flyway"));
        Files.writeString(dir.resolve("V1__app_user.sql"), BASE);
        Files.writeString(dir.resolve("V2__add_display_name.sql"), EXPAND);
        Files.createDirectories(dir.resolve("contract"));
        Files.writeString(dir.resolve("contract/V3__drop_name.sql"), CONTRACT);
        return new Chain("statusquo-flyway", tool, dir, 3, "V1 app_user(name); V2 expand; contract/V3 drop name");
      }
      Path dir = Chain.fresh(work.resolve("statusquo-alembic"));
      Path generic = corpora.resolve("alembic/powerdns-admin");
      Files.copy(generic.resolve("alembic.ini"), dir.resolve("alembic.ini"));
      Path versions = Files.createDirectories(dir.resolve("migrations/versions"));
      Files.copy(generic.resolve("migrations/env.py"), dir.resolve("migrations/env.py"));
      Files.copy(generic.resolve("migrations/script.py.mako"), dir.resolve("migrations/script.py.mako"));
      Files.writeString(versions.resolve("a1_app_user.py"), revision("a1a1a1a1a1a1", null, "app user", BASE, false));
      Files.writeString(versions.resolve("b2_add_display_name.py"), revision("b2b2b2b2b2b2", "a1a1a1a1a1a1", "add display_name",
          EXPAND, false));
      Files.writeString(versions.resolve("c3_drop_name.py"), revision("c3c3c3c3c3c3", "b2b2b2b2b2b2", "drop name", CONTRACT, true));
      return new Chain("statusquo-alembic", tool, dir, 3, "a1 app_user(name); b2 expand; c3 drop name (contract)");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String revision(String id, String down, String message, String sql, boolean contract) {
    return "\"\"\"" + message + "\"\"\"\nfrom alembic import op\n\n"
        + (contract ? "lockstep_phase = \"contract\"\n" : "")
        + "revision = '" + id + "'\ndown_revision = " + (down == null ? "None" : "'" + down + "'")
        + "\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    op.execute(\"\"\"" + sql + "\"\"\")\n\n\n"
        + "def downgrade():\n    raise NotImplementedError()\n";
  }
}
