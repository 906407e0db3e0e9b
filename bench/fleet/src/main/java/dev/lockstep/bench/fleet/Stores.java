package dev.lockstep.bench.fleet;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The bench's own databases and Redis keys, through {@code psql} and {@code redis-cli}: a fresh database per fleet
 * size, dropped afterwards, and the keys of the bench's services deleted — never anything the bench did not create.
 */
final class Stores {
  private final BenchOptions options;

  Stores(BenchOptions options) {
    this.options = options;
  }

  String databaseUrl(String database) {
    return "postgresql://" + options.pgUser() + "@" + options.pgHost() + ":" + options.pgPort() + "/" + database;
  }

  void createDatabase(String database) throws IOException, InterruptedException {
    psql("CREATE DATABASE " + database);
  }

  void dropDatabase(String database) throws IOException, InterruptedException {
    psql("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
  }

  private void psql(String sql) throws IOException, InterruptedException {
    run(List.of("psql", "-h", options.pgHost(), "-p", String.valueOf(options.pgPort()), "-U", options.pgUser(),
        "-d", "postgres", "-qc", sql));
  }

  /** Deletes the keys that name {@code service} (its registry hash, lock, …); the bench's services are its own. */
  void forgetService(String service) throws IOException, InterruptedException {
    java.net.URI redis = java.net.URI.create(options.redisUrl());
    List<String> cli = List.of("redis-cli", "-h", redis.getHost(), "-p", String.valueOf(redis.getPort()));
    List<String> scan = new ArrayList<>(cli);
    scan.addAll(List.of("--scan", "--pattern", "lockstep:*:" + service));
    String keys = run(scan);
    for (String key : keys.split("\n")) {
      if (!key.isBlank()) {
        List<String> del = new ArrayList<>(cli);
        del.addAll(List.of("del", key.trim()));
        run(del);
      }
    }
  }

  static String run(List<String> command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (process.waitFor() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + out.strip());
    }
    return out;
  }
}
