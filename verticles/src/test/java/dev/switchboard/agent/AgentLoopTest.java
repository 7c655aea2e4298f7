package dev.switchboard.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.memory.MemoryAddresses;
import dev.switchboard.store.Session;
import dev.switchboard.store.SessionEvent;
import dev.switchboard.support.ScriptedAnthropicServer;
import dev.switchboard.support.ScriptedModelServer;
import dev.switchboard.support.ScriptedModelServer.Recorded;
import dev.switchboard.support.ScriptedOpenAiServer;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent loop against scripted OpenAI and Anthropic servers speaking their real streaming
 * protocols: tool loops, failover, key rotation, timeouts, the loop detector and compaction.
 */
@Timeout(90)
class AgentLoopTest {
  static Vertx vertx;
  ScriptedOpenAiServer openai;
  ScriptedAnthropicServer anthropic;
  AgentHarness harness;

  @TempDir
  Path dir;

  @BeforeAll
  static void vertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void closeVertx() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void servers() {
    openai = new ScriptedOpenAiServer(vertx).start();
    anthropic = new ScriptedAnthropicServer(vertx).start();
  }

  @AfterEach
  void stop() {
    if (harness != null) {
      harness.close();
    }
    assertThat(openai.protocolErrors()).as("requests OpenAI would refuse").isEmpty();
    assertThat(anthropic.protocolErrors()).as("requests Anthropic would refuse").isEmpty();
    openai.close();
    anthropic.close();
  }

  /** Fast retries so failure paths finish quickly; waits longer than 100 ms move to the next model. */
  static JsonObject fastRetry(int maxRetries) {
    return new JsonObject().put("maxRetries", maxRetries).put("backoffMs", 1).put("maxBackoffMs", 5)
        .put("maxRetryAfterMs", 100);
  }

  static JsonObject openaiModel(ScriptedModelServer s, String... keys) {
    return new JsonObject().put("provider", "openai").put("model", "gpt-test").put("baseUrl", s.baseUrl())
        .put("apiKeys", new JsonArray(List.of((Object[]) keys))).put("retry", fastRetry(2));
  }

  static JsonObject anthropicModel(ScriptedModelServer s, String key) {
    return new JsonObject().put("provider", "anthropic").put("model", "claude-test").put("baseUrl", s.baseUrl())
        .put("apiKey", key).put("retry", fastRetry(2));
  }

  /** A harness whose agent uses {@code model} and every default. */
  AgentHarness withModel(JsonObject model) throws Exception {
    return harness(new JsonObject().put("model", model));
  }

  AgentHarness harness(JsonObject agent) throws Exception {
    harness = AgentHarness.start(vertx, dir, agent, Map.of());
    return harness;
  }

  // ---- tool loops ----------------------------------------------------------------------------

  @Test
  @DisplayName("OpenAI: the model calls memory_write, gets the result back, then answers; the memory is stored")
  void twoStepToolLoopOpenAi() throws Exception {
    withModel(openaiModel(openai, "key-a"));
    Session s = harness.session("agent:main:main");
    AgentHarness.Recording r = harness.turn(s,
        "remember [call:memory_write:{\"text\":\"the sky is green here\",\"kind\":\"fact\"}] [in:T1]");

    assertThat(r.failure).isNull();
    assertThat(r.outcome.text()).startsWith("<<T1>> tool memory_write said: Saved fact ").endsWith(". <<end-T1>>");
    assertThat(r.outcome.steps()).isEqualTo(2);
    assertThat(r.outcome.toolCalls()).isEqualTo(1);
    assertThat(r.outcome.usage().input()).isPositive();
    List<Recorded> requests = openai.requests();
    assertThat(requests).hasSize(2);
    assertThat(requests.get(0).conversation().tools()).containsExactly("memory_search", "memory_write",
        "sessions_list", "session_history", "session_send", "working_memory_update");
    assertThat(requests.get(1).conversation().toolResults()).hasSize(1);
    assertThat(requests.get(0).apiKey()).isEqualTo("key-a");

    assertThat(r.calls).hasSize(1);
    assertThat(r.calls.get(0).arguments().getString("text")).isEqualTo("the sky is green here");
    assertThat(r.results).hasSize(1);
    assertThat(r.results.get(0).isError()).isFalse();
    JsonObject found = harness.request(MemoryAddresses.SEARCH, new JsonObject().put("agentId", "main")
        .put("query", "sky green"));
    assertThat(found.getJsonArray("entries")).hasSize(1);
    assertThat(found.getJsonArray("entries").getJsonObject(0).getString("sourceSessionId")).isEqualTo(s.id());
    // tool call and result are in the session's log, in order, after the user message
    assertThat(harness.stored(s)).extracting(SessionEvent::type)
        .containsExactly("user_message", "tool_call", "tool_result");
  }

  @Test
  @DisplayName("Anthropic: tool_use streamed as input_json_delta, tool_result sent back, then the answer")
  void twoStepToolLoopAnthropic() throws Exception {
    withModel(anthropicModel(anthropic, "ant-key"));
    Session s = harness.session("agent:main:main");
    harness.storeExchange(s, "old-1", "my cat is called Tom", "noted");
    AgentHarness.Recording r = harness.turn(s, "[call:memory_search:{\"query\":\"cat\"}] [in:A1]");

    assertThat(r.failure).isNull();
    assertThat(r.outcome.text()).isEqualTo("<<A1>> tool memory_search said: No memories match. <<end-A1>>");
    assertThat(r.outcome.provider()).isEqualTo("anthropic");
    List<Recorded> requests = anthropic.requests();
    assertThat(requests).hasSize(2);
    assertThat(requests.get(0).apiKey()).isEqualTo("ant-key");
    // the earlier exchange is in the history, the system prompt goes in "system", roles alternate
    assertThat(requests.get(0).conversation().texts()).containsExactly("my cat is called Tom", "noted",
        "[call:memory_search:{\"query\":\"cat\"}] [in:A1]");
    assertThat(requests.get(0).body().getString("system")).startsWith("You are main, an assistant");
    assertThat(requests.get(1).conversation().toolResults()).singleElement()
        .satisfies(e -> assertThat(e.toolName()).isEqualTo("memory_search"));
    assertThat(requests.get(0).body().getInteger("max_tokens")).isEqualTo(4096);
  }

