package dev.switchboard.agent.providers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.agent.ChatMessage;
import dev.switchboard.agent.ModelCall;
import dev.switchboard.agent.ToolCall;
import dev.switchboard.agent.ToolSpec;
import dev.switchboard.workspace.ModelConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The request bodies each wire format sends for the same provider-neutral conversation. */
class ProviderRequestTest {
  static final ModelProviders PROVIDERS = new ModelProviders(Vertx.vertx());

  static final ModelCall CALL = new ModelCall("be brief", List.of(
      ChatMessage.assistant("left over from a cut history"),
      ChatMessage.user("what is in memory?"),
      ChatMessage.assistant("", List.of(ToolCall.parse("c1", "memory_search", "{\"query\":\"x\"}"))),
      ChatMessage.toolResult("c1", "memory_search", "No memories match.", false),
      ChatMessage.user("and now?")),
      List.of(new ToolSpec("memory_search", "Search.", new JsonObject().put("type", "object"))));

  static ModelConfig model(String provider, Integer maxTokens, JsonObject options) {
    ModelConfig d = ModelConfig.echo();
    return new ModelConfig(provider, "m1", "http://127.0.0.1:1/v1", List.of(), d.timeoutMs(), d.idleTimeoutMs(),
        maxTokens, 0, null, d.retry(), options, List.of());
  }

  @Test
  @DisplayName("OpenAI: system first, tool calls on the assistant (content null), results as tool messages, options merged")
  void openAi() {
    ModelConfig m = model("openai", 512, new JsonObject().put("temperature", 0.1).put("model", "not-this")
        .put("stream", false));
    JsonObject body = PROVIDERS.forModel(m).requestBody(m, CALL);
    assertThat(body.getString("model")).isEqualTo("m1");
    assertThat(body.getBoolean("stream")).isTrue();
    assertThat(body.getJsonObject("stream_options").getBoolean("include_usage")).isTrue();
    assertThat(body.getInteger("max_completion_tokens")).isEqualTo(512);
    assertThat(body.getDouble("temperature")).isEqualTo(0.1);
    JsonArray messages = body.getJsonArray("messages");
    assertThat(messages.stream().map(o -> ((JsonObject) o).getString("role")))
        .containsExactly("system", "assistant", "user", "assistant", "tool", "user");
    JsonObject call = messages.getJsonObject(3);
    assertThat(call.getValue("content")).isNull();
    assertThat(call.getJsonArray("tool_calls").getJsonObject(0).getJsonObject("function").getString("arguments"))
        .isEqualTo("{\"query\":\"x\"}");
    assertThat(messages.getJsonObject(4).getString("tool_call_id")).isEqualTo("c1");
    assertThat(body.getJsonArray("tools").getJsonObject(0).getJsonObject("function").getString("name"))
        .isEqualTo("memory_search");
    // compatible servers read max_tokens
    ModelConfig local = model("vllm", 256, new JsonObject());
    assertThat(PROVIDERS.forModel(local).requestBody(local, CALL).getInteger("max_tokens")).isEqualTo(256);
  }

  @Test
  @DisplayName("Anthropic: system apart, a leading assistant dropped, roles alternate, tool_use and tool_result blocks")
  void anthropic() {
    ModelConfig m = model("anthropic", null, new JsonObject().put("temperature", 0.3));
    JsonObject body = PROVIDERS.forModel(m).requestBody(m, CALL);
    assertThat(body.getString("system")).isEqualTo("be brief");
    assertThat(body.getInteger("max_tokens")).isEqualTo(AnthropicProvider.DEFAULT_MAX_TOKENS);
    JsonArray messages = body.getJsonArray("messages");
    assertThat(messages.stream().map(o -> ((JsonObject) o).getString("role")))
        .containsExactly("user", "assistant", "user");
    JsonArray toolUse = messages.getJsonObject(1).getJsonArray("content");
    assertThat(toolUse.getJsonObject(0).getString("type")).isEqualTo("tool_use");
    assertThat(toolUse.getJsonObject(0).getJsonObject("input")).isEqualTo(new JsonObject().put("query", "x"));
    JsonArray last = messages.getJsonObject(2).getJsonArray("content");
    assertThat(last.stream().map(o -> ((JsonObject) o).getString("type"))).containsExactly("tool_result", "text");
    assertThat(last.getJsonObject(0).getString("tool_use_id")).isEqualTo("c1");
    assertThat(body.getJsonArray("tools").getJsonObject(0).getJsonObject("input_schema")).isNotNull();
  }
}
