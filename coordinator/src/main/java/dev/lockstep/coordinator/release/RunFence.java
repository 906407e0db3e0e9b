package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.coordinator.store.Connections;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;

/**
 * The PostgreSQL fence as a run takes it: on a direct connection of its own, named {@code lockstep-run/<service>},
 * on the migration worker (taking it blocks: it may terminate a stale holder's sessions first), held by this
 * coordinator instance ({@code host/pid}).
 *
 * <pre>{@code fence.take("app").compose(held -> ... fence.let(held))}</pre>
 */
public final class RunFence {
  private final Connections connections;
  private final WorkerExecutor worker;
  private final String instanceId;

  public RunFence(Connections connections, WorkerExecutor worker, String instanceId) {
    this.connections = connections;
    this.worker = worker;
    this.instanceId = instanceId;
  }

  Future<Fence.Held> take(String service) {
    return worker.executeBlocking(() -> Fence.acquire(connections.open("lockstep-run/" + service), service, instanceId),
        true);
  }

  /** Lets go of the fence's advisory lock and connection; never fails. */
  Future<Void> let(Fence.Held held) {
    return worker.<Void>executeBlocking(() -> {
      held.close();
      return null;
    }, true).otherwiseEmpty();
  }

  /** This coordinator instance, as the fence and the events name it. */
  String holder() {
    return instanceId;
  }
}
