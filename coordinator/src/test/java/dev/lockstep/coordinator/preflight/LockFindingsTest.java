package dev.lockstep.coordinator.preflight;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.LockFootprint;
import dev.lockstep.protocol.Severity;
import java.util.List;
import org.junit.jupiter.api.Test;

class LockFindingsTest {
  private static LockFootprint lock(String mode, List<String> blocks, Long rows, Long held, boolean cut) {
    return new LockFootprint("V2 (x)", "public.orders", mode, blocks, rows, rows == null ? null : rows * 100, held, held,
        cut, null);
  }

  @Test
  void aLongOrCutShortLockThatBlocksTheApplicationWarns() {
    assertThat(LockFindings.of(List.of(lock("SHARE", List.of("writes"), 3_000_000L, 900L, false))))
        .singleElement().satisfies(f -> {
          assertThat(f.rule()).isEqualTo("lock-footprint");
          assertThat(f.severity()).isEqualTo(Severity.WARN);
          assertThat(f.object()).isEqualTo("public.orders");
          assertThat(f.message()).startsWith("V2 (x): SHARE lock on public.orders");
        });
    assertThat(LockFindings.of(List.of(lock("SHARE", List.of("writes"), 3_000_000L, 60L, true)))).hasSize(1);
  }

  @Test
  void aBriefLockOrOneThatBlocksNothingOfTheApplicationsIsOnlyListed() {
    assertThat(LockFindings.of(List.of(lock("ACCESS EXCLUSIVE", List.of("writes", "reads"), 50L, 3L, false)))).isEmpty();
    assertThat(LockFindings.of(List.of(lock("SHARE UPDATE EXCLUSIVE", List.of(), 3_000_000L, 5_000L, false)))).isEmpty();
  }

  @Test
  void anUntimedLockWarnsWhenTheTableIsBig() {
    assertThat(LockFindings.of(List.of(lock("SHARE", List.of("writes"), 3_000_000L, null, false)))).hasSize(1);
    assertThat(LockFindings.of(List.of(lock("SHARE", List.of("writes"), 1_000L, null, false)))).isEmpty();
  }
}
