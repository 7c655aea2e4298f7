package dev.switchboard.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.ScriptedModelServer;
import dev.switchboard.support.ScriptedOpenAiServer;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The workspace's turn caps are the only limit on concurrent model calls: a running turn never
 * waits, unseen, for a connection to the model host.
 */
@Timeout(120)
class ModelConcurrencyTest {

  @Test
  @DisplayName("with maxConcurrentTurns 40, forty turns of forty sessions are in a model call at once, then all answer")
  void everyRunningTurnReachesTheModel(@TempDir Path root) {
    int turns = 40;
    TestGateway gateway = TestGateway.standalone(root);
    Vertx vertx = gateway.vertx();
    ScriptedOpenAiServer model = new ScriptedOpenAiServer(vertx).start();
    Promise<Void> gate = ScriptedModelServer.gate();
    for (int i = 0; i < turns; i++) {
      model.enqueue(new ScriptedModelServer.Gate(gate.future()));
    }
    JsonObject agent = new JsonObject().put("id", "main").put("default", true).put("model", new JsonObject()
        .put("provider", "openai").put("model", "gpt-test").put("baseUrl", model.baseUrl()).put("apiKey", "sk-test-0000")
        // no call is abandoned and retried while the gate holds it: every request below is a first call
        .put("timeoutMs", 120_000).put("idleTimeoutMs", 120_000));
    gateway.workspace("w", new JsonObject().put("port", 0).put("agents", new JsonArray().add(agent))
        .put("limits", new JsonObject().put("maxConcurrentTurns", turns))).start();
    try (ProtocolClient client = ProtocolClient.connect(vertx, gateway.port("w"), TestGateway.TOKEN)) {
      List<String> runs = new ArrayList<>();
      for (int i = 0; i < turns; i++) {
        String runId = UUID.randomUUID().toString();
        client.call("chat.send", new JsonObject().put("sessionKey", "c-" + i).put("idempotencyKey", runId)
            .put("message", "hello [in:C" + i + "]"));
        runs.add(runId);
      }
      // every gated call holds its connection: all forty arrive only if the pool has room for them
      assertThat(model.awaitRequests(turns, Duration.ofSeconds(20)))
          .extracting(r -> r.conversation().lastUserTextValue()).doesNotHaveDuplicates().hasSize(turns);
      gate.complete();
      for (String runId : runs) {
        assertThat(client.awaitChatEnd(runId).getString("state")).as(runId).isEqualTo("final");
      }
    } finally {
      gateway.close();
      model.close();
    }
  }
}
