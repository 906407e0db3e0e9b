package dev.lockstep.deploy;

import static dev.lockstep.deploy.Manifests.env;
import static dev.lockstep.deploy.Manifests.named;
import static dev.lockstep.deploy.Manifests.only;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The lockstep-sidecar library chart rendered into an app's Deployment (deploy/examples/sample-app, which depends on
 * it as a chart would): schema-valid, and the app pod's readiness is the agent's {@code /ready}.
 */
class SidecarTest {
  private static Path sampleApp;

  /** A copy of the two charts, so that `helm dependency build` writes charts/ and Chart.lock under target/. */
  @BeforeAll
  static void buildDependency() {
    Path work = Path.of("target", "helm-work").toAbsolutePath();
    copyTree(Tools.repository().resolve("deploy/helm/sidecar"), work.resolve("helm/sidecar"));
    copyTree(Tools.repository().resolve("deploy/examples/sample-app"), work.resolve("examples/sample-app"));
    sampleApp = work.resolve("examples/sample-app");
    Tools.runIn(sampleApp, Tools.helm(), List.of("dependency", "build", ".")).ok();
    assertThat(sampleApp.resolve("charts/lockstep-sidecar-0.1.0.tgz")).exists();
  }

  @Test
  void helmLintIsCleanForTheLibraryAndTheApp() {
    Helm.lint(Tools.repository().resolve("deploy/helm/sidecar"), true);
    Helm.lint(sampleApp, false);
    Helm.lint(sampleApp, true);
  }

  @Test
  void theAppsReadinessIsTheAgentsReadyAndTheAgentCarriesTheImagesMigrations() {
    List<JsonNode> objects = Helm.template(sampleApp, "shop");
    CoordinatorChartTest.assertValid(objects);
    JsonNode deployment = only(objects, "Deployment");
    assertThat(deployment.at("/spec/strategy/rollingUpdate/maxSurge").asString()).isEqualTo("100%");
    assertThat(deployment.at("/spec/strategy/rollingUpdate/maxUnavailable").asInt(-1)).isZero();
    assertThat(deployment.at("/spec/progressDeadlineSeconds").asInt()).isGreaterThanOrEqualTo(600);
    JsonNode pod = deployment.at("/spec/template/spec");
    JsonNode app = named(pod.path("containers"), "app");
    JsonNode agent = named(pod.path("containers"), "lockstep-agent");
    JsonNode copy = named(pod.path("initContainers"), "lockstep-copy-migrations");
    assertThat(agent.isMissingNode()).as("agent container in %s", pod.path("containers")).isFalse();

    String readinessPort = env(agent, "LOCKSTEP_READINESS_PORT");
    assertThat(readinessPort).isEqualTo("7071");
    for (JsonNode probed : List.of(app, agent)) {
      JsonNode probe = probed.path("readinessProbe");
      assertThat(probe.at("/httpGet/path").asString()).as(probed.path("name").asString()).isEqualTo("/ready");
      assertThat(probe.at("/httpGet/port").asString()).isEqualTo(readinessPort);
      assertThat(probe.path("periodSeconds").asInt()).isEqualTo(1);
      assertThat(probe.path("failureThreshold").asInt()).isEqualTo(1);
      assertThat(probe.path("successThreshold").asInt()).isEqualTo(1);
    }
    assertThat(agent.at("/livenessProbe/httpGet/path").asString()).isEqualTo("/live");
    assertThat(agent.at("/livenessProbe/httpGet/port").asString()).isEqualTo(readinessPort);

    assertThat(env(agent, "LOCKSTEP_COORDINATOR")).isEqualTo("http://lockstep.lockstep.svc:7070");
    assertThat(env(agent, "LOCKSTEP_SERVICE")).isEqualTo("shop");
    assertThat(env(agent, "LOCKSTEP_REVISION")).isEqualTo(app.path("image").asString().replaceAll(".*:", ""));
    assertThat(env(agent, "LOCKSTEP_AGENT_ID")).as("the id defaults to the pod's name").isNull();
    assertThat(named(agent.path("env"), "LOCKSTEP_AGENT_TOKEN").at("/valueFrom/secretKeyRef/name").asString())
        .isEqualTo("lockstep-agent-token");

    // The copy runs from the app's own image into the folder the agent digests.
    assertThat(copy.path("image").asString()).isEqualTo(app.path("image").asString());
    String migrations = env(agent, "LOCKSTEP_MIGRATIONS");
    assertThat(named(copy.path("volumeMounts"), "lockstep-migrations").path("mountPath").asString()).isEqualTo(migrations);
    assertThat(named(agent.path("volumeMounts"), "lockstep-migrations").path("mountPath").asString()).isEqualTo(migrations);
    assertThat(named(pod.path("volumes"), "lockstep-migrations").has("emptyDir")).isTrue();
    assertThat(copy.path("args").toString()).contains("/app/db/migrations");

    assertThat(EnvironmentNames.agent()).containsAll(Manifests.envNames(agent));
  }

  @Test
  void asANativeSidecarTheAgentIsARestartingInitContainerAfterTheCopy() {
    List<JsonNode> objects = Helm.template(sampleApp, "shop", "--set", "lockstep.native=true");
    CoordinatorChartTest.assertValid(objects);
    JsonNode pod = only(objects, "Deployment").at("/spec/template/spec");
    assertThat(named(pod.path("containers"), "lockstep-agent").isMissingNode()).isTrue();
    assertThat(pod.at("/initContainers/0/name").asString()).isEqualTo("lockstep-copy-migrations");
    assertThat(pod.at("/initContainers/1/name").asString()).isEqualTo("lockstep-agent");
    assertThat(pod.at("/initContainers/1/restartPolicy").asString()).isEqualTo("Always");
    assertThat(pod.at("/initContainers/0/restartPolicy").isMissingNode()).isTrue();
  }

  @Test
  void aMissingCoordinatorOrRevisionIsRefusedByName() {
    Tools.Result noCoordinator = Helm.templateRun(sampleApp, "shop", "--set", "lockstep.coordinator=");
    assertThat(noCoordinator.exitCode()).isNotZero();
    assertThat(noCoordinator.output()).contains("lockstep.coordinator is required");
    Tools.Result noRevision = Helm.templateRun(sampleApp, "shop", "--set", "lockstep.revision=");
    assertThat(noRevision.exitCode()).isNotZero();
    assertThat(noRevision.output()).contains("lockstep.revision is required");
  }

  private static void copyTree(Path from, Path to) {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path file : files.toList()) {
        Path target = to.resolve(from.relativize(file).toString());
        if (Files.isDirectory(file)) {
          Files.createDirectories(target);
        } else {
          Files.copy(file, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
