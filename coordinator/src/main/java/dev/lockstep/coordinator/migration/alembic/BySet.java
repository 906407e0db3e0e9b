package dev.lockstep.coordinator.migration.alembic;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What depends on a set alone, kept for the last few sets by digest: asked of Alembic or Python once per set, though a
 * release plans five times ({@code history --verbose} of a 273-revision chain takes about a second). Thread-safe; two
 * threads that miss at once both compute, and either answer is the same.
 */
final class BySet<T> {
  private static final int KEPT = 8;

  private final Map<String, T> byDigest = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, T> eldest) {
      return size() > KEPT;
    }
  };

  T get(String digest, Supplier<T> compute) {
    synchronized (byDigest) {
      T known = byDigest.get(digest);
      if (known != null) {
        return known;
      }
    }
    T value = compute.get();
    synchronized (byDigest) {
      byDigest.put(digest, value);
    }
    return value;
  }
}
