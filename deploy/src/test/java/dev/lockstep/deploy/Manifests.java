package dev.lockstep.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.StreamSupport;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * YAML read as Helm and Compose read it (YAML 1.1: anchors, aliases, {@code <<} merge keys), as JSON trees for
 * the schema validator, plus the few lookups the tests share.
 */
final class Manifests {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private Manifests() {}

  /** Every non-empty document of a (multi-document) YAML text, such as {@code helm template}'s output. */
  static List<JsonNode> parseAll(String yaml) {
    List<JsonNode> docs = new ArrayList<>();
    for (Object doc : yaml().loadAll(yaml)) {
      if (doc != null) {
        docs.add(JSON.valueToTree(doc));
      }
    }
    return docs;
  }

  static JsonNode read(Path file) {
    try {
      return JSON.valueToTree(yaml().load(Files.readString(file)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static JsonNode readJson(Path file) {
    return JSON.readTree(file.toFile());
  }

  /** The only object of this kind; fails naming the kinds there are otherwise. */
  static JsonNode only(List<JsonNode> objects, String kind) {
    List<JsonNode> found = objects.stream().filter(o -> kind.equals(o.path("kind").asString())).toList();
    if (found.size() != 1) {
      throw new AssertionError("expected one " + kind + ", found " + found.size() + " among " + kinds(objects));
    }
    return found.get(0);
  }

  static List<String> kinds(List<JsonNode> objects) {
    return objects.stream().map(o -> o.path("kind").asString()).toList();
  }

  /** The element of an array whose {@code name} is {@code name}, or a missing node. */
  static JsonNode named(JsonNode array, String name) {
    return StreamSupport.stream(array.spliterator(), false).filter(n -> name.equals(n.path("name").asString()))
        .findFirst().orElse(JSON.missingNode());
  }

  /** The {@code value} of environment variable {@code name} in a container, or null when it is not set. */
  static String env(JsonNode container, String name) {
    JsonNode var = named(container.path("env"), name);
    return var.isMissingNode() ? null : var.path("value").asString(null);
  }

  static List<String> envNames(JsonNode container) {
    return StreamSupport.stream(container.path("env").spliterator(), false).map(n -> n.path("name").asString())
        .filter(Objects::nonNull).toList();
  }

  private static Yaml yaml() {
    LoaderOptions options = new LoaderOptions();
    options.setMaxAliasesForCollections(100);
    return new Yaml(new SafeConstructor(options));
  }
}
