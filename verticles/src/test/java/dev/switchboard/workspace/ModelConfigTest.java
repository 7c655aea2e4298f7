package dev.switchboard.workspace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.config.ConfigException;
import dev.switchboard.config.ConfigProblem;
import dev.switchboard.config.Secret;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** An agent's model, tools, loop and context settings in workspace.json: parsing, defaults, problems with key paths. */
class ModelConfigTest {
  static final Path DIR = Path.of("/srv/sb/workspaces/acme");
  static final Map<String, String> ENV = Map.of("OPENAI_KEY_1", "sk-one-0000000000000000", "OPENAI_KEY_2",
      "sk-two-0000000000000000", "ANTHROPIC_API_KEY", "sk-ant-0000000000000000");

  static AgentConfig agent(JsonObject agent) {
    JsonObject ws = new JsonObject().put("port", 0).put("agents", new JsonArray().add(agent.put("id", "main")));
    return WorkspaceConfig.parse("acme", DIR, ws, "workspace.json", ENV).agent("main");
  }

  static List<String> problems(JsonObject agent) {
    JsonObject ws = new JsonObject().put("port", 0).put("agents", new JsonArray().add(agent.put("id", "main")));
    ConfigException e = Assertions.assertThrows(ConfigException.class,
        () -> WorkspaceConfig.parse("acme", DIR, ws, "workspace.json", ENV));
    return e.problems().stream().map(ConfigProblem::toString).toList();
  }

  @Test
  @DisplayName("a full OpenAI model: keys from the environment, timeouts, pricing, retry and fallbacks")
  void fullModel() {
    AgentConfig a = agent(new JsonObject().put("model", new JsonObject()
        .put("provider", "openai").put("model", "gpt-4.1-mini")
        .put("apiKeys", new JsonArray().add("${env:OPENAI_KEY_1}").add("${env:OPENAI_KEY_2}"))
        .put("timeoutMs", 60_000).put("idleTimeoutMs", 15_000).put("maxTokens", 2048).put("contextWindow", 128_000)
        .put("pricing", new JsonObject().put("inputPerMTok", 0.4).put("outputPerMTok", 1.6))
        .put("retry", new JsonObject().put("maxRetries", 4).put("maxRetryAfterMs", 10_000))
        .put("options", new JsonObject().put("temperature", 0.2))
        .put("fallbacks", new JsonArray()
            .add(new JsonObject().put("model", "gpt-4.1-nano"))
            .add(new JsonObject().put("provider", "anthropic").put("model", "claude-haiku")
                .put("apiKey", "${env:ANTHROPIC_API_KEY}")))));
    ModelConfig m = a.model();
    assertThat(m.api()).isEqualTo("openai");
    assertThat(m.effectiveBaseUrl()).isEqualTo("https://api.openai.com/v1");
    assertThat(m.apiKeys()).extracting(Secret::origin).containsExactly("env:OPENAI_KEY_1", "env:OPENAI_KEY_2");
    assertThat(m.apiKeys()).extracting(Secret::reveal).containsExactly("sk-one-0000000000000000", "sk-two-0000000000000000");
    assertThat(m.timeoutMs()).isEqualTo(60_000);
    assertThat(m.idleTimeoutMs()).isEqualTo(15_000);
    assertThat(m.maxTokens()).isEqualTo(2048);
    assertThat(m.pricing().cachedInputPerMTok()).isEqualTo(0.4); // defaults to the input price
    assertThat(m.pricing().cacheWritePerMTok()).isEqualTo(0.4); // so does the cache-write price
    assertThat(m.retry().maxRetries()).isEqualTo(4);
    assertThat(m.retry().backoffMs()).isEqualTo(ModelConfig.Retry.DEFAULT.backoffMs());
    assertThat(m.chain()).extracting(ModelConfig::label)
        .containsExactly("openai/gpt-4.1-mini", "openai/gpt-4.1-nano", "anthropic/claude-haiku");
    // a fallback of the same provider inherits keys, URL, timeouts and retry; another provider does not
    ModelConfig nano = m.fallbacks().get(0);
    assertThat(nano.apiKeys()).hasSize(2);
    assertThat(nano.timeoutMs()).isEqualTo(60_000);
    assertThat(nano.retry().maxRetries()).isEqualTo(4);
    ModelConfig haiku = m.fallbacks().get(1);
    assertThat(haiku.effectiveBaseUrl()).isEqualTo("https://api.anthropic.com/v1");
    assertThat(haiku.apiKeys()).extracting(Secret::origin).containsExactly("env:ANTHROPIC_API_KEY");
    assertThat(haiku.timeoutMs()).isEqualTo(ModelConfig.DEFAULT_TIMEOUT_MS);
    assertThat(haiku.retry()).isEqualTo(ModelConfig.Retry.DEFAULT);
    // the secret never shows in a record's text
    assertThat(m.toString()).doesNotContain("sk-one").doesNotContain("sk-two");
  }

