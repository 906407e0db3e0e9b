package dev.lockstep.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.store.StoreState.Status;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** A store's state through an outage, and the backoff between attempts. */
class StoreStateTest {
  private final MutableClock clock = new MutableClock();

  @Test
  void anOutageKeepsTheTimeItBeganAndItsLatestCause() {
    StoreState pg = StoreState.postgres(DatabaseUrl.parse("postgresql://app:s3cret@db:5432/shop"), clock);
    assertThat(pg.seen().status()).isEqualTo(Status.CONNECTING);
    assertThat(pg.seen().summary()).isEqualTo("connecting");
    Instant began = clock.now;
    pg.unreachable("Connection refused", "retrying");
    clock.now = clock.now.plusSeconds(5);
    pg.unreachable("Connection timed out", "retrying");
    assertThat(pg.seen()).isEqualTo(new StoreState.Seen(Status.UNREACHABLE, began, "Connection timed out"));
    assertThat(pg.seen().summary()).isEqualTo("down: Connection timed out");
    clock.now = clock.now.plusSeconds(1);
    pg.reachable();
    assertThat(pg.seen()).isEqualTo(new StoreState.Seen(Status.REACHABLE, clock.now, null));
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

  private static final class MutableClock extends Clock {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
