package dev.lockstep.coordinator.migration;

import dev.lockstep.coordinator.set.SetUpload;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.migration.flyway.FlywaySet;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.protocol.MigrationsDigest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SetUploadTest {
  @Test
  void aFolderItsUploadAndTheSetReadFromItHaveTheAgentsDigest(@TempDir Path folder) throws Exception {
    Files.createDirectories(folder.resolve("sub"));
    Files.write(folder.resolve("V1__a.sql"), "\uFEFFCREATE TABLE \"café\" (id int);\r\n".getBytes(StandardCharsets.UTF_8));
    Files.writeString(folder.resolve("sub/V2__b.sql"), "CREATE INDEX CONCURRENTLY i ON \"café\" (id);\n");
    Files.writeString(folder.resolve("sub/V2__b.sql.conf"), "executeInTransaction=false\n");
    Files.writeString(folder.resolve("U2__b.sql"), "DROP INDEX i;\n");

    Map<String, String> upload = new TreeMap<>();
    MigrationsDigest.files(folder).forEach((name, bytes) -> upload.put(name, Base64.getEncoder().encodeToString(bytes)));
    MigrationSet uploaded = SetUpload.decode(upload, SetUpload.Limits.DEFAULT);

    assertThat(uploaded.digest()).isEqualTo(MigrationsDigest.of(folder)).isEqualTo(MigrationSet.read(folder).digest());
    assertThat(MigrationsDigest.of(uploaded.bytes())).isEqualTo(uploaded.digest());
    assertThat(FlywaySet.of(uploaded).versioned()).extracting(PendingMigration::executeInTransaction).containsExactly(true, false);
  }

  @Test
  void limitsAreA413NamingThem() {
    SetUpload.Limits small = new SetUpload.Limits(10, 2);
    assertThatThrownBy(() -> SetUpload.decode(Map.of("V1__a.sql", "", "V2__b.sql", "", "V3__c.sql", ""), small))
        .satisfies(e -> assertThat(((LockstepException) e).code()).isEqualTo(LockstepException.Code.TOO_LARGE))
        .hasMessageContaining("3 files").hasMessageContaining("2 files");
    assertThatThrownBy(() -> SetUpload.decode(Map.of("V1__a.sql", b64("SELECT 12345;")), small))
        .satisfies(e -> assertThat(((LockstepException) e).code()).isEqualTo(LockstepException.Code.TOO_LARGE))
        .hasMessageContaining("10 bytes");
  }

  @Test
  void aBadSetIsRefusedNamingTheFile() {
    assertCode(Map.of("README.sql", b64("--")), LockstepException.Code.UNPROCESSABLE, "README.sql");
    assertCode(Map.of("V1__a.sql", b64("SELECT 1;"), "V1.0__b.sql", b64("SELECT 1;")), LockstepException.Code.UNPROCESSABLE,
        "V1.0__b.sql");
    assertCode(Map.of("U1__a.sql", b64("SELECT 1;")), LockstepException.Code.UNPROCESSABLE, "U1__a.sql");
    assertCode(Map.of("V1__a.sql.conf", b64("executeInTransaction=false")), LockstepException.Code.UNPROCESSABLE,
        "V1__a.sql.conf");
    assertCode(Map.of("V1__a.sql", Base64.getEncoder().encodeToString(new byte[] {(byte) 0xff, 'x'})),
        LockstepException.Code.UNPROCESSABLE, "V1__a.sql");
    assertCode(Map.of("V1__a.sql", "%%%"), LockstepException.Code.BAD_REQUEST, "V1__a.sql");
    assertCode(Map.of("sub/V1__a.sql", b64("SELECT 1;")), LockstepException.Code.UNPROCESSABLE, "sub/V1__a.sql");
  }

  private static void assertCode(Map<String, String> upload, LockstepException.Code code, String named) {
    // What a Flyway coordinator takes of an upload: the set, then Flyway's view of it (FlywayEngine.accept).
    assertThatThrownBy(() -> FlywaySet.of(SetUpload.decode(upload, SetUpload.Limits.DEFAULT)))
        .isInstanceOf(LockstepException.class)
        .satisfies(e -> assertThat(((LockstepException) e).code()).isEqualTo(code))
        .hasMessageContaining(named);
  }

  private static String b64(String text) {
    return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }
}
