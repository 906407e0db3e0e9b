package dev.lockstep.coordinator.http;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The shipped {@code openapi.yaml}, parsed, for tests: its operations, its references resolved, and a
 * small checker of a JSON value against one of its schemas (the keywords the document uses: {@code
 * $ref}, {@code type}, {@code enum}, {@code properties}, {@code required}, {@code additionalProperties},
 * {@code items}, {@code allOf}, {@code oneOf}, {@code minimum}, {@code maximum}, {@code pattern}).
 *
 * <pre>{@code
 * ApiDocument api = ApiDocument.shipped();
 * for (ApiDocument.Operation op : api.operations()) { … op.method() + " " + op.path() … }
 * List<String> problems = api.check(json, api.resolve("#/components/schemas/ReleaseDocument"), "body");
 * }</pre>
 */
public final class ApiDocument {
  public static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch", "head", "options", "trace");

  private final Map<String, Object> root;

  private ApiDocument(Map<String, Object> root) {
    this.root = root;
  }

  /** The document as the coordinator's jar ships and serves it. */
  public static ApiDocument shipped() {
    return parse(shippedText());
  }

  /** The text of {@link #shipped()}, as {@code GET /openapi.yaml} answers it. */
  public static String shippedText() {
    try {
      return ApiDocumentRoutes.read().toString(java.nio.charset.StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The operation {@code method} ("GET") {@code path} ("/v1/releases/{id}"), or an error naming it. */
  public Operation operation(String method, String path) {
    return operations().stream().filter(op -> op.method().equals(method) && op.path().equals(path)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("openapi.yaml has no operation " + method + " " + path));
  }

  public static ApiDocument parse(String yaml) {
    return new ApiDocument(map(new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml), "the document"));
  }

  public Map<String, Object> root() {
    return root;
  }

  /** One operation: upper-case method, the path as written ({@code /v1/agents/{id}}), its object and its path item. */
  public record Operation(String method, String path, Map<String, Object> spec, Map<String, Object> pathItem) {
    public String name() {
      return method + " " + path;
    }

    /** The parameters of the path item and of the operation, references resolved by {@code api}. */
    public List<Map<String, Object>> parameters(ApiDocument api) {
      List<Map<String, Object>> all = new ArrayList<>();
      for (Object p : list(pathItem.get("parameters"))) {
        all.add(api.deref(map(p, name() + " parameter")));
      }
      for (Object p : list(spec.get("parameters"))) {
        all.add(api.deref(map(p, name() + " parameter")));
      }
      return all;
    }

    /** The responses by status, references resolved by {@code api}. */
    public Map<String, Map<String, Object>> responses(ApiDocument api) {
      Map<String, Map<String, Object>> out = new LinkedHashMap<>();
      map(spec.getOrDefault("responses", Map.of()), name() + " responses")
          .forEach((status, response) -> out.put(status, api.deref(map(response, name() + " " + status))));
      return out;
    }

    /** The security requirements that apply: the operation's, else the document's. */
    public List<Map<String, Object>> security(ApiDocument api) {
      Object own = spec.containsKey("security") ? spec.get("security") : api.root.get("security");
      List<Map<String, Object>> out = new ArrayList<>();
      for (Object requirement : list(own)) {
        out.add(map(requirement, name() + " security"));
      }
      return out;
    }

    /** Whether any of the security requirements names {@code scheme}; an empty list means no token. */
    public boolean accepts(ApiDocument api, String scheme) {
      return security(api).stream().anyMatch(r -> r.containsKey(scheme));
    }
  }

  public List<Operation> operations() {
    List<Operation> out = new ArrayList<>();
    map(root.get("paths"), "paths").forEach((path, item) -> {
      Map<String, Object> pathItem = map(item, path);
      pathItem.forEach((key, value) -> {
        if (METHODS.contains(key)) {
          out.add(new Operation(key.toUpperCase(java.util.Locale.ROOT), path, map(value, key + " " + path), pathItem));
        }
      });
    });
    return out;
  }

  /** The object a local reference ({@code #/components/schemas/X}) points at. */
  public Map<String, Object> resolve(String ref) {
    if (!ref.startsWith("#/")) {
      throw new IllegalArgumentException("only local references are used here, not " + ref);
    }
    Object at = root;
    for (String part : ref.substring(2).split("/")) {
      String key = part.replace("~1", "/").replace("~0", "~");
      if (!(at instanceof Map<?, ?> m) || !m.containsKey(key)) {
        throw new IllegalArgumentException("reference " + ref + " does not resolve: no '" + key + "'");
      }
      at = m.get(key);
    }
    return map(at, ref);
  }

  /** {@code node} itself, or what its {@code $ref} points at (repeatedly). */
  public Map<String, Object> deref(Map<String, Object> node) {
    Map<String, Object> at = node;
    for (int i = 0; at.get("$ref") instanceof String ref; i++) {
      if (i > 20) {
        throw new IllegalArgumentException("reference cycle at " + ref);
      }
      at = resolve(ref);
    }
    return at;
  }

  /** Every {@code $ref} in the document, with where it stands. */
  public Map<String, String> references() {
    Map<String, String> out = new LinkedHashMap<>();
    collect(root, "#", out);
    return out;
  }

  private static void collect(Object node, String where, Map<String, String> out) {
    if (node instanceof Map<?, ?> m) {
      m.forEach((k, v) -> {
        if ("$ref".equals(k)) {
          out.put(where, String.valueOf(v));
        } else {
          collect(v, where + "/" + k, out);
        }
      });
    } else if (node instanceof List<?> l) {
      for (int i = 0; i < l.size(); i++) {
        collect(l.get(i), where + "/" + i, out);
      }
    }
  }

  /**
   * What is wrong with {@code value} (parsed JSON: maps, lists, strings, numbers, booleans, null) as an
   * instance of {@code schema}; empty if nothing.
   */
  public List<String> check(Object value, Map<String, Object> schema, String where) {
    List<String> problems = new ArrayList<>();
    checkInto(value, schema, where, problems);
    return problems;
  }

  private void checkInto(Object value, Map<String, Object> schema, String where, List<String> problems) {
    if (schema.get("$ref") instanceof String ref) {
      checkInto(value, resolve(ref), where, problems);
    }
    if (schema.containsKey("allOf")) {
      // Composition, as OpenAPI uses it: the object has the fields of every part (each part alone would call the
      // others' fields unknown), and each field is checked against the part that names it.
      Map<String, Object> properties = new java.util.LinkedHashMap<>();
      List<Object> required = new ArrayList<>();
      for (Object part : list(schema.get("allOf"))) {
        Map<String, Object> resolved = map(part, where + " allOf");
        if (resolved.get("$ref") instanceof String ref) {
          resolved = resolve(ref);
        }
        if (resolved.containsKey("properties")) {
          properties.putAll(map(resolved.get("properties"), where));
        }
        required.addAll(list(resolved.get("required")));
      }
      checkInto(value, Map.of("type", "object", "properties", properties, "required", required), where, problems);
    }
    if (schema.containsKey("oneOf")) {
      long matching = list(schema.get("oneOf")).stream()
          .filter(option -> check(value, map(option, where + " oneOf"), where).isEmpty()).count();
      if (matching != 1) {
        problems.add(where + ": matches " + matching + " of the oneOf schemas, not one (" + value + ")");
      }
    }
    Object type = schema.get("type");
    if (type != null) {
      List<?> types = type instanceof List<?> l ? l : List.of(type);
      if (types.stream().noneMatch(t -> isOfType(value, String.valueOf(t)))) {
        problems.add(where + ": " + describe(value) + " is not of type " + types);
        return;
      }
    }
    if (schema.containsKey("enum") && !list(schema.get("enum")).contains(value)) {
      problems.add(where + ": " + value + " is not one of " + schema.get("enum"));
    }
    if (value instanceof Number n) {
      if (schema.get("minimum") instanceof Number min && n.doubleValue() < min.doubleValue()) {
        problems.add(where + ": " + n + " is below the minimum " + min);
      }
      if (schema.get("maximum") instanceof Number max && n.doubleValue() > max.doubleValue()) {
        problems.add(where + ": " + n + " is above the maximum " + max);
      }
    }
    if (value instanceof String s && schema.get("pattern") instanceof String pattern
        && !java.util.regex.Pattern.compile(pattern).matcher(s).find()) {
      problems.add(where + ": '" + s + "' does not match " + pattern);
    }
    if (value instanceof Map<?, ?> object) {
      Map<String, Object> properties = schema.containsKey("properties") ? map(schema.get("properties"), where) : Map.of();
      for (Object required : list(schema.get("required"))) {
        if (!object.containsKey(required)) {
          problems.add(where + ": required field '" + required + "' is missing");
        }
      }
      object.forEach((k, v) -> {
        String field = where + "." + k;
        if (properties.containsKey(String.valueOf(k))) {
          checkInto(v, map(properties.get(String.valueOf(k)), field), field, problems);
        } else if (schema.get("additionalProperties") instanceof Map<?, ?> additional) {
          checkInto(v, map(additional, field), field, problems);
        } else if (schema.containsKey("properties") || Boolean.FALSE.equals(schema.get("additionalProperties"))) {
          problems.add(field + ": not a field the document names (it names " + properties.keySet() + ")");
        }
      });
    }
    if (value instanceof List<?> items && schema.get("items") instanceof Map<?, ?> itemSchema) {
      for (int i = 0; i < items.size(); i++) {
        checkInto(items.get(i), map(itemSchema, where), where + "[" + i + "]", problems);
      }
    }
  }

  private static boolean isOfType(Object value, String type) {
    return switch (type) {
      case "null" -> value == null;
      case "string" -> value instanceof String;
      case "boolean" -> value instanceof Boolean;
      case "integer" -> value instanceof Integer || value instanceof Long || value instanceof java.math.BigInteger;
      case "number" -> value instanceof Number;
      case "array" -> value instanceof List;
      case "object" -> value instanceof Map;
      default -> throw new IllegalArgumentException("unknown type " + type);
    };
  }

  private static String describe(Object value) {
    return value == null ? "null" : value.getClass().getSimpleName() + " " + value;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object node, String what) {
    if (!(node instanceof Map)) {
      throw new IllegalArgumentException(what + " is not a mapping but " + describe(node));
    }
    return (Map<String, Object>) node;
  }

  static List<?> list(Object node) {
    return node == null ? List.of() : node instanceof List<?> l ? l : List.of(node);
  }
}
