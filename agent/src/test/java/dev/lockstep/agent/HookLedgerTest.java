package dev.lockstep.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
    Process hook = sh("sleep 30 && echo switched >> " + marker);
    ledger.started("switch", hook.toHandle());
    await(() -> !hook.descendants().toList().isEmpty()); // the shell has started its sleep
    List<ProcessHandle> children = hook.descendants().toList();
    recordAgent(ledger, hook, deadPid());

    long stopping = System.nanoTime();
    assertThat(new HookLedger(dir.resolve("hooks")).stopLeftovers()).isEqualTo(1);
    // SIGTERM was enough: stopping did not wait out its 2 s grace (a zombie counts as gone).
    assertThat(java.time.Duration.ofNanos(System.nanoTime() - stopping)).isLessThan(java.time.Duration.ofMillis(1500));

    assertThat(hook.waitFor(10, TimeUnit.SECONDS)).isTrue();
    await(() -> children.stream().noneMatch(ProcessHandle::isAlive));
    children.forEach(c -> assertThat(c.isAlive()).as("child %d of the hook", c.pid()).isFalse());
    assertThat(marker).doesNotExist();
    assertThat(Files.list(dir.resolve("hooks"))).isEmpty();
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
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1000);
    while (HookLedger.running(orphan) && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(HookLedger.running(orphan)).isFalse();
  }

  @Test
  void aHookOfAnotherLiveAgentWithTheSameIdentityIsLeftAlone() throws Exception {
    HookLedger ledger = new HookLedger(dir.resolve("hooks"));
    Process otherAgent = sh("sleep 30");
    Process hook = sh("sleep 30");
    ledger.started("prepare", hook.toHandle());
    recordAgent(ledger, hook, otherAgent.pid());

    assertThat(ledger.stopLeftovers()).isZero();
    assertThat(hook.isAlive()).isTrue();
  }

  @Test
  void aPidThatNowBelongsToAnotherProcessIsNotTouched() throws Exception {
    HookLedger ledger = new HookLedger(dir.resolve("hooks"));
    Process stranger = sh("sleep 30");
    // As if the recorded hook had ended and its pid had gone to `stranger`: the start time differs.
    Files.createDirectories(ledger.dir());
    Files.write(ledger.dir().resolve(Long.toString(stranger.pid())),
        List.of(Long.toString(deadPid()), Long.toString(stranger.pid()), "12345", "switch"));

    assertThat(ledger.stopLeftovers()).isZero();
    assertThat(stranger.isAlive()).isTrue();
    assertThat(Files.list(ledger.dir())).isEmpty();
  }

  @Test
  void aFinishedHookIsCrossedOffAndNothingIsLeftToStop() throws Exception {
    HookLedger ledger = new HookLedger(dir.resolve("hooks"));
    HookRunner runner = new HookRunner(java.time.Duration.ofSeconds(10), java.util.Map.of(), ledger);
    assertThat(runner.run("switch", "true", java.util.Map.of()).succeeded()).isTrue();
    assertThat(Files.list(ledger.dir())).isEmpty();
    assertThat(ledger.stopLeftovers()).isZero();
  }

  private Process sh(String command) throws Exception {
    Process p = new ProcessBuilder("sh", "-c", command).start();
    started.add(p);
    return p;
  }

  /** Rewrites the hook's entry as if another agent process, {@code agentPid}, had started it. */
  private static void recordAgent(HookLedger ledger, Process hook, long agentPid) throws Exception {
    Path file = ledger.dir().resolve(Long.toString(hook.pid()));
    List<String> lines = new ArrayList<>(Files.readAllLines(file));
    lines.set(0, Long.toString(agentPid));
    Files.write(file, lines);
  }

  /** The pid of a process that has ended. */
  private static long deadPid() throws Exception {
    Process p = new ProcessBuilder("true").start();
    p.waitFor(10, TimeUnit.SECONDS);
    return p.pid();
  }

  private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
  }
}
