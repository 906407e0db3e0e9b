package dev.lockstep.testkit;

import org.testcontainers.DockerClientFactory;

/**
 * Whether Testcontainers can reach a Docker engine, asked once per JVM: without an engine the answer
 * takes a while and logs a warning, and both Postgres and Redis discovery may ask.
 */
final class Docker {
  private static volatile Boolean available;

  private Docker() {}

  static boolean available() {
    Boolean answer = available;
    if (answer == null) {
      synchronized (Docker.class) {
        answer = available;
        if (answer == null) {
          try {
            answer = DockerClientFactory.instance().isDockerAvailable();
          } catch (RuntimeException | LinkageError e) {
            answer = false;
          }
          available = answer;
        }
      }
    }
    return answer;
  }
}
