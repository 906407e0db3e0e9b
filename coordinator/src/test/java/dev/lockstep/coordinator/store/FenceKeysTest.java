package dev.lockstep.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FenceKeysTest {

  @Test
  void namesThatShareAStringHashCodeGetDifferentKeys() {
    assertThat("Aa".hashCode()).isEqualTo("BB".hashCode());
    assertThat(FenceKeys.of("Aa").run()).isNotEqualTo(FenceKeys.of("BB").run());
    assertThat(FenceKeys.of("Aa").write()).isNotEqualTo(FenceKeys.of("BB").write());
  }

  @Test
  void theKeyIsTheDocumentedDerivation() throws Exception {
    byte[] hash = MessageDigest.getInstance("SHA-256").digest("lockstep:run:shop".getBytes(StandardCharsets.UTF_8));
    assertThat(FenceKeys.of("shop").run()).isEqualTo(ByteBuffer.wrap(hash).getLong());
  }

  @Test
  void runAndWriteKeysOfManyServicesAreAllDistinct() {
    Set<Long> keys = new HashSet<>();
    for (int i = 0; i < 20_000; i++) {
      FenceKeys k = FenceKeys.of("service-" + i);
      keys.add(k.run());
      keys.add(k.write());
    }
    assertThat(keys).hasSize(40_000);
  }

  @Test
  void pgLocksHalvesRecombineToTheKey() {
    long key = FenceKeys.of("shop").run();
    assertThat((FenceKeys.classId(key) << 32) | FenceKeys.objectId(key)).isEqualTo(key);
    assertThat(FenceKeys.classId(key)).isBetween(0L, 0xFFFF_FFFFL);
  }
}
