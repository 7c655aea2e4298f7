package dev.switchboard.agent;

import io.vertx.core.json.JsonObject;

/**
 * Tokens used, normalised across providers.
 *
 * @param input      prompt tokens, cache reads and writes included (Anthropic reports them apart; they are added)
 * @param output     completion tokens
 * @param cached     prompt tokens served from the provider's cache (a part of {@code input})
 * @param cacheWrite prompt tokens written to the provider's cache (a part of {@code input}; Anthropic
 *                   prices them above plain input)
 * @param estimated  the provider did not report all of it; the rest are estimates from the text length
 */
public record Usage(long input, long output, long cached, long cacheWrite, boolean estimated) {
  public static final Usage NONE = new Usage(0, 0, 0, 0, false);

  public Usage(long input, long output, long cached) {
    this(input, output, cached, 0, false);
  }

  public Usage(long input, long output, long cached, boolean estimated) {
    this(input, output, cached, 0, estimated);
  }

  public long total() {
    return input + output;
  }

  public boolean isEmpty() {
    return input == 0 && output == 0;
  }

  public Usage plus(Usage o) {
    return new Usage(input + o.input, output + o.output, cached + o.cached, cacheWrite + o.cacheWrite,
        estimated || o.estimated);
  }

  public JsonObject toJson() {
    JsonObject j = new JsonObject().put("input", input).put("output", output).put("cacheRead", cached)
        .put("cacheWrite", cacheWrite).put("totalTokens", total());
    if (estimated) {
      j.put("estimated", true);
    }
    return j;
  }
}