  @Test
  @DisplayName("local servers by base URL need no key; each has its default URL")
  void localServers() {
    assertThat(agent(new JsonObject().put("model", new JsonObject().put("provider", "ollama").put("model", "llama3.2")))
        .model().effectiveBaseUrl()).isEqualTo("http://127.0.0.1:11434/v1");
    assertThat(agent(new JsonObject().put("model", new JsonObject().put("provider", "llamacpp").put("model", "any")))
        .model().effectiveBaseUrl()).isEqualTo("http://127.0.0.1:8080/v1");
    ModelConfig vllm = agent(new JsonObject().put("model", new JsonObject().put("provider", "openai-compatible")
        .put("model", "qwen").put("baseUrl", "http://127.0.0.1:8000/v1/"))).model();
    assertThat(vllm.effectiveBaseUrl()).isEqualTo("http://127.0.0.1:8000/v1");
    assertThat(vllm.apiKeys()).isEmpty();
    assertThat(vllm.api()).isEqualTo("openai");
  }

  @Test
  @DisplayName("defaults: echo model, every built-in tool, loop and context bounds")
  void defaults() {
    AgentConfig a = agent(new JsonObject());
    assertThat(a.model().provider()).isEqualTo("echo");
    assertThat(a.tools()).containsExactlyElementsOf(AgentConfig.TOOLS);
    assertThat(a.loop()).isEqualTo(AgentConfig.Loop.DEFAULT);
    assertThat(a.context()).isEqualTo(AgentConfig.Context.DEFAULT);
    AgentConfig none = agent(new JsonObject().put("tools", new JsonArray())
        .put("loop", new JsonObject().put("maxSteps", 3)).put("context", new JsonObject().put("fileMaxChars", 100)));
    assertThat(none.tools()).isEmpty();
    assertThat(none.loop().maxSteps()).isEqualTo(3);
    assertThat(none.context().fileMaxChars()).isEqualTo(100);
  }

  @Test
  @DisplayName("every problem is reported with its key path; a missing variable is named, never a value")
  void problemsWithKeyPaths() {
    List<String> p = problems(new JsonObject()
        .put("tools", new JsonArray().add("memory_search").add("rm_rf"))
        .put("loop", new JsonObject().put("maxSteps", 0))
        .put("model", new JsonObject().put("provider", "openai").put("model", "gpt")
            .put("apiKeys", new JsonArray().add("${env:NOT_SET}").add(""))
            .put("baseUrl", "ftp://user:pw@example.com/v1")
            .put("timeoutMs", 5_000).put("idleTimeoutMs", 9_000)
            .put("fallbacks", new JsonArray().add(new JsonObject().put("provider", "nope"))
                .add(new JsonObject().put("provider", "openai-compatible").put("model", "x")))));
    assertThat(p).containsExactlyInAnyOrder(
        "workspace.json: agents[0].tools[1]: unknown tool \"rm_rf\"; this build has memory_search, memory_write,"
            + " sessions_list, session_history, session_send, working_memory_update",
        "workspace.json: agents[0].loop.maxSteps: must be between 1 and 100, got 0",
        "workspace.json: agents[0].model.apiKeys[0]: refers to environment variable NOT_SET, which is not set",
        "workspace.json: agents[0].model.apiKeys[1]: must not be empty",
        "workspace.json: agents[0].model.baseUrl: must be an http:// or https:// URL without credentials, query or"
            + " fragment",
        "workspace.json: agents[0].model.idleTimeoutMs: must not be larger than timeoutMs (5000), got 9000",
        "workspace.json: agents[0].model.fallbacks[0].provider: unknown provider \"nope\"; this build knows echo,"
            + " openai, anthropic, openai-compatible, ollama, llamacpp, vllm",
        "workspace.json: agents[0].model.fallbacks[1].baseUrl: is required for provider openai-compatible (for"
            + " example http://127.0.0.1:8000/v1)");
    assertThat(problems(new JsonObject().put("model", new JsonObject().put("provider", "anthropic")
        .put("model", "claude")))).containsExactly("workspace.json: agents[0].model.apiKey: is required for provider"
        + " anthropic (write it as ${env:ANTHROPIC_API_KEY})");
    assertThat(problems(new JsonObject().put("model", new JsonObject().put("provider", "openai"))))
        .contains("workspace.json: agents[0].model.model: is required for provider openai");
  }

  @Test
  @DisplayName("a literal key is accepted but only its location is ever shown")
  void literalKey() {
    ModelConfig m = agent(new JsonObject().put("model", new JsonObject().put("provider", "openai").put("model", "g")
        .put("apiKey", "sk-literal-1234567890"))).model();
    assertThat(m.apiKeys()).singleElement().satisfies(k -> {
      assertThat(k.origin()).isEqualTo("workspace.json: agents[0].model.apiKey");
      assertThat(k.toString()).doesNotContain("sk-literal");
    });
  }
}
