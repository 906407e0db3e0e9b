package dev.lockstep.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MigrationsDigestTest {
  @Test
  void aFolderAndTheSetReadFromItHaveOneDigest(@TempDir Path folder) throws Exception {
    Files.createDirectories(folder.resolve("2026"));
    Files.writeString(folder.resolve("V1__a.sql"), "CREATE TABLE a (id int);\r\n");
    Files.write(folder.resolve("2026/V2__b.sql"), "\uFEFFCREATE TABLE \"é\" (id int);".getBytes(StandardCharsets.UTF_8));
    Files.writeString(folder.resolve("2026/V2__b.sql.conf"), "executeInTransaction=false\n");
    Files.writeString(folder.resolve("README.md"), "not digested");

    SortedMap<String, byte[]> files = MigrationsDigest.files(folder);
    assertThat(files).containsOnlyKeys("V1__a.sql", "V2__b.sql", "V2__b.sql.conf");
    assertThat(MigrationsDigest.of(files)).isEqualTo(MigrationsDigest.of(folder)).hasSize(64);
  }

  @Test
  void aContractFolderKeepsItsNameEveryOtherSubfolderIsFlattened(@TempDir Path folder) throws Exception {
    Files.createDirectories(folder.resolve("2026/contract"));
    Files.createDirectories(folder.resolve("contract"));
    Files.writeString(folder.resolve("V1__a.sql"), "CREATE TABLE a (id int, b text);");
    Files.writeString(folder.resolve("contract/V3__drop_b.sql"), "ALTER TABLE a DROP COLUMN b;");
    Files.writeString(folder.resolve("2026/contract/V4__drop_a.sql"), "DROP TABLE a;");
    Files.writeString(folder.resolve("2026/V2__c.sql"), "CREATE TABLE c (id int);");

    SortedMap<String, byte[]> files = MigrationsDigest.files(folder);
    assertThat(files).containsOnlyKeys("V1__a.sql", "V2__c.sql", "contract/V3__drop_b.sql", "contract/V4__drop_a.sql");
    assertThat(MigrationsDigest.of(files)).isEqualTo(MigrationsDigest.of(folder));
    // Moving a migration into contract/ changes what it is, so it changes the digest.
    Files.move(folder.resolve("contract/V3__drop_b.sql"), folder.resolve("V3__drop_b.sql"));
    assertThat(MigrationsDigest.of(folder)).isNotEqualTo(MigrationsDigest.of(files));
  }

  @Test
  void everyNameAndByteCounts() {
    SortedMap<String, byte[]> one = new TreeMap<>();
    one.put("V1__a.sql", "x".getBytes(StandardCharsets.UTF_8));
    SortedMap<String, byte[]> renamed = new TreeMap<>();
    renamed.put("V1__b.sql", "x".getBytes(StandardCharsets.UTF_8));
    SortedMap<String, byte[]> changed = new TreeMap<>();
    changed.put("V1__a.sql", "x ".getBytes(StandardCharsets.UTF_8));
    assertThat(MigrationsDigest.of(one)).isNotEqualTo(MigrationsDigest.of(renamed)).isNotEqualTo(MigrationsDigest.of(changed));
  }

  @Test
  void oneNameInTwoSubfoldersCannotBeASet(@TempDir Path folder) throws Exception {
    Files.createDirectories(folder.resolve("a"));
    Files.createDirectories(folder.resolve("b"));
    Files.writeString(folder.resolve("a/V1__x.sql"), "SELECT 1;");
    Files.writeString(folder.resolve("b/V1__x.sql"), "SELECT 2;");
    assertThatThrownBy(() -> MigrationsDigest.files(folder)).hasMessageContaining("V1__x.sql is in").hasMessageContaining("twice");
  }
}
