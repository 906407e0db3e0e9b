package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.store.ReleaseStore;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * {@code lockstep_release_in_phase_seconds{service, phase}}: how long the service's unfinished release has been in its
 * current phase; one series for that phase, none while no release is unfinished. What an alert on a release stuck in
 * a phase reads (deploy/monitoring). Every instance shows it, read from PostgreSQL every few seconds, so it holds
 * whichever instance runs the release, and while none does.
 */
public final class ReleasePhaseGauge {
  private static final long REFRESH_MS = 5000;

  private final Vertx vertx;
  private final ReleaseStore store;
  private final String service;
  private final Clock clock;
  private final MultiGauge gauge;
  private long timer = -1;

  public ReleasePhaseGauge(Vertx vertx, ReleaseStore store, MeterRegistry meters, String service, Clock clock) {
    this.vertx = vertx;
    this.store = store;
    this.service = service;
    this.clock = clock;
    this.gauge = MultiGauge.builder("lockstep.release.in.phase").baseUnit("seconds")
        .description("how long the service's unfinished release has been in its current phase").register(meters);
  }

  public void start() {
    refresh();
    timer = vertx.setPeriodic(REFRESH_MS, id -> refresh());
  }

  public void stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
  }

  private void refresh() {
    store.activePhaseSince(service).onSuccess(active -> gauge.register(active
        .<List<MultiGauge.Row<?>>>map(now -> List.of(MultiGauge.Row.of(Tags.of("service", service, "phase", now.phase().name()),
            now.since(), this::secondsSince)))
        .orElse(List.of()), true));
  }

  private double secondsSince(Instant since) {
    return Math.max(0, Duration.between(since, clock.instant()).toMillis() / 1000.0);
  }
}
