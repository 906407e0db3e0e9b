package dev.lockstep.coordinator.http;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.type.LogicalType;
import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.protocol.Json;
import java.lang.reflect.RecordComponent;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Reads a request body into a protocol record, strictly: UTF-8 only, a JSON object at the top, and
 * every field of the type the record declares. The protocol's own mapper is lenient ({@code 5} reads
 * as the string {@code "5"}, {@code 1.5} as the number 1, {@code null} as {@code false}); at the HTTP
 * edge that would let a typo start a release, so here such input is a 400 that names the field, the
 * type it wants and the kind of value it got. Unknown fields stay ignored, for compatibility.
 *
 * <pre>{@code ReleaseRequest request = JsonBody.read(ctx.body().buffer().getBytes(), ReleaseRequest.class);}</pre>
 */
final class JsonBody {
  private static final ObjectMapper STRICT = strict();

  private JsonBody() {}

  static <T> T read(byte[] body, Class<T> type) {
    String name = type.getSimpleName();
    JsonNode root;
    try {
      root = STRICT.readTree(utf8(body, name));
    } catch (JacksonException e) {
      throw LockstepException.badRequest("malformed " + name + ": " + e.getOriginalMessage());
    }
    if (root == null || root.isMissingNode()) {
      throw LockstepException.badRequest("request body is empty; send a JSON object (" + name + ")");
    }
    if (!root.isObject()) {
      throw LockstepException.badRequest("request body must be a JSON object (" + name + "), not " + kind(root));
    }
    nullPrimitive(root, type);
    try {
      return STRICT.treeToValue(root, type);
    } catch (JsonMappingException e) {
      throw LockstepException.badRequest(fieldProblem(e, root, name));
    } catch (JacksonException e) {
      throw LockstepException.badRequest("malformed " + name + ": " + e.getOriginalMessage());
    }
  }

  /**
   * As {@link #read}, and a field {@code type} does not have is refused too, naming it and the fields there
   * are: for requests where a misspelt field ({@code dryrun}) would silently mean its default and act for real.
   *
   * @param why the end of the message, e.g. "so a misspelt dryRun cannot prune"
   */
  static <T> T readExact(byte[] body, Class<T> type, String why) {
    T value = read(body, type);
    List<String> fields = Arrays.stream(type.getRecordComponents()).map(RecordComponent::getName).toList();
    JsonNode root;
    try {
      root = STRICT.readTree(body);
    } catch (java.io.IOException e) {
      throw LockstepException.badRequest("malformed " + type.getSimpleName() + ": " + e.getMessage()); // read() parsed it already
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      if (!fields.contains(field.getKey())) {
        throw LockstepException.badRequest("field '" + Names.printable(field.getKey()) + "' (" + kind(field.getValue())
            + ") is not one " + type.getSimpleName() + " takes (" + String.join(", ", fields)
            + "); unknown fields are refused here, " + why);
      }
    }
    return value;
  }

  // Jackson's FAIL_ON_NULL_FOR_PRIMITIVES also refuses a primitive that is simply absent from a record;
  // absent means the default (false, 0), an explicit null is a mistake.
  private static void nullPrimitive(JsonNode root, Class<?> type) {
    if (!type.isRecord()) {
      return;
    }
    for (RecordComponent c : type.getRecordComponents()) {
      JsonNode value = root.get(c.getName());
      if (c.getType().isPrimitive() && value != null && value.isNull()) {
        throw LockstepException.badRequest("field '" + c.getName() + "' of " + type.getSimpleName() + " must be "
            + wanted(c.getType()) + ", not null; leave it out for the default");
      }
    }
  }

  private static String utf8(byte[] body, String name) {
    CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(body);
    CharBuffer out = CharBuffer.allocate(body.length);
    CoderResult result = decoder.decode(in, out, true);
    if (result.isError()) {
      throw LockstepException.badRequest("request body (" + name + ") is not valid UTF-8: byte 0x"
          + String.format("%02x", body[in.position()] & 0xff) + " at offset " + in.position() + "; send JSON in UTF-8");
    }
    decoder.flush(out);
    return out.flip().toString();
  }

  private static String fieldProblem(JsonMappingException e, JsonNode root, String name) {
    String field = e.getPath().stream()
        .map(ref -> ref.getFieldName() != null ? ref.getFieldName() : "[" + ref.getIndex() + "]")
        .collect(Collectors.joining("."));
    JsonNode value = root;
    for (JsonMappingException.Reference ref : e.getPath()) {
      value = value == null ? null : ref.getFieldName() != null ? value.get(ref.getFieldName()) : value.get(ref.getIndex());
    }
    String where = field.isEmpty() ? name : "field '" + field + "' of " + name;
    if (e instanceof ValueInstantiationException && e.getCause() != null) {
      // Our own parsers (an enum's parse) said what is wrong; their message is the clearest.
      return where + ": " + e.getCause().getMessage();
    }
    if (e instanceof MismatchedInputException m && m.getTargetType() != null && value != null) {
      return where + " must be " + wanted(m.getTargetType()) + ", not " + kind(value)
          + (value.isValueNode() && !value.isNull() ? " (" + Names.printable(value.asText()) + ")" : "");
    }
    return where + ": " + e.getOriginalMessage();
  }

  private static String wanted(Class<?> type) {
    if (type == String.class) {
      return "a string";
    }
    if (type == boolean.class || type == Boolean.class) {
      return "true or false";
    }
    if (type == long.class || type == Long.class || type == int.class || type == Integer.class) {
      return "a whole number";
    }
    if (type.isEnum()) {
      return "one of " + Arrays.stream(type.getEnumConstants()).map(Object::toString).map(String::toLowerCase)
          .collect(Collectors.joining(", "));
    }
    return "a " + type.getSimpleName();
  }

  private static String kind(JsonNode node) {
    return switch (node.getNodeType()) {
      case NULL -> "null";
      case ARRAY -> "an array";
      case OBJECT -> "an object";
      case STRING -> "a string";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      default -> "a " + node.getNodeType().name().toLowerCase();
    };
  }

  private static ObjectMapper strict() {
    ObjectMapper mapper = Json.mapper().copy()
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
    mapper.coercionConfigFor(LogicalType.Textual)
        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
    mapper.coercionConfigFor(LogicalType.Boolean)
        .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail);
    mapper.coercionConfigFor(LogicalType.Integer)
        .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
    mapper.coercionConfigFor(LogicalType.Enum)
        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail);
    return mapper;
  }
}
