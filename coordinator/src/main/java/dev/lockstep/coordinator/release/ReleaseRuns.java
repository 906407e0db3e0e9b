package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.lock.ServiceLock;

/**
 * Makes the {@link ReleaseRun} of a release, each given the parts it uses: the service's Redis lock, the PostgreSQL
 * fence, the carried set, its journal, the machine of phases, the ending and the metrics.
 *
 * <pre>{@code ReleaseRun run = runs.create(doc.id(), doc.service());}</pre>
 */
public final class ReleaseRuns {
  private final ServiceLock.Factory locks;
  private final RunFence fence;
  private final CarriedSets carried;
  private final Journals journals;
  private final ReleaseMachine machine;
  private final Ending ending;
  private final ReleaseMetrics metrics;

  public ReleaseRuns(ServiceLock.Factory locks, RunFence fence, CarriedSets carried, Journals journals,
                     ReleaseMachine machine, Ending ending, ReleaseMetrics metrics) {
    this.locks = locks;
    this.fence = fence;
    this.carried = carried;
    this.journals = journals;
    this.machine = machine;
    this.ending = ending;
    this.metrics = metrics;
  }

  /** The set of a release just created here, which its run then need not read back from the store. */
  void remember(dev.lockstep.coordinator.set.MigrationSet set) {
    carried.remember(set);
  }

  ReleaseRun create(String id, String service) {
    return new ReleaseRun(id, service, locks.of(service), fence, carried, journals, machine, ending, metrics);
  }
}
