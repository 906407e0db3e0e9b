package dev.lockstep.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Whether this host's bash can read the clock ({@code $EPOCHREALTIME}, bash 5.0 and later), so that a primed switch
 * hook's shell can start the hook at an announced moment by itself ({@link HookRunner.Primed#releaseAt}), and the
 * script such a shell runs. Asked once, on first use.
 */
final class ShellClock {
  /**
   * {@code bash -c SCRIPT COMMAND}. The first line from the agent: "go" starts the hook now, "at MICROS" at that moment
   * (epoch microseconds, this host's clock), anything else or the pipe's end leaves it unrun (125). While it waits for
   * its moment (a builtin {@code read -t}, no process started at that moment), "go" starts it at once, "stop" leaves it
   * unrun, and the pipe's end (the agent let go a little early) waits the rest out. {@code exec sh -c "$0"} is exactly
   * how a hook runs unprimed.
   */
  static final String PRIMED_SCRIPT = """
      IFS= read -r line || exit 125
      case $line in
        go) exec sh -c "$0" ;;
        "at "*) at=${line#at } ;;
        *) exit 125 ;;
      esac
      left() { w=$(( at - ${EPOCHREALTIME/./} )); printf -v t '%d.%06d' $(( w / 1000000 )) $(( w % 1000000 )); }
      left
      if [ "$w" -gt 0 ]; then
        if IFS= read -r -t "$t" line; then
          [ "$line" = go ] || exit 125
        elif [ $? -le 128 ]; then
          left
          if [ "$w" -gt 0 ]; then sleep "$t"; fi
        fi
      fi
      exec sh -c "$0"
      """;

  private static volatile Boolean available;

  private ShellClock() {}

  /** Blocking the first time (it runs bash once): call it where blocking is allowed. */
  static boolean available() {
    Boolean known = available;
    if (known == null) {
      known = probe();
      available = known;
    }
    return known;
  }

  private static boolean probe() {
    if ("false".equals(System.getProperty("lockstep.agent.shellClock"))) {
      return false;
    }
    try {
      Process bash = new ProcessBuilder("bash", "-c", "echo ${EPOCHREALTIME:+clock}").redirectErrorStream(true).start();
      bash.getOutputStream().close();
      String out = new String(bash.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
      return bash.waitFor(5, TimeUnit.SECONDS) && bash.exitValue() == 0 && out.equals("clock");
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
