package dev.lockstep.deploy;

import static dev.lockstep.deploy.Manifests.env;
import static dev.lockstep.deploy.Manifests.named;
import static dev.lockstep.deploy.Manifests.only;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * deploy/helm/lockstep, rendered by a real helm with its defaults, with the ServiceMonitor on, with the Open WebUI
 * example's values and with the engine options; every object valid against the Kubernetes schemas, and what matters
 * about it asserted.
 */
class CoordinatorChartTest {
  private static final Path CHART = Tools.repository().resolve("deploy/helm/lockstep");
  private static final Path OPEN_WEBUI = Tools.repository().resolve("deploy/examples/open-webui/lockstep-values.yaml");

  @Test
  void helmLintIsCleanAlsoStrict() {
    Helm.lint(CHART, false);
    Helm.lint(CHART, true);
  }

  @Test
  void theDefaultsRenderTwoCoordinatorsAPodDisruptionBudgetAndAServiceAllValid() {
    List<JsonNode> objects = Helm.template(CHART, "lockstep");
    assertThat(Manifests.kinds(objects)).containsExactlyInAnyOrder("Deployment", "Service", "PodDisruptionBudget");
    assertValid(objects);

    JsonNode deployment = only(objects, "Deployment");
    JsonNode selector = deployment.at("/spec/selector/matchLabels");
    JsonNode podLabels = deployment.at("/spec/template/metadata/labels");
    assertThat(deployment.at("/spec/replicas").asInt()).isEqualTo(2);
    assertThat(contains(podLabels, selector)).as("pod labels %s carry the selector %s", podLabels, selector).isTrue();

    JsonNode pdb = only(objects, "PodDisruptionBudget");
    assertThat(pdb.at("/spec/minAvailable").asInt()).isEqualTo(1);
    assertThat(pdb.at("/spec/selector/matchLabels")).isEqualTo(selector);

    JsonNode service = only(objects, "Service");
    assertThat(service.at("/spec/selector")).isEqualTo(selector);
    assertThat(service.at("/spec/ports/0/port").asInt()).isEqualTo(7070);
    assertThat(service.at("/spec/ports/0/targetPort").asString()).isEqualTo("http");

    JsonNode pod = deployment.at("/spec/template/spec");
    JsonNode antiAffinity = pod.at("/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/0/podAffinityTerm");
    assertThat(antiAffinity.path("topologyKey").asString()).isEqualTo("kubernetes.io/hostname");
    assertThat(antiAffinity.at("/labelSelector/matchLabels")).isEqualTo(selector);
    assertThat(pod.path("automountServiceAccountToken").asBoolean(true)).isFalse();
    assertThat(pod.at("/securityContext/runAsNonRoot").asBoolean()).isTrue();

    JsonNode coordinator = named(pod.path("containers"), "coordinator");
    assertThat(coordinator.at("/ports/0/containerPort").asInt()).isEqualTo(7070);
    assertThat(coordinator.at("/ports/0/name").asString()).isEqualTo("http");
    assertThat(coordinator.at("/livenessProbe/httpGet/path").asString()).as("never the stores").isEqualTo("/live");
    assertThat(coordinator.at("/startupProbe/httpGet/path").asString()).isEqualTo("/live");
    assertThat(coordinator.at("/readinessProbe/httpGet/path").asString()).isEqualTo("/ready");
    assertThat(coordinator.at("/readinessProbe/httpGet/port").asString()).isEqualTo("http");
    assertThat(coordinator.at("/securityContext/readOnlyRootFilesystem").asBoolean()).isTrue();
    assertThat(coordinator.at("/securityContext/allowPrivilegeEscalation").asBoolean(true)).isFalse();
    assertThat(named(coordinator.path("volumeMounts"), "tmp").path("mountPath").asString()).isEqualTo("/tmp");

    // Secrets by reference only: the store URLs from a Secret's keys, the token and agent secret as mounted files.
    assertThat(named(coordinator.path("env"), "LOCKSTEP_DATABASE_URL").at("/valueFrom/secretKeyRef/name").asString())
        .isEqualTo("lockstep-stores");
    assertThat(named(coordinator.path("env"), "LOCKSTEP_REDIS_URL").at("/valueFrom/secretKeyRef/key").asString())
        .isEqualTo("redisUrl");
    assertThat(env(coordinator, "LOCKSTEP_TOKEN_FILE")).isEqualTo("/etc/lockstep/operator/tokens");
    assertThat(env(coordinator, "LOCKSTEP_AGENT_SECRET_FILE")).isEqualTo("/etc/lockstep/agent/secret");
    assertThat(named(pod.path("volumes"), "operator-tokens").at("/secret/secretName").asString())
        .isEqualTo("lockstep-operator-tokens");
    assertThat(named(pod.path("volumes"), "agent-secret").at("/secret/secretName").asString())
        .isEqualTo("lockstep-agent-secret");
    assertThat(env(coordinator, "LOCKSTEP_ENGINE")).isEqualTo("flyway");
    assertThat(env(coordinator, "LOCKSTEP_AUTO_RELEASE")).isEqualTo("false");
    assertThat(env(coordinator, "LOCKSTEP_SERVICE")).isEqualTo("app");
    assertThat(coordinator.path("env").toString()).doesNotContain("LOCKSTEP_TOKEN\"", "LOCKSTEP_AGENT_TOKEN");
  }

