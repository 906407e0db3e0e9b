package dev.lockstep.deploy;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import tools.jackson.databind.JsonNode;

/**
 * Validates Kubernetes objects against the strict JSON schemas in {@code src/test/resources/schemas/kubernetes}
 * (generated from kubernetes-models 5.1.0 by {@code generate.sh} there): unknown fields, wrong types and missing
 * required fields are errors. An object of a kind without a schema is an error too, never a pass.
 *
 * <pre>{@code List<String> errors = KubernetesSchemas.validate(deployment); // [] when valid}</pre>
 */
final class KubernetesSchemas {
  /** apiVersion + " " + kind → schema file; every kind the charts render. */
  private static final Map<String, String> KINDS = Map.of(
      "apps/v1 Deployment", "Deployment",
      "v1 Service", "Service",
      "v1 ConfigMap", "ConfigMap",
      "policy/v1 PodDisruptionBudget", "PodDisruptionBudget",
      "monitoring.coreos.com/v1 ServiceMonitor", "ServiceMonitor");

  private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7);
  private static final Map<String, Schema> SCHEMAS = new ConcurrentHashMap<>();

  private KubernetesSchemas() {}

  /** Schema errors of one whole object, each naming where it is; empty when valid. */
  static List<String> validate(JsonNode object) {
    String type = object.path("apiVersion").asString("") + " " + object.path("kind").asString("");
    String schema = KINDS.get(type);
    if (schema == null) {
      return List.of("no schema for " + type + " (" + object.at("/metadata/name").asString("")
          + "): add it to schemas/kubernetes/generate.sh and KubernetesSchemas.KINDS");
    }
    return validateAs(schema, object);
  }

  /**
   * Schema errors of a part of an object, e.g. {@code validateAs("Container", node)}; the parts with a schema:
   * Container, Probe, EnvVar, Volume, VolumeMount, DeploymentStrategy.
   */
  static List<String> validateAs(String schema, JsonNode node) {
    List<Error> errors = SCHEMAS.computeIfAbsent(schema, KubernetesSchemas::load).validate(node);
    return errors.stream().map(e -> schema + " " + e.getInstanceLocation() + ": " + e.getMessage()).toList();
  }

  private static Schema load(String name) {
    String resource = "/schemas/kubernetes/" + name + ".json";
    try (InputStream in = KubernetesSchemas.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("test resource " + resource + " is missing");
      }
      return REGISTRY.getSchema(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
