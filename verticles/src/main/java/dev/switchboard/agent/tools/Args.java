package dev.switchboard.agent.tools;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;

/** Reads tool arguments written by a model: lenient about types it often gets slightly wrong, strict about the rest. */
final class Args {
  static final JsonObject STRING = new JsonObject().put("type", "string");
  static final JsonObject INTEGER = new JsonObject().put("type", "integer");

  private Args() {
  }

  /** A JSON Schema of an arguments object: its properties and the required ones. */
  static JsonObject schema(JsonObject properties, String... required) {
    JsonObject s = new JsonObject().put("type", "object").put("properties", properties);
    if (required.length > 0) {
      s.put("required", new JsonArray(List.of((Object[]) required)));
    }
    return s;
  }

  static String requiredString(JsonObject args, String name, int maxLength) {
    Object v = args.getValue(name);
    if (!(v instanceof String s) || s.isBlank()) {
      throw new ToolError("'" + name + "' is required and must be a non-empty string");
    }
    if (s.length() > maxLength) {
      throw new ToolError("'" + name + "' must be at most " + maxLength + " characters");
    }
    return s.strip();
  }

  static String optionalString(JsonObject args, String name, int maxLength) {
    Object v = args.getValue(name);
    if (v == null) {
      return null;
    }
    if (!(v instanceof String s)) {
      throw new ToolError("'" + name + "' must be a string");
    }
    if (s.length() > maxLength) {
      throw new ToolError("'" + name + "' must be at most " + maxLength + " characters");
    }
    return s.strip();
  }

  /** An integer (a number-like string is accepted), clamped to {@code [min, max]}. */
  static int integer(JsonObject args, String name, int fallback, int min, int max) {
    Object v = args.getValue(name);
    long l;
    if (v == null) {
      return fallback;
    } else if (v instanceof Number n) {
      l = Math.round(n.doubleValue());
    } else if (v instanceof String s && s.strip().matches("-?\\d{1,9}")) {
      l = Long.parseLong(s.strip());
    } else {
      throw new ToolError("'" + name + "' must be an integer");
    }
    return (int) Math.max(min, Math.min(max, l));
  }

  static String clip(String s, int max) {
    if (s == null) {
      return "";
    }
    String one = s.replace('\n', ' ').strip();
    return one.length() <= max ? one : one.substring(0, max) + "…";
  }
}
