package dev.lockstep.deploy;

import static dev.lockstep.deploy.Manifests.env;
import static dev.lockstep.deploy.Manifests.named;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * deploy/examples/open-webui. Open WebUI's own chart cannot be fetched here (its Helm repository is not reachable
 * from the build machine), so it is not rendered: instead every value is checked against the Kubernetes schema of
 * the field that chart's template puts it in (templates/workload-manager.yaml: `strategy` → spec.strategy,
 * `extraInitContainers` → initContainers, `extraEnvVars` → the app container's env, the probes → its probes,
 * `volumes` → the pod's volumes), its keys against that chart's values.yaml (chart 10.2.1), and what makes the
 * switch is asserted. The coordinator's values are rendered with the real chart in CoordinatorChartTest.
 */
class OpenWebUiExampleTest {
  private static final Path EXAMPLE = Tools.repository().resolve("deploy/examples/open-webui");

  /**
   * Top-level keys of Open WebUI's chart values.yaml (open-webui/helm-charts, charts/open-webui, chart 10.2.1), and
   * for the keys this example sets below the top level, their keys.
   */
  private static final Set<String> CHART_KEYS = Set.of("nameOverride", "namespaceOverride", "ollama", "ollamaUrls",
      "ollamaUrlsFromExtraEnv", "pipelines", "tika", "websocket", "workload", "clusterDomain", "extraLabels",
      "annotations", "podAnnotations", "podLabels", "replicaCount", "revisionHistoryLimit", "priorityClassName",
      "strategy", "image", "imagePullSecrets", "command", "args", "serviceAccount", "livenessProbe", "readinessProbe",
      "startupProbe", "resources", "copyAppData", "managedCertificate", "ingress", "route", "persistence",
      "nodeSelector", "tolerations", "affinity", "topologySpreadConstraints", "hostAliases", "service",
      "enableOpenaiApi", "openaiBaseApiUrl", "openaiBaseApiUrls", "openaiApiKey", "openaiApiKeys", "databaseUrl",
      "extraEnvVars", "commonEnvVars", "extraEnvFrom", "runtimeClassName", "volumeMounts", "extraInitContainers",
      "volumes", "podSecurityContext", "containerSecurityContext", "sso", "extraResources", "logging");
  private static final Map<String, Set<String>> CHART_SUBKEYS = Map.of(
      "image", Set.of("repository", "tag", "pullPolicy", "useSlim"),
      "workload", Set.of("kind"),
      "persistence", Set.of("enabled", "size", "existingClaim", "subPath", "accessModes", "storageClass", "selector",
          "annotations", "provider", "s3", "gcs", "azure"),
      "ollama", Set.of("enabled", "fullnameOverride"),
      "pipelines", Set.of("enabled", "extraEnvVars"));

  private final JsonNode values = Manifests.read(EXAMPLE.resolve("open-webui-values.yaml"));
  private final JsonNode lockstep = Manifests.read(EXAMPLE.resolve("lockstep-values.yaml"));

  @Test
  void everyKeyIsOneOfOpenWebUisChart() {
    assertThat(CHART_KEYS).containsAll(values.propertyNames());
    for (Map.Entry<String, Set<String>> sub : CHART_SUBKEYS.entrySet()) {
      if (values.has(sub.getKey())) {
        assertThat(sub.getValue()).as(sub.getKey()).containsAll(values.path(sub.getKey()).propertyNames());
      }
    }
    assertThat(values.at("/workload/kind").asString()).isEqualTo("Deployment");
  }

  @Test
  void everyValueIsValidWhereOpenWebUisTemplatePutsIt() {
    List<String> errors = new ArrayList<>(KubernetesSchemas.validateAs("DeploymentStrategy", values.path("strategy")));
    for (String probe : List.of("readinessProbe", "livenessProbe", "startupProbe")) {
      errors.addAll(KubernetesSchemas.validateAs("Probe", values.path(probe)));
    }
    values.path("extraEnvVars").forEach(v -> errors.addAll(KubernetesSchemas.validateAs("EnvVar", v)));
    values.path("extraInitContainers").forEach(c -> errors.addAll(KubernetesSchemas.validateAs("Container", c)));
    values.path("volumes").forEach(v -> errors.addAll(KubernetesSchemas.validateAs("Volume", v)));
    assertThat(errors).isEmpty();
    assertThat(values.path("extraInitContainers").size()).isEqualTo(2);
  }

