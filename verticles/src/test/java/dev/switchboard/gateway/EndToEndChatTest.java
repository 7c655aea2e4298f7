package dev.switchboard.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** One webchat message end to end over a real WebSocket: channel → routing → lane → agent → delivery. */
@Timeout(60)
class EndToEndChatTest {
  static Vertx vertx;
  TestGateway gateway;
  ProtocolClient client;
  DatabaseConfig db;

  @TempDir
  Path root;

  @BeforeAll
  static void vertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void closeVertx() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  protected DatabaseConfig database() {
    return TestDatabases.h2();
  }

  @BeforeEach
  void start() {
    db = database();
    gateway = TestGateway.in(vertx, root, db).workspace("main", TestGateway.echoWorkspace()).start();
    client = gateway.client("main");
  }

  @AfterEach
  void stop() {
    client.close();
    gateway.close();
    TestDatabases.dropSchemas(db);
  }

  @Test
  @DisplayName("chat.send is acknowledged, streams deltas, and ends with exactly one final carrying the whole reply")
  void streamedTurn() {
    String key = UUID.randomUUID().toString();
    JsonObject ack = client.call("chat.send", new JsonObject().put("sessionKey", "main")
        .put("message", "hello there [in:T1]").put("idempotencyKey", key));
    assertThat(ack.getString("runId")).isEqualTo(key);
    assertThat(ack.getString("status")).isEqualTo("started");

    JsonObject end = client.awaitChatEnd(key);
    assertThat(end.getString("state")).isEqualTo("final");
    assertThat(end.getString("sessionKey")).isEqualTo("agent:main:main");
    assertThat(text(end.getJsonObject("message"))).isEqualTo("echo: hello there [in:T1]");

    List<JsonObject> chat = client.events("chat", key);
    List<JsonObject> deltas = chat.stream().filter(p -> p.getString("state").equals("delta")).toList();
    assertThat(deltas).hasSizeGreaterThanOrEqualTo(2);
    assertThat(chat.stream().filter(p -> !p.getString("state").equals("delta"))).hasSize(1);
    // deltas are increments whose concatenation is the reply; each carries the cumulative text so far
    String joined = deltas.stream().map(p -> p.getString("deltaText")).reduce("", String::concat);
    assertThat(joined).isEqualTo("echo: hello there [in:T1]");
    assertThat(text(deltas.get(deltas.size() - 1).getJsonObject("message"))).isEqualTo(joined);

    // lifecycle start before the first delta, lifecycle end before the final; run seq strictly increases
    List<JsonObject> lifecycle = client.events("agent", key).stream()
        .filter(p -> p.getString("stream").equals("lifecycle")).toList();
    assertThat(lifecycle).extracting(p -> p.getJsonObject("data").getString("phase")).containsExactly("start", "end");
    // the run's payload seq grows within each event stream (a delta's agent and chat events share one)
    assertThat(chat.stream().map(p -> p.getLong("seq")).toList()).isSorted().doesNotHaveDuplicates();
    assertThat(client.events("agent", key).stream().map(p -> p.getLong("seq")).toList()).isSorted()
        .doesNotHaveDuplicates();

    JsonObject history = client.call("chat.history", new JsonObject().put("sessionKey", "main"));
    assertThat(history.getJsonArray("messages").stream().map(m -> ((JsonObject) m).getString("role")))
        .containsExactly("user", "assistant");
    assertThat(text(history.getJsonArray("messages").getJsonObject(1))).isEqualTo("echo: hello there [in:T1]");

    String schema = db.workspaceSchema("main");
    assertThat(count(schema, "session_events WHERE run_id = '" + key + "' AND type = 'user_message'")).isEqualTo(1);
    assertThat(count(schema, "session_events WHERE run_id = '" + key + "' AND type = 'text_final'")).isEqualTo(1);
    assertThat(count(schema, "outbox WHERE run_id = '" + key + "' AND status = 'delivered'")).isEqualTo(1);
    assertThat(count(schema, "inbound WHERE run_id = '" + key + "' AND status = 'done'")).isEqualTo(1);
  }

  @Test
  @DisplayName("a repeated idempotency key never starts a second turn")
  void idempotentSend() {
    String key = UUID.randomUUID().toString();
    JsonObject params = new JsonObject().put("sessionKey", "main").put("message", "once [in:T2]").put("idempotencyKey", key);
    client.call("chat.send", params);
    client.awaitChatEnd(key);
    JsonObject again = client.call("chat.send", params);
    assertThat(again.getString("status")).isEqualTo("ok");
    // barrier: a later turn's end proves the repeated key was fully handled before it
    client.chat("main", "barrier [in:B]");
    assertThat(client.events("chat", key).stream().filter(p -> p.getString("state").equals("final"))).hasSize(1);
    assertThat(count(db.workspaceSchema("main"), "session_events WHERE type = 'user_message'")).isEqualTo(2);
  }

  @Test
  @DisplayName("events on one connection are numbered 1, 2, 3 ... without gaps")
  void eventSeqHasNoGaps() {
    client.chat("main", "one [in:T3]");
    client.chat("main", "two [in:T4]");
    List<Long> seqs = client.frames(f -> "event".equals(f.getString("type")) && f.containsKey("seq"))
        .stream().map(f -> f.getLong("seq")).toList();
    assertThat(seqs).isNotEmpty();
    for (int i = 0; i < seqs.size(); i++) {
      assertThat(seqs.get(i)).isEqualTo(i + 1L);
    }
  }

  long count(String schema, String fromWhere) {
    return ((Number) TestDatabases.scalar(db, schema, "SELECT COUNT(*) FROM " + fromWhere)).longValue();
  }

  static String text(JsonObject message) {
    return message.getJsonArray("content").getJsonObject(0).getString("text");
  }
}
