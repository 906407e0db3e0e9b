package dev.lockstep.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hook left running by an agent that died (real processes): the agent's next life stops it and all it
 * spawned, and leaves alone what is not its own.
 */
class HookLedgerTest {
  @TempDir Path dir;
  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void killAll() {
    started.forEach(p -> {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    });
  }

  @Test
  void aHookWhoseAgentDiedIsStoppedWithItsChildrenBeforeItCanFinish() throws Exception {
    HookLedger ledger = new HookLedger(dir.resolve("hooks"));
    Path marker = dir.resolve("switched");
    String id = ledger.starting("switch");
    Process hook = hook(id, "sleep 30 && echo switched >> " + marker);
    await(() -> !hook.descendants().toList().isEmpty()); // the shell has started its sleep
    List<ProcessHandle> children = hook.descendants().toList();
    recordAgent(ledger, id, deadPid());

    long stopping = System.nanoTime();
    assertThat(new HookLedger(dir.resolve("hooks")).stopLeftovers()).isEqualTo(1);
    // SIGTERM was enough: stopping did not wait out its 2 s grace (a zombie counts as gone).
    assertThat(Duration.ofNanos(System.nanoTime() - stopping)).isLessThan(Duration.ofMillis(1500));

    assertThat(hook.waitFor(10, TimeUnit.SECONDS)).isTrue();
    await(() -> children.stream().noneMatch(ProcessHandle::isAlive));
    children.forEach(c -> assertThat(c.isAlive()).as("child %d of the hook", c.pid()).isFalse());
    assertThat(marker).doesNotExist();
    assertThat(Files.list(dir.resolve("hooks"))).isEmpty();
  }

  @Test
  void aHookWhoseShellHasAlreadyGoneIsFoundThroughTheChildrenThatCarryItsMarker() throws Exception {
    // The shell exits at once, leaving its background child to init: no longer a descendant of anything the
    // agent knew, but it still carries the hook's id in its environment.
    HookLedger ledger = new HookLedger(dir.resolve("hooks"));
    Path pidFile = dir.resolve("child.pid");
    String id = ledger.starting("switch");
    hook(id, "sleep 30 > /dev/null 2>&1 & echo $! > " + pidFile).waitFor(10, TimeUnit.SECONDS);
    ProcessHandle child = ProcessHandle.of(Long.parseLong(Files.readString(pidFile).trim())).orElseThrow();
    recordAgent(ledger, id, deadPid());

    assertThat(HookLedger.carrying(id)).extracting(ProcessHandle::pid).containsExactly(child.pid());
    assertThat(ledger.stopLeftovers()).isEqualTo(1);
    assertThat(HookLedger.running(child)).isFalse();
  }

  @Test
  void anOrphanThatWasKilledButNotYetReapedIsNotRunning() throws Exception {
    // An orphan like a dead agent's hook: its parent shell exits at once, leaving it to init.
    Path pidFile = dir.resolve("orphan.pid");
    sh("sh -c 'sleep 30' > /dev/null 2>&1 & echo $! > " + pidFile).waitFor(10, TimeUnit.SECONDS);
    ProcessHandle orphan = ProcessHandle.of(Long.parseLong(Files.readString(pidFile).trim())).orElseThrow();
    assertThat(HookLedger.running(orphan)).isTrue();
    orphan.destroy();
    // Dead at once, though init may take seconds to reap it (isAlive() says true all that while).
    await(Duration.ofMillis(1000), () -> !HookLedger.running(orphan));
    assertThat(HookLedger.running(orphan)).isFalse();
  }

  @Test
  void aHookOfAnotherLiveAgentWithTheSameIdentityIsLeftAlone() throws Exception {
    HookLedger ledger = new HookLedger(dir.resolve("hooks"));
    Process otherAgent = sh("sleep 30");
    String id = ledger.starting("prepare");
    Process hook = hook(id, "sleep 30");
    recordAgent(ledger, id, otherAgent.pid());

    assertThat(ledger.stopLeftovers()).isZero();
    assertThat(hook.isAlive()).isTrue();
  }

  @Test
  void processesThatDoNotCarryTheMarkerAreNotTouched() throws Exception {
    HookLedger ledger = new HookLedger(dir.resolve("hooks"));
    Process stranger = sh("sleep 30");
    Process otherHook = hook("another-id", "sleep 30");
    String id = ledger.starting("switch"); // the agent died before (or just as) it forked this hook
    recordAgent(ledger, id, deadPid());

    assertThat(ledger.stopLeftovers()).isZero();
    assertThat(stranger.isAlive()).isTrue();
    assertThat(otherHook.isAlive()).isTrue();
    assertThat(Files.list(ledger.dir())).isEmpty();
  }

  @Test
  void aRunningHookCarriesItsIdAndIsCrossedOffWhenItEnds() throws Exception {
    HookLedger ledger = new HookLedger(dir.resolve("hooks"));
    HookRunner runner = new HookRunner(Duration.ofSeconds(10), Map.of(), ledger);
    HookResult result = runner.capture("switch", "echo \"$LOCKSTEP_HOOK_ID\"; ls " + ledger.dir(), Map.of());
    assertThat(result.succeeded()).isTrue();
    String[] lines = result.stdout().strip().split("\n");
    assertThat(lines[0]).matches("[0-9a-f-]{36}");
    assertThat(lines).as("the entry exists while the hook runs").contains(lines[0]);
    assertThat(Files.list(ledger.dir())).isEmpty();
    assertThat(ledger.stopLeftovers()).isZero();
  }

  private Process sh(String command) throws Exception {
    Process p = new ProcessBuilder("sh", "-c", command).start();
    started.add(p);
    return p;
  }

  /** A hook's shell as HookRunner forks it: carrying its id. */
  private Process hook(String id, String command) throws Exception {
    ProcessBuilder builder = new ProcessBuilder("sh", "-c", command);
    builder.environment().put(HookLedger.MARKER, id);
    Process p = builder.start();
    started.add(p);
    return p;
  }

  /** Rewrites the hook's entry as if another agent process, {@code agentPid}, had started it. */
  private static void recordAgent(HookLedger ledger, String id, long agentPid) throws Exception {
    Path file = ledger.dir().resolve(id);
    List<String> lines = new ArrayList<>(Files.readAllLines(file));
    lines.set(0, Long.toString(agentPid));
    lines.set(1, "-1");
    Files.write(file, lines);
  }

  /** The pid of a process that has ended. */
  private static long deadPid() throws Exception {
    Process p = new ProcessBuilder("true").start();
    p.waitFor(10, TimeUnit.SECONDS);
    return p.pid();
  }

  private static void await(java.util.function.BooleanSupplier condition) {
    await(Duration.ofSeconds(10), condition);
  }

  /** Waits up to {@code atMost} for {@code condition}, then returns either way: the assertions after it say what is wrong. */
  private static void await(Duration atMost, java.util.function.BooleanSupplier condition) {
    try {
      org.awaitility.Awaitility.await().atMost(atMost).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(10))
          .until(condition::getAsBoolean);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      // the caller's assertion reports it
    }
  }
}
