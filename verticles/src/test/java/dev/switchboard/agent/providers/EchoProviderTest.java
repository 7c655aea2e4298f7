package dev.switchboard.agent.providers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.agent.AbortSignal;
import dev.switchboard.agent.ChatMessage;
import dev.switchboard.agent.ModelCall;
import dev.switchboard.agent.ModelReply;
import dev.switchboard.workspace.ModelConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class EchoProviderTest {
  @Test
  @DisplayName("chunks concatenate to exactly the text, split after every n-th word")
  void chunks() {
    assertThat(EchoProvider.chunks("echo: a b  c d", 2)).containsExactly("echo: a", " b  c", " d");
    assertThat(String.join("", EchoProvider.chunks(" lead  and trail ", 1))).isEqualTo(" lead  and trail ");
  }

  static ModelConfig echo(JsonObject options) {
    ModelConfig d = ModelConfig.echo();
    return new ModelConfig(d.provider(), d.model(), d.baseUrl(), d.apiKeys(), d.timeoutMs(), d.idleTimeoutMs(),
        d.maxTokens(), d.contextWindow(), d.pricing(), d.retry(), options, d.fallbacks());
  }

  @Test
  @DisplayName("the echo model streams its answer in several deltas and stops when aborted")
  void streamsAndAborts() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      EchoProvider echo = new EchoProvider(vertx);
      List<String> deltas = new ArrayList<>();
      ModelCall call = new ModelCall("sys", List.of(ChatMessage.user("one two three four")), List.of());
      ModelReply reply = vertx.<ModelReply>executeBlocking(() -> null).compose(x ->
          echo.complete(echo(new JsonObject().put("chunkDelayMs", 1)), null, call, deltas::add, new AbortSignal()))
          .await(5, TimeUnit.SECONDS);
      assertThat(reply.text()).isEqualTo("echo: one two three four");
      assertThat(reply.toolCalls()).isEmpty();
      assertThat(reply.usage().estimated()).isTrue();
      assertThat(deltas).hasSizeGreaterThan(1);
      assertThat(String.join("", deltas)).isEqualTo(reply.text());

      AbortSignal signal = new AbortSignal();
      ModelCall slow = new ModelCall("sys", List.of(ChatMessage.user("a b c d e f")), List.of());
      var f = echo.complete(echo(new JsonObject().put("chunkDelayMs", 50).put("chunkWords", 1)), null, slow,
          d -> signal.abort("user"), signal);
      Throwable failure = f.map(r -> (Throwable) null).otherwise(t -> t).await(5, TimeUnit.SECONDS);
      assertThat(failure).isInstanceOf(AbortSignal.Aborted.class);
    } finally {
      vertx.close().await(5, TimeUnit.SECONDS);
    }
  }
}
