package dev.lockstep.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HookRunnerTest {
  private final HookRunner hooks = new HookRunner(Duration.ofSeconds(10),
      Map.of("LOCKSTEP_AGENT_ID", "web-1", "LOCKSTEP_SERVICE", "shop"));

  @TempDir
  Path dir;

  @Test
  void successfulHookAcknowledges() {
    HookResult result = hooks.run("prepare", "echo staging; echo done", Map.of());

    assertThat(result.succeeded()).isTrue();
    assertThat(result.failure()).isNull();
    assertThat(result.stdout()).isEqualTo("staging\ndone\n");
  }

  @Test
  void missingHookCountsAsSuccess() {
    assertThat(hooks.run("switch", null, Map.of()).succeeded()).isTrue();
    assertThat(hooks.run("switch", "  ", Map.of()).succeeded()).isTrue();
  }

  @Test
  void nonZeroExitRefusesWithTheStderrTail() {
    HookResult result = hooks.run("prepare", "echo 'disk full' >&2; exit 3", Map.of());

    assertThat(result.succeeded()).isFalse();
    assertThat(result.exitCode()).isEqualTo(3);
    assertThat(result.failure()).isEqualTo("prepare hook exited 3: disk full");
  }

  @Test
  void stderrTailKeepsTheLastTwentyLines() {
    HookResult result = hooks.run("switch", "for i in $(seq 1 100); do echo line-$i >&2; done; exit 1", Map.of());

    assertThat(result.stderrTail().lines()).hasSize(20).first().isEqualTo("line-81");
    assertThat(result.stderrTail()).endsWith("line-100");
    assertThat(result.failure()).startsWith("switch hook exited 1: line-81\n");
  }

  @Test
  void stderrTailIsCappedInCharacters() {
    HookResult result = hooks.run("prepare", "head -c 20000 /dev/zero | tr '\\0' x >&2; exit 2", Map.of());

    assertThat(result.stderrTail()).hasSizeLessThanOrEqualTo(2001).endsWith("xxx");
  }

  @Test
  void chattyHookDoesNotDeadlock() {
    // Far more than a pipe buffer (64 KB) on both streams: unless both are drained, the hook blocks for ever.
    HookResult result = hooks.capture("prepare",
        "head -c 3000000 /dev/zero | tr '\\0' y; head -c 70000 /dev/zero | tr '\\0' e | fold -w 7000 >&2",
        Map.of());

    assertThat(result.succeeded()).isTrue();
    assertThat(result.stdout()).hasSizeBetween(64 * 1024, 80 * 1024);
    assertThat(result.took()).isLessThan(Duration.ofSeconds(8));
  }

  @Test
  void timeoutKillsTheHookAndWhatItSpawned() throws IOException {
    HookRunner quick = new HookRunner(Duration.ofMillis(500), Map.of());
    Path pidFile = dir.resolve("child.pid");

    HookResult result = quick.run("switch", "sleep 30 & echo $! > " + pidFile + "; wait", Map.of());

    assertThat(result.timedOut()).isTrue();
    assertThat(result.succeeded()).isFalse();
    assertThat(result.failure()).isEqualTo("switch hook timed out after 500ms");
    assertThat(result.took()).isLessThan(Duration.ofSeconds(5));
    long child = Long.parseLong(Files.readString(pidFile).trim());
    await().atMost(Duration.ofSeconds(5))
        .until(() -> ProcessHandle.of(child).map(ProcessHandle::isAlive).equals(Optional.of(false))
            || ProcessHandle.of(child).isEmpty());
  }

  @Test
  void hookSeesReleaseAgentAndInheritedEnvironment() {
    Map<String, String> env = HookRunner.releaseEnvironment("r-42", "abc123", "maintenance", "PREPARING");

    HookResult result = hooks.run("prepare", "echo $LOCKSTEP_RELEASE_ID $LOCKSTEP_TARGET_REVISION $LOCKSTEP_MODE "
        + "$LOCKSTEP_PHASE $LOCKSTEP_AGENT_ID $LOCKSTEP_SERVICE; test -n \"$PATH\"", env);

    assertThat(result.succeeded()).isTrue();
    assertThat(result.stdout().trim()).isEqualTo("r-42 abc123 maintenance PREPARING web-1 shop");
  }

  @Test
  void backgroundProcessKeepingThePipeOpenDoesNotHoldTheHook() {
    // A switch hook that starts the app server in the background must not block until the server exits.
    long start = System.nanoTime();
    HookResult result = hooks.run("switch", "sleep 3 & echo started", Map.of());

    assertThat(result.succeeded()).isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
  }

  @Test
  void captureReturnsStdoutForTheRevisionCommand() {
    HookResult result = hooks.capture("revision command", "printf 'abc123\\n'", Map.of());

    assertThat(result.stdout().trim()).isEqualTo("abc123");
  }

  @Test
  void revisionCommandFailureNamesTheCommand() {
    HookResult result = hooks.capture("revision command", "echo 'not a git repository' >&2; exit 128", Map.of());

    assertThat(result.failure()).isEqualTo("revision command exited 128: not a git repository");
  }
}
