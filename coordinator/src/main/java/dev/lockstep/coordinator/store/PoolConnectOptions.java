package dev.lockstep.coordinator.store;

import dev.lockstep.coordinator.config.DatabaseTls;
import dev.lockstep.coordinator.config.DatabaseUrl;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.SslMode;

/**
 * The one place a {@link DatabaseUrl} becomes the Vert.x pool's {@link PgConnectOptions}. The pool
 * reads nothing from the URL's parameters, so each TLS setting pgjdbc reads there is set here
 * explicitly, to the same effect: {@code allow}/{@code prefer}/{@code require} encrypt without
 * checking the certificate (pgjdbc's {@code NonValidatingTM}), {@code verify-ca} checks it against
 * {@code sslrootcert}, {@code verify-full} checks the host name as well.
 *
 * <pre>{@code PgConnectOptions connect = PoolConnectOptions.of(database, "lockstep-coordinator/" + service);
 * Pool pool = PgBuilder.pool().connectingTo(connect).using(vertx).build();}</pre>
 */
public final class PoolConnectOptions {
  private PoolConnectOptions() {}

  public static PgConnectOptions of(DatabaseUrl database, String applicationName) {
    PgConnectOptions connect = new PgConnectOptions()
        .setHost(database.host()).setPort(database.port())
        .setDatabase(database.database()).setUser(database.user())
        .addProperty("application_name", applicationName);
    if (database.password() != null) {
      connect.setPassword(database.password());
    }
    DatabaseTls tls = database.tls();
    connect.setSslMode(switch (tls.mode()) {
      case DISABLE -> SslMode.DISABLE;
      case ALLOW -> SslMode.ALLOW;
      case PREFER -> SslMode.PREFER;
      case REQUIRE -> SslMode.REQUIRE;
      case VERIFY_CA -> SslMode.VERIFY_CA;
      case VERIFY_FULL -> SslMode.VERIFY_FULL;
    });
    if (tls.mode() != DatabaseTls.Mode.DISABLE) {
      connect.setSslOptions(sslOptions(tls));
    }
    return connect;
  }

  static ClientSSLOptions sslOptions(DatabaseTls tls) {
    ClientSSLOptions ssl = new ClientSSLOptions();
    if (tls.mode().verifiesCertificate()) {
      ssl.setTrustOptions(new PemTrustOptions().addCertPath(tls.rootCert().toString()));
      // "HTTPS" is the JDK's RFC 2818 check: a DNS name or an IP address in the certificate's subjectAltName.
      ssl.setHostnameVerificationAlgorithm(tls.mode() == DatabaseTls.Mode.VERIFY_FULL ? "HTTPS" : "");
    } else {
      ssl.setTrustAll(true).setHostnameVerificationAlgorithm("");
    }
    return ssl;
  }
}
