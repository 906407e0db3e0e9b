package dev.lockstep.coordinator.release;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.List;

/**
 * An engine's progress lines as release events, each its own event, in order. Lines that arrive while a write is in
 * flight are written together by the next one, in one transaction: a 273-revision Alembic step printed a line every
 * few milliseconds, and one fenced transaction per line (document, agents, event, commit) trailed behind the engine.
 * Used on one context only (the run's). A failed write is not retried: the step's own write after it is fenced anyway.
 *
 * <pre>{@code ProgressEvents progress = new ProgressEvents(journal, "MIGRATING");
 * progress.add("alembic: Running upgrade a -> b, add orders");
 * progress.written().onComplete(...); // once every line added so far is stored (or failed)}</pre>
 */
final class ProgressEvents {
  private final ReleaseJournal journal;
  private final String phase;
  private final List<String> pending = new ArrayList<>();
  private Future<?> writing = Future.succeededFuture();
  private boolean inFlight;

  ProgressEvents(ReleaseJournal journal, String phase) {
    this.journal = journal;
    this.phase = phase;
  }

  void add(String line) {
    pending.add(phase + ": " + line);
    if (!inFlight) {
      flush();
    }
  }

  /** Completes once every line added so far has been written (or its write failed). */
  Future<Void> written() {
    if (!inFlight && pending.isEmpty()) {
      return Future.succeededFuture();
    }
    Promise<Void> done = Promise.promise();
    writing.onComplete(r -> written().onComplete(done));
    return done.future();
  }

  private void flush() {
    List<String> batch = List.copyOf(pending);
    pending.clear();
    inFlight = true;
    writing = journal.write(journal.stored(), batch).onComplete(r -> {
      inFlight = false;
      if (!pending.isEmpty()) {
        flush();
      }
    });
  }
}
