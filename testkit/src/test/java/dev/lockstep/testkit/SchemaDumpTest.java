package dev.lockstep.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** {@link SchemaDump} against a real PostgreSQL: equal schemas give equal text, and exclusions leave objects out. */
class SchemaDumpTest {
  private static final String SCHEMA = """
      CREATE TYPE mood AS ENUM ('happy', 'sad');
      CREATE TABLE person (id serial PRIMARY KEY, name text NOT NULL, mood mood);
      CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
      CREATE TRIGGER person_touch BEFORE UPDATE ON person FOR EACH ROW EXECUTE FUNCTION touch();
      """;

  private static final String LOCKSTEP_OBJECTS = """
      CREATE SCHEMA lockstep;
      CREATE FUNCTION lockstep.alembic_fence_check() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
      CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
      CREATE TRIGGER lockstep_fence_check BEFORE INSERT OR UPDATE ON alembic_version
        FOR EACH ROW EXECUTE FUNCTION lockstep.alembic_fence_check();
      """;

  @Test
  void equalSchemasGiveEqualTextWhateverTheRowsAndTheDatabaseName() {
    try (TestDatabase one = TestPostgres.instance().createDatabase("SchemaDumpOne");
        TestDatabase two = TestPostgres.instance().createDatabase("SchemaDumpTwo")) {
      one.execute(SCHEMA + "INSERT INTO person (name) VALUES ('ada'), ('bob');");
      two.execute(SCHEMA);

      String dump = SchemaDump.of(one);
      assertThat(dump).isEqualTo(SchemaDump.of(two)).isEqualTo(SchemaDump.of(two.postgresUrl()))
          .contains("CREATE TABLE public.person (", "CREATE TYPE public.mood AS ENUM (", "CREATE TRIGGER person_touch")
          .doesNotContain(one.name(), two.name());
      assertThat(dump.lines()).noneMatch(l -> l.isBlank() || l.startsWith("--") || l.startsWith("SET ")
          || l.startsWith("SELECT pg_catalog.set_config("));

      two.execute("ALTER TABLE person ADD COLUMN email text");
      assertThat(SchemaDump.of(two)).isNotEqualTo(dump).contains("email text");
    }
  }

  @Test
  void lockstepExclusionsLeaveOutItsSchemaAndItsTriggersOnly() {
    try (TestDatabase plain = TestPostgres.instance().createDatabase("SchemaDumpPlain");
        TestDatabase fenced = TestPostgres.instance().createDatabase("SchemaDumpFenced")) {
      plain.execute(SCHEMA + "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);");
      fenced.execute(SCHEMA + LOCKSTEP_OBJECTS);

      assertThat(SchemaDump.of(fenced)).contains("CREATE SCHEMA lockstep;", "CREATE TRIGGER lockstep_fence_check");
      String withoutLockstep = SchemaDump.of(fenced, SchemaDump.Exclusions.LOCKSTEP);
      assertThat(withoutLockstep).isEqualTo(SchemaDump.of(plain))
          .doesNotContain("lockstep").contains("CREATE TRIGGER person_touch");
      assertThat(SchemaDump.of(fenced, SchemaDump.Exclusions.LOCKSTEP.table("public.alembic_version")))
          .doesNotContain("alembic_version");
    }
  }

  @Test
  void normalizingDropsTheRestrictKeysAndAnExcludedTriggerOverSeveralLines() {
    String dump = """
        --
        -- PostgreSQL database dump
        --
        \\restrict 4hV0cRz8VvEXAMPLEkey

        SET statement_timeout = 0;
        SELECT pg_catalog.set_config('search_path', '', false);
        CREATE TABLE public.t (
            id integer
        );
        CREATE TRIGGER lockstep_fence_check BEFORE INSERT ON public.t
            FOR EACH ROW EXECUTE FUNCTION lockstep.alembic_fence_check();
        CREATE TRIGGER t_audit AFTER INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.audit();
        \\unrestrict 4hV0cRz8VvEXAMPLEkey
        """;
    assertThat(SchemaDump.normalize(dump, SchemaDump.Exclusions.LOCKSTEP)).isEqualTo("""
        CREATE TABLE public.t (
            id integer
        );
        CREATE TRIGGER t_audit AFTER INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.audit();""");
  }

  @Test
  void aFailedDumpNamesTheDatabaseAndPgDumpsError() {
    String missing = "postgresql://" + TestPostgres.instance().user() + "@" + TestPostgres.instance().host() + ":"
        + TestPostgres.instance().port() + "/no_such_database_for_schema_dump";
    assertThatThrownBy(() -> SchemaDump.of(missing))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no_such_database_for_schema_dump")
        .hasMessageContaining("exited 1");
  }
}
