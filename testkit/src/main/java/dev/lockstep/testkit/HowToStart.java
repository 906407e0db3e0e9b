package dev.lockstep.testkit;

import java.util.List;

/**
 * The one message every discovery failure ends with: what was tried, and the exact commands that
 * start the servers on a Debian-like machine, so a failed test run tells a newcomer how to fix it.
 */
final class HowToStart {
  static final String POSTGRES_START =
      "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";
  static final String REDIS_START =
      "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no";
  static final String INSTALL = "apt-get install -y postgresql redis-server";

  /** Sentinel is redis-server's own mode ({@code --sentinel}); the package adds the command and its service files. */
  static final String REDIS_HA_INSTALL = "apt-get install -y redis-server redis-tools redis-sentinel";

  private HowToStart() {}

  /** For test support that runs Redis servers itself (a Sentinel set, a Cluster): which command is missing, and how to get it. */
  static String missing(String binary) {
    return binary + " is not on the PATH; the Redis Sentinel and Cluster tests start their own redis-server processes"
        + " (and redis-cli for the cluster).\nInstall them with:\n  " + REDIS_HA_INSTALL
        + "\n(or run scripts/services.sh, which installs what is missing)";
  }

  static String message(String server, List<String> tried, String startCommand, String environment) {
    StringBuilder text = new StringBuilder("no " + server + " server found for the tests; tried:");
    for (String attempt : tried) {
      text.append("\n  - ").append(attempt);
    }
    text.append("\nStart one locally with:\n  ").append(startCommand)
        .append("\n(install first, if needed: ").append(INSTALL).append(")")
        .append("\nor point the tests at a running server with ").append(environment)
        .append(",\nor start a Docker engine so that Testcontainers can run one.");
    return text.toString();
  }
}
