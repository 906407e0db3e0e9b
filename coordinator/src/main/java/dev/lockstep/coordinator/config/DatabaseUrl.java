package dev.lockstep.coordinator.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where the application's database is, parsed from either {@code postgresql://user:pass@host:port/db}
 * (the form most platforms hand out in {@code DATABASE_URL}) or a {@code jdbc:postgresql:} URL.
 * {@link #toString()} never shows the password. Its TLS settings ({@code sslmode}, {@code sslrootcert})
 * are read once, into {@link #tls()}, which every connection the coordinator opens follows.
 *
 * <pre>{@code DatabaseUrl db = DatabaseUrl.parse("postgresql://app:secret@db:5432/shop");
 * db.jdbcUrl(); // jdbc:postgresql://db:5432/shop}</pre>
 */
public record DatabaseUrl(String host, int port, String database, String user, String password, Map<String, String> params,
                          DatabaseTls tls) {

  public DatabaseUrl {
    // In the URL's order, so the JDBC URL built from it reads as the operator wrote it.
    params = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(params));
  }

  public static DatabaseUrl parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException(
          "no database URL; pass --database-url or set LOCKSTEP_DATABASE_URL (or DATABASE_URL), e.g. postgresql://user:pass@host:5432/db");
    }
    String raw = text.trim();
    if (raw.startsWith("jdbc:")) {
      raw = raw.substring("jdbc:".length());
    }
    if (raw.startsWith("postgres://")) {
      raw = "postgresql://" + raw.substring("postgres://".length());
    }
    if (!raw.startsWith("postgresql://")) {
      throw new IllegalArgumentException("database URL must start with postgresql:// or jdbc:postgresql:// (got " + redact(text) + ")");
    }
    URI uri;
    try {
      uri = new URI(raw);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("malformed database URL " + redact(text) + ": " + e.getReason());
    }
    String host = uri.getHost() == null ? "localhost" : uri.getHost();
    int port = uri.getPort() < 0 ? 5432 : uri.getPort();
    String path = uri.getPath() == null ? "" : uri.getPath();
    String database = path.startsWith("/") ? path.substring(1) : path;
    if (database.isEmpty()) {
      throw new IllegalArgumentException("database URL " + redact(text) + " names no database; add /dbname after the host");
    }
    Map<String, String> params = new LinkedHashMap<>();
    if (uri.getRawQuery() != null) {
      for (String pair : uri.getRawQuery().split("&")) {
        int eq = pair.indexOf('=');
        if (eq > 0) {
          params.put(decode(pair.substring(0, eq)), decode(pair.substring(eq + 1)));
        }
      }
    }
    String user = params.remove("user");
    String password = params.remove("password");
    if (uri.getRawUserInfo() != null) {
      String info = uri.getRawUserInfo();
      int colon = info.indexOf(':');
      user = decode(colon < 0 ? info : info.substring(0, colon));
      password = colon < 0 ? null : decode(info.substring(colon + 1));
    }
    if (user == null || user.isEmpty()) {
      user = "postgres";
    }
    String shown = new DatabaseUrl(host, port, database, user, password, params, null).toString();
    return new DatabaseUrl(host, port, database, user, password, params, DatabaseTls.of(params, shown));
  }

  public String jdbcUrl() {
    StringBuilder url = new StringBuilder("jdbc:postgresql://").append(host).append(':').append(port).append('/').append(database);
    if (!params.isEmpty()) {
      url.append('?');
      // Encoded: pgjdbc decodes each value, and a path (sslrootcert) may hold '&', '%' or spaces.
      params.forEach((k, v) -> url.append(encode(k)).append('=').append(encode(v)).append('&'));
      url.setLength(url.length() - 1);
    }
    return url.toString();
  }

  /**
   * A libpq URL with the password, for a child process such as the backup command's {@code pg_dump}
   * (its environment only: never a log, a document or an argument list, which {@code ps} shows).
   */
  public String libpqUrl() {
    StringBuilder url = new StringBuilder("postgresql://").append(encode(user));
    if (password != null) {
      url.append(':').append(encode(password));
    }
    url.append('@').append(host).append(':').append(port).append('/').append(encode(database));
    // The effective sslmode always, spelled out: libpq has no "ssl" parameter, and pgjdbc's ssl=true means verify-full.
    url.append("?sslmode=").append(tls.mode().value());
    if (tls.rootCert() != null) {
      url.append("&sslrootcert=").append(encode(tls.rootCert().toString()));
    }
    params.forEach((k, v) -> {
      if (!DatabaseTls.PARAMETERS.contains(k)) {
        url.append('&').append(encode(k)).append('=').append(encode(v));
      }
    });
    return url.toString();
  }

  private static String encode(String s) {
    return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** The URL with the password replaced by {@code ***}: the only form that may reach a log. */
  @Override
  public String toString() {
    String shown = "postgresql://" + user + (password == null ? "" : ":***") + "@" + host + ":" + port + "/" + database;
    // The TLS mode when it is not pgjdbc's default, so an error line says how the coordinator tried to connect.
    return tls == null || tls.mode() == DatabaseTls.Mode.PREFER ? shown : shown + "?sslmode=" + tls.mode().value();
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }

  /** Best-effort redaction for error messages about a URL we could not even parse. */
  static String redact(String text) {
    return text.replaceAll("(//[^:/@]*:)[^@]*@", "$1***@").replaceAll("(?i)(password=)[^&]*", "$1***");
  }
}
