package dev.lockstep.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Flag handling only: every case here fails before an agent would start, or stops at {@code toConfig()}. */
class AgentMainTest {
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine commandLine = AgentMain.commandLine();
    commandLine.setErr(new PrintWriter(err, true));
    commandLine.setOut(new PrintWriter(new StringWriter(), true));
    return commandLine.execute(args);
  }

  private static AgentConfig parse(String... args) {
    CommandLine commandLine = AgentMain.commandLine();
    commandLine.parseArgs(args);
    return ((AgentMain) commandLine.getCommand()).toConfig();
  }

  @Test
  void buildsTheConfigFromFlags() {
    AgentConfig config = parse("--coordinator", "http://c1:7070/,http://c2:7070", "--id", "web-1",
        "--service", "shop", "--revision", "abc", "--token", "t", "--migrations", "/srv/db",
        "--on-prepare", "./stage", "--on-switch", "./switch", "--hook-timeout", "2m", "--report-interval", "500ms");

    assertThat(config.coordinators()).containsExactly(URI.create("http://c1:7070/"), URI.create("http://c2:7070"));
    assertThat(config.id()).isEqualTo("web-1");
    assertThat(config.service()).isEqualTo("shop");
    assertThat(config.revision()).isEqualTo("abc");
    assertThat(config.revisionCommand()).isNull();
    assertThat(config.migrations()).isEqualTo(Path.of("/srv/db"));
    assertThat(config.hooks()).isEqualTo(new AgentConfig.Hooks("./stage", "./switch", null));
    assertThat(config.hookTimeout()).isEqualTo(Duration.ofMinutes(2));
    assertThat(config.reportInterval()).isEqualTo(Duration.ofMillis(500));
  }

  @Test
  void tlsFlagsReachTheConfig() {
    AgentConfig config = parse("--coordinator", "https://c1:7070", "--revision", "abc", "--token", "t",
        "--ca-cert", "/etc/lockstep/ca.crt", "--client-cert", "/etc/lockstep/web-1.crt", "--client-key", "/etc/lockstep/web-1.key");
    assertThat(config.tls()).isEqualTo(new ClientTls(Path.of("/etc/lockstep/ca.crt"), Path.of("/etc/lockstep/web-1.crt"),
        Path.of("/etc/lockstep/web-1.key")));
    assertThat(parse("--coordinator", "http://c1:7070", "--revision", "abc", "--token", "t").tls()).isEqualTo(ClientTls.NONE);
  }

  @Test
  void aClientCertificateWithoutItsKeyIsAUsageError() {
    int code = run("--coordinator", "https://c1:7070", "--revision", "abc", "--token", "t", "--client-cert", "/x/web-1.crt");
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("--client-cert is given without --client-key; give both");
  }

  @Test
  void aMissingTlsFileStopsTheAgentWithOneLineNamingIt() {
    int code = run("--coordinator", "https://127.0.0.1:1", "--revision", "abc", "--token", "t",
        "--ca-cert", "/nonexistent/lockstep/ca.crt");
    assertThat(code).isEqualTo(2);
    assertThat(err.toString().strip()).isEqualTo("lockstep-agent: --ca-cert /nonexistent/lockstep/ca.crt: no such file");
  }

  @Test
  void defaultsServiceTimingsAndId() {
    AgentConfig config = parse("--coordinator", "http://c1:7070", "--revision-command", "cat REVISION",
        "--token", "t");

    assertThat(config.service()).isEqualTo("app");
    assertThat(config.hookTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(config.reportInterval()).isEqualTo(Duration.ofSeconds(2));
    assertThat(config.pollWait()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.id()).isNotBlank();
    assertThat(config.revisionCommand()).isEqualTo("cat REVISION");
  }

  @Test
  void missingCoordinatorIsAUsageError() {
    assertThat(run("--token", "t", "--revision", "a")).isEqualTo(2);
    assertThat(err.toString()).contains("missing --coordinator").contains("LOCKSTEP_COORDINATOR")
        .contains("--help");
  }

  @Test
  void missingTokenIsAUsageError() {
    assertThat(run("--coordinator", "http://c:7070", "--revision", "a")).isEqualTo(2);
    assertThat(err.toString()).contains("missing --token");
  }

  @Test
  void neitherRevisionNorCommandIsAUsageError() {
    assertThat(run("--coordinator", "http://c:7070", "--token", "t")).isEqualTo(2);
    assertThat(err.toString()).contains("missing --revision REV or --revision-command CMD");
  }

  @Test
  void bothRevisionAndCommandIsAUsageError() {
    assertThat(run("--coordinator", "http://c:7070", "--token", "t", "--revision", "a",
        "--revision-command", "echo a")).isEqualTo(2);
    assertThat(err.toString()).contains("both --revision and --revision-command");
  }

  @Test
  void badDurationIsAUsageError() {
    assertThat(run("--coordinator", "http://c:7070", "--token", "t", "--revision", "a",
        "--hook-timeout", "soon")).isEqualTo(2);
    assertThat(err.toString()).contains("--hook-timeout").contains("500ms, 30s or 2m");
  }

  @Test
  void aZeroDurationIsAUsageErrorAndABareNumberIsSeconds() {
    assertThat(run("--coordinator", "http://c:7070", "--token", "t", "--revision", "a", "--hook-timeout", "0")).isEqualTo(2);
    assertThat(err.toString()).contains("--hook-timeout").contains("'0' is zero; give a positive duration such as 30s");
    assertThat(run("--coordinator", "http://c:7070", "--token", "t", "--revision", "a", "--report-interval", "0ms")).isEqualTo(2);
    assertThat(err.toString()).contains("--report-interval").contains("'0ms' is zero");
    assertThat(parse("--coordinator", "http://c:7070", "--token", "t", "--revision", "a", "--hook-timeout", "90").hookTimeout())
        .isEqualTo(Duration.ofSeconds(90));
  }

  @Test
  void nonHttpCoordinatorIsAUsageError() {
    assertThat(run("--coordinator", "coordinator:7070", "--token", "t", "--revision", "a")).isEqualTo(2);
    assertThat(err.toString()).contains("is not an http:// or https:// URL");
  }

  @Test
  void unknownFlagIsAUsageError() {
    assertThat(run("--frobnicate")).isEqualTo(2);
    assertThat(err.toString()).contains("Unknown option: '--frobnicate'");
  }

  @Test
  void helpAndVersionExitZero() {
    assertThat(run("--help")).isZero();
    assertThat(run("--version")).isZero();
  }

  @Test
  void coordinatorListIsSplitOnCommas() {
    assertThat(parse("--coordinator", "http://a:1,http://b:2", "--coordinator", "http://c:3", "--token", "t",
        "--revision", "x").coordinators())
        .containsExactly(URI.create("http://a:1"), URI.create("http://b:2"), URI.create("http://c:3"));
  }

  @Test
  void configRequiresExactlyOneRevisionSource() {
    List<URI> urls = List.of(URI.create("http://c:7070"));
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> new AgentConfig(urls, "a", "app", null, null, "t", null, null, null, null, null, null))
        .hasMessageContaining("exactly one");
  }
}