  @Test
  void noPodMigratesAndEveryPodTurnsReadyWhenTheAgentSays() {
    assertThat(values.path("replicaCount").asInt()).isGreaterThan(1);
    JsonNode rolling = values.at("/strategy/rollingUpdate");
    assertThat(rolling.path("maxSurge").asString()).isEqualTo("100%");
    assertThat(rolling.path("maxUnavailable").asInt(-1)).isZero();

    // Open WebUI: ENABLE_DB_MIGRATIONS = os.environ.get("ENABLE_DB_MIGRATIONS", "True").lower() == "true"
    String migrations = named(values.path("extraEnvVars"), "ENABLE_DB_MIGRATIONS").path("value").asString();
    assertThat(migrations).isNotNull();
    assertThat(migrations.toLowerCase()).isNotEqualTo("true");

    JsonNode agent = named(values.path("extraInitContainers"), "lockstep-agent");
    assertThat(agent.path("restartPolicy").asString()).as("a native sidecar").isEqualTo("Always");
    String port = env(agent, "LOCKSTEP_READINESS_PORT");
    for (JsonNode probe : List.of(values.path("readinessProbe"), agent.path("readinessProbe"))) {
      assertThat(probe.at("/httpGet/path").asString()).isEqualTo("/ready");
      assertThat(probe.at("/httpGet/port").asString()).isEqualTo(port);
      assertThat(probe.path("periodSeconds").asInt()).isEqualTo(1);
      assertThat(probe.path("failureThreshold").asInt()).isEqualTo(1);
      assertThat(probe.path("successThreshold").asInt()).isEqualTo(1);
    }
    assertThat(values.at("/startupProbe/httpGet/path").asString()).isEqualTo("/health");
  }

  @Test
  void theAgentReportsThisImagesRevisionAndItsAlembicRevisionsToTheCoordinator() {
    JsonNode agent = named(values.path("extraInitContainers"), "lockstep-agent");
    JsonNode copy = named(values.path("extraInitContainers"), "lockstep-copy-migrations");
    String image = values.at("/image/repository").asString() + ":" + values.at("/image/tag").asString();
    assertThat(copy.path("image").asString()).isEqualTo(image);
    assertThat(env(agent, "LOCKSTEP_REVISION")).isEqualTo(values.at("/image/tag").asString());
    assertThat(env(agent, "LOCKSTEP_SERVICE")).isEqualTo(lockstep.path("service").asString());
    // The coordinator chart installed as release "lockstep" in namespace "lockstep" names its Service "lockstep".
    assertThat(env(agent, "LOCKSTEP_COORDINATOR")).isEqualTo("http://lockstep.lockstep.svc:7070");
    assertThat(named(agent.path("env"), "LOCKSTEP_AGENT_TOKEN").at("/valueFrom/secretKeyRef/name").isMissingNode())
        .isFalse();

    // The copied folder is the versions/ folder of the project the coordinator runs (alembic.ini's folder,
    // script_location "migrations"), and the agent digests exactly it.
    String alembicIni = lockstep.at("/engine/alembicConfig").asString();
    String versions = Path.of(alembicIni).getParent().resolve("migrations/versions").toString();
    String command = copy.path("command").toString();
    String target = env(agent, "LOCKSTEP_MIGRATIONS");
    assertThat(command).contains("cp -R " + versions + "/. " + target + "/");
    assertThat(named(copy.path("volumeMounts"), "lockstep-migrations").path("mountPath").asString()).isEqualTo(target);
    assertThat(named(agent.path("volumeMounts"), "lockstep-migrations").path("mountPath").asString()).isEqualTo(target);

    assertThat(EnvironmentNames.agent()).containsAll(Manifests.envNames(agent));
    assertThat(lockstep.path("autoRelease").asBoolean()).isTrue();
    assertThat(lockstep.at("/engine/name").asString()).isEqualTo("alembic");
  }

  @Test
  void theCoordinatorImageIsOpenWebUisWithAJreRunningAsNonRoot() throws IOException {
    String dockerfile = Files.readString(EXAMPLE.resolve("Dockerfile.coordinator"));
    assertThat(dockerfile).containsPattern("(?m)^FROM ghcr\\.io/open-webui/open-webui:\\$\\{OPEN_WEBUI_VERSION\\}$");
    assertThat(dockerfile).contains("openjdk-17-jre-headless", "postgresql-client", "ENABLE_DB_MIGRATIONS=false");
    assertThat(Dockerfiles.lastUser(dockerfile)).isEqualTo("10001:10001");
    assertThat(dockerfile).containsPattern("(?m)^HEALTHCHECK .*\\n\\s+CMD curl -fsS .*/health");
    assertThat(lockstep.at("/image/tag").asString()).isEqualTo(values.at("/image/tag").asString());
  }
}
