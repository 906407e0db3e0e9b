package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.store.ReleaseStore;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code lockstep_contract_pending{service}}: 1 while the service's latest completed release has its contract {@code
 * pending} (old code was still there, or it was deferred; the next release is refused until {@code lockstep contract}
 * applies it), else 0. Read from PostgreSQL every few seconds, so every instance shows it.
 */
public final class ContractGauge {
  private static final long REFRESH_MS = 5000;

  private final Vertx vertx;
  private final ReleaseStore store;
  private final String service;
  private final AtomicInteger pending = new AtomicInteger();
  private long timer = -1;

  public ContractGauge(Vertx vertx, ReleaseStore store, MeterRegistry meters, String service) {
    this.vertx = vertx;
    this.store = store;
    this.service = service;
    Gauge.builder("lockstep.contract.pending", pending, AtomicInteger::get)
        .description("1 while the service's latest completed release has its contract pending, else 0")
        .tag("service", service).register(meters);
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
    store.pendingContract(service).onSuccess(found -> pending.set(found.isPresent() ? 1 : 0));
  }
}
