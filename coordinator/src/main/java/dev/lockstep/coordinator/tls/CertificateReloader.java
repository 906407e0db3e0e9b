package dev.lockstep.coordinator.tls;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the HTTPS server on the current certificate: every {@code interval} it reads the TLS files, and
 * when their content changed and the new files check out it hands them to the running server
 * ({@link HttpServer#updateSSLOptions}). New connections get the new certificate; open ones keep theirs;
 * nothing restarts. A new set that does not check out (a key of another certificate, a half-written file)
 * is logged once in one line and the server keeps the last good one. Content, not modification times,
 * decides, so a copy that keeps the time, or a change within one second, is still seen.
 *
 * <pre>{@code
 * CertificateReloader reloader = new CertificateReloader(vertx, server, material, Duration.ofSeconds(5));
 * reloader.start();
 * }</pre>
 */
public final class CertificateReloader {
  private static final Logger log = LoggerFactory.getLogger(CertificateReloader.class);

  private final Vertx vertx;
  private final java.util.List<HttpServer> servers;
  private final Duration interval;
  private final AtomicReference<TlsMaterial> current;
  /** The content last refused, so a broken set that stays is not checked again every interval. */
  private volatile TlsMaterial.Contents refused;
  /** The problem last logged, so one that stays is logged once, not every interval. */
  private String lastProblem;
  private boolean checking;
  private long timer = -1;

  /** {@code servers}: every event loop's server on the port (ApiServer); each gets the renewed certificate. */
  public CertificateReloader(Vertx vertx, java.util.List<HttpServer> servers, TlsMaterial initial, Duration interval) {
    this.vertx = vertx;
    this.servers = java.util.List.copyOf(servers);
    this.interval = interval;
    this.current = new AtomicReference<>(initial);
  }

  /** Starts polling; call from the server's context. */
  public void start() {
    timer = vertx.setPeriodic(interval.toMillis(), id -> check());
  }

  public void stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
  }

  /** Reads the files once and reloads if they changed; true if the server now has a new certificate. */
  Future<Boolean> check() {
    if (checking) {
      return Future.succeededFuture(false);
    }
    checking = true;
    TlsFiles files = current.get().files();
    return vertx.executeBlocking(() -> {
      TlsMaterial.Contents contents = TlsMaterial.Contents.read(files);
      if (contents.equals(current.get().contents()) || contents.equals(refused)) {
        return null;
      }
      try {
        return TlsMaterial.of(vertx, files, contents);
      } catch (TlsFileException e) {
        refused = contents;
        throw e;
      }
    }).compose(fresh -> fresh == null ? Future.succeededFuture(false)
        : Future.all(servers.stream().map(server -> server.updateSSLOptions(fresh.sslOptions())).toList()).map(updated -> {
          TlsMaterial old = current.getAndSet(fresh);
          lastProblem = null;
          log.info("TLS certificate reloaded: new connections get {}; was {}", fresh.describe(), old.describe());
          return true;
        })).recover(e -> {
          String problem = String.valueOf(e.getMessage());
          if (!problem.equals(lastProblem)) {
            lastProblem = problem;
            log.warn("TLS files changed but cannot be used; keeping {}: {}", current.get().describe(), problem);
          }
          return Future.succeededFuture(false);
        }).onComplete(x -> checking = false);
  }
}