  /**
   * The chart runs the image's java command with its own JVM flags, so a large fleet's heap is a value: by default
   * exactly the flags the Dockerfile gives LOCKSTEP_JVM_OPTIONS, and with jvmOptions set, those flags in their place.
   */
  @Test
  void theContainerRunsTheImagesJavaCommandWithTheJvmOptionsOfTheValues() throws Exception {
    List<String> stage = Dockerfiles.stages(java.nio.file.Files.readString(Tools.repository().resolve("Dockerfile")))
        .get("coordinator");
    List<String> imageFlags = List.of(Dockerfiles.env(stage, "LOCKSTEP_JVM_OPTIONS").split("\\s+"));
    assertThat(imageFlags).as("the coordinator image's LOCKSTEP_JVM_OPTIONS").contains("-Xmx128m");
    String entrypoint = stage.stream().filter(l -> l.startsWith("ENTRYPOINT ")).reduce((a, b) -> b).orElseThrow();
    assertThat(entrypoint).as("the image's entrypoint expands the flags before -jar")
        .contains("exec java $LOCKSTEP_JVM_OPTIONS -jar /opt/lockstep/lockstep-coordinator.jar");
    List<String> expected = new ArrayList<>(List.of("java"));
    expected.addAll(imageFlags);
    expected.addAll(List.of("-jar", "/opt/lockstep/lockstep-coordinator.jar"));

    JsonNode byDefault = named(only(Helm.template(CHART, "lockstep"), "Deployment").at("/spec/template/spec/containers"),
        "coordinator");
    assertThat(strings(byDefault.path("command"))).isEqualTo(expected);
    assertThat(strings(byDefault.path("args"))).containsExactly("serve");

    List<JsonNode> large = Helm.template(CHART, "lockstep", "--set-json", "jvmOptions=[\"-Xmx256m\",\"-XX:+UseSerialGC\"]",
        "--set", "resources.limits.memory=512Mi");
    assertValid(large);
    JsonNode container = named(only(large, "Deployment").at("/spec/template/spec/containers"), "coordinator");
    assertThat(strings(container.path("command")))
        .containsExactly("java", "-Xmx256m", "-XX:+UseSerialGC", "-jar", "/opt/lockstep/lockstep-coordinator.jar");
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asString()));
    return out;
  }

  @Test
  void theServiceMonitorScrapesMetricsOfTheService() {
    List<JsonNode> objects = Helm.template(CHART, "lockstep", "--set", "serviceMonitor.enabled=true",
        "--set", "serviceMonitor.labels.release=prometheus");
    assertValid(objects);
    JsonNode monitor = only(objects, "ServiceMonitor");
    assertThat(monitor.at("/apiVersion").asString()).isEqualTo("monitoring.coreos.com/v1");
    assertThat(monitor.at("/metadata/labels/release").asString()).isEqualTo("prometheus");
    assertThat(monitor.at("/spec/endpoints/0/path").asString()).isEqualTo("/metrics");
    assertThat(monitor.at("/spec/endpoints/0/port").asString()).isEqualTo("http");
    JsonNode service = only(objects, "Service");
    assertThat(contains(service.path("metadata").path("labels"), monitor.at("/spec/selector/matchLabels"))).isTrue();
    assertThat(service.at("/spec/ports/0/name").asString()).isEqualTo("http");
  }

  @Test
  void theOpenWebUiValuesRunAlembicWithAutoRelease() {
    List<JsonNode> objects = Helm.template(CHART, "lockstep", "-f", OPEN_WEBUI.toString());
    assertThat(Manifests.kinds(objects)).containsExactlyInAnyOrder("Deployment", "Service", "PodDisruptionBudget",
        "ServiceMonitor");
    assertValid(objects);
    JsonNode coordinator = named(only(objects, "Deployment").at("/spec/template/spec/containers"), "coordinator");
    assertThat(env(coordinator, "LOCKSTEP_SERVICE")).isEqualTo("open-webui");
    assertThat(env(coordinator, "LOCKSTEP_ENGINE")).isEqualTo("alembic");
    assertThat(env(coordinator, "LOCKSTEP_ALEMBIC_CONFIG")).isEqualTo("/app/backend/open_webui/alembic.ini");
    assertThat(env(coordinator, "LOCKSTEP_AUTO_RELEASE")).isEqualTo("true");
    assertThat(env(coordinator, "ENABLE_DB_MIGRATIONS")).isEqualTo("false");
    assertThat(env(coordinator, "LOCKSTEP_MIGRATIONS")).isNull();
  }

  @Test
  void engineEnvBecomesAFileAndFlywayMigrationsAVolume() {
    List<JsonNode> alembic = Helm.template(CHART, "lockstep", "--set", "engine.name=alembic",
        "--set", "engine.alembicConfig=/srv/app/alembic.ini", "--set", "engine.env.WEBUI_NAME=Chat");
    assertValid(alembic);
    assertThat(only(alembic, "ConfigMap").at("/data/engine.env").asString()).contains("WEBUI_NAME=Chat");
    JsonNode pod = only(alembic, "Deployment").at("/spec/template/spec");
    JsonNode coordinator = named(pod.path("containers"), "coordinator");
    assertThat(env(coordinator, "LOCKSTEP_ENGINE_ENV_FILE")).isEqualTo("/etc/lockstep/engine/engine.env");
    assertThat(named(coordinator.path("volumeMounts"), "engine-env").path("mountPath").asString())
        .isEqualTo("/etc/lockstep/engine");
    assertThat(named(pod.path("volumes"), "engine-env").at("/configMap/name").asString())
        .isEqualTo(only(alembic, "ConfigMap").at("/metadata/name").asString());

    List<JsonNode> flyway = Helm.template(CHART, "lockstep", "--set", "migrations.enabled=true",
        "--set", "migrations.volume.configMap.name=shop-migrations", "--set", "migrations.volume.emptyDir=null");
    assertValid(flyway);
    JsonNode flywayPod = only(flyway, "Deployment").at("/spec/template/spec");
    assertThat(env(named(flywayPod.path("containers"), "coordinator"), "LOCKSTEP_MIGRATIONS")).isEqualTo("/migrations");
    assertThat(named(flywayPod.path("volumes"), "migrations").at("/configMap/name").asString())
        .isEqualTo("shop-migrations");
  }

  @Test
  void valuesThatWouldStopTheCoordinatorAreRefusedWithTheFix() {
    assertRefused("must be flyway or alembic", "--set", "engine.name=liquibase");
    assertRefused("set engine.alembicConfig", "--set", "engine.name=alembic");
    assertRefused("set engine.name to alembic", "--set", "engine.alembicConfig=/srv/alembic.ini");
    assertRefused("set migrations.enabled to false", "--set", "engine.name=alembic",
        "--set", "engine.alembicConfig=/srv/alembic.ini", "--set", "migrations.enabled=true");
    assertRefused("service is empty", "--set", "service=");
  }

  @Test
  void everyLockstepVariableTheChartSetsIsOneTheCoordinatorReads() {
    Set<String> set = new TreeSet<>();
    for (String[] args : List.of(new String[] {}, new String[] {"-f", OPEN_WEBUI.toString()},
        new String[] {"--set", "migrations.enabled=true"},
        new String[] {"--set", "engine.name=alembic", "--set", "engine.alembicConfig=/a.ini", "--set", "engine.env.A=b"})) {
      JsonNode coordinator = named(only(Helm.template(CHART, "lockstep", args), "Deployment")
          .at("/spec/template/spec/containers"), "coordinator");
      Manifests.envNames(coordinator).stream().filter(n -> n.startsWith("LOCKSTEP_")).forEach(set::add);
    }
    assertThat(EnvironmentNames.coordinator()).containsAll(set);
    assertThat(set).contains("LOCKSTEP_DATABASE_URL", "LOCKSTEP_REDIS_URL", "LOCKSTEP_TOKEN_FILE",
        "LOCKSTEP_AGENT_SECRET_FILE", "LOCKSTEP_SERVICE", "LOCKSTEP_ENGINE", "LOCKSTEP_ALEMBIC_CONFIG",
        "LOCKSTEP_ENGINE_ENV_FILE", "LOCKSTEP_MIGRATIONS", "LOCKSTEP_AUTO_RELEASE");
  }

  private static void assertRefused(String message, String... args) {
    Tools.Result result = Helm.templateRun(CHART, "lockstep", args);
    assertThat(result.exitCode()).as("helm template %s", List.of(args)).isNotZero();
    assertThat(result.output()).contains(message);
  }

  static void assertValid(List<JsonNode> objects) {
    List<String> errors = new ArrayList<>();
    for (JsonNode object : objects) {
      errors.addAll(KubernetesSchemas.validate(object).stream()
          .map(e -> object.path("kind").asString() + "/" + object.at("/metadata/name").asString() + ": " + e).toList());
    }
    assertThat(errors).isEmpty();
  }

  /** Whether every key of {@code subset} is in {@code map} with the same value. */
  static boolean contains(JsonNode map, JsonNode subset) {
    for (var entry : subset.properties()) {
      if (!entry.getValue().equals(map.path(entry.getKey()))) {
        return false;
      }
    }
    return !subset.isEmpty();
  }
}
