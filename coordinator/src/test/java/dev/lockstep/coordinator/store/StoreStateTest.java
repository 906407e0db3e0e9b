package dev.lockstep.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.store.StoreState.Status;
import dev.lockstep.testkit.TestClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** A store's state through an outage, and the backoff between attempts. */
class StoreStateTest {
  private final TestClock clock = TestClock.at("2026-01-01T00:00:00Z");

  @Test
  void anOutageKeepsTheTimeItBeganAndItsLatestCause() {
    StoreState pg = StoreState.postgres(DatabaseUrl.parse("postgresql://app:s3cret@db:5432/shop"), clock);
    assertThat(pg.seen().status()).isEqualTo(Status.CONNECTING);
    assertThat(pg.seen().summary()).isEqualTo("connecting");
    Instant began = clock.instant();
    pg.unreachable("Connection refused", "retrying");
    clock.advance(Duration.ofSeconds(5));
    pg.unreachable("Connection timed out", "retrying");
    assertThat(pg.seen()).isEqualTo(new StoreState.Seen(Status.UNREACHABLE, began, "Connection timed out"));
    assertThat(pg.seen().summary()).isEqualTo("down: Connection timed out");
    clock.advance(Duration.ofSeconds(1));
    pg.reachable();
    assertThat(pg.seen()).isEqualTo(new StoreState.Seen(Status.REACHABLE, clock.instant(), null));
    assertThat(pg.seen().summary()).isEqualTo("ok");
    assertThat(pg.url()).isEqualTo("postgresql://app:***@db:5432/shop").doesNotContain("s3cret");
  }

  @Test
  void backoffDoublesFromHalfASecondToTenSeconds() {
    StoreStartup.Backoff b = StoreStartup.Backoff.DEFAULT;
    assertThat(java.util.stream.IntStream.rangeClosed(1, 8).mapToObj(b::after).map(Duration::toMillis))
        .containsExactly(500L, 1_000L, 2_000L, 4_000L, 8_000L, 10_000L, 10_000L, 10_000L);
    assertThat(b.after(10_000)).isEqualTo(Duration.ofSeconds(10));
  }
}