  @Test
  @DisplayName("two tool calls in one answer, their arguments streamed three characters at a time, both run in order")
  void streamedToolCallDeltas() throws Exception {
    withModel(openaiModel(openai, "key-a"));
    Session s = harness.session("agent:main:main");
    String first = "{\"text\":\"alpha \\\"quoted\\\" and unicode \\u00e9\",\"kind\":\"note\"}";
    String second = "{\"text\":\"beta\",\"kind\":\"preference\"}";
    AgentHarness.Recording r = harness.turn(s, "[call:memory_write:" + first + "] [call:memory_write:" + second
        + "] [in:D1]");

    assertThat(r.failure).isNull();
    assertThat(r.calls).extracting(c -> c.arguments().getString("text")).containsExactly("alpha \"quoted\" and"
        + " unicode é", "beta");
    assertThat(r.calls).extracting(TurnListener.ToolCallEvent::toolCallId).doesNotHaveDuplicates();
    assertThat(r.results).hasSize(2).allSatisfy(x -> assertThat(x.isError()).isFalse());
    // what the stand-in put on the wire: each call in many delta frames, whose fragments are the arguments
    List<ScriptedModelServer.StreamedCall> streamed = openai.streamedCalls();
    assertThat(streamed).as("precondition: both calls streamed in the first answer")
        .extracting(ScriptedModelServer.StreamedCall::request).containsExactly(0, 0);
    assertThat(streamed).allSatisfy(c -> assertThat(c.frames()).isGreaterThan(10));
    assertThat(streamed).as("precondition: the stand-in streamed the scripted arguments")
        .extracting(ScriptedModelServer.StreamedCall::arguments).containsExactly(first, second);
    // reassembled by the gateway to the very same text: it goes back to the model unchanged
    JsonArray sentBack = openai.requests().get(1).body().getJsonArray("messages").stream()
        .map(JsonObject.class::cast).filter(m -> m.containsKey("tool_calls")).findFirst().orElseThrow()
        .getJsonArray("tool_calls");
    assertThat(sentBack.stream().map(c -> ((JsonObject) c).getJsonObject("function").getString("arguments")))
        .containsExactly(first, second);
    assertThat(r.calls.get(0).arguments()).isEqualTo(new JsonObject(first));
    assertThat(r.outcome.text()).contains("Saved note").contains("Saved preference");
  }

  @Test
  @DisplayName("Ollama-style tool-call pieces without index: a new id starts the next call, pieces without id continue it")
  void toolCallDeltasWithoutIndex() throws Exception {
    openai.omitToolCallIndex(true);
    withModel(new JsonObject().put("provider", "ollama").put("model", "llama-test").put("baseUrl", openai.baseUrl())
        .put("retry", fastRetry(0)));
    Session s = harness.session("agent:main:main");
    String first = "{\"query\":\"first one\",\"limit\":3}";
    String second = "{\"text\":\"second, without index\",\"kind\":\"note\"}";
    AgentHarness.Recording r = harness.turn(s, "[call:memory_search:" + first + "] [call:memory_write:" + second
        + "] [in:OL1]");

    assertThat(r.failure).isNull();
    assertThat(openai.requests().get(0).apiKey()).isNull(); // a local server needs no key
    assertThat(openai.streamedCalls()).hasSize(2).allSatisfy(c -> assertThat(c.frames()).isGreaterThan(5));
    assertThat(r.calls).extracting(TurnListener.ToolCallEvent::name).containsExactly("memory_search", "memory_write");
    assertThat(r.calls).extracting(TurnListener.ToolCallEvent::arguments)
        .containsExactly(new JsonObject(first), new JsonObject(second));
    assertThat(r.calls).extracting(TurnListener.ToolCallEvent::toolCallId).containsExactly("call_1", "call_2");
    assertThat(r.results).hasSize(2).allSatisfy(x -> assertThat(x.isError()).isFalse());
    assertThat(r.outcome.text()).contains("tool memory_search said: No memories match.")
        .contains("tool memory_write said: Saved note");
  }

  @Test
  @DisplayName("memory_search declares no argument required: called without a query it lists the most recent memories")
  void memorySearchWithoutQuery() throws Exception {
    withModel(openaiModel(openai, "key-a"));
    harness.request(MemoryAddresses.WRITE, new JsonObject().put("agentId", "main").put("text", "likes green tea")
        .put("kind", "preference").put("tags", new JsonArray()));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "[call:memory_search:{}] [in:MQ1]");

