package dev.lockstep.coordinator.release;

import dev.lockstep.protocol.Phase;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Locale;

/**
 * The release metrics, named once (DESIGN.md, "Interfaces"): Prometheus names in base units,
 * {@code _total} counters, {@code _seconds} histograms, bounded labels (phases, outcomes, rule ids;
 * never a release id).
 *
 * <ul>
 *   <li>{@code lockstep_releases_total{service,outcome}}: releases that ended, by terminal phase
 *   <li>{@code lockstep_release_phase_duration_seconds{phase}}: time one run spent in a phase
 *   <li>{@code lockstep_switch_skew_seconds}: latest minus earliest agent switch of a completed release
 *   <li>{@code lockstep_lock_wait_seconds}: how long a run waited for the service's Redis lock
 *   <li>{@code lockstep_repairs_total{rule}}: repair statements made, by rule
 * </ul>
 */
public final class ReleaseMetrics {
  private final MeterRegistry meters;

  public ReleaseMetrics(MeterRegistry meters) {
    this.meters = meters;
  }

  void ended(String service, Phase terminal) {
    Counter.builder("lockstep.releases").description("releases that ended, by outcome (their terminal phase)")
        .tags("service", service, "outcome", terminal.name().toLowerCase(Locale.ROOT)).register(meters).increment();
  }

  void phase(Phase phase, Duration spent) {
    Timer.builder("lockstep.release.phase.duration").description("time a run spent in a release phase")
        .tag("phase", phase.name()).publishPercentileHistogram().register(meters).record(spent);
  }

  void switchSkew(long ms) {
    Timer.builder("lockstep.switch.skew").description("latest minus earliest agent switch of a completed release")
        .publishPercentileHistogram().register(meters).record(Duration.ofMillis(ms));
  }

  void lockWait(Duration waited) {
    Timer.builder("lockstep.lock.wait").description("time a run waited for the service's Redis lock")
        .publishPercentileHistogram().register(meters).record(waited);
  }

  void repaired(String rule, int statements) {
    Counter.builder("lockstep.repairs").description("repair statements made, by rule").tag("rule", rule)
        .register(meters).increment(statements);
  }
}
