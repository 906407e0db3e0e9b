package dev.lockstep.coordinator.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OperatorTokensTest {
  private static final String ALICE = "alice-token-1234567890";
  private static final String CI = "ci-token-0987654321";

  @TempDir
  Path dir;

  private Path file(String... lines) throws IOException {
    return Files.write(dir.resolve("tokens"), List.of(lines));
  }

  private static String sha256(String token) {
    return HexFormat.of().formatHex(OperatorTokens.sha256(token));
  }

  @Test
  void namedTokensPlainAndHashedWithCommentsAndBlankLines() throws IOException {
    OperatorTokens tokens = OperatorTokens.load(null, file("# operators of shop", "", "alice:" + ALICE,
        "  ci-deploy : sha256:" + sha256(CI).toUpperCase() + "  ", "   # indented comment", "\t"));
    assertThat(tokens.names()).containsExactly("alice", "ci-deploy");
    assertThat(tokens.nameOf(ALICE)).contains("alice");
    assertThat(tokens.nameOf(CI)).contains("ci-deploy");
    assertThat(tokens.nameOf("sha256:" + sha256(CI))).as("the hash is not the token").isEmpty();
    assertThat(tokens.nameOf(ALICE + "x")).isEmpty();
    assertThat(tokens.nameOf("")).isEmpty();
  }

  @Test
  void theSingleTokenIsNamedOperatorAndMayStandBesideAFile() throws IOException {
    assertThat(OperatorTokens.load("op-token", null).nameOf("op-token")).contains("operator");
    OperatorTokens both = OperatorTokens.load("op-token", file("alice:" + ALICE));
    assertThat(both.names()).containsExactly("operator", "alice");
    assertThat(both.nameOf("op-token")).contains("operator");
  }

  @Test
  void atLeastOneTokenIsRequired() throws IOException {
    assertThatThrownBy(() -> OperatorTokens.load(null, null)).hasMessageContaining("--token")
        .hasMessageContaining("--token-file");
    assertThatThrownBy(() -> OperatorTokens.load("  ", null)).hasMessageContaining("missing operator token");
    Path empty = file("# nobody yet", "");
    assertThatThrownBy(() -> OperatorTokens.load(null, empty)).hasMessageContaining(empty.toString())
        .hasMessageContaining("holds no tokens");
    assertThatThrownBy(() -> OperatorTokens.load(null, dir.resolve("missing"))).hasMessageContaining("does not exist")
        .hasMessageContaining(dir.resolve("missing").toString());
    assertThatThrownBy(() -> OperatorTokens.load(null, dir)).hasMessageContaining("cannot be read");
  }

  /** Every malformed line: refused naming the file and the line, never showing a token. */
  @Test
  void everyMalformedLineIsRefusedNamingFileAndLineButNeverTheToken() throws IOException {
    String secret = "s3cret-value-xyz";
    Object[][] cases = {
        {"alice" + secret, "no ':'"},
        {":" + secret, "name before ':' is empty"},
        {"al ice:" + secret, "name may only be"},
        {"al/ice:" + secret, "name may only be"},
        {"x".repeat(65) + ":" + secret, "name may only be"},
        {"alice:", "token of 'alice' is empty"},
        {"alice:   ", "token of 'alice' is empty"},
        {"alice:" + secret + " " + secret, "contains white space"},
        {"alice:sha256:" + secret, "64 hex digits"},
        {"alice:sha256:" + sha256(secret).substring(1), "64 hex digits"},
        {"alice:sha256:" + sha256(secret) + "0", "64 hex digits"},
        {"alice:sha256:" + "g".repeat(64), "64 hex digits"},
        {"alice:sha256:", "64 hex digits"},
    };
    for (Object[] c : cases) {
      Path f = file("# comment", "bob:" + CI, (String) c[0]);
      assertThatThrownBy(() -> OperatorTokens.load(null, f)).as((String) c[0])
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("token file " + f + " line 3: ")
          .hasMessageContaining((String) c[1])
          .hasMessageNotContaining(secret).hasMessageNotContaining(CI)
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }
  }

  @Test
  void duplicateNamesOrTokensAreRefusedNamingBothPlaces() throws IOException {
    Path names = file("alice:" + ALICE, "", "alice:" + CI);
    assertThatThrownBy(() -> OperatorTokens.load(null, names))
        .hasMessage("token file " + names + " line 3: the name 'alice' is given already (token file " + names
            + " line 1); each token needs a name of its own");
    Path same = file("alice:" + ALICE, "bob:" + ALICE);
    assertThatThrownBy(() -> OperatorTokens.load(null, same)).hasMessageContaining("line 2")
        .hasMessageContaining("token of 'bob' is the same as that of 'alice'").hasMessageNotContaining(ALICE);
    Path hashedSame = file("alice:" + ALICE, "bob:sha256:" + sha256(ALICE));
    assertThatThrownBy(() -> OperatorTokens.load(null, hashedSame)).hasMessageContaining("line 2")
        .hasMessageContaining("same as that of 'alice'");
    Path operator = file("operator:" + CI);
    assertThatThrownBy(() -> OperatorTokens.load("op-token", operator)).hasMessageContaining("line 1")
        .hasMessageContaining("name 'operator' is given already (--token)");
    Path sameAsSingle = file("alice:op-token");
    assertThatThrownBy(() -> OperatorTokens.load("op-token", sameAsSingle))
        .hasMessageContaining("same as that of 'operator' (--token)").hasMessageNotContaining("op-token'");
  }

  /**
   * Tokens are kept only as SHA-256 digests, so every comparison is of two 32-byte values with
   * {@code MessageDigest.isEqual} (constant-time): no plaintext, no length, nothing to compare early.
   */
  @Test
  void onlyDigestsAreKeptSoEveryComparisonIsOfEqualLength() throws Exception {
    OperatorTokens tokens = OperatorTokens.load("op-token", file("alice:" + ALICE));
    Field entries = OperatorTokens.class.getDeclaredField("entries");
    entries.setAccessible(true);
    for (Object entry : (List<?>) entries.get(tokens)) {
      for (RecordComponent c : entry.getClass().getRecordComponents()) {
        Object value = c.getAccessor().invoke(entry);
        if (value instanceof byte[] digest) {
          assertThat(digest).hasSize(32);
        } else {
          assertThat(String.valueOf(value)).doesNotContain("op-token").doesNotContain(ALICE);
        }
      }
    }
    String source = Files.readString(sourceOf(OperatorTokens.class));
    assertThat(source).contains("MessageDigest.isEqual(digest, e.digest())");
    assertThat(Files.readString(sourceOf(AgentTokens.class))).contains("MessageDigest.isEqual(presented, mac(service, id))");
    assertThat(Files.readString(sourceOf(AgentCredentials.class))).contains("MessageDigest.isEqual(sharedDigest,");
  }

  private static Path sourceOf(Class<?> type) {
    return Path.of("src/main/java", type.getName().replace('.', '/') + ".java");
  }
}
