package dev.lockstep.coordinator.fleet;

import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Json;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * A maintained view of each listed service's agents, for status reads ({@code GET /v1/agents?service=}), so listing a
 * fleet of thousands does not read and parse the whole Redis hash for every request:
 * <ul>
 *   <li>the agents, sorted by id, each with its JSON serialised once (a list is a concatenation, a page a slice);</li>
 *   <li>kept current by this instance's own reports and removals at once (read-your-writes here), and re-read from the
 *       registry at most every {@link #RESYNC} while someone reads it: reports another coordinator instance took, agents
 *       turning lost, ephemeral ones forgotten ({@link AgentRegistry#list} decides those, as for everyone);</li>
 *   <li>a version per service that moves whenever anything in it changes: the {@code ETag} of a list, so a dashboard
 *       that asks again with {@code If-None-Match} gets a 304 without a body while nothing changed.</li>
 * </ul>
 * The release runs never read it: they read the registry itself, every round.
 *
 * <p>Thread-safety: any event loop may read or update (concurrent maps; a re-read in flight is shared).
 *
 * <pre>{@code view.page("app", a -> true, null, 500).onSuccess(page -> …page.json()…)}</pre>
 */
public final class RegistryView {
  /** How stale a view may get from other instances' reports while it is being read. */
  static final Duration RESYNC = Duration.ofSeconds(1);
  /** A view nobody read for this long is dropped, so services nobody lists cost nothing. */
  private static final Duration IDLE = Duration.ofMinutes(2);

  /** One agent and its JSON. */
  private record Entry(AgentStatus agent, byte[] json) {
    static Entry of(AgentStatus agent) {
      return new Entry(agent, Json.write(agent).getBytes(StandardCharsets.UTF_8));
    }
  }

  /** One service's view. */
  private static final class View {
    /** Tells this view's versions from another instance's, or from this one's before a restart, in an ETag. */
    final String nonce = Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong());
    final NavigableMap<String, Entry> agents = new ConcurrentSkipListMap<>();
    final AtomicLong version = new AtomicLong();
    volatile long syncedAt = Long.MIN_VALUE / 2;
    volatile long readAt;
    volatile Future<View> syncing;
  }

  /**
   * A page of a listing: the agents' JSON array text, how many matched in all, the id to ask {@code after} for the
   * next page (null on the last), and the view's version when it was cut.
   */
  public record Page(byte[] json, int total, String next, String version) {}

  private final AgentRegistry registry;
  private final Clock clock;
  private final Map<String, View> views = new ConcurrentHashMap<>();

  public RegistryView(AgentRegistry registry, Clock clock) {
    this.registry = registry;
    this.clock = clock;
  }

  /** The view's version of {@code service} now, re-read first if stale: what an {@code ETag} is made of. */
  public Future<String> version(String service) {
    return current(service).map(RegistryView::version);
  }

  private static String version(View view) {
    return view.nonce + "-" + view.version.get();
  }

  /**
   * Agents of {@code service} that {@code filter} keeps, in id order, from the one after {@code after} (null: the
   * first), at most {@code limit} (0: all).
   */
  public Future<Page> page(String service, Predicate<AgentStatus> filter, String after, int limit) {
    return current(service).map(view -> {
      String version = version(view);
      NavigableMap<String, Entry> from = after == null ? view.agents : view.agents.tailMap(after, false);
      List<byte[]> picked = new ArrayList<>();
      int total = 0;
      String last = null;
      boolean more = false;
      for (Entry e : from.values()) {
        if (!filter.test(e.agent())) {
          continue;
        }
        if (limit > 0 && picked.size() == limit) {
          more = true;
          break;
        }
        picked.add(e.json());
        last = e.agent().id();
      }
      // The count of every match, on every page: what "4,998 agents" on a dashboard needs.
      for (Entry e : view.agents.values()) {
        if (filter.test(e.agent())) {
          total++;
        }
      }
      return new Page(array(picked), total, more ? last : null, version);
    });
  }

  /** This instance took {@code agent}'s report (already stored in Redis): listed at once here. */
  public void reported(AgentStatus agent) {
    View view = views.get(agent.service());
    if (view != null) {
      Entry was = view.agents.get(agent.id());
      if (was == null || !was.agent().equals(agent)) {
        view.agents.put(agent.id(), Entry.of(agent));
        view.version.incrementAndGet();
      }
    }
  }

  /** Agent {@code id} of {@code service} was removed or left through this instance. */
  public void removed(String service, String id) {
    View view = views.get(service);
    if (view != null && view.agents.remove(id) != null) {
      view.version.incrementAndGet();
    }
  }

  private Future<View> current(String service) {
    long now = clock.millis();
    View view = views.computeIfAbsent(service, s -> new View());
    view.readAt = now;
    dropIdle(now);
    if (now - view.syncedAt < RESYNC.toMillis()) {
      return Future.succeededFuture(view);
    }
    // A re-read is shared by every loop that asks meanwhile; each continues (and answers) on its own.
    return SharedReads.onCaller(sync(service, view));
  }

  /** Re-reads the registry into {@code view}; a re-read in flight is shared by whoever asks meanwhile. */
  private synchronized Future<View> sync(String service, View view) {
    if (view.syncing != null) {
      return view.syncing;
    }
    long started = clock.millis();
    Instant startedAt = Instant.ofEpochMilli(started);
    Promise<View> done = Promise.promise();
    view.syncing = done.future();
    registry.list(service).onComplete(r -> {
      synchronized (this) {
        view.syncing = null;
      }
      if (r.failed()) {
        done.fail(r.cause());
        return;
      }
      merge(view, r.result(), startedAt);
      view.syncedAt = started;
      done.complete(view);
    });
    return done.future();
  }

  /**
   * What the registry said, merged: an entry newer here (a report this instance took while the read was in flight) is
   * kept; one gone from the registry goes, unless it reported here since the read began.
   */
  private static void merge(View view, List<AgentStatus> read, Instant startedAt) {
    boolean changed = false;
    Map<String, AgentStatus> byId = new java.util.HashMap<>();
    for (AgentStatus agent : read) {
      byId.put(agent.id(), agent);
      Entry was = view.agents.get(agent.id());
      if (was != null && (was.agent().equals(agent) || newer(was.agent(), agent))) {
        continue;
      }
      view.agents.put(agent.id(), Entry.of(agent));
      changed = true;
    }
    for (Entry e : view.agents.values()) {
      if (!byId.containsKey(e.agent().id()) && Instant.parse(e.agent().lastSeen()).isBefore(startedAt)) {
        view.agents.remove(e.agent().id());
        changed = true;
      }
    }
    if (changed) {
      view.version.incrementAndGet();
    }
  }

  /** Whether {@code here} was reported after what the registry returned (a report this instance took meanwhile). */
  private static boolean newer(AgentStatus here, AgentStatus read) {
    return Instant.parse(here.lastSeen()).isAfter(Instant.parse(read.lastSeen()));
  }

  private void dropIdle(long now) {
    views.entrySet().removeIf(e -> now - e.getValue().readAt > IDLE.toMillis());
  }

  private static byte[] array(List<byte[]> items) {
    int size = 2 + Math.max(0, items.size() - 1);
    for (byte[] item : items) {
      size += item.length;
    }
    byte[] out = new byte[size];
    int at = 0;
    out[at++] = '[';
    for (int i = 0; i < items.size(); i++) {
      if (i > 0) {
        out[at++] = ',';
      }
      System.arraycopy(items.get(i), 0, out, at, items.get(i).length);
      at += items.get(i).length;
    }
    out[at] = ']';
    return out;
  }
}
