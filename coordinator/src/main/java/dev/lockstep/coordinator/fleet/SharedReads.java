package dev.lockstep.coordinator.fleet;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

/**
 * A read shared by several event loops completes on the loop that started it; each asker must continue on its own.
 * Also what any handler needs that continues on a future made elsewhere (the API document read once at start).
 * The HTTP server runs in Vert.x's strict thread mode (no per-connection write queue: a response is written directly,
 * so only from its connection's loop), which makes this a rule of correctness, not of style: a handler continuing on
 * another loop's thread would write its response from there (docs/architecture.md, "Event loops").
 */
public final class SharedReads {
  private SharedReads() {}

  /**
   * {@code result}, completed on {@code context} (as it is when that is null: a caller outside Vert.x). Even a result
   * already complete is handed over: a Vert.x future made on one context calls its listeners on that context, done or
   * not.
   */
  public static <T> Future<T> onto(Context context, Future<T> result) {
    if (context == null) {
      return result;
    }
    Promise<T> here = Promise.promise();
    result.onComplete(r -> {
      if (Vertx.currentContext() == context) {
        here.handle(r);
      } else {
        context.runOnContext(v -> here.handle(r));
      }
    });
    return here.future();
  }

  /** {@code result}, completed on the caller's context. */
  public static <T> Future<T> onCaller(Future<T> result) {
    return onto(Vertx.currentContext(), result);
  }
}
