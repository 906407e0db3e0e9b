package dev.lockstep.coordinator.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * Where Redis is, parsed from {@code redis://[[user]:password@]host:port[/db]} (or {@code rediss://}
 * for TLS) into an address without credentials and the credentials apart. Redisson is given them
 * apart because it prints its address in its own error messages (which reach logs and 503 details);
 * a password in that address would go with it. {@link #toString()} never shows the password.
 *
 * <pre>{@code RedisUrl redis = RedisUrl.parse("redis://:s3cret@cache:6379");
 * redis.address();  // redis://cache:6379
 * redis.password(); // s3cret
 * redis.toString(); // redis://:***@cache:6379}</pre>
 *
 * <p>Userinfo without a colon ({@code redis://s3cret@cache}) is taken as a password, as most Redis
 * clients take it.
 */
public record RedisUrl(String address, String username, String password) {

  public static RedisUrl parse(String text) {
    if (text == null || !(text.startsWith("redis://") || text.startsWith("rediss://"))) {
      throw invalid(text);
    }
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      throw invalid(text);
    }
    if (uri.getHost() == null) {
      throw invalid(text);
    }
    String address = uri.getScheme() + "://" + (uri.getRawAuthority().contains("@")
        ? uri.getRawAuthority().substring(uri.getRawAuthority().lastIndexOf('@') + 1) : uri.getRawAuthority())
        + (uri.getRawPath() == null ? "" : uri.getRawPath());
    String info = uri.getRawUserInfo();
    if (info == null) {
      return new RedisUrl(address, null, null);
    }
    int colon = info.indexOf(':');
    String user = colon <= 0 ? null : decode(info.substring(0, colon));
    return new RedisUrl(address, user, decode(colon < 0 ? info : info.substring(colon + 1)));
  }

  /** Whether the URL asks for TLS ({@code rediss://}). */
  public boolean tls() {
    return address.startsWith("rediss://");
  }

  /** The URL with the password replaced by {@code ***}: the only form that may reach a log. */
  @Override
  public String toString() {
    if (password == null) {
      return address;
    }
    int host = address.indexOf("://") + 3;
    return address.substring(0, host) + (username == null ? "" : username) + ":***@" + address.substring(host);
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }

  // The text may hold a password anywhere: show no more than its scheme.
  private static IllegalArgumentException invalid(String text) {
    int scheme = text == null ? -1 : text.indexOf("://");
    String shown = scheme < 0 ? "" : " (got " + text.substring(0, scheme + 3) + "…)";
    return new IllegalArgumentException("--redis-url must look like redis://host:6379, redis://:PASSWORD@host:6379"
        + " or rediss://USER:PASSWORD@host:6380" + shown);
  }
}
