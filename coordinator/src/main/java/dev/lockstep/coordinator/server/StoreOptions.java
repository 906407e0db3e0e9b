package dev.lockstep.coordinator.server;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.config.RedisUrl;
import dev.lockstep.coordinator.store.RedisOptions;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The stores {@code serve} uses: the application's PostgreSQL ({@code --database-url}) and Redis ({@code --redis-url},
 * {@code --redis-ca-cert}).
 */
public final class StoreOptions {
  @Option(names = "--database-url", defaultValue = "${env:LOCKSTEP_DATABASE_URL:-${env:DATABASE_URL}}",
      description = "postgresql://user:pass@host:port/db or jdbc:postgresql:… (env LOCKSTEP_DATABASE_URL, else DATABASE_URL)")
  String databaseUrl;

  @Option(names = "--redis-url", defaultValue = "${env:LOCKSTEP_REDIS_URL:-redis://127.0.0.1:6379}",
      description = "redis://[[USER]:PASSWORD@]host:port, or rediss://… for TLS; Sentinel:"
          + " redis-sentinel://[[USER]:PASSWORD@]h1:26379,h2:26379[/DB]#MASTER; Cluster: redis-cluster://h1:6379,h2:6379"
          + " (env LOCKSTEP_REDIS_URL, default redis://127.0.0.1:6379)")
  String redisUrl;

  @Option(names = "--redis-ca-cert", defaultValue = "${env:LOCKSTEP_REDIS_CA_CERT}",
      description = "PEM file of the CA(s) that signed a rediss:// server's certificate, instead of the JDK's trusted CAs"
          + " (env LOCKSTEP_REDIS_CA_CERT)")
  Path redisCaCert;


  DatabaseUrl database() {
    return DatabaseUrl.parse(databaseUrl);
  }

  /** Redis's URL and TLS; a malformed URL is an error naming it. */
  RedisOptions redis() {
    return RedisOptions.of(RedisUrl.parse(redisUrl), redisCaCert);
  }
}
