package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.error.LockstepException;
import io.vertx.ext.web.RoutingContext;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A cap on requests one identity may hold open at once, of one kind (release event streams, blocking
 * desired-state queries): each open request holds a {@link Slot}, given back when its response ends or
 * its connection closes, so a client that disconnects leaves nothing behind. Over the cap the request is
 * a 429 naming the identity, the cap and the flag that raises it. Identities marked
 * {@link CallerKey#shared()} are not capped (see there).
 *
 * <pre>{@code
 * StreamSlots streams = new StreamSlots("event streams", "--max-event-streams", 8);
 * streams.hold(ctx); // 429 if this identity has 8 open; released when ctx's response ends or closes
 * }</pre>
 */
public final class StreamSlots {
  private final String kind;
  private final String flag;
  private final int max;
  private final Map<CallerKey, Integer> open = new HashMap<>();

  public StreamSlots(String kind, String flag, int max) {
    this.kind = kind;
    this.flag = flag;
    this.max = max;
  }

  /** One open request; {@link #release()} may be called any number of times, it gives the slot back once. */
  public final class Slot {
    private final CallerKey key;
    private final AtomicBoolean held = new AtomicBoolean(true);

    private Slot(CallerKey key) {
      this.key = key;
    }

    public void release() {
      if (held.compareAndSet(true, false)) {
        synchronized (StreamSlots.this) {
          open.computeIfPresent(key, (k, n) -> n > 1 ? n - 1 : null);
        }
      }
    }
  }

  /** Takes a slot for {@code key}, or throws a 429 when it already holds {@code max}. */
  public synchronized Slot acquire(CallerKey key) {
    if (!key.shared()) {
      int now = open.getOrDefault(key, 0);
      if (now >= max) {
        throw LockstepException.tooManyRequests("identity " + key + " already has " + now + " " + kind
            + " open; close one or raise " + flag, null);
      }
      open.put(key, now + 1);
    }
    return new Slot(key);
  }

  /** Takes a slot for the caller of {@code ctx}, held until its response ends or its connection closes. */
  public Slot hold(RoutingContext ctx) {
    Slot slot = acquire(CallerKey.of(ctx));
    ctx.addEndHandler(done -> slot.release());
    return slot;
  }

  /** How many slots {@code key} holds now. */
  public synchronized int open(CallerKey key) {
    return open.getOrDefault(key, 0);
  }

  /** How many identities hold a slot now (the map holds no one else). */
  public synchronized int identities() {
    return open.size();
  }
}
