package dev.lockstep.coordinator.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Where Redis is, parsed from {@code --redis-url} into addresses without credentials and the credentials apart.
 * Redisson is given them apart because it prints its addresses in its own error messages (which reach logs and 503
 * details); a password in an address would go with it. {@link #toString()} never shows the password.
 *
 * <p>Three forms (DESIGN.md, <i>Past one machine</i>):
 * <ul>
 *   <li>one server: {@code redis://[[user]:password@]host:port[/db]}, or {@code rediss://} for TLS;</li>
 *   <li>Redis Sentinel, as Lettuce writes it: {@code redis-sentinel://[[user:]password@]h1[:26379],h2[:26379][/db]#master}
 *       — the sentinels to ask, and the name they monitor the primary by;</li>
 *   <li>Redis Cluster: {@code redis-cluster://[[user:]password@]h1[:6379],h2[:6379]} — some nodes to learn the
 *       cluster from (one that answers is enough); a cluster has only database 0.</li>
 * </ul>
 * The password is the data nodes'. Sentinels are asked without one, and with the same credentials if they ask for
 * them (Redisson does the same). TLS forms of Sentinel and Cluster are refused: see {@link #parse}.
 *
 * <pre>{@code RedisUrl redis = RedisUrl.parse("redis-sentinel://:s3cret@s1:26379,s2:26379/2#orders");
 * redis.kind();       // SENTINEL
 * redis.addresses();  // [redis://s1:26379, redis://s2:26379]
 * redis.masterName(); // orders
 * redis.toString();   // redis-sentinel://:***@s1:26379,s2:26379/2#orders}</pre>
 *
 * <p>Userinfo without a colon ({@code redis://s3cret@cache}) is taken as a password, as most Redis
 * clients take it.
 *
 * @param addresses {@code redis://host:port} each: the one server (with its {@code /db} if given), the sentinels, or the
 *     cluster nodes
 * @param database the database of a Sentinel URL ({@code /db}), else null (a one-server URL keeps its own in its address)
 * @param masterName the name the sentinels monitor the primary by; null unless {@link Kind#SENTINEL}
 */
public record RedisUrl(Kind kind, List<String> addresses, String username, String password, Integer database,
                       String masterName) {

  /** Which form of Redis the URL names. */
  public enum Kind {
    SINGLE("redis"), SENTINEL("redis-sentinel"), CLUSTER("redis-cluster");

    final String scheme;

    Kind(String scheme) {
      this.scheme = scheme;
    }
  }

  static final int SENTINEL_PORT = 26379;
  static final int CLUSTER_PORT = 6379;
  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9._-]+|\\[[0-9A-Fa-f:.]+]");

  public RedisUrl {
    addresses = List.copyOf(addresses);
  }

  /** One server without a database of its own: {@code address} as {@code redis://host:port}. */
  public RedisUrl(String address, String username, String password) {
    this(Kind.SINGLE, List.of(address), username, password, null, null);
  }

  /**
   * @throws IllegalArgumentException naming what is wrong (a missing {@code #master}, no hosts, a database given for a
   *     cluster, a bad port…), never the password
   */
  public static RedisUrl parse(String text) {
    if (text != null && (text.startsWith("rediss-sentinel://") || text.startsWith("rediss-cluster://"))) {
      // Redisson takes TLS for sentinels and cluster nodes from the addresses' scheme, but no test here runs a TLS
      // sentinel set or cluster; refused rather than offered untried.
      throw new IllegalArgumentException("--redis-url " + scheme(text) + " (TLS to Redis Sentinel or Cluster) is not"
          + " supported yet: use redis-sentinel:// or redis-cluster:// on a trusted network, or rediss:// to one server");
    }
    if (text != null && text.startsWith(Kind.SENTINEL.scheme + "://")) {
      return parseSeveral(Kind.SENTINEL, text);
    }
    if (text != null && text.startsWith(Kind.CLUSTER.scheme + "://")) {
      return parseSeveral(Kind.CLUSTER, text);
    }
    return parseSingle(text);
  }

  private static RedisUrl parseSingle(String text) {
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

  /**
   * {@code scheme://[userinfo@]h1[:p1],h2[:p2][/db][#master]}, read by hand: {@link URI} takes no list of hosts. The
   * userinfo ends at the last {@code @} and the master name starts at the last {@code #}, so a password holding
   * neither needs no encoding; everything but the userinfo may be shown in an error.
   */
  private static RedisUrl parseSeveral(Kind kind, String text) {
    String rest = text.substring(kind.scheme.length() + 3);
    String master = null;
    int hash = rest.lastIndexOf('#');
    if (hash >= 0 && hash > rest.lastIndexOf('@')) {
      master = decode(rest.substring(hash + 1));
      rest = rest.substring(0, hash);
    }
    String user = null;
    String password = null;
    int at = rest.lastIndexOf('@');
    if (at >= 0) {
      String info = rest.substring(0, at);
      rest = rest.substring(at + 1);
      int colon = info.indexOf(':');
      try {
        user = colon <= 0 ? null : decode(info.substring(0, colon));
        password = decode(colon < 0 ? info : info.substring(colon + 1));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--redis-url " + kind.scheme + "://…: the user or password is not"
            + " percent-encoded correctly (write % as %25)");
      }
    }
    String shown = kind.scheme + "://" + (at >= 0 ? "…@" : "") + rest + (master == null ? "" : "#" + master);
    if (rest.contains("?")) {
      throw new IllegalArgumentException("--redis-url " + shown + ": query options are not read; give the"
          + (kind == Kind.SENTINEL ? " database as /N and the master name as #NAME" : " nodes only"));
    }
    int slash = rest.indexOf('/');
    String hosts = slash < 0 ? rest : rest.substring(0, slash);
    Integer database = slash < 0 ? null : database(rest.substring(slash + 1), shown);
    int defaultPort = kind == Kind.SENTINEL ? SENTINEL_PORT : CLUSTER_PORT;
    List<String> addresses = new ArrayList<>();
    for (String host : hosts.split(",", -1)) {
      if (!host.isEmpty()) {
        addresses.add(address(host, defaultPort, shown));
      }
    }
    if (addresses.isEmpty()) {
      throw new IllegalArgumentException("--redis-url " + shown + " names no " + (kind == Kind.SENTINEL ? "sentinel"
          : "cluster node") + ": list them as " + kind.scheme + "://h1:" + defaultPort + ",h2:" + defaultPort
          + (kind == Kind.SENTINEL ? "#MASTER" : ""));
    }
    if (kind == Kind.SENTINEL) {
      if (master == null || master.isBlank()) {
        throw new IllegalArgumentException("--redis-url " + shown + " names no master: end it with #NAME, the name the"
            + " sentinels monitor the primary by (sentinel monitor NAME … in sentinel.conf)");
      }
      return new RedisUrl(kind, addresses, user, password, database == null ? 0 : database, master);
    }
    if (master != null) {
      throw new IllegalArgumentException("--redis-url " + shown + ": a cluster has no master name; drop #" + master);
    }
    if (database != null && database != 0) {
      throw new IllegalArgumentException("--redis-url " + shown + ": Redis Cluster has only database 0; drop /" + database);
    }
    return new RedisUrl(kind, addresses, user, password, null, null);
  }

  private static Integer database(String text, String shown) {
    if (text.isEmpty()) {
      return null;
    }
    try {
      int db = Integer.parseInt(text);
      if (db >= 0) {
        return db;
      }
    } catch (NumberFormatException e) {
      // refused below
    }
    throw new IllegalArgumentException("--redis-url " + shown + ": the database after / must be a number (0, 1, …),"
        + " got '" + text + "'");
  }

  private static String address(String host, int defaultPort, String shown) {
    int colon = host.lastIndexOf(':');
    String name = host;
    int port = defaultPort;
    if (colon > host.lastIndexOf(']')) {
      name = host.substring(0, colon);
      try {
        port = Integer.parseInt(host.substring(colon + 1));
      } catch (NumberFormatException e) {
        port = -1;
      }
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("--redis-url " + shown + ": '" + host + "' has no valid port (1–65535)");
      }
    }
    if (!HOST.matcher(name).matches()) {
      throw new IllegalArgumentException("--redis-url " + shown + ": '" + host + "' is not a host name or address");
    }
    return "redis://" + name + ":" + port;
  }

  /** The one server's address, with its {@code /db} if given; for Sentinel and Cluster, the first address listed. */
  public String address() {
    return addresses.get(0);
  }

  /** Whether the URL asks for TLS ({@code rediss://}). */
  public boolean tls() {
    return address().startsWith("rediss://");
  }

  /** The URL with the password replaced by {@code ***}: the only form that may reach a log. */
  @Override
  public String toString() {
    String credentials = password == null ? "" : (username == null ? "" : username) + ":***@";
    if (kind == Kind.SINGLE) {
      int host = address().indexOf("://") + 3;
      return address().substring(0, host) + credentials + address().substring(host);
    }
    StringBuilder text = new StringBuilder(kind.scheme).append("://").append(credentials);
    text.append(String.join(",", addresses.stream().map(a -> a.substring("redis://".length())).toList()));
    if (database != null && database != 0) {
      text.append('/').append(database);
    }
    return masterName == null ? text.toString() : text.append('#').append(masterName).toString();
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }

  private static String scheme(String text) {
    return text.substring(0, text.indexOf("://") + 3) + "…";
  }

  // The text may hold a password anywhere: show no more than its scheme.
  private static IllegalArgumentException invalid(String text) {
    int scheme = text == null ? -1 : text.indexOf("://");
    String shown = scheme < 0 ? "" : " (got " + text.substring(0, scheme + 3) + "…)";
    return new IllegalArgumentException("--redis-url must look like redis://host:6379, redis://:PASSWORD@host:6379,"
        + " rediss://USER:PASSWORD@host:6380, redis-sentinel://[:PASSWORD@]h1:26379,h2:26379[/DB]#MASTER or"
        + " redis-cluster://[:PASSWORD@]h1:6379,h2:6379" + shown);
  }
}
