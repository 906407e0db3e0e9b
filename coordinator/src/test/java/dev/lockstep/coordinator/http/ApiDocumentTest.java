package dev.lockstep.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.release.PendingContracts;
import dev.lockstep.coordinator.store.StoreState;
import dev.lockstep.protocol.Phase;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import dev.lockstep.coordinator.identity.AgentCredentials;
import dev.lockstep.coordinator.identity.OperatorTokens;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code openapi.yaml} is the router, both ways: the real router ({@link HttpApi#router}) is built and
 * walked, and every path and method it serves must be in the document and every one the document names
 * must be served ({@code :id} is {@code {id}}; a prefix route {@code /dashboard/*} is {@code
 * /dashboard/{path}}). Besides: every operation answers with a schema, every {@code $ref} resolves,
 * errors are {@code ErrorBody}, and the schemas named after protocol records and enums have exactly
 * their fields and values.
 */
class ApiDocumentTest {
  private static final Pattern PATH_PARAMETER = Pattern.compile("\\{([^}/]+)}");
  private static Vertx vertx;
  private static ApiDocument api;

  @BeforeAll
  static void setUp() {
    vertx = Vertx.vertx();
    api = ApiDocument.shipped();
  }

  @AfterAll
  static void tearDown() {
    vertx.close().await();
  }

  /**
   * The router exactly as {@code serve} builds it, {@code lockstep contract}'s route included. Mounting only registers
   * handlers: the route classes keep their collaborators for requests, and none comes here, so the stores and services
   * are absent.
   */
  private static Router router() {
    Clock clock = Clock.systemUTC();
    HealthRoutes health = new HealthRoutes(vertx, "app", new StoreState("PostgreSQL", "postgresql://db/app", clock),
        new StoreState("Redis", "redis://cache:6379", clock));
    PendingContracts contracts = new PendingContracts("app", null, null, null, null, null, null, null, clock);
    return HttpApi.router(vertx, new Auth(OperatorTokens.load("operator-token", null),
        AgentCredentials.load("agent-secret-of-sixteen-bytes", null, null, false, OperatorTokens.load("operator-token", null))), null, null, null, null, null, null, null, null,
        health, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), ApiLimits.DEFAULT, null, null, contracts);
  }

  /** Every "METHOD /path" the router serves, in the document's spelling. */
  private static Set<String> served(Router router) {
    Set<String> served = new TreeSet<>();
    for (Route route : router.getRoutes()) {
      // A path with parameters (:id) is matched by a regular expression too, but keeps its path.
      assertThat(route.isRegexPath() && route.getPath() == null)
          .as("a regular-expression route cannot be documented: %s", route).isFalse();
      boolean anyPath = route.getPath() == null;
      boolean anyMethod = route.methods() == null || route.methods().isEmpty();
      if (anyPath && anyMethod) {
        continue; // the body handler and the failure handler, which see every request
      }
      assertThat(anyPath || anyMethod).as("route %s serves %s; give it one path and its methods",
          route.getPath(), anyPath ? "every path" : "every method").isFalse();
      String path = route.getPath().replaceAll(":([A-Za-z0-9_]+)", "{$1}") + (route.isExactPath() ? "" : "{path}");
      for (HttpMethod method : route.methods()) {
        served.add(method.name() + " " + path);
      }
    }
    return served;
  }

  @Test
  void theDocumentNamesEveryRouteTheRouterServesAndNoOther() {
    Set<String> served = served(router());
    Set<String> documented = new TreeSet<>();
    api.operations().forEach(op -> documented.add(op.name()));

    Set<String> undocumented = new TreeSet<>(served);
    undocumented.removeAll(documented);
    Set<String> notServed = new TreeSet<>(documented);
    notServed.removeAll(served);
    SoftAssertions.assertSoftly(both -> {
      both.assertThat(undocumented).as("served by HttpApi.router but missing from coordinator/src/main/resources/openapi.yaml")
          .isEmpty();
      both.assertThat(notServed).as("in openapi.yaml but not served by HttpApi.router").isEmpty();
    });
    assertThat(served).contains("GET /openapi.yaml", "GET /v1/releases/{id}", "GET /dashboard/{path}",
        "POST /v1/services/{service}/contract");
  }

  @Test
  void itIsOpenApi3AndEveryReferenceResolves() {
    assertThat(String.valueOf(api.root().get("openapi"))).startsWith("3.");
    Map<String, String> references = api.references();
    assertThat(references).isNotEmpty();
    List<String> broken = new ArrayList<>();
    references.forEach((where, ref) -> {
      try {
        api.resolve(ref);
      } catch (IllegalArgumentException e) {
        broken.add(where + ": " + e.getMessage());
      }
    });
    assertThat(broken).as("references that resolve to nothing").isEmpty();
  }

  @Test
  void everyOperationAnswersWithASchemaAndErrorsAreErrorBodies() {
    Set<String> operationIds = new HashSet<>();
    List<String> problems = new ArrayList<>();
    for (ApiDocument.Operation op : api.operations()) {
      if (!operationIds.add(String.valueOf(op.spec().get("operationId")))) {
        problems.add(op.name() + ": operationId " + op.spec().get("operationId") + " missing or used twice");
      }
      Map<String, Map<String, Object>> responses = op.responses(api);
      if (responses.keySet().stream().noneMatch(s -> s.startsWith("2"))) {
        problems.add(op.name() + ": no 2xx response");
      }
      responses.forEach((status, response) -> {
        Map<String, Object> content = response.get("content") instanceof Map<?, ?> c ? ApiDocument.map(c, status) : Map.of();
        // A 304 has no body by HTTP's rules (RFC 9110, 15.4.5): the client keeps the one it has.
        if (content.isEmpty() && !status.equals("304")) {
          problems.add(op.name() + " " + status + ": no content");
        }
        content.forEach((type, media) -> {
          if (!(ApiDocument.map(media, type).get("schema") instanceof Map)) {
            problems.add(op.name() + " " + status + " " + type + ": no schema");
          }
        });
        // /health and /ready answer 503 with their own body, which says what is down; a closed gate answers 409
        // with the gate's answer, which a platform's analysis reads as it reads an open one.
        boolean ownBody = op.path().equals("/health") || op.path().equals("/ready")
            || op.path().equals("/v1/services/{service}/gate") && status.equals("409");
        if (Integer.parseInt(status) >= 400 && !ownBody
            && !content.equals(Map.of("application/json", Map.of("schema", Map.of("$ref", "#/components/schemas/ErrorBody"))))) {
          problems.add(op.name() + " " + status + ": an error answers application/json ErrorBody, not " + content);
        }
      });
    }
    assertThat(problems).isEmpty();
  }

  @Test
  void pathParametersAndSecurityAreDeclared() {
    Set<String> schemes = ApiDocument.map(ApiDocument.map(api.root().get("components"), "components")
        .get("securitySchemes"), "securitySchemes").keySet();
    assertThat(schemes).containsExactlyInAnyOrder("operatorToken", "agentToken");
    List<String> problems = new ArrayList<>();
    for (ApiDocument.Operation op : api.operations()) {
      Set<String> inPath = new TreeSet<>();
      Matcher m = PATH_PARAMETER.matcher(op.path());
      while (m.find()) {
        inPath.add(m.group(1));
      }
      Set<String> declared = new TreeSet<>();
      for (Map<String, Object> p : op.parameters(api)) {
        if ("path".equals(p.get("in"))) {
          declared.add(String.valueOf(p.get("name")));
          if (!Boolean.TRUE.equals(p.get("required"))) {
            problems.add(op.name() + ": path parameter " + p.get("name") + " must be required");
          }
        }
      }
      if (!inPath.equals(declared)) {
        problems.add(op.name() + ": path parameters " + inPath + " but declared " + declared);
      }
      for (Map<String, Object> requirement : op.security(api)) {
        if (!schemes.containsAll(requirement.keySet())) {
          problems.add(op.name() + ": unknown security scheme in " + requirement);
        }
      }
    }
    assertThat(problems).isEmpty();
  }

  @Test
  void theErrorCodesAreTheCoordinatorsOwn() {
    String codes = String.valueOf(((Map<?, ?>) api.resolve("#/components/schemas/ErrorBody").get("properties"))
        .get("error"));
    for (LockstepException.Code code : LockstepException.Code.values()) {
      assertThat(codes).as("ErrorBody.error lists the code %s", code).contains(code.wire());
    }
  }

  /** Each record and enum of {@code dev.lockstep.protocol} is a schema of its name, with its fields or values. */
  @Test
  void theProtocolsRecordsAndEnumsAreSchemasWithTheirFields() throws Exception {
    Map<String, Object> schemas = ApiDocument.map(
        ApiDocument.map(api.root().get("components"), "components").get("schemas"), "schemas");
    Map<String, Class<?>> protocol = protocolTypes();
    assertThat(protocol).containsKeys("ReleaseDocument", "MigrationHistory.Entry", "Phase");
    List<String> problems = new ArrayList<>();
    protocol.forEach((name, type) -> {
      if (!schemas.containsKey(name)) {
        problems.add("no schema " + name + " for " + type.getName());
        return;
      }
      Map<String, Object> schema = ApiDocument.map(schemas.get(name), name);
      if (type.isEnum()) {
        List<String> wire = Arrays.stream(type.getEnumConstants()).map(ApiDocumentTest::wireName).toList();
        if (!wire.equals(ApiDocument.list(schema.get("enum")))) {
          problems.add(name + ": enum " + schema.get("enum") + " but the protocol has " + wire);
        }
        return;
      }
      Set<String> fields = new TreeSet<>(Arrays.stream(type.getRecordComponents()).map(RecordComponent::getName).toList());
      Set<String> properties = new TreeSet<>(ApiDocument.map(schema.get("properties"), name).keySet());
      if (!fields.equals(properties)) {
        problems.add(name + ": properties " + properties + " but the record has " + fields);
      }
      if (!properties.containsAll(ApiDocument.list(schema.get("required")))) {
        problems.add(name + ": requires " + schema.get("required") + ", not all of them properties");
      }
    });
    assertThat(problems).isEmpty();
  }

  private static String wireName(Object constant) {
    return dev.lockstep.protocol.Json.mapper().convertValue(constant, String.class);
  }

  /** Schema name (nested records as {@code Outer.Inner}) → type, for every public record and enum of the protocol. */
  private static Map<String, Class<?>> protocolTypes() throws IOException, URISyntaxException, ClassNotFoundException {
    Path location = Path.of(Phase.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    Map<String, Class<?>> types = new TreeMap<>();
    try (FileSystem jar = Files.isDirectory(location) ? null : FileSystems.newFileSystem(location)) {
      Path root = (jar == null ? location : jar.getPath("/")).resolve("dev/lockstep/protocol");
      try (Stream<Path> files = Files.list(root)) {
        for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
          String simple = file.getFileName().toString().replaceFirst("\\.class$", "");
          Class<?> type = Class.forName("dev.lockstep.protocol." + simple);
          if ((type.isRecord() || type.isEnum()) && java.lang.reflect.Modifier.isPublic(type.getModifiers())) {
            types.put(simple.replace('$', '.'), type);
          }
        }
      }
    }
    return types;
  }
}
