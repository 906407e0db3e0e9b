package dev.lockstep.coordinator.migration.alembic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.set.MigrationSet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Revision modules read by Python's parser: code counts, comments and strings do not. */
class RevisionModulesTest {
  private static final List<String> PYTHON = List.of("python3");

  @Test
  void aCallCountsAMentionDoesNot() {
    Map<String, String> files = new LinkedHashMap<>();
    files.put("0001_index.py", """
        revision = "0001"
        down_revision = None

        def upgrade():
            with op.get_context().autocommit_block():
                op.execute("CREATE INDEX CONCURRENTLY ix ON t (c)")
        """);
    files.put("0002_comment.py", """
        revision = "0002"
        down_revision = "0001"
        # autocommit_block() is not needed here: one transaction is fine
        NOTE = "see autocommit_block( in the docs"

        def upgrade():
            op.add_column("t", sa.Column("d", sa.Integer()))
        \"\"\"
        with op.get_context().autocommit_block():
        \"\"\"
        """);
    files.put("0003_bare.py", """
        from alembic.runtime.migration import autocommit_block
        revision = "0003"
        down_revision = ("0001", "0002")

        def upgrade():
            with autocommit_block  (ctx):
                pass
        """);
    RevisionModules modules = read(files);
    assertThat(modules.of("0001_index.py").autocommit()).isTrue();
    assertThat(modules.of("0002_comment.py").autocommit()).as("a comment, a string and a docstring").isFalse();
    assertThat(modules.of("0003_bare.py").autocommit()).isTrue();
    assertThat(modules.of("not_in_the_set.py")).isEqualTo(RevisionModules.Module.PLAIN);
    assertThat(modules.of(null)).isEqualTo(RevisionModules.Module.PLAIN);
  }

  @Test
  void thePhaseIsATopLevelStringLiteral() {
    Map<String, String> files = new LinkedHashMap<>();
    files.put("a.py", "revision = 'a'\nlockstep_phase = \"contract\"\n");
    files.put("b.py", "revision = 'b'\nlockstep_phase: str = 'contract'\n");
    files.put("c.py", "revision = 'c'\ndef upgrade():\n    lockstep_phase = 'contract'\n");
    files.put("d.py", "revision = 'd'\nPHASE = 'contract'\nlockstep_phase = PHASE\n");
    files.put("e.py", "revision = 'e'\n# lockstep_phase = 'contract'\n");
    RevisionModules modules = read(files);
    assertThat(modules.of("a.py").phase()).isEqualTo("contract");
    assertThat(modules.of("b.py").phase()).as("annotated").isEqualTo("contract");
    assertThat(modules.of("c.py").phase()).as("inside a function: not top level").isNull();
    assertThat(modules.of("d.py").phase()).isNull();
    assertThat(modules.of("d.py").phaseError()).isEqualTo("line 3: lockstep_phase must be a string literal");
    assertThat(modules.of("e.py").phase()).as("a comment").isNull();
    assertThat(modules.of("e.py").phaseError()).isNull();
  }

  @Test
  void aModuleThatDoesNotParseIsNamedWithItsLine() {
    RevisionModules modules = read(Map.of("broken.py", "revision = 'x'\ndef upgrade(:\n    pass\n",
        "fine.py", "revision = 'y'\n"));
    assertThat(modules.of("broken.py").syntaxError()).startsWith("line 2: ");
    assertThat(modules.of("fine.py").syntaxError()).isNull();
  }

  @Test
  void aManyFileSetPassesThroughThePipes() {
    Map<String, String> files = new LinkedHashMap<>();
    String filler = "# " + "x".repeat(2000) + "\n";
    for (int i = 0; i < 400; i++) { // ~800 kB: more than a pipe holds, both ways
      files.put(String.format("%04d_r.py", i), "revision = '%d'\n%s".formatted(i, filler.repeat(1))
          + (i % 100 == 7 ? "def upgrade():\n    op.get_context().autocommit_block()\n" : ""));
    }
    RevisionModules modules = read(files);
    assertThat(modules.of("0007_r.py").autocommit()).isTrue();
    assertThat(modules.of("0107_r.py").autocommit()).isTrue();
    assertThat(modules.of("0008_r.py").autocommit()).isFalse();
  }

  @Test
  void aMissingInterpreterSaysHowToNameIt() {
    assertThatThrownBy(() -> RevisionModules.read(List.of("/nonexistent/python9"), set(Map.of("a.py", "x = 1\n")),
        Duration.ofSeconds(30)))
        .isInstanceOf(LockstepException.class)
        .hasMessageContaining("cannot run /nonexistent/python9").hasMessageContaining("--alembic-command");
  }

  @Test
  void alembicsInterpreterIsTheOneItsCommandNames(@TempDir Path dir) throws Exception {
    assertThat(new AlembicCommand(List.of("/opt/venv/bin/python", "-m", "alembic"), Map.of(), Duration.ofMinutes(1))
        .python()).containsExactly("/opt/venv/bin/python");
    // pip's and Debian's entry points start with the interpreter's #! line
    Path entryPoint = Files.writeString(dir.resolve("alembic"), "#!/opt/venv/bin/python3.12 -X utf8\nimport re\n");
    assertThat(new AlembicCommand(List.of(entryPoint.toString()), Map.of(), Duration.ofMinutes(1)).python())
        .containsExactly("/opt/venv/bin/python3.12", "-X", "utf8");
    assertThat(new AlembicCommand(List.of("no-such-alembic"), Map.of(), Duration.ofMinutes(1)).python())
        .containsExactly("python3");
  }

  private static RevisionModules read(Map<String, String> files) {
    return RevisionModules.read(PYTHON, set(files), Duration.ofSeconds(30));
  }

  private static MigrationSet set(Map<String, String> files) {
    java.util.SortedMap<String, byte[]> bytes = new java.util.TreeMap<>();
    files.forEach((name, text) -> bytes.put(name, text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    return MigrationSet.of("test", bytes);
  }
}
