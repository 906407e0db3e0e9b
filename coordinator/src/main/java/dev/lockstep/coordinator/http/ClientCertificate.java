package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.error.LockstepException;
import io.vertx.ext.web.RoutingContext;
import java.net.URI;
import java.net.URISyntaxException;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Who a verified client certificate says the caller is, under mutual TLS ({@code --tls-client-ca}).
 *
 * <p>The convention: an <b>agent</b>'s certificate carries exactly one URI subject alternative name
 * {@code lockstep://agent/<service>/<id>} (each part percent-encoded if need be; ids and services are
 * letters, digits and {@code . _ : @ -}, so usually nothing is). Any other certificate is an
 * <b>operator</b>'s (a person or a pipeline), named by its subject's common name (CN). The subject is kept
 * whole for the audit trail.
 *
 * <pre>{@code
 * Optional<ClientCertificate> cert = ClientCertificate.of(ctx);      // empty without mutual TLS
 * cert.flatMap(ClientCertificate::agent).ifPresent(a -> check(a.service(), a.id()));
 * }</pre>
 *
 * @param subject the subject's distinguished name (RFC 2253), e.g. {@code CN=web-1,OU=agent,O=lockstep}
 * @param commonName the subject's CN, or null if it has none
 * @param serial the serial number, hexadecimal
 * @param agentIdentity the agent it names, or null for an operator's certificate
 */
public record ClientCertificate(String subject, String commonName, String serial, Agent agentIdentity) {
  /** The scheme and authority of an agent's URI name: {@code lockstep://agent/<service>/<id>}. */
  public static final String AGENT_URI_PREFIX = "lockstep://agent/";
  private static final int URI_NAME = 6;
  private static final String CONTEXT_KEY = "lockstep.clientCertificate";

  /** An agent as a certificate names it. */
  public record Agent(String service, String id) {
    @Override
    public String toString() {
      return "agent " + id + " of service " + service;
    }
  }

  public Optional<Agent> agent() {
    return Optional.ofNullable(agentIdentity);
  }

  /** The name the audit trail uses: the agent's {@code service/id}, else the CN, else the whole subject. */
  public String name() {
    return agentIdentity != null ? agentIdentity.service() + "/" + agentIdentity.id()
        : commonName != null ? commonName : subject;
  }

  /**
   * The client certificate of the request's connection, if it presented one (only under mutual TLS, where
   * the TLS layer has verified it against {@code --tls-client-ca} already). A certificate whose agent name
   * is malformed is a 403: it must not pass for an operator's.
   */
  public static Optional<ClientCertificate> of(RoutingContext ctx) {
    Optional<ClientCertificate> cached = ctx.get(CONTEXT_KEY);
    if (cached != null) {
      return cached;
    }
    Optional<ClientCertificate> found = peer(ctx.request().sslSession()).map(cert -> {
      try {
        return parse(cert);
      } catch (IllegalArgumentException e) {
        throw new LockstepException(LockstepException.Code.FORBIDDEN, e.getMessage());
      }
    });
    ctx.put(CONTEXT_KEY, found);
    return found;
  }

  private static Optional<X509Certificate> peer(SSLSession session) {
    if (session == null) {
      return Optional.empty();
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate leaf ? Optional.of(leaf) : Optional.empty();
    } catch (SSLPeerUnverifiedException none) {
      return Optional.empty();
    }
  }

  /** Reads the identity of {@code cert}; an agent URI that is malformed, or more than one, is an error naming it. */
  public static ClientCertificate parse(X509Certificate cert) {
    String subject = cert.getSubjectX500Principal().getName();
    List<Agent> agents = new ArrayList<>();
    for (String uri : uriNames(cert)) {
      if (uri.regionMatches(true, 0, "lockstep:", 0, "lockstep:".length())) {
        agents.add(agentOf(subject, uri));
      }
    }
    if (agents.size() > 1) {
      throw new IllegalArgumentException("client certificate " + subject + " names " + agents.size()
          + " agents (" + agents + "); an agent's certificate names exactly one, " + AGENT_URI_PREFIX + "<service>/<id>");
    }
    return new ClientCertificate(subject, commonName(subject), cert.getSerialNumber().toString(16),
        agents.isEmpty() ? null : agents.get(0));
  }

  /** {@code lockstep://agent/<service>/<id>}, nothing more (no query, no fragment, no user, no port). */
  static Agent agentOf(String subject, String text) {
    String problem = "client certificate " + subject + " has the URI name '" + Names.printable(text)
        + "', which is not " + AGENT_URI_PREFIX + "<service>/<id>";
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(problem);
    }
    if (!"lockstep".equalsIgnoreCase(uri.getScheme()) || !"agent".equals(uri.getRawAuthority()) || uri.getRawQuery() != null
        || uri.getRawFragment() != null || uri.getRawPath() == null) {
      throw new IllegalArgumentException(problem);
    }
    String[] parts = uri.getRawPath().split("/", -1);
    if (parts.length != 3 || !parts[0].isEmpty()) {
      throw new IllegalArgumentException(problem);
    }
    try {
      String service = Names.service("the service of " + text, decode(parts[1]));
      String id = Names.agentId("the agent id of " + text, decode(parts[2]));
      return new Agent(service, id);
    } catch (LockstepException e) {
      throw new IllegalArgumentException(problem + ": " + e.getMessage());
    }
  }

  private static String decode(String segment) {
    return java.net.URLDecoder.decode(segment.replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
  }

  private static List<String> uriNames(X509Certificate cert) {
    try {
      Collection<List<?>> names = cert.getSubjectAlternativeNames();
      if (names == null) {
        return List.of();
      }
      return names.stream().filter(n -> n.size() >= 2 && n.get(0) instanceof Integer type && type == URI_NAME)
          .map(n -> String.valueOf(n.get(1))).toList();
    } catch (CertificateParsingException e) {
      throw new IllegalArgumentException("client certificate " + cert.getSubjectX500Principal().getName()
          + " has subject alternative names that cannot be read: " + e.getMessage());
    }
  }

  private static String commonName(String subject) {
    try {
      // LdapName lists the RDNs right to left; the most specific CN is the leftmost one of the DN.
      List<Rdn> rdns = new LdapName(subject).getRdns();
      for (int i = rdns.size() - 1; i >= 0; i--) {
        if (rdns.get(i).getType().equalsIgnoreCase("CN")) {
          return String.valueOf(rdns.get(i).getValue());
        }
      }
    } catch (InvalidNameException e) {
      return null;
    }
    return null;
  }
}
