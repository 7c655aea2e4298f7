package dev.switchboard.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that stops reading: droppable events are skipped with their seq used up, a non-droppable
 * one closes it with 1008 "slow consumer", and a healthy client on the same workspace sees every
 * event. Its own gateway, so the connection counters in {@code status} belong to this test alone.
 */
@Timeout(120)
class SlowConsumerTest {
  static final int MAX_BUFFERED = 256 * 1024;
  static Vertx vertx;
  static TestGateway gateway;
  static int port;

  @BeforeAll
  static void start(@TempDir Path root) {
    // A long, steadily streamed reply: it holds the run open while the test pauses and resumes its
    // reader, and the test aborts it when done (it would run for about a minute).
    JsonObject workspace = new JsonObject().put("port", 0).put("agents", new JsonArray().add(new JsonObject()
        .put("id", "main").put("default", true).put("model", new JsonObject().put("provider", "echo")
            .put("options", new JsonObject().put("chunkWords", 5).put("chunkDelayMs", 10)))));
    gateway = TestGateway.standalone(root).workspace("main", workspace);
    vertx = gateway.vertx();
    gateway.start(gateway.gatewayJson().put("websocket", new JsonObject().put("maxBufferedBytes", MAX_BUFFERED)));
    port = gateway.port("main");
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  @DisplayName("a paused reader loses droppable events (seq used up) and resyncs; missing a final it is closed with 1008")
  void slowConsumer() {
    try (ProtocolClient healthy = gateway.client("main");
        ProtocolClient slow = ProtocolClient.connect(vertx, port,
            ProtocolClient.connectParams(TestGateway.TOKEN, ProtocolClient.ALL_SCOPES), 4096)) {
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < 30_000; i++) {
        text.append('w').append(String.format("%05d", i)).append(' ');
      }
      String runId = UUID.randomUUID().toString();
      slow.pause();
      healthy.call("chat.send", new JsonObject().put("sessionKey", "main").put("message", text + "[in:HOLD]")
          .put("idempotencyKey", runId));

      // 1. the server skips events for the paused reader (its kernel buffers and ours are full)
      long dropped = awaitStats(healthy, st -> st.getLong("droppedEvents") > 0).getLong("droppedEvents");

      // 2. reading again, it gets later events numbered after a gap: the skipped numbers were used up
      slow.resume();
      List<Long> seqs = slow.awaitSeqs(SlowConsumerTest::hasGap, ProtocolClient.WAIT);
      assertThat(seqs).isSorted().doesNotHaveDuplicates();
      assertThat(slow.isClosed()).isFalse();

      // 3. paused again: an event that cannot be skipped (an injected note is a chat final) closes it
      //    once what waits for it exceeds the limit (the kernel's buffers fill first, however large)
      slow.pause();
      String note = "n".repeat(100_000);
      JsonObject stats = null;
      for (int i = 0; i < 2_000 && (stats == null || stats.getLong("slowConsumersClosed") == 0); i++) {
        healthy.call("chat.inject", new JsonObject().put("sessionKey", "main").put("message", note));
        stats = healthy.call("status", new JsonObject()).getJsonObject("websocket");
        healthy.forgetFrames();
      }
      assertThat(stats.getLong("slowConsumersClosed")).isEqualTo(1);
      assertThat(stats.getInteger("connections")).isEqualTo(1);
      assertThat(healthy.call("chat.abort", new JsonObject().put("sessionKey", "main")).getJsonArray("runIds"))
          .containsExactly(runId);
      assertThat(healthy.awaitChatEnd(runId).getString("state")).isEqualTo("aborted");
      slow.resume();
      assertThat(slow.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1008);
      assertThat(slow.closeReason()).isEqualTo("slow consumer");

      // the healthy client saw every event, numbered without a gap, and keeps working
      List<Long> healthySeqs = healthy.eventSeqs();
      for (int i = 0; i < healthySeqs.size(); i++) {
        assertThat(healthySeqs.get(i)).isEqualTo(i + 1L);
      }
      healthy.forgetFrames();
      assertThat(healthy.chat("main", "still here [in:AFTER]").getString("state")).isEqualTo("final");
    }
  }

  static boolean hasGap(List<Long> seqs) {
    for (int i = 1; i < seqs.size(); i++) {
      if (seqs.get(i) > seqs.get(i - 1) + 1) {
        return true;
      }
    }
    return false;
  }

  /** Asks {@code status} until the websocket counters match (each answer is a round trip, no sleeping). */
  static JsonObject awaitStats(ProtocolClient c, Predicate<JsonObject> p) {
    JsonObject stats = null;
    for (int i = 0; i < 20_000; i++) {
      stats = c.call("status", new JsonObject()).getJsonObject("websocket");
      if (p.test(stats)) {
        return stats;
      }
      c.forgetFrames(); // the run streams a lot to this client; its seqs are kept
    }
    throw new AssertionError("websocket counters never matched; last: " + stats);
  }
}
