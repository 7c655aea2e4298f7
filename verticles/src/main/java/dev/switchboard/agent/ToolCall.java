package dev.switchboard.agent;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * A tool call the model asked for.
 *
 * @param id            the provider's id for the call (its result must quote it)
 * @param rawArguments  the arguments exactly as the model wrote them (JSON text, streamed in pieces)
 * @param arguments     the parsed arguments, or null when {@code rawArguments} is not a JSON object
 */
public record ToolCall(String id, String name, String rawArguments, JsonObject arguments) {

  /** A call whose arguments are parsed from the model's JSON text (empty text means no arguments). */
  public static ToolCall parse(String id, String name, String rawArguments) {
    String raw = rawArguments == null || rawArguments.isBlank() ? "{}" : rawArguments;
    JsonObject args;
    try {
      Object parsed = io.vertx.core.json.Json.decodeValue(raw);
      args = parsed instanceof JsonObject o ? o : null;
    } catch (DecodeException e) {
      args = null;
    }
    return new ToolCall(id, name, raw, args);
  }

  public static ToolCall of(String id, String name, JsonObject arguments) {
    return new ToolCall(id, name, arguments.encode(), arguments);
  }
}
