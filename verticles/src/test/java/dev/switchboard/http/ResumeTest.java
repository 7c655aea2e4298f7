package dev.switchboard.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestGateway;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * B1: a client that joins after a turn gets the backlog in order, then live events; after a
 * reconnect, its cursor yields exactly what it missed; a second client sees the same events.
 */
@Timeout(60)
class ResumeTest {
  static TestGateway gateway;

  @BeforeAll
  static void start(@TempDir Path root) {
    JsonObject ws = TestGateway.echoWorkspace();
    ws.getJsonArray("agents").add(new JsonObject().put("id", "slow").put("model", new JsonObject()
        .put("provider", "echo").put("options", new JsonObject().put("chunkWords", 1).put("chunkDelayMs", 60))));
    gateway = TestGateway.standalone(root).workspace("main", ws).start();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  static String text(JsonObject message) {
    return message.getJsonArray("content").getJsonObject(0).getString("text");
  }

  static String send(ProtocolClient c, String key, String message) {
    String runId = UUID.randomUUID().toString();
    c.call("chat.send", new JsonObject().put("sessionKey", key).put("message", message).put("idempotencyKey", runId));
    return runId;
  }

  @Test
  @DisplayName("backlog in order, then live rows; reconnecting with the last cursor yields exactly the missed rows; two clients see the same events")
  void backlogLiveAndCatchUp() {
    String key = "agent:main:b1-" + UUID.randomUUID();
    List<String> seen = new ArrayList<>();
    try (ProtocolClient writer = gateway.client("main")) {
      writer.awaitChatEnd(send(writer, key, "T1"));

      String cursor;
      try (ProtocolClient a = gateway.client("main"); ProtocolClient b = gateway.client("main")) {
        // the backlog, oldest first
        JsonObject backlog = a.call("chat.history", new JsonObject().put("sessionKey", key));
        backlog.getJsonArray("messages").forEach(m -> seen.add(text((JsonObject) m)));
        assertThat(seen).containsExactly("T1", "echo: T1");
        a.call("sessions.messages.subscribe", new JsonObject().put("key", key));

        // live: both clients get the run's events, identical and in the same order
        String t2 = send(writer, key, "T2 live words");
        a.awaitChatEnd(t2);
        b.awaitChatEnd(t2);
        assertThat(a.events("chat", t2)).isNotEmpty().isEqualTo(b.events("chat", t2));
        assertThat(stripTs(a.events("agent", t2))).isNotEmpty().isEqualTo(stripTs(b.events("agent", t2)));
        assertThat(a.events("chat", t2).stream().filter(p -> !p.getString("state").equals("delta"))).hasSize(1);
        // the persisted rows arrive live too, each with the cursor that stands after it
        a.awaitEvent("session.message", p -> t2.equals(p.getString("runId"))
            && "assistant".equals(p.getJsonObject("message").getString("role")));
        List<JsonObject> rows = a.events("session.message");
        rows.forEach(r -> seen.add(text(r.getJsonObject("message"))));
        cursor = rows.get(rows.size() - 1).getString("deltaCursor");
      }

      // while nobody watches, two more turns
      writer.awaitChatEnd(send(writer, key, "T3"));
      writer.awaitChatEnd(send(writer, key, "T4"));

      try (ProtocolClient again = gateway.client("main")) {
        JsonObject delta = again.call("chat.history", new JsonObject().put("sessionKey", key).put("cursor", cursor));
        assertThat(delta.getString("kind")).isEqualTo("delta");
        delta.getJsonArray("messages").forEach(m -> seen.add(text((JsonObject) m)));
        // no gap, no duplicate: what the client pieced together is the whole transcript, once
        JsonObject full = again.call("chat.history", new JsonObject().put("sessionKey", key));
        List<String> transcript = full.getJsonArray("messages").stream().map(m -> text((JsonObject) m)).toList();
        assertThat(seen).isEqualTo(transcript).containsExactly("T1", "echo: T1", "T2 live words",
            "echo: T2 live words", "T3", "echo: T3", "T4", "echo: T4");
        JsonObject none = again.call("chat.history", new JsonObject().put("sessionKey", key)
            .put("cursor", delta.getString("deltaCursor")));
        assertThat(none.getJsonArray("messages")).isEmpty();
      }
    }
  }

  @Test
  @DisplayName("a client that reconnects during a streaming reply resumes it from inFlightRun, then gets the rest live")
  void resumeInFlightRun() {
    String key = "agent:slow:b1-" + UUID.randomUUID();
    StringBuilder words = new StringBuilder();
    for (int i = 1; i <= 200; i++) {
      words.append(" w").append(i);
    }
    String message = words.toString().strip();
    String full = "echo: " + message;
    try (ProtocolClient writer = gateway.client("main")) {
      writer.awaitChatEnd(send(writer, key, "first"));
      String runId;
      String cursor;
      try (ProtocolClient a = gateway.client("main")) {
        cursor = a.call("chat.history", new JsonObject().put("sessionKey", key)).getString("deltaCursor");
        runId = send(a, key, message); // streams for about 12 s unless aborted
        a.awaitEvent("chat", p -> runId.equals(p.getString("runId")) && "delta".equals(p.getString("state")));
      }
      try (ProtocolClient a = gateway.client("main")) {
        JsonObject h = a.call("chat.history", new JsonObject().put("sessionKey", key).put("cursor", cursor));
        assertThat(h.getString("kind")).isEqualTo("delta");
        assertThat(h.getJsonArray("messages").stream().map(m -> text((JsonObject) m))).containsExactly(message);
        JsonObject inFlight = h.getJsonObject("inFlightRun");
        assertThat(inFlight.getString("runId")).isEqualTo(runId);
        String resumed = inFlight.getString("text");
        assertThat(full).startsWith(resumed);
        assertThat(resumed).isNotEmpty();
        // live deltas continue from where the snapshot left off
        JsonObject later = a.awaitEvent("chat", p -> runId.equals(p.getString("runId"))
            && "delta".equals(p.getString("state")) && text(p.getJsonObject("message")).length() > resumed.length());
        assertThat(text(later.getJsonObject("message"))).startsWith(resumed);
        a.call("chat.abort", new JsonObject().put("sessionKey", key));
        JsonObject end = a.awaitChatEnd(runId);
        assertThat(end.getString("state")).isEqualTo("aborted");
        assertThat(text(end.getJsonObject("message"))).startsWith(text(later.getJsonObject("message")));
      }
      assertThat(writer.awaitChatEnd(runId).getString("state")).isEqualTo("aborted");
    }
  }

  static List<JsonObject> stripTs(List<JsonObject> agentEvents) {
    return agentEvents.stream().map(p -> {
      JsonObject c = p.copy();
      c.remove("ts");
      return c;
    }).toList();
  }
}
