package dev.lockstep.coordinator.server;

import dev.lockstep.coordinator.tls.TlsFiles;
import dev.lockstep.protocol.Durations;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * Where {@code serve} listens, and the TLS it serves with: {@code --port}, {@code --host}, {@code --tls-*}.
 */
public final class ListenOptions {
  @Option(names = "--port", defaultValue = "${env:LOCKSTEP_PORT:-7070}", description = "HTTP port, HTTPS with --tls-cert (env LOCKSTEP_PORT, default 7070)")
  int port;

  @Option(names = "--host", defaultValue = "${env:LOCKSTEP_HOST:-0.0.0.0}",
      description = "address to listen on, e.g. 127.0.0.1 for local use only (env LOCKSTEP_HOST, default 0.0.0.0)")
  String host;

  @Option(names = "--tls-cert", defaultValue = "${env:LOCKSTEP_TLS_CERT}",
      description = "PEM certificate (chain) to serve HTTPS with, on --port; reloaded when the file changes"
          + " (env LOCKSTEP_TLS_CERT)")
  Path tlsCert;

  @Option(names = "--tls-key", defaultValue = "${env:LOCKSTEP_TLS_KEY}",
      description = "PEM private key of --tls-cert; reloaded when the file changes (env LOCKSTEP_TLS_KEY)")
  Path tlsKey;

  @Option(names = "--tls-client-ca", defaultValue = "${env:LOCKSTEP_TLS_CLIENT_CA}",
      description = "PEM CA for mutual TLS: every client must present a certificate it signed, and an agent's must name"
          + " that agent (env LOCKSTEP_TLS_CLIENT_CA)")
  Path tlsClientCa;

  @Option(names = "--tls-reload-interval", defaultValue = "${env:LOCKSTEP_TLS_RELOAD_INTERVAL:-5s}",
      description = "how often the TLS files are read for a renewed certificate (default 5s)")
  String tlsReloadInterval;


  @Option(names = "--http-loops", defaultValue = "${env:LOCKSTEP_HTTP_LOOPS:-0}",
      description = "event loops serving the HTTP API, each with its own server on --port; 0 means one per core"
          + " (env LOCKSTEP_HTTP_LOOPS, default 0)")
  int httpLoops;

  /** {@code --http-loops}, with 0 read as the machine's cores. */
  int httpLoops() {
    if (httpLoops < 0 || httpLoops > 64) {
      throw new IllegalArgumentException("--http-loops must be 0 (one per core) to 64 (got " + httpLoops + ")");
    }
    return httpLoops == 0 ? Runtime.getRuntime().availableProcessors() : httpLoops;
  }

  /** The certificate files to serve HTTPS with, or null for plain HTTP; a half-given pair is an error naming the flag. */
  TlsFiles tlsFiles() {
    return TlsFiles.of(tlsCert, tlsKey, tlsClientCa);
  }

  Duration tlsReload() {
    Duration interval = Durations.parse(tlsReloadInterval);
    if (interval.isZero()) {
      throw new IllegalArgumentException("--tls-reload-interval must be more than 0 (got " + tlsReloadInterval + ")");
    }
    return interval;
  }
}