    JsonObject schema = openai.requests().get(0).body().getJsonArray("tools").stream().map(JsonObject.class::cast)
        .map(t -> t.getJsonObject("function")).filter(f -> f.getString("name").equals("memory_search")).findFirst()
        .orElseThrow().getJsonObject("parameters");
    assertThat(schema.getJsonObject("properties").fieldNames()).containsExactlyInAnyOrder("query", "limit");
    assertThat(schema.containsKey("required")).isFalse();
    assertThat(r.results).singleElement().satisfies(x -> {
      assertThat(x.isError()).isFalse();
      assertThat(x.result()).startsWith("- [preference, ").endsWith("] likes green tea");
    });
  }

  @Test
  @DisplayName("session tools: an owner's turn sees every session; anyone else's turn only its own")
  void sessionToolsRespectOwnership() throws Exception {
    withModel(openaiModel(openai, "key-a"));
    Session guest = harness.session("agent:main:webchat:direct:guest");
    Session owner = harness.session("agent:main:main");
    harness.storeExchange(owner, "o1", "the owner's private note", "noted");
    String ask = "[call:sessions_list:{}] [call:session_history:{\"sessionKey\":\"agent:main:main\"}] [in:P1]";

    AgentHarness.Recording asGuest = harness.turn(guest, ask, false, List::of);
    assertThat(asGuest.results).hasSize(2);
    assertThat(asGuest.results.get(0).result()).contains("agent:main:webchat:direct:guest (this session)")
        .doesNotContain("agent:main:main ");
    assertThat(asGuest.results.get(1).isError()).isTrue();
    assertThat(asGuest.results.get(1).result()).isEqualTo("no session \"agent:main:main\" that you can see");
    assertThat(asGuest.outcome.text()).doesNotContain("private note");

    AgentHarness.Recording asOwner = harness.turn(guest, ask, true, List::of);
    assertThat(asOwner.results.get(0).result()).contains("agent:main:main |").contains("agent:main:webchat:direct:guest");
    assertThat(asOwner.results.get(1).isError()).isFalse();
    assertThat(asOwner.results.get(1).result()).isEqualTo("user: the owner's private note\nassistant: noted");
  }

  // ---- failover ------------------------------------------------------------------------------

  @Test
  @DisplayName("the primary model keeps failing with 500: after its retries the fallback (another provider) answers")
  void fallbackToSecondModel() throws Exception {
    openai.enqueue(ScriptedOpenAiServer.serverError(), ScriptedOpenAiServer.serverError(),
        ScriptedOpenAiServer.serverError());
    withModel(openaiModel(openai, "key-a").put("fallbacks", new JsonArray().add(anthropicModel(anthropic, "ant-key"))));
    Session s = harness.session("agent:main:main");
    AgentHarness.Recording r = harness.turn(s, "hello [in:F1]");

    assertThat(r.failure).isNull();
    assertThat(r.outcome.text()).isEqualTo("<<F1>> ok <<end-F1>>");
    assertThat(r.outcome.provider()).isEqualTo("anthropic");
    assertThat(r.outcome.model()).isEqualTo("claude-test");
    assertThat(openai.requests()).hasSize(3); // first attempt + maxRetries 2
    assertThat(anthropic.requests()).hasSize(1);
  }

  @Test
  @DisplayName("a 401 is not retried on the same key: the fallback model of the same provider answers, inheriting its URL")
  void authFailureMovesOn() throws Exception {
    openai.failKey("bad-key", ScriptedOpenAiServer.badKey("bad-key"));
    JsonObject model = openaiModel(openai, "bad-key").put("fallbacks", new JsonArray()
        .add(new JsonObject().put("model", "gpt-small").put("apiKey", "good-key")));
    withModel(model);
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "hi [in:F2]");

    assertThat(r.failure).isNull();
    assertThat(r.outcome.model()).isEqualTo("gpt-small");
    assertThat(openai.requests()).extracting(Recorded::apiKey).containsExactly("bad-key", "good-key");
    assertThat(openai.requests().get(1).body().getString("model")).isEqualTo("gpt-small");
  }

  @Test
  @DisplayName("a rate-limited key rests for its Retry-After; the call and the next turn use the other key at once")
  void keyRotation() throws Exception {
    openai.failKey("key-a", ScriptedOpenAiServer.rateLimited("30"));
    withModel(openaiModel(openai, "key-a", "key-b"));
    Session s = harness.session("agent:main:main");
    AgentHarness.Recording r1 = harness.turn(s, "one [in:K1]");
    AgentHarness.Recording r2 = harness.turn(s, "two [in:K2]");

    assertThat(r1.outcome.text()).isEqualTo("<<K1>> ok <<end-K1>>");
    assertThat(r2.outcome.text()).isEqualTo("<<K2>> ok <<end-K2>>");
    // key-a was tried once, then rested for 30 s: every later call went to key-b
    assertThat(openai.requests()).extracting(Recorded::apiKey).containsExactly("key-a", "key-b", "key-b");
  }

  @Test
  @DisplayName("a model's only key rests after a 429: the next turn goes straight to the fallback instead of asking it again")
  void singleRateLimitedKeyRestsAcrossTurns() throws Exception {
    openai.enqueue(ScriptedOpenAiServer.rateLimited("30")); // only the first request; the key would answer after
    withModel(openaiModel(openai, "key-a").put("fallbacks", new JsonArray().add(anthropicModel(anthropic, "ant-key"))));
    Session s = harness.session("agent:main:main");
    AgentHarness.Recording r1 = harness.turn(s, "one [in:SK1]");
    AgentHarness.Recording r2 = harness.turn(s, "two [in:SK2]");

    assertThat(r1.outcome.provider()).isEqualTo("anthropic");
    assertThat(r2.outcome.text()).isEqualTo("<<SK2>> ok <<end-SK2>>");
    assertThat(r2.outcome.provider()).isEqualTo("anthropic");
    assertThat(openai.requests()).hasSize(1);
    assertThat(anthropic.requests()).hasSize(2);
  }

  @Test
  @DisplayName("a turn that starts while the only key rests for a short Retry-After waits for it, then asks")
  void nextTurnWaitsForAShortRest() throws Exception {
    // the first turn gives up after one retry, while the key still rests for 500 ms
    openai.enqueue(ScriptedOpenAiServer.rateLimited("0.5"), ScriptedOpenAiServer.rateLimited("0.5"));
    withModel(openaiModel(openai, "key-a").put("retry", fastRetry(1).put("maxRetryAfterMs", 5_000)));
    Session s = harness.session("agent:main:main");
    AgentHarness.Recording r1 = harness.turn(s, "one [in:W1]");
    AgentHarness.Recording r2 = harness.turn(s, "two [in:W2]");

    assertThat(r1.failure.kind()).isEqualTo(FailureKind.RATE_LIMIT);
    assertThat(r2.outcome.text()).isEqualTo("<<W2>> ok <<end-W2>>");
    List<Recorded> requests = openai.requests();
    assertThat(requests).hasSize(3);
    assertThat(Duration.ofNanos(requests.get(2).receivedNanos() - requests.get(1).receivedNanos()))
        .isGreaterThanOrEqualTo(Duration.ofMillis(500));
  }

  @Test
  @DisplayName("every key resting longer than maxRetryAfterMs: the turn fails as rate_limit with the attempts listed")
  void rateLimitWithoutRecourse() throws Exception {
    openai.failKey("key-a", ScriptedOpenAiServer.rateLimited("30"));
    withModel(openaiModel(openai, "key-a"));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "hi [in:R1]");

    assertThat(r.failure).isNotNull();
    assertThat(r.failure.kind()).isEqualTo(FailureKind.RATE_LIMIT);
    assertThat(r.failure.kind().protocolKind()).isEqualTo("rate_limit");
    assertThat(r.failure.detail().getInteger("httpStatus")).isEqualTo(429);
    assertThat(r.failure.detail().getLong("retryAfterMs")).isEqualTo(30_000L);
    assertThat(r.failure.detail().getJsonArray("attempts")).hasSize(1);
    assertThat(openai.requests()).hasSize(1); // 30 s is longer than maxRetryAfterMs: no waiting, no retry
  }

  @Test
  @DisplayName("a short Retry-After is honoured by waiting at least that long (not the shorter backoff), then the same key succeeds")
  void shortRetryAfterIsHonoured() throws Exception {
    openai.enqueue(ScriptedOpenAiServer.rateLimited("0.6")); // 600 ms; the backoff is 1-5 ms
    withModel(openaiModel(openai, "key-a").put("retry", fastRetry(2).put("maxRetryAfterMs", 5_000)));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "hi [in:R2]");

    assertThat(r.outcome.text()).isEqualTo("<<R2>> ok <<end-R2>>");
    List<Recorded> requests = openai.requests();
    assertThat(requests).extracting(Recorded::apiKey).containsExactly("key-a", "key-a");
    assertThat(Duration.ofNanos(requests.get(1).receivedNanos() - requests.get(0).receivedNanos()))
        .isGreaterThanOrEqualTo(Duration.ofMillis(600));
  }

  // ---- Anthropic faults ----------------------------------------------------------------------

  @Test
  @DisplayName("Anthropic 429 with a long Retry-After: rate_limit, not retried, the detail names the status, type and wait")
  void anthropicRateLimitLong() throws Exception {
    anthropic.enqueue(ScriptedAnthropicServer.rateLimited("30"));
    withModel(anthropicModel(anthropic, "ant-key"));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "hi [in:AR1]");

    assertThat(r.failure.kind()).isEqualTo(FailureKind.RATE_LIMIT);
    assertThat(r.failure.kind().protocolKind()).isEqualTo("rate_limit");
    JsonObject detail = r.failure.detail();
    assertThat(detail.getInteger("httpStatus")).isEqualTo(429);
    assertThat(detail.getString("providerErrorType")).isEqualTo("rate_limit_error");
    assertThat(detail.getLong("retryAfterMs")).isEqualTo(30_000L);
    assertThat(anthropic.requests()).hasSize(1);
    assertThat(r.failure.usage()).isEqualTo(Usage.NONE); // refused before answering: nothing used
  }

  @Test
  @DisplayName("Anthropic 429 with a short Retry-After: the call waits at least that long, then the same key answers")
  void anthropicRateLimitShort() throws Exception {
    anthropic.enqueue(ScriptedAnthropicServer.rateLimited("0.5"));
    withModel(anthropicModel(anthropic, "ant-key").put("retry", fastRetry(2).put("maxRetryAfterMs", 5_000)));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "hi [in:AR2]");

    assertThat(r.outcome.text()).isEqualTo("<<AR2>> ok <<end-AR2>>");
    List<Recorded> requests = anthropic.requests();
    assertThat(requests).extracting(Recorded::apiKey).containsExactly("ant-key", "ant-key");
    assertThat(Duration.ofNanos(requests.get(1).receivedNanos() - requests.get(0).receivedNanos()))
        .isGreaterThanOrEqualTo(Duration.ofMillis(500));
  }

  @Test
  @DisplayName("Anthropic 529 overloaded is retried; when it persists past the retries the turn fails as overloaded")
  void anthropicOverloaded() throws Exception {
    anthropic.enqueue(ScriptedAnthropicServer.overloaded(), ScriptedAnthropicServer.overloaded(),
        ScriptedAnthropicServer.overloaded());
    withModel(anthropicModel(anthropic, "ant-key").put("retry", fastRetry(1)));
    Session s = harness.session("agent:main:main");
    AgentHarness.Recording failed = harness.turn(s, "one [in:AO1]"); // 529, retry, 529: given up
    AgentHarness.Recording answered = harness.turn(s, "two [in:AO2]"); // 529, retry answers

    assertThat(failed.failure.kind()).isEqualTo(FailureKind.OVERLOADED);
    assertThat(failed.failure.kind().protocolKind()).isEqualTo("rate_limit");
    assertThat(failed.failure.detail().getInteger("httpStatus")).isEqualTo(529);
    assertThat(failed.failure.detail().getString("providerErrorType")).isEqualTo("overloaded_error");
    assertThat(failed.failure.detail().getJsonArray("attempts")).hasSize(2);
    assertThat(answered.outcome.text()).isEqualTo("<<AO2>> ok <<end-AO2>>");
    assertThat(anthropic.requests()).hasSize(4);
  }

  @Test
  @DisplayName("Anthropic error event mid-stream: classified overloaded and retried; the partial text is taken back, its tokens counted")
  void anthropicErrorEventMidStream() throws Exception {
    anthropic.enqueue(ScriptedAnthropicServer.overloadedMidStream("partial words "));
    withModel(anthropicModel(anthropic, "ant-key").put("pricing", new JsonObject().put("inputPerMTok", 3.0)
        .put("outputPerMTok", 15.0)));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "hi [in:AE1]");

    assertThat(r.failure).isNull();
    assertThat(r.outcome.text()).isEqualTo("<<AE1>> ok <<end-AE1>>");
    assertThat(anthropic.requests()).hasSize(2);
    int partial = r.texts.indexOf("partial words ");
    assertThat(partial).isNotNegative();
    assertThat(r.texts.subList(partial, r.texts.size())).contains("");
    // both attempts used tokens: the failed one's prompt as reported, its output estimated from the text
    ScriptedModelServer.ReportedUsage failed = anthropic.reportedUsage(0);
    ScriptedModelServer.ReportedUsage ok = anthropic.reportedUsage(1);
    Usage u = r.outcome.usage();
    assertThat(u.input()).isEqualTo(failed.input() + ok.input());
    assertThat(u.output()).isEqualTo(Tokens.estimate("partial words ") + ok.output());
    assertThat(u.estimated()).isTrue();
    assertThat(r.outcome.costUsd()).isCloseTo((u.input() * 3.0 + u.output() * 15.0) / 1_000_000.0,
        org.assertj.core.data.Offset.offset(1e-12));
  }

  @Test
  @DisplayName("Anthropic error event mid-stream with no retries left: the turn fails as overloaded, with what the attempt used")
  void anthropicErrorEventFails() throws Exception {
    anthropic.enqueue(ScriptedAnthropicServer.overloadedMidStream("some text that "));
    withModel(anthropicModel(anthropic, "ant-key").put("retry", fastRetry(0)));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "hi [in:AE2]");

    assertThat(r.failure.kind()).isEqualTo(FailureKind.OVERLOADED);
    assertThat(r.failure.getMessage()).contains("mid-stream").contains("Overloaded");
    JsonObject detail = r.failure.detail();
    assertThat(detail.getString("providerErrorType")).isEqualTo("overloaded_error");
    assertThat(detail.containsKey("httpStatus")).isFalse(); // the stream had started with 200
    assertThat(r.failure.usage()).isEqualTo(new Usage(anthropic.reportedUsage(0).input(),
        Tokens.estimate("some text that "), 0, 0, true));
    assertThat(r.failure.steps()).isZero();
  }

  @Test
  @DisplayName("OpenAI: a stream cut short is paid for too; its estimated tokens join the retry's reported ones")
  void failedAttemptTokensAreCounted() throws Exception {
    openai.enqueue(new ScriptedModelServer.Truncate("cut short here"));
    withModel(openaiModel(openai, "key-a"));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "hi [in:FT1]");

    assertThat(r.outcome.text()).isEqualTo("<<FT1>> ok <<end-FT1>>");
    assertThat(openai.requests()).hasSize(2);
    ScriptedModelServer.ReportedUsage ok = openai.reportedUsage(1);
    assertThat(openai.reportedUsage(0)).as("precondition: the cut stream never reached its usage chunk").isNull();
    Usage u = r.outcome.usage();
    assertThat(u.output()).isEqualTo(Tokens.estimate("cut short here") + ok.output());
    assertThat(u.input()).isGreaterThan(ok.input()); // plus the failed attempt's estimated prompt
    assertThat(u.estimated()).isTrue();
    assertThat(r.outcome.steps()).isEqualTo(1);
  }

  // ---- timeouts ------------------------------------------------------------------------------

  @Test
  @DisplayName("a stream that stalls mid-answer hits the idle timeout; the retry answers and the partial text is taken back")
  void idleTimeout() throws Exception {
    openai.enqueue(new ScriptedModelServer.Stall("partial answer that "));
    withModel(openaiModel(openai, "key-a").put("idleTimeoutMs", 300).put("retry", fastRetry(1)));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "hi [in:I1]");

    assertThat(r.failure).isNull();
    assertThat(r.outcome.text()).isEqualTo("<<I1>> ok <<end-I1>>");
    assertThat(openai.requests()).hasSize(2);
    // the stalled attempt streamed text that was later replaced by an empty text (taken back)
    assertThat(r.texts).contains("partial answer that ");
    int partial = r.texts.indexOf("partial answer that ");
    assertThat(r.texts.subList(partial, r.texts.size())).contains("");
    assertThat(r.lastText()).isEqualTo("<<I1>> ok <<end-I1>>");
  }

  @Test
  @DisplayName("Anthropic: a stall is an idle timeout too; with no retries left the turn fails as timeout")
  void idleTimeoutAnthropicFails() throws Exception {
    anthropic.enqueue(new ScriptedModelServer.Stall("half"));
    withModel(anthropicModel(anthropic, "ant-key").put("idleTimeoutMs", 300).put("retry", fastRetry(0)));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "hi [in:I2]");

    assertThat(r.failure.kind()).isEqualTo(FailureKind.TIMEOUT);
    assertThat(r.failure.kind().protocolKind()).isEqualTo("timeout");
    assertThat(r.failure.getMessage()).contains("idle").contains("idleTimeoutMs");
  }

  @Test
  @DisplayName("a stream that keeps sending keep-alives but never finishes hits the overall timeout")
  void overallTimeout() throws Exception {
    openai.enqueue(new ScriptedModelServer.Trickle(50), new ScriptedModelServer.Trickle(50));
    withModel(openaiModel(openai, "key-a").put("timeoutMs", 1000).put("idleTimeoutMs", 1000).put("retry", fastRetry(1)));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "hi [in:O1]");

    assertThat(r.failure.kind()).isEqualTo(FailureKind.TIMEOUT);
    assertThat(r.failure.getMessage()).contains("timeoutMs").doesNotContain("idle");
    assertThat(r.failure.detail().getJsonArray("attempts")).hasSize(2);
    assertThat(openai.requests()).hasSize(2);
  }

  @Test
  @DisplayName("malformed SSE and a stream cut short are retried; the third attempt answers")
  void malformedAndTruncatedStreamsAreRetried() throws Exception {
    openai.enqueue(new ScriptedModelServer.Malformed(), new ScriptedModelServer.Truncate("cut"));
    withModel(openaiModel(openai, "key-a"));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "hi [in:M1]");

    assertThat(r.outcome.text()).isEqualTo("<<M1>> ok <<end-M1>>");
    assertThat(openai.requests()).hasSize(3);
  }

  @Test
  @DisplayName("a refusal ends the turn as refusal; the fallback model is not asked")
  void refusal() throws Exception {
    openai.enqueue(new ScriptedModelServer.Refusal());
    withModel(openaiModel(openai, "key-a").put("fallbacks", new JsonArray().add(anthropicModel(anthropic, "k"))));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "hi [in:X1]");

    assertThat(r.failure.kind()).isEqualTo(FailureKind.REFUSAL);
    assertThat(r.failure.kind().protocolKind()).isEqualTo("refusal");
    assertThat(anthropic.requests()).isEmpty();
  }

  @Test
  @DisplayName("model calls, a backoff delay and tool calls each stop listening for an abort when they finish")
  void finishedStepsLeaveNoAbortListeners() throws Exception {
    openai.enqueue(ScriptedOpenAiServer.serverError());
    withModel(openaiModel(openai, "key-a"));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"),
        "[call:memory_search:{\"query\":\"a\"}] [call:memory_search:{\"query\":\"b\"}] [in:AB1]");

    assertThat(r.failure).isNull();
    assertThat(openai.requests()).hasSize(3); // the 500, its retry after a backoff, the answer
    assertThat(r.results).hasSize(2);
    assertThat(r.signal.listenerCount()).isZero();
  }

  // ---- bounds --------------------------------------------------------------------------------

  @Test
  @DisplayName("the loop detector stops a model that repeats the same call: it ran twice, the third is refused")
  void loopDetector() throws Exception {
    harness(new JsonObject().put("model", openaiModel(openai, "key-a"))
        .put("loop", new JsonObject().put("maxIdenticalToolCalls", 2)));
    Session s = harness.session("agent:main:main");
    AgentHarness.Recording r = harness.turn(s, "[repeat:memory_search:{\"query\":\"x\",\"limit\":2}] [in:L1]");

    assertThat(r.failure.kind()).isEqualTo(FailureKind.LOOP);
    assertThat(r.failure.getMessage()).contains("memory_search").contains("3 times");
    assertThat(r.results).hasSize(2);
    assertThat(openai.requests()).hasSize(3);
    assertThat(r.failure.usage().input()).isPositive(); // what the three calls used is still accounted
    assertThat(r.failure.steps()).isEqualTo(3);
  }

  @Test
  @DisplayName("a model that never stops asking for (different) tools ends at the step limit")
  void stepLimit() throws Exception {
    harness(new JsonObject().put("model", openaiModel(openai, "key-a"))
        .put("loop", new JsonObject().put("maxSteps", 3)));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "[vary:memory_search] [in:S1]");

    assertThat(r.failure.kind()).isEqualTo(FailureKind.STEP_LIMIT);
    assertThat(openai.requests()).hasSize(3);
    assertThat(r.results).hasSize(2);
  }

  @Test
  @DisplayName("three failing tool calls in a row abort the run with a visible error")
  void consecutiveToolFailures() throws Exception {
    harness(new JsonObject().put("model", openaiModel(openai, "key-a"))
        .put("loop", new JsonObject().put("maxToolFailures", 3)));
    // memory_write without "text": every call fails validation (arguments differ, so no loop is detected)
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "[vary:memory_write] [in:E1]");

    assertThat(r.failure.kind()).isEqualTo(FailureKind.TOOL_FAILURES);
    assertThat(r.failure.getMessage()).startsWith("3 tool calls in a row failed").contains("'text' is required");
    assertThat(r.results).hasSize(3).allSatisfy(x -> assertThat(x.isError()).isTrue());
  }

  @Test
  @DisplayName("an unknown tool and unparseable arguments come back to the model as error results")
  void badToolCallsAreReportedToTheModel() throws Exception {
    harness(new JsonObject().put("model", openaiModel(openai, "key-a")).put("tools", new JsonArray().add("memory_search")));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"),
        "[call:memory_write:{\"text\":\"x\"}] [in:U1]");

    assertThat(r.outcome.text()).contains("unknown tool \"memory_write\"; available: memory_search");
    assertThat(openai.requests().get(0).conversation().tools()).containsExactly("memory_search");
  }

  // ---- compaction ----------------------------------------------------------------------------

  @Test
  @DisplayName("context overflow: the memory engine compacts older history into a checkpoint, the call is retried once")
  void overflowCompactsAndRetries() throws Exception {
    withModel(openaiModel(openai, "key-a"));
    Session s = harness.session("agent:main:main");
    for (int i = 1; i <= 4; i++) {
      harness.storeExchange(s, "old-" + i, "question " + i + " about apples", "answer " + i);
    }
    openai.contextLimitMessages(5); // 8 earlier messages + this one: too many
    AgentHarness.Recording r = harness.turn(s, "and now? [in:C1]");

    assertThat(r.failure).isNull();
    assertThat(r.outcome.text()).isEqualTo("<<C1>> ok <<end-C1>>");
    List<Recorded> requests = openai.requests();
    assertThat(requests).hasSize(2);
    assertThat(requests.get(0).conversation().messageCount()).isEqualTo(9);
    ScriptedModelServer.Conversation retried = requests.get(1).conversation();
    assertThat(retried.messageCount()).isLessThanOrEqualTo(5);
    assertThat(retried.lastUserTextValue()).isEqualTo("and now? [in:C1]");
    assertThat(retried.system()).contains("## Earlier in this conversation (summary)")
        .contains("- user: question 1 about apples");

    // the loop told its caller, which stored the compaction in the session (the lane does the same)
    assertThat(r.compactions).hasSize(1);
    JsonObject cp = r.compactions.get(0);
    assertThat(cp.getInteger("droppedMessages")).isPositive();
    assertThat(harness.stored(s)).filteredOn(e -> e.type().equals(SessionEvent.COMPACTION)).hasSize(1);
    // the summary is a memory entry too: searchable later
    JsonObject memory = harness.request(MemoryAddresses.SEARCH, new JsonObject().put("agentId", "main")
        .put("query", "apples"));
    assertThat(memory.getJsonArray("entries")).singleElement().satisfies(e -> {
      assertThat(((JsonObject) e).getString("kind")).isEqualTo("compaction");
      assertThat(((JsonObject) e).getString("id")).isEqualTo(cp.getString("entryId"));
    });

    // the next turn starts from the checkpoint too: no overflow, one request
    AgentHarness.Recording next = harness.turn(s, "more [in:C2]");
    assertThat(next.outcome.text()).isEqualTo("<<C2>> ok <<end-C2>>");
    assertThat(openai.requests()).hasSize(3);
    assertThat(openai.requests().get(2).conversation().system()).contains("question 1 about apples");
  }

  @Test
  @DisplayName("an overflow that compaction cannot fix ends the turn as context_length after one compaction attempt")
  void overflowThatCannotBeFixed() throws Exception {
    withModel(anthropicModel(anthropic, "k"));
    Session s = harness.session("agent:main:main");
    for (int i = 1; i <= 4; i++) {
      harness.storeExchange(s, "old-" + i, "q" + i, "a" + i);
    }
    anthropic.contextLimitMessages(0); // nothing fits, however much is compacted
    AgentHarness.Recording r = harness.turn(s, "hi [in:C3]");

    assertThat(r.failure.kind()).isEqualTo(FailureKind.CONTEXT_OVERFLOW);
    assertThat(r.failure.kind().protocolKind()).isEqualTo("context_length");
    assertThat(anthropic.requests()).hasSize(2); // the first, and one retry after compacting
    assertThat(harness.stored(s)).filteredOn(e -> e.type().equals(SessionEvent.COMPACTION)).hasSize(1);
  }

  @Test
  @DisplayName("a prompt known to exceed contextWindow is compacted before it is ever sent")
  void contextWindowCheckedBeforeSending() throws Exception {
    withModel(openaiModel(openai, "key-a").put("contextWindow", 2_000));
    Session s = harness.session("agent:main:main");
    for (int i = 1; i <= 6; i++) {
      harness.storeExchange(s, "old-" + i, "question " + i + " " + "x".repeat(2_000), "answer " + i);
    }
    AgentHarness.Recording r = harness.turn(s, "now [in:W1]");

    assertThat(r.failure).isNull();
    assertThat(openai.requests()).hasSize(1);
    assertThat(openai.requests().get(0).conversation().system()).contains("Earlier in this conversation");
  }

  // ---- steering ------------------------------------------------------------------------------

  /** The lane's side of steering: messages that arrive during a turn, taken by the loop when it asks. */
  static final class SteeringInbox implements Supplier<List<TurnListener.Steering>> {
    final ConcurrentLinkedQueue<TurnListener.Steering> queue = new ConcurrentLinkedQueue<>();
    final AtomicInteger asked = new AtomicInteger();

    @Override
    public List<TurnListener.Steering> get() {
      asked.incrementAndGet();
      List<TurnListener.Steering> out = new ArrayList<>();
      for (TurnListener.Steering s; (s = queue.poll()) != null; ) {
        out.add(s);
      }
      return out;
    }
  }

  /**
   * Runs a turn in {@code s} whose first model call is held until {@code steer} has come in the way the
   * lane takes it (stored in the session, then offered to the loop): a barrier, not a sleep.
   */
  AgentHarness.Recording steeredDuringFirstCall(ScriptedModelServer server, Session s, String first,
      SteeringInbox inbox, TurnListener.Steering steer) throws Exception {
    Promise<Void> gate = ScriptedModelServer.gate();
    server.enqueue(new ScriptedModelServer.Gate(gate.future()));
    CompletableFuture<AgentHarness.Recording> running = CompletableFuture.supplyAsync(
        () -> harness.turn(s, first, true, inbox));
    server.awaitRequests(1, Duration.ofSeconds(30)); // the first model call is in flight
    harness.storeUserMessage(s, steer.id(), steer.text());
    inbox.queue.add(steer);
    gate.complete();
    return running.get(60, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("steer: a message that arrives during a tool step is folded into the turn at its next model step")
  void steering() throws Exception {
    withModel(openaiModel(openai, "key-a"));
    SteeringInbox inbox = new SteeringInbox();
    AgentHarness.Recording r = steeredDuringFirstCall(openai, harness.session("agent:main:main"),
        "first [call:memory_search:{\"query\":\"x\"}] [in:G1]", inbox,
        new TurnListener.Steering("steer-1", "also this [in:G2]"));

    assertThat(r.failure).isNull();
    assertThat(inbox.queue).isEmpty();
    List<Recorded> requests = openai.requests();
    assertThat(requests).hasSize(2);
    // the second call carries the tool result, then the steered message, once (not also as history)
    List<ScriptedModelServer.Entry> entries = requests.get(1).conversation().entries();
    assertThat(entries).extracting(ScriptedModelServer.Entry::kind).containsExactly(ScriptedModelServer.Kind.USER,
        ScriptedModelServer.Kind.ASSISTANT, ScriptedModelServer.Kind.TOOL_RESULT, ScriptedModelServer.Kind.USER);
    assertThat(entries.get(3).text()).isEqualTo("also this [in:G2]");
    assertThat(r.outcome.text()).isEqualTo("<<G2>> ok <<end-G2>>");
    assertThat(r.outcome.steps()).isEqualTo(2);
  }

  @Test
  @DisplayName("Anthropic: a steered message after tool results joins their user message, after the tool_result blocks")
  void steeringAnthropic() throws Exception {
    withModel(anthropicModel(anthropic, "k"));
    AgentHarness.Recording r = steeredDuringFirstCall(anthropic, harness.session("agent:main:main"),
        "[call:memory_search:{\"query\":\"x\"}] [in:G3]", new SteeringInbox(),
        new TurnListener.Steering("steer-2", "and [in:G4]"));

    assertThat(r.outcome.text()).isEqualTo("<<G4>> ok <<end-G4>>");
    JsonArray messages = anthropic.requests().get(1).body().getJsonArray("messages");
    JsonArray last = messages.getJsonObject(messages.size() - 1).getJsonArray("content");
    assertThat(last.stream().map(b -> ((JsonObject) b).getString("type"))).containsExactly("tool_result", "text");
  }

  @Test
  @DisplayName("steer: a message that arrives while the model gives its final answer is left for the next turn")
  void steeringAfterTheLastStepIsLeftForTheNextTurn() throws Exception {
    withModel(openaiModel(openai, "key-a"));
    SteeringInbox inbox = new SteeringInbox();
    AgentHarness.Recording r = steeredDuringFirstCall(openai, harness.session("agent:main:main"), "only [in:H1]",
        inbox, new TurnListener.Steering("steer-3", "late [in:H2]"));

    assertThat(r.outcome.text()).isEqualTo("<<H1>> ok <<end-H1>>");
    assertThat(inbox.queue).extracting(TurnListener.Steering::id).containsExactly("steer-3");
    assertThat(inbox.asked.get()).isEqualTo(1); // once, before the only model call
    assertThat(openai.requests()).hasSize(1);
  }

  // ---- accounting ----------------------------------------------------------------------------

  @Test
  @DisplayName("usage is summed over the turn's model calls; cost follows the configured pricing, cache reads included")
  void usageAndCost() throws Exception {
    openai.cachedTokens(100);
    withModel(openaiModel(openai, "key-a").put("pricing", new JsonObject().put("inputPerMTok", 2.0)
        .put("outputPerMTok", 8.0).put("cachedInputPerMTok", 0.5)));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"),
        "[call:memory_search:{\"query\":\"q\"}] [in:P1]");

    long input = 0;
    long output = 0;
    assertThat(openai.requests()).hasSize(2);
    assertThat(r.outcome.usage().cached()).isEqualTo(200);
    input = r.outcome.usage().input();
    output = r.outcome.usage().output();
    double expected = ((input - 200) * 2.0 + 200 * 0.5 + output * 8.0) / 1_000_000.0;
    assertThat(r.outcome.costUsd()).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(r.outcome.usage().estimated()).isFalse();
  }

  @Test
  @DisplayName("Anthropic: usage counts cache reads and cache writes apart; each is priced at its own rate")
  void usageAndCostAnthropic() throws Exception {
    anthropic.cachedTokens(100).cacheWriteTokens(40);
    withModel(anthropicModel(anthropic, "ant-key").put("pricing", new JsonObject().put("inputPerMTok", 3.0)
        .put("outputPerMTok", 15.0).put("cachedInputPerMTok", 0.3).put("cacheWritePerMTok", 3.75)));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"),
        "[call:memory_search:{\"query\":\"q\"}] [in:PA1]");

    assertThat(r.failure).isNull();
    assertThat(anthropic.requests()).hasSize(2);
    ScriptedModelServer.ReportedUsage first = anthropic.reportedUsage(0);
    ScriptedModelServer.ReportedUsage second = anthropic.reportedUsage(1);
    long uncached = first.input() + second.input();
    long output = first.output() + second.output();
    Usage u = r.outcome.usage();
    assertThat(u.input()).isEqualTo(uncached + 2 * 100 + 2 * 40); // every prompt token, cache reads and writes added
    assertThat(u.cached()).isEqualTo(200);
    assertThat(u.cacheWrite()).isEqualTo(80);
    assertThat(u.output()).isEqualTo(output);
    assertThat(u.estimated()).isFalse();
    double expected = (uncached * 3.0 + 200 * 0.3 + 80 * 3.75 + output * 15.0) / 1_000_000.0;
    assertThat(r.outcome.costUsd()).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-12));
    // the usage payload the lane stores in agent_end
    assertThat(u.toJson()).isEqualTo(new JsonObject().put("input", u.input()).put("output", output)
        .put("cacheRead", 200L).put("cacheWrite", 80L).put("totalTokens", u.input() + output));
  }

  @Test
  @DisplayName("without pricing, a remote model's cost is unknown (null), never made up; local servers cost nothing")
  void unknownCost() throws Exception {
    withModel(openaiModel(openai, "key-a"));
    AgentHarness.Recording r = harness.turn(harness.session("agent:main:main"), "hi [in:P2]");
    assertThat(r.outcome.costUsd()).isNull();
  }
}
