package dev.lockstep.agent;

import dev.lockstep.protocol.Durations;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code java -jar lockstep-agent.jar}: reads flags (each also an environment variable), builds an
 * {@link AgentConfig} and runs one {@link Agent} until the process is stopped. Bad flags exit 2.
 *
 * <pre>{@code
 * java -jar lockstep-agent.jar --coordinator https://coord-1:7070,https://coord-2:7070 --token "$T" \
 *     --ca-cert /etc/lockstep/ca.crt --client-cert /etc/lockstep/agent.crt --client-key /etc/lockstep/agent.key \
 *     --revision-command 'cat /srv/app/REVISION' --migrations /srv/app/db/migrations \
 *     --on-prepare /srv/app/bin/stage --on-switch /srv/app/bin/switch --on-abort /srv/app/bin/unstage
 * }</pre>
 */
@Command(
    name = "lockstep-agent",
    mixinStandardHelpOptions = true,
    versionProvider = AgentMain.Version.class,
    sortOptions = false,
    usageHelpWidth = 100,
    description = {
        "Runs beside an app server: reports its code revision and state to the Lockstep coordinator,",
        "follows the service's desired state and runs the local prepare, switch and abort hooks.",
        "Every flag can also be given as the environment variable named after it."})
public final class AgentMain implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(AgentMain.class);

  @Spec
  CommandSpec spec;

  @Option(names = "--coordinator", paramLabel = "URL[,URL...]", split = ",", hideParamSyntax = true,
      defaultValue = "${env:LOCKSTEP_COORDINATOR}",
      description = "Coordinator URLs, tried in turn on failure (env LOCKSTEP_COORDINATOR). Required.")
  List<String> coordinators;

  @Option(names = "--id", paramLabel = "ID", defaultValue = "${env:LOCKSTEP_AGENT_ID}",
      description = "This agent's id (env LOCKSTEP_AGENT_ID; default: the host name).")
  String id;

  @Option(names = "--service", paramLabel = "NAME", defaultValue = "${env:LOCKSTEP_SERVICE:-app}",
      description = "The service this server belongs to (env LOCKSTEP_SERVICE; default: ${DEFAULT-VALUE}).")
  String service;

  @Option(names = "--revision", paramLabel = "REV", defaultValue = "${env:LOCKSTEP_REVISION}",
      description = "The code revision deployed here (env LOCKSTEP_REVISION).")
  String revision;

  @Option(names = "--revision-command", paramLabel = "CMD", defaultValue = "${env:LOCKSTEP_REVISION_COMMAND}",
      description = "A shell command printing the deployed revision, run at start and after every switch "
          + "(env LOCKSTEP_REVISION_COMMAND). Give exactly one of --revision and --revision-command.")
  String revisionCommand;

  @Option(names = "--token", paramLabel = "TOKEN", defaultValue = "${env:LOCKSTEP_AGENT_TOKEN}",
      description = "This agent's bearer token, from `lockstep agent-token --service S --id ID` (env LOCKSTEP_AGENT_TOKEN). Required.")
  String token;

  @Option(names = "--ca-cert", paramLabel = "FILE", defaultValue = "${env:LOCKSTEP_CA_CERT}",
      description = "PEM CA certificate to trust for https:// coordinators (env LOCKSTEP_CA_CERT; "
          + "default: the JVM's trust store).")
  Path caCert;

  @Option(names = "--client-cert", paramLabel = "FILE", defaultValue = "${env:LOCKSTEP_CLIENT_CERT}",
      description = "PEM client certificate for mutual TLS, naming this agent as lockstep://agent/SERVICE/ID "
          + "(env LOCKSTEP_CLIENT_CERT).")
  Path clientCert;

  @Option(names = "--client-key", paramLabel = "FILE", defaultValue = "${env:LOCKSTEP_CLIENT_KEY}",
      description = "PEM private key of --client-cert (env LOCKSTEP_CLIENT_KEY).")
  Path clientKey;

  @Option(names = "--migrations", paramLabel = "DIR", defaultValue = "${env:LOCKSTEP_MIGRATIONS}",
      description = "The migrations folder this server stages; its digest is reported after prepare "
          + "(env LOCKSTEP_MIGRATIONS).")
  Path migrations;

  @Option(names = "--on-prepare", paramLabel = "CMD", defaultValue = "${env:LOCKSTEP_ON_PREPARE}",
      description = "Hook that stages the new code (env LOCKSTEP_ON_PREPARE).")
  String onPrepare;

  @Option(names = "--on-switch", paramLabel = "CMD", defaultValue = "${env:LOCKSTEP_ON_SWITCH}",
      description = "Hook that switches to the new code (env LOCKSTEP_ON_SWITCH).")
  String onSwitch;

  @Option(names = "--on-abort", paramLabel = "CMD", defaultValue = "${env:LOCKSTEP_ON_ABORT}",
      description = "Hook that unstages after an aborted or failed release (env LOCKSTEP_ON_ABORT).")
  String onAbort;

  @Option(names = "--hook-timeout", paramLabel = "DURATION", converter = DurationConverter.class,
      defaultValue = "${env:LOCKSTEP_HOOK_TIMEOUT:-60s}",
      description = "How long a hook may run before it is killed, e.g. 500ms, 30s, 2m "
          + "(env LOCKSTEP_HOOK_TIMEOUT; default: ${DEFAULT-VALUE}).")
  Duration hookTimeout;

  @Option(names = "--report-interval", paramLabel = "DURATION", converter = DurationConverter.class,
      defaultValue = "${env:LOCKSTEP_REPORT_INTERVAL:-2s}",
      description = "How often to report when nothing changes (env LOCKSTEP_REPORT_INTERVAL; "
          + "default: ${DEFAULT-VALUE}).")
  Duration reportInterval;

  @Option(names = "--readiness-port", paramLabel = "PORT", defaultValue = "${env:LOCKSTEP_READINESS_PORT}",
      description = "Readiness mode, for replicas of an image (a pod's sidecar): serve GET /ready (200 when this "
          + "instance should take traffic, else 503) and GET /live on this port; new instances turn ready and old "
          + "ones un-ready at a release's switch (env LOCKSTEP_READINESS_PORT).")
  Integer readinessPort;

  @Option(names = "--ephemeral", negatable = true, defaultValue = "${env:LOCKSTEP_EPHEMERAL}",
      description = "This instance never comes back under its id (a pod): leave the registry on SIGTERM, and be "
          + "forgotten rather than kept as lost when silent (env LOCKSTEP_EPHEMERAL; default: on with "
          + "--readiness-port, off otherwise).")
  Boolean ephemeral;

  public static void main(String[] args) {
    int code = commandLine().execute(args);
    // On success the agent keeps running on Vert.x's threads until the process is stopped.
    if (code != 0) {
      System.exit(code);
    }
  }

  /** The command line with a short answer to bad flags: what is wrong, and where the help is (exit 2). */
  static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new AgentMain());
    commandLine.setParameterExceptionHandler((e, args) -> {
      CommandLine failed = e.getCommandLine();
      failed.getErr().println("lockstep-agent: " + e.getMessage());
      failed.getErr().println("Run 'lockstep-agent --help' for the flags and their environment variables.");
      return failed.getCommandSpec().exitCodeOnInvalidInput();
    });
    return commandLine;
  }

  @Override
  public Integer call() {
    AgentConfig config = toConfig();
    Vertx vertx = Vertx.vertx(new VertxOptions()
        .setEventLoopPoolSize(1)
        .setWorkerPoolSize(2)
        .setInternalBlockingPoolSize(2)
        // The agent serves no files: don't let Vert.x create a .vertx cache folder wherever it was started.
        .setFileSystemOptions(new FileSystemOptions().setFileCachingEnabled(false)
            .setClassPathResolvingEnabled(false)));
    try {
      config.tls().check(vertx);
    } catch (IllegalArgumentException e) {
      spec.commandLine().getErr().println("lockstep-agent: " + e.getMessage());
      vertx.close();
      return 2;
    }
    try {
      vertx.deployVerticle(new Agent(config)).await(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      spec.commandLine().getErr().println("lockstep-agent: " + e.getMessage());
      vertx.close();
      return 1;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("stopping");
      try {
        vertx.close().await(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        LOG.warn("did not stop cleanly within 10s: {}", e.getMessage());
      }
    }, "lockstep-shutdown"));
    return 0;
  }

  /** Validates the flags into a config; anything missing or malformed is a usage error (exit 2). */
  AgentConfig toConfig() {
    List<URI> urls = coordinatorUrls();
    if (blank(token)) {
      throw usage("missing --token (or LOCKSTEP_AGENT_TOKEN): this agent's own token, printed by `lockstep agent-token"
          + " --service S --id ID` from the coordinator's agent secret");
    }
    String fixedRevision = blank(revision) ? null : revision.trim();
    String command = blank(revisionCommand) ? null : revisionCommand;
    if (fixedRevision == null && command == null) {
      throw usage("missing --revision REV or --revision-command CMD (or LOCKSTEP_REVISION / "
          + "LOCKSTEP_REVISION_COMMAND): the agent must report which code revision runs here");
    }
    if (fixedRevision != null && command != null) {
      throw usage("both --revision and --revision-command are set (flags or LOCKSTEP_REVISION / "
          + "LOCKSTEP_REVISION_COMMAND); give only one");
    }
    if (blank(service)) {
      throw usage("--service must not be empty");
    }
    ClientTls tls;
    try {
      tls = new ClientTls(caCert, clientCert, clientKey);
    } catch (IllegalArgumentException e) {
      throw usage(e.getMessage());
    }
    if (readinessPort != null && (readinessPort < 1 || readinessPort > 65535)) {
      throw usage("--readiness-port must be a port number, 1–65535 (got " + readinessPort + ")");
    }
    boolean leavesOnStop = ephemeral != null ? ephemeral : readinessPort != null;
    return new AgentConfig(urls, agentId(), service.trim(), fixedRevision, command, token.trim(), migrations,
        new AgentConfig.Hooks(orNull(onPrepare), orNull(onSwitch), orNull(onAbort)),
        hookTimeout, reportInterval, null, null, tls, readinessPort, leavesOnStop);
  }

  private List<URI> coordinatorUrls() {
    List<URI> urls = new ArrayList<>();
    for (String text : coordinators == null ? List.<String>of() : coordinators) {
      if (blank(text)) {
        continue;
      }
      URI uri;
      try {
        uri = new URI(text.trim());
      } catch (Exception e) {
        throw usage("--coordinator '" + text + "' is not a URL; write it like http://coordinator:7070");
      }
      if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
        throw usage("--coordinator '" + text + "' is not an http:// or https:// URL with a host; "
            + "write it like http://coordinator:7070");
      }
      urls.add(uri);
    }
    if (urls.isEmpty()) {
      throw usage("missing --coordinator URL[,URL...] (or LOCKSTEP_COORDINATOR): where the coordinator listens");
    }
    return urls;
  }

  private String agentId() {
    if (!blank(id)) {
      return id.trim();
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      String host = System.getenv("HOSTNAME");
      if (!blank(host)) {
        return host;
      }
      throw usage("cannot tell this host's name (" + e.getMessage() + "); give --id (or LOCKSTEP_AGENT_ID)");
    }
  }

  private ParameterException usage(String message) {
    return new ParameterException(spec.commandLine(), message);
  }

  private static boolean blank(String text) {
    return text == null || text.isBlank();
  }

  private static String orNull(String text) {
    return blank(text) ? null : text;
  }

  /** Parses {@code 500ms}, {@code 30s}, {@code 2m} (not zero) for picocli, with the same message as everywhere else. */
  static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        return Durations.positive(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  /** The version from the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = AgentMain.class.getPackage().getImplementationVersion();
      return new String[] {"lockstep-agent " + (version == null ? "(development build)" : version)};
    }
  }
}
