package dev.lockstep.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A switch hook primed once the agent prepared ({@link HookRunner#prime}): nothing of it runs before it is let go, it
 * then runs as {@link HookRunner#run} would have started it, and a discarded one never runs.
 */
class HookPrimingTest {
  private static final Map<String, String> SWITCH = HookRunner.releaseEnvironment("r-42", "v2", "online", "SWITCHING");

  @TempDir
  Path dir;

  private HookLedger ledger() {
    return new HookLedger(dir.resolve("ledger"));
  }

  @Test
  void nothingRunsUntilItIsLetGoThenItRunsAsRunWould() throws Exception {
    HookLedger ledger = ledger();
    HookRunner hooks = new HookRunner(Duration.ofSeconds(10), Map.of("LOCKSTEP_AGENT_ID", "web-1",
        "LOCKSTEP_SERVICE", "shop"), ledger);
    Path ran = dir.resolve("ran");
    String command = "echo $$ > " + ran + "; echo $LOCKSTEP_RELEASE_ID $LOCKSTEP_TARGET_REVISION $LOCKSTEP_MODE "
        + "$LOCKSTEP_PHASE $LOCKSTEP_AGENT_ID $LOCKSTEP_SERVICE; echo $0; cat; echo 'stderr line' >&2; exit 4";

    HookRunner.Primed primed = hooks.prime("switch", command, SWITCH);
    Thread.sleep(300);
    assertThat(ran).as("the hook ran before it was let go").doesNotExist();
    assertThat(ledgerEntries()).as("written down while it waits, for the agent's next life").hasSize(1);
    assertThat(primed.isFor(command, SWITCH)).isTrue();
    assertThat(primed.isFor(command, HookRunner.releaseEnvironment("r-43", "v2", "online", "SWITCHING"))).isFalse();
    assertThat(primed.isFor("other", SWITCH)).isFalse();

    assertThat(primed.release()).isTrue();
    HookResult result = primed.await();

    // Exactly what run() gives the same command: its environment, $0, standard input at its end, exit code, stderr.
    HookResult plain = hooks.run("switch", command.replace(ran.toString(), dir.resolve("plain").toString()), SWITCH);
    assertThat(result.exitCode()).isEqualTo(4).isEqualTo(plain.exitCode());
    assertThat(result.stdout()).isEqualTo(plain.stdout()).isEqualTo("r-42 v2 online SWITCHING web-1 shop\nsh\n");
    assertThat(result.failure()).isEqualTo(plain.failure()).isEqualTo("switch hook exited 4: stderr line");
    assertThat(ledgerEntries()).isEmpty();
  }

  @Test
  void theHookIsTheShellItWasPrimedAs() throws Exception {
    // exec, not a child: the pid the agent waits for and kills on a timeout is the hook's own.
    HookRunner hooks = new HookRunner(Duration.ofSeconds(10), Map.of());
    HookRunner.Primed primed = hooks.prime("switch", "echo $$", SWITCH);
    assertThat(primed.release()).isTrue();
    HookResult result = primed.await();
    assertThat(result.succeeded()).isTrue();
    assertThat(primedPid(primed)).isEqualTo(Long.parseLong(result.stdout().trim()));
  }

  @Test
  void theTimeoutCountsFromTheReleaseAndKillsTheHook() throws Exception {
    HookRunner hooks = new HookRunner(Duration.ofMillis(700), Map.of());
    HookRunner.Primed primed = hooks.prime("switch", "sleep 30", SWITCH);
    Thread.sleep(1000); // waiting longer than the timeout before the switch is not running past it
    assertThat(primed.release()).isTrue();
    HookResult result = primed.await();
    assertThat(result.timedOut()).isTrue();
    assertThat(result.failure()).isEqualTo("switch hook timed out after 700ms");
    assertThat(result.took()).isGreaterThanOrEqualTo(Duration.ofMillis(700)).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void aDiscardedHookNeverRunsAndLeavesNothing() throws Exception {
    discardedNeverRuns(false);
  }

  /** Discarded while it waits for its moment (the agent stopping): it is told "stop", and the hook never runs. */
  @Test
  void aShellDiscardedBeforeItsMomentNeverRunsTheHook() throws Exception {
    discardedNeverRuns(true);
  }

  private void discardedNeverRuns(boolean toldItsMoment) throws Exception {
    HookRunner hooks = new HookRunner(Duration.ofSeconds(10), Map.of(), ledger());
    Path ran = dir.resolve("ran");
    HookRunner.Primed primed = hooks.prime("switch", "touch " + ran, SWITCH);
    long pid = primedPid(primed);
    if (toldItsMoment) {
      assertThat(primed.releaseAt(Instant.now().plusMillis(400))).isTrue();
    }

    primed.discard();

    await().atMost(Duration.ofSeconds(5)).until(() -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
    await().atMost(Duration.ofSeconds(5)).until(() -> ledgerEntries().length == 0);
    Thread.sleep(toldItsMoment ? 600 : 0); // past the moment it was told
    assertThat(ran).doesNotExist();
  }

  @Test
  void aShellThatDiedIsNotLetGo() throws Exception {
    HookRunner hooks = new HookRunner(Duration.ofSeconds(10), Map.of());
    HookRunner.Primed primed = hooks.prime("switch", "true", SWITCH);
    ProcessHandle.of(primedPid(primed)).orElseThrow().destroyForcibly();
    await().atMost(Duration.ofSeconds(5)).until(() -> ProcessHandle.of(primedPid(primed)).map(p -> !p.isAlive())
        .orElse(true));
    assertThat(primed.release()).as("the caller then starts the hook the ordinary way").isFalse();
  }

  @Test
  void noCommandPrimesNothing() {
    HookRunner hooks = new HookRunner(Duration.ofSeconds(10), Map.of());
    assertThat(hooks.prime("switch", null, SWITCH)).isNull();
    assertThat(hooks.prime("switch", " ", SWITCH)).isNull();
  }

  /** Told its moment ahead, the shell starts the hook at that moment by itself: not before, and without release(). */
  @Test
  void aShellToldItsMomentStartsTheHookThenByItself() throws Exception {
    assertThat(ShellClock.available()).as("bash 5 on this machine").isTrue();
    HookRunner hooks = new HookRunner(Duration.ofSeconds(10), Map.of(), ledger());
    Path started = dir.resolve("started");
    HookRunner.Primed primed = hooks.prime("switch", "date +%s%6N > " + started + "; cat; echo done", SWITCH);
    Instant at = Instant.now().plusMillis(600);
    assertThat(primed.releaseAt(at)).isTrue();
    Thread.sleep(300);
    assertThat(started).as("started before its moment").doesNotExist();
    await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(started) && !Files.readString(started).isBlank());
    assertThat(Long.parseLong(Files.readString(started).strip())).as("µs").isGreaterThanOrEqualTo(micros(at));
    // release() ends its standard input (cat returns) and waits for it, as for any primed hook.
    assertThat(primed.release()).isTrue();
    HookResult result = primed.await();
    assertThat(result.succeeded()).isTrue();
    assertThat(result.stdout()).isEqualTo("done\n");
    assertThat(ledgerEntries()).isEmpty();
  }

  /** The agent letting go before the moment (its timer a little early) does not start the hook early. */
  @Test
  void aReleaseBeforeTheMomentStillStartsTheHookAtIt() throws Exception {
    HookRunner hooks = new HookRunner(Duration.ofSeconds(10), Map.of());
    Path started = dir.resolve("started");
    HookRunner.Primed primed = hooks.prime("switch", "date +%s%6N > " + started, SWITCH);
    Instant at = Instant.now().plusMillis(500);
    assertThat(primed.releaseAt(at)).isTrue();
    Thread.sleep(100);
    assertThat(primed.release()).isTrue();
    HookResult result = primed.await();
    assertThat(result.succeeded()).as(result.failure()).isTrue();
    assertThat(Long.parseLong(Files.readString(started).strip())).isGreaterThanOrEqualTo(micros(at));
  }

  private static long micros(Instant at) {
    return at.getEpochSecond() * 1_000_000 + at.getNano() / 1_000;
  }

  private String[] ledgerEntries() throws IOException {
    Path ledgerDir = dir.resolve("ledger");
    if (!Files.isDirectory(ledgerDir)) {
      return new String[0];
    }
    try (var files = Files.list(ledgerDir)) {
      return files.map(Path::toString).toArray(String[]::new);
    }
  }

  private static long primedPid(HookRunner.Primed primed) {
    return primed.pid();
  }
}
