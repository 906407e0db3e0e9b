package dev.lockstep.agent;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Everything an {@link Agent} needs, already validated. {@link AgentMain} builds it from flags and
 * environment variables; tests build it directly.
 *
 * <pre>{@code
 * AgentConfig config = AgentConfig.of(List.of(URI.create("http://coord:7070")), "web-1", "app", "abc123", "secret")
 *     .withHooks(new AgentConfig.Hooks("./stage.sh", "./switch.sh", null));
 * }</pre>
 *
 * @param coordinators coordinator base URLs, tried in turn (failover)
 * @param id the agent's id
 * @param service the service it belongs to
 * @param revision the fixed revision it reports, or null when {@code revisionCommand} is given
 * @param revisionCommand a shell command whose trimmed stdout is the revision, or null
 * @param token the agents' bearer token
 * @param migrations the migrations folder this server stages, or null (then the digest is null)
 * @param hooks the prepare/switch/abort commands (each may be null: a missing hook succeeds)
 * @param hookTimeout how long a hook (or the revision command) may run before it is killed
 * @param reportInterval how often the agent reports even when nothing changed
 * @param pollWait how long the coordinator may hold a desired-state query ({@code wait=})
 * @param retry the backoff between attempts while no coordinator answers
 * @param tls the CA to trust and the client certificate for {@code https://} coordinators ({@link ClientTls#NONE}:
 *     the JVM's trust store, no client certificate)
 * @param readinessPort readiness mode: the port of {@code GET /ready} and {@code GET /live} (0 picks a free one, for
 *     tests); null without readiness mode
 * @param ephemeral the instance never comes back under this id (a pod): on stop the agent leaves the registry, and a
 *     silent one is forgotten instead of blocking releases as lost
 */
public record AgentConfig(
    List<URI> coordinators,
    String id,
    String service,
    String revision,
    String revisionCommand,
    String token,
    Path migrations,
    Hooks hooks,
    Duration hookTimeout,
    Duration reportInterval,
    Duration pollWait,
    Retry retry,
    ClientTls tls,
    Integer readinessPort,
    boolean ephemeral) {

  public static final Duration DEFAULT_HOOK_TIMEOUT = Duration.ofSeconds(60);
  public static final Duration DEFAULT_REPORT_INTERVAL = Duration.ofSeconds(2);
  public static final Duration DEFAULT_POLL_WAIT = Duration.ofSeconds(30);

  /**
   * The hook commands, each run through {@code sh -c}; null means "no hook", which counts as success.
   */
  public record Hooks(String onPrepare, String onSwitch, String onAbort) {
    public static final Hooks NONE = new Hooks(null, null, null);
  }

  /** Backoff while coordinators are unreachable: {@code first}, doubling, at most {@code max}. */
  public record Retry(Duration first, Duration max) {
    public static final Retry DEFAULT = new Retry(Duration.ofSeconds(1), Duration.ofSeconds(5));

    public Retry {
      Objects.requireNonNull(first, "first");
      Objects.requireNonNull(max, "max");
      if (first.isNegative() || first.isZero() || max.compareTo(first) < 0) {
        throw new IllegalArgumentException(
            "retry backoff must be positive and max >= first, got " + first + ".." + max);
      }
    }

    /** The delay before attempt {@code failures + 1}: first, 2×first, 4×first… capped at max. */
    public Duration after(int failures) {
      long ms = first.toMillis() << Math.min(Math.max(failures - 1, 0), 20);
      return Duration.ofMillis(Math.min(ms, max.toMillis()));
    }
  }

  public AgentConfig {
    coordinators = List.copyOf(Objects.requireNonNull(coordinators, "coordinators"));
    if (coordinators.isEmpty()) {
      throw new IllegalArgumentException("at least one coordinator URL is needed");
    }
    requireText(id, "id");
    requireText(service, "service");
    requireText(token, "token");
    if ((revision == null) == (revisionCommand == null)) {
      throw new IllegalArgumentException("give exactly one of a revision or a revision command");
    }
    hooks = hooks == null ? Hooks.NONE : hooks;
    hookTimeout = positive(hookTimeout, DEFAULT_HOOK_TIMEOUT, "hook timeout");
    reportInterval = positive(reportInterval, DEFAULT_REPORT_INTERVAL, "report interval");
    pollWait = positive(pollWait, DEFAULT_POLL_WAIT, "poll wait");
    retry = retry == null ? Retry.DEFAULT : retry;
    tls = tls == null ? ClientTls.NONE : tls;
    if (readinessPort != null && (readinessPort < 0 || readinessPort > 65535)) {
      throw new IllegalArgumentException("readiness port must be 0–65535, got " + readinessPort);
    }
  }

  /** Without readiness mode, not ephemeral. */
  public AgentConfig(List<URI> coordinators, String id, String service, String revision, String revisionCommand,
                     String token, Path migrations, Hooks hooks, Duration hookTimeout, Duration reportInterval,
                     Duration pollWait, Retry retry, ClientTls tls) {
    this(coordinators, id, service, revision, revisionCommand, token, migrations, hooks, hookTimeout, reportInterval,
        pollWait, retry, tls, null, false);
  }

  /** Whether {@code GET /ready} is served: new and retiring instances switch by readiness. */
  public boolean readinessMode() {
    return readinessPort != null;
  }

  /** Readiness mode on {@code port}; ephemeral as well, as a pod is. */
  public AgentConfig withReadiness(int port) {
    return new AgentConfig(coordinators, id, service, revision, revisionCommand, token, migrations, hooks,
        hookTimeout, reportInterval, pollWait, retry, tls, port, true);
  }

  public AgentConfig withEphemeral(boolean newEphemeral) {
    return new AgentConfig(coordinators, id, service, revision, revisionCommand, token, migrations, hooks,
        hookTimeout, reportInterval, pollWait, retry, tls, readinessPort, newEphemeral);
  }

  /** Without TLS settings of its own (the JVM's trust store, no client certificate). */
  public AgentConfig(List<URI> coordinators, String id, String service, String revision, String revisionCommand,
                     String token, Path migrations, Hooks hooks, Duration hookTimeout, Duration reportInterval,
                     Duration pollWait, Retry retry) {
    this(coordinators, id, service, revision, revisionCommand, token, migrations, hooks, hookTimeout, reportInterval,
        pollWait, retry, ClientTls.NONE);
  }

  public AgentConfig withTls(ClientTls newTls) {
    return new AgentConfig(coordinators, id, service, revision, revisionCommand, token, migrations, hooks,
        hookTimeout, reportInterval, pollWait, retry, newTls, readinessPort, ephemeral);
  }

  /** A configuration with a fixed revision, no migrations folder, no hooks and default timings. */
  public static AgentConfig of(List<URI> coordinators, String id, String service, String revision, String token) {
    return new AgentConfig(coordinators, id, service, revision, null, token, null, Hooks.NONE,
        null, null, null, null);
  }

  public AgentConfig withRevisionCommand(String command) {
    return new AgentConfig(coordinators, id, service, null, command, token, migrations, hooks,
        hookTimeout, reportInterval, pollWait, retry, tls, readinessPort, ephemeral);
  }

  public AgentConfig withMigrations(Path folder) {
    return new AgentConfig(coordinators, id, service, revision, revisionCommand, token, folder, hooks,
        hookTimeout, reportInterval, pollWait, retry, tls, readinessPort, ephemeral);
  }

  public AgentConfig withHooks(Hooks newHooks) {
    return new AgentConfig(coordinators, id, service, revision, revisionCommand, token, migrations, newHooks,
        hookTimeout, reportInterval, pollWait, retry, tls, readinessPort, ephemeral);
  }

  /** Faster timings, for tests and impatient operators. */
  public AgentConfig withTimings(Duration newHookTimeout, Duration newReportInterval, Duration newPollWait,
      Retry newRetry) {
    return new AgentConfig(coordinators, id, service, revision, revisionCommand, token, migrations, hooks,
        newHookTimeout, newReportInterval, newPollWait, newRetry, tls, readinessPort, ephemeral);
  }

  private static void requireText(String value, String name) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("the agent's " + name + " must not be empty");
    }
  }

  private static Duration positive(Duration value, Duration fallback, String name) {
    if (value == null) {
      return fallback;
    }
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + value);
    }
    return value;
  }
}
