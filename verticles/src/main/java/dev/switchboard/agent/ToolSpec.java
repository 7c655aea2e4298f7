package dev.switchboard.agent;

import io.vertx.core.json.JsonObject;

/**
 * What the model is told about a tool: its name, what it does, and a JSON Schema of its arguments.
 * Descriptions are short on purpose: every word is paid for in every prompt.
 */
public record ToolSpec(String name, String description, JsonObject parameters) {

  public JsonObject toJson() {
    return new JsonObject().put("name", name).put("description", description).put("parameters", parameters);
  }

  /** Characters of the schema as a provider sends it (name, description, parameters). */
  public int chars() {
    return name.length() + description.length() + parameters.encode().length();
  }
}
