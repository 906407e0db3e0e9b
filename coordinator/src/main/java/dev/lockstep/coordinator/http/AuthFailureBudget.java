package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.error.LockstepException;
import java.time.Clock;
import java.time.Duration;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Slows token guessing: each remote address has a bucket of {@code failures} failed authentications,
 * refilled evenly over {@code window} (10 per minute by default: ten at once, then one every 6 s).
 * While an address's bucket is empty, every request from it that presents a token is a 429 with
 * {@code Retry-After}, before the token is compared, so a guesser gets no answer at all, right or
 * wrong — except a token that has authenticated from that address before: that is no guess, and agents
 * behind one address (a host, a NAT, a proxy) must not lose the coordinator because one of them has a
 * wrong token. Other addresses are not affected; a request without a token is not a guess and not counted.
 *
 * <p>Memory is bounded: at most {@code maxAddresses} addresses are tracked (the one touched longest ago
 * goes first), and an address whose bucket is full again is forgotten. The address is the TCP peer's:
 * behind a proxy every client shares the proxy's budget.
 *
 * <pre>{@code
 * AuthFailureBudget budget = new AuthFailureBudget(10, Duration.ofMinutes(1), 10_000, Clock.systemUTC());
 * budget.check("10.0.0.5");  // throws 429 while 10.0.0.5 is over budget
 * budget.failed("10.0.0.5"); // after a token that matched nothing
 * }</pre>
 */
public final class AuthFailureBudget {
  private static final Logger log = LoggerFactory.getLogger(AuthFailureBudget.class);
  public static final int MAX_ADDRESSES = 10_000;

  private final int failures;
  private final Duration window;
  private final int maxAddresses;
  private final Clock clock;
  // Whole numbers, so a Retry-After is exact: a failure costs `cost` units, `failures` units come back each ms.
  private final long cost;
  private final long capacity;
  // Access order: the eldest entry is the address touched longest ago, the one to drop first.
  private final LinkedHashMap<String, Bucket> buckets = new LinkedHashMap<>(16, 0.75f, true);
  private final String windowText;
  private long lastSweep;
  // Per address, digests of the tokens that authenticated from it (access order; the eldest address goes first).
  private final LinkedHashMap<String, LinkedHashSet<String>> known = new LinkedHashMap<>(16, 0.75f, true);
  static final int KNOWN_PER_ADDRESS = 32;

  private static final class Bucket {
    long left;
    long at;

    Bucket(long left, long at) {
      this.left = left;
      this.at = at;
    }
  }

  public AuthFailureBudget(int failures, Duration window, int maxAddresses, Clock clock) {
    this.failures = failures;
    this.window = window;
    this.maxAddresses = maxAddresses;
    this.clock = clock;
    this.cost = window.toMillis();
    this.capacity = failures * cost;
    this.lastSweep = clock.millis();
    this.windowText = as(window);
  }

  public static AuthFailureBudget of(ApiLimits limits, Clock clock) {
    return new AuthFailureBudget(limits.authFailures(), limits.authFailureWindow(), MAX_ADDRESSES, clock);
  }

  /** Throws a 429 with {@code Retry-After} while {@code address} has no failed authentication left. */
  public synchronized void check(String address) {
    check(address, null);
  }

  /**
   * As {@link #check(String)}, letting through a token ({@link #digest}) that has authenticated from
   * {@code address} before ({@link #succeeded}).
   */
  public synchronized void check(String address, String tokenDigest) {
    long now = clock.millis();
    Bucket bucket = buckets.get(address);
    if (bucket == null) {
      return;
    }
    refill(bucket, now);
    Set<String> good = known.get(address);
    if (bucket.left < cost && !(tokenDigest != null && good != null && good.contains(tokenDigest))) {
      Duration wait = Duration.ofMillis((cost - bucket.left + failures - 1) / failures);
      long seconds = Math.max(1, (wait.toMillis() + 999) / 1000);
      throw LockstepException.tooManyRequests("too many failed authentications from " + address + " (more than "
          + failures + " per " + windowText + "); retry after " + seconds + " s", wait);
    }
  }

  /** Counts one failed authentication (a token that matched nothing) against {@code address}. */
  public synchronized void failed(String address) {
    long now = clock.millis();
    sweep(now);
    Bucket bucket = buckets.get(address);
    if (bucket == null) {
      bucket = new Bucket(capacity, now);
      buckets.put(address, bucket);
      if (buckets.size() > maxAddresses) {
        Iterator<String> eldest = buckets.keySet().iterator();
        eldest.next();
        eldest.remove();
      }
    }
    refill(bucket, now);
    bucket.left = Math.max(0, bucket.left - cost);
    if (bucket.left < cost) {
      log.warn("{} failed authentication {} times in {}: its requests with a token get 429 until it earns another try",
          address, failures, windowText);
    }
  }

  /** Remembers that the token of {@code tokenDigest} authenticated from {@code address}. */
  public synchronized void succeeded(String address, String tokenDigest) {
    LinkedHashSet<String> good = known.computeIfAbsent(address, a -> new LinkedHashSet<>());
    if (good.add(tokenDigest) && good.size() > KNOWN_PER_ADDRESS) {
      Iterator<String> oldest = good.iterator();
      oldest.next();
      oldest.remove();
    }
    if (known.size() > maxAddresses) {
      Iterator<String> eldest = known.keySet().iterator();
      eldest.next();
      eldest.remove();
    }
  }

  /** What {@link #succeeded} keeps of a token: a SHA-256 prefix, never the token. */
  public static String digest(String token) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
      return Base64.getEncoder().withoutPadding().encodeToString(Arrays.copyOf(hash, 16));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  /** The window as an operator writes it: {@code 1m}, {@code 90s}, {@code 1500ms}. */
  private static String as(Duration d) {
    long ms = d.toMillis();
    return ms % 3_600_000 == 0 ? ms / 3_600_000 + "h" : ms % 60_000 == 0 ? ms / 60_000 + "m"
        : ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
  }

  /** Addresses tracked now (for tests and memory). */
  public synchronized int tracked() {
    return buckets.size();
  }

  private void refill(Bucket bucket, long now) {
    if (now > bucket.at) {
      bucket.left = Math.min(capacity, bucket.left + Math.min(now - bucket.at, cost) * failures);
      bucket.at = now;
    }
  }

  /** At most once a window, forgets the addresses whose bucket is full again: they are like new ones. */
  private void sweep(long now) {
    if (now - lastSweep < window.toMillis()) {
      return;
    }
    lastSweep = now;
    for (Iterator<Map.Entry<String, Bucket>> it = buckets.entrySet().iterator(); it.hasNext(); ) {
      Bucket bucket = it.next().getValue();
      refill(bucket, now);
      if (bucket.left >= capacity) {
        it.remove();
      }
    }
  }
}
