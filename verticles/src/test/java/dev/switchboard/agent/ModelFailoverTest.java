package dev.switchboard.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.agent.providers.ModelProviders;
import dev.switchboard.config.Secret;
import dev.switchboard.support.ScriptedAnthropicServer;
import dev.switchboard.support.ScriptedModelServer.Recorded;
import dev.switchboard.support.ScriptedOpenAiServer;
import dev.switchboard.workspace.ModelConfig;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Key rotation and key rests of {@link ModelFailover} against the scripted servers, on a clock the
 * test moves: a rest ends when the clock says so, never after a sleep.
 */
@Timeout(60)
class ModelFailoverTest {
  static Vertx vertx;
  ScriptedOpenAiServer openai;
  ScriptedAnthropicServer anthropic;
  ModelProviders providers;
  Context context;
  final AtomicLong clock = new AtomicLong(1_000_000);
  ModelFailover failover;

  @BeforeAll
  static void vertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void closeVertx() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void start() {
    openai = new ScriptedOpenAiServer(vertx).start();
    anthropic = new ScriptedAnthropicServer(vertx).start();
    providers = new ModelProviders(vertx);
    context = vertx.getOrCreateContext();
    failover = new ModelFailover(vertx, providers, clock::get);
  }

  @AfterEach
  void stop() throws Exception {
    providers.close().await(10, TimeUnit.SECONDS);
    openai.close();
    anthropic.close();
  }

  /** A model on the OpenAI stand-in; waits up to 100 ms are honoured, longer ones move on. */
  ModelConfig model(List<ModelConfig> fallbacks, String... keys) {
    List<Secret> secrets = new ArrayList<>();
    for (int i = 0; i < keys.length; i++) {
      secrets.add(Secret.of(keys[i], "test:key" + (i + 1)));
    }
    return new ModelConfig("openai", "gpt-test", openai.baseUrl(), List.copyOf(secrets), 30_000, 30_000, null, 0,
        null, new ModelConfig.Retry(2, 1, 5, 100, 60_000), new JsonObject(), fallbacks);
  }

  ModelConfig anthropicFallback() {
    return new ModelConfig("anthropic", "claude-test", anthropic.baseUrl(), List.of(Secret.of("ant", "test:ant")),
        30_000, 30_000, null, 0, null, new ModelConfig.Retry(0, 1, 5, 100, 60_000), new JsonObject(), List.of());
  }

  /** One call through failover on the test's context; the reply, or the failure it ended with. */
  Object call(ModelConfig model, String text) {
    ModelCall call = new ModelCall("", List.of(ChatMessage.user(text)), List.of());
    return AgentHarness.onContext(context, () -> failover.call(model, call, chunk -> { }, (m, n) -> { },
            new AbortSignal()).map(r -> (Object) r)
        .recover(err -> Future.succeededFuture(err)));
  }

  ModelReply answer(ModelConfig model, String text) {
    Object r = call(model, text);
    assertThat(r).as("the call's result").isInstanceOf(ModelReply.class);
    return (ModelReply) r;
  }

  List<String> keysUsed() {
    return openai.requests().stream().map(Recorded::apiKey).toList();
  }

  @Test
  @DisplayName("keys take turns; a rate-limited key is skipped until its Retry-After has passed on the clock, then rejoins")
  void restedKeyRejoinsTheRotation() {
    ModelConfig m = model(List.of(), "key-a", "key-b", "key-c");
    openai.enqueue(ScriptedOpenAiServer.rateLimited("30")); // key-a's first call

    answer(m, "1 [in:K1]"); // key-a: 429, rests 30 s; key-b answers at once
    answer(m, "2 [in:K2]");
    answer(m, "3 [in:K3]");
    answer(m, "4 [in:K4]");
    assertThat(keysUsed()).containsExactly("key-a", "key-b", "key-c", "key-b", "key-c");

    clock.addAndGet(29_999); // a millisecond short of the rest
    answer(m, "5 [in:K5]");
    assertThat(keysUsed()).hasSize(6).last().isEqualTo("key-b");

    clock.addAndGet(1); // the rest is over: key-a is back in the normal order
    answer(m, "6 [in:K6]");
    answer(m, "7 [in:K7]");
    answer(m, "8 [in:K8]");
    assertThat(keysUsed().subList(6, 9)).containsExactly("key-c", "key-a", "key-b");
  }

  @Test
  @DisplayName("a model's only key rests after a 429 too: later calls go to the fallback until the clock passes the rest")
  void singleKeyRestsAcrossCalls() {
    ModelConfig m = model(List.of(anthropicFallback()), "only-key");
    openai.enqueue(ScriptedOpenAiServer.rateLimited("30"));

    assertThat(answer(m, "1 [in:S1]").provider()).isEqualTo("anthropic"); // 30 s is more than the 100 ms it may wait
    assertThat(answer(m, "2 [in:S2]").provider()).isEqualTo("anthropic"); // the key rests: not asked at all
    assertThat(openai.requests()).hasSize(1);

    clock.addAndGet(30_000);
    assertThat(answer(m, "3 [in:S3]").provider()).isEqualTo("openai");
    assertThat(keysUsed()).containsExactly("only-key", "only-key");
    assertThat(anthropic.requests()).hasSize(2);
  }

  @Test
  @DisplayName("with no fallback, a call while the only key rests fails as rate_limit at once, without a request")
  void singleKeyRestingWithoutFallback() {
    ModelConfig m = model(List.of(), "only-key");
    openai.enqueue(ScriptedOpenAiServer.rateLimited("30"));
    assertThat(call(m, "1 [in:N1]")).isInstanceOf(ModelFailover.AttemptsFailure.class);

    Object second = call(m, "2 [in:N2]");
    assertThat(second).isInstanceOf(ModelFailover.AttemptsFailure.class);
    assertThat(((ModelFailover.AttemptsFailure) second).last.kind()).isEqualTo(FailureKind.RATE_LIMIT);
    assertThat(((ModelFailover.AttemptsFailure) second).last.getMessage()).contains("resting");
    assertThat(openai.requests()).hasSize(1);
  }
}
