package dev.switchboard.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.delivery.ReplyTarget;
import dev.switchboard.store.Database;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.store.Session;
import dev.switchboard.store.SessionStore;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestChannel;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lanes through the real gateway, with the echo model slowed down so a turn is still running when
 * the next message comes. Negative claims are settled by a later barrier message, never by sleeping.
 */
@Timeout(120)
class QueueModesTest {
  /** Twenty words: with one word per chunk and 100 ms between chunks the reply takes about two seconds. */
  static final String SLOW = String.join(" ", java.util.Collections.nCopies(20, "word"));

  static Vertx vertx;
  @TempDir
  Path root;
  DatabaseConfig db;
  TestGateway gateway;
  TestChannel chat;

  @BeforeAll
  static void vertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void closeVertx() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void tearDown() {
    if (chat != null) {
      chat.close();
    }
    if (gateway != null) {
      gateway.close();
    }
    TestDatabases.dropSchemas(db);
  }

  void start(JsonObject session, JsonObject limits) {
    JsonObject ws = new JsonObject().put("port", 0)
        .put("agents", new JsonArray().add(new JsonObject().put("id", "main").put("model", new JsonObject()
            .put("provider", "echo").put("options", new JsonObject().put("chunkDelayMs", 100).put("chunkWords", 1)))))
        .put("session", session).put("limits", limits)
        .put("channels", new JsonObject().put("test", new JsonObject().put("accounts", new JsonArray()
            .add(TestChannel.account("default", "open", new JsonArray())))));
    db = TestDatabases.h2();
    gateway = TestGateway.in(vertx, root, db).workspace("w", ws).start();
    chat = new TestChannel(vertx, db, "w", "test", "default");
  }

  void start(String queueMode) {
    start(new JsonObject().put("queueMode", queueMode).put("collectDebounceMs", 300), new JsonObject());
  }

  long count(String sql) {
    return ((Number) TestDatabases.scalar(db, db.workspaceSchema("w"), sql)).longValue();
  }

  List<String> texts(String peer) {
    return chat.chat(peer).stream().map(TestChannel.Shown::text).toList();
  }

  @Test
  @DisplayName("C4 followup: a message during a slow turn gets its own reply after the first, each once")
  void followup() {
    start("followup");
    chat.dm("u", "A [in:F1] " + SLOW);
    chat.dm("u", "B [in:F2]");
    chat.awaitText("u", "[in:F2]");
    assertThat(texts("u")).hasSize(2);
    assertThat(texts("u").get(0)).contains("[in:F1]");
    assertThat(texts("u").get(1)).contains("[in:F2]").doesNotContain("[in:F1]");
  }

  @Test
  @DisplayName("C4 collect: messages during a slow turn are merged into one follow-up turn")
  void collect() {
    start("collect");
    chat.dm("u", "A [in:C1] " + SLOW);
    chat.dm("u", "B [in:C2]");
    chat.dm("u", "C [in:C3]");
    TestChannel.Shown merged = chat.await(s -> s.text().contains("[in:C2]"));
    assertThat(merged.text()).contains("[in:C3]");
    chat.dm("u", "barrier [in:C4]");
    chat.awaitText("u", "[in:C4]");
    assertThat(texts("u")).hasSize(3);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'agent_start'")).isEqualTo(3);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message'")).isEqualTo(4);
    assertThat(count("SELECT COUNT(*) FROM inbound WHERE status = 'done'")).isEqualTo(4);
  }

  @Test
  @DisplayName("C4 interrupt: the new message aborts the running turn, whose reply never appears")
  void interrupt() {
    start("interrupt");
    chat.dm("u", "A [in:I1] " + SLOW);
    chat.dm("u", "B [in:I2]");
    chat.awaitText("u", "[in:I2]");
    chat.dm("u", "barrier [in:I3]");
    chat.awaitText("u", "[in:I3]");
    assertThat(texts("u")).noneMatch(t -> t.contains("[in:I1]")).hasSize(2);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'agent_end' AND payload LIKE '%\"aborted\"%'"
        + " AND payload LIKE '%interrupt%'")).isEqualTo(1);
  }

  @Test
  @DisplayName("C4 steer: a steering message that comes once the model answers is stored at once and runs next, never lost")
  void steer() throws Exception {
    start("steer");
    String a = chat.dm("u", "A [in:S1] " + SLOW).getString("runId");
    // B comes while A's single model call streams: there is no later step to fold it into
    awaitStreaming(a);
    chat.dm("u", "B [in:S2]");
    chat.awaitText("u", "[in:S2]");
    assertThat(texts("u")).hasSize(2);
    // B was stored while A ran: before A's reply in the log
    long bSeq = count("SELECT seq FROM session_events WHERE type = 'user_message' AND payload LIKE '%[in:S2]%'");
    long aFinal = count("SELECT seq FROM session_events WHERE type = 'text_final' AND payload LIKE '%[in:S1]%'");
    assertThat(bSeq).isLessThan(aFinal);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message' AND payload LIKE '%[in:S2]%'"))
        .isEqualTo(1);
  }

  /** Waits until a run's reply has begun to stream (the run registry holds its text so far). */
  void awaitStreaming(String runId) throws Exception {
    long deadline = System.currentTimeMillis() + 20_000;
    while (vertx.eventBus().<JsonObject>request("ws.w." + LaneAddresses.RUN, new JsonObject().put("runId", runId))
        .await(10, TimeUnit.SECONDS).body().getString("text", "").isEmpty()) {
      assertThat(System.currentTimeMillis()).as("run %s streaming", runId).isLessThan(deadline);
      Thread.sleep(10);
    }
  }

  @Test
  @DisplayName("a full queue drops the oldest waiting message when configured so; otherwise it refuses the new one")
  void dropPolicy() {
    start(new JsonObject().put("queueDrop", "drop-oldest"), new JsonObject().put("maxQueuedPerSession", 1));
    chat.dm("u", "A [in:Q1] " + SLOW);
    chat.dm("u", "B [in:Q2]");
    chat.dm("u", "C [in:Q3]");
    chat.awaitText("u", "[in:Q3]");
    assertThat(texts("u")).hasSize(2).noneMatch(t -> t.contains("[in:Q2]"));
  }

  @Test
  @DisplayName("a refused message (queue full) is not lost: when the platform retries it, it is routed again")
  void refusedThenRetried() {
    start(new JsonObject(), new JsonObject().put("maxQueuedPerSession", 1));
    chat.dm("u", "A [in:R1] " + SLOW);
    chat.dm("u", "B [in:R2]");
    var c = chat.message().peer("direct", "u").sender("u", "u").text("C [in:R3]").build();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> chat.send(c)).hasMessageContaining("queue is full");
    chat.awaitText("u", "[in:R2]");
    assertThat(chat.send(c).getString("status")).isEqualTo("started");
    chat.awaitText("u", "[in:R3]");
    assertThat(texts("u")).hasSize(3);
  }

  @Test
  @DisplayName("C5 /stop: confirmation shown, no reply from the stopped turn, session idle, next message answered")
  void stopCommand() {
    start("followup");
    chat.dm("u", "A [in:T1] " + SLOW);
    chat.dm("u", "/stop");
    chat.awaitText("u", "Stopped.");
    chat.dm("u", "next [in:T2]");
    chat.awaitText("u", "[in:T2]");
    assertThat(texts("u")).containsExactly("Stopped.", texts("u").get(1)).noneMatch(t -> t.contains("[in:T1]"));
    assertThat(count("SELECT COUNT(*) FROM sessions WHERE status = 'idle'")).isEqualTo(1);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'text_final' AND payload LIKE '%[in:T1]%'")).isZero();
  }

  @Test
  @DisplayName("/stop over webchat ends the running run with chat aborted and answers with a final of its own")
  void stopOverWebchat() {
    start("followup");
    try (ProtocolClient c = gateway.client("w")) {
      String slow = UUID.randomUUID().toString();
      c.call("chat.send", new JsonObject().put("sessionKey", "main").put("message", "A " + SLOW).put("idempotencyKey", slow));
      c.awaitEvent("chat", p -> slow.equals(p.getString("runId")) && "delta".equals(p.getString("state")));
      JsonObject stop = c.chat("main", "/stop");
      assertThat(stop.getJsonObject("message").getJsonArray("content").getJsonObject(0).getString("text")).isEqualTo("Stopped.");
      assertThat(c.awaitChatEnd(slow).getString("state")).isEqualTo("aborted");
      assertThat(c.events("chat", slow).stream().filter(p -> !"delta".equals(p.getString("state")))).hasSize(1);
    }
  }

  @Test
  @DisplayName("C6: a turn past its deadline ends with a visible notice and the lane serves the next message")
  void deadline() {
    start(new JsonObject(), new JsonObject().put("turnTimeoutMs", 1000));
    chat.dm("u", "A [in:D1] " + SLOW + " " + SLOW);
    chat.awaitText("u", "took too long");
    chat.dm("u", "next [in:D2]");
    chat.awaitText("u", "[in:D2]");
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'error' AND payload LIKE '%timeout%'")).isEqualTo(1);
  }

  @Test
  @DisplayName("C6 over webchat: the deadline ends the run with chat error of kind timeout")
  void deadlineOverWebchat() {
    start(new JsonObject(), new JsonObject().put("turnTimeoutMs", 1000));
    try (ProtocolClient c = gateway.client("w")) {
      JsonObject end = c.chat("main", "A " + SLOW + " " + SLOW);
      assertThat(end.getString("state")).isEqualTo("error");
      assertThat(end.getString("errorKind")).isEqualTo("timeout");
      assertThat(c.chat("main", "after [in:D3]").getString("state")).isEqualTo("final");
    }
  }

  @Test
  @DisplayName("C3 /new keeps the key, rolls the session id, checkpoints the old session once; it stays findable")
  void newSession() throws Exception {
    start(new JsonObject().put("dmScope", "per-peer"), new JsonObject());
    JsonObject first = chat.dm("u", "remember the falcon [in:N1]");
    chat.awaitText("u", "[in:N1]");
    JsonObject reset = chat.dm("u", "/new");
    chat.awaitText("u", "New session started.");
    assertThat(reset.getString("sessionKey")).isEqualTo(first.getString("sessionKey"));
    assertThat(reset.getString("sessionId")).isNotEqualTo(first.getString("sessionId"));
    JsonObject next = chat.dm("u", "fresh start [in:N2]");
    chat.awaitText("u", "[in:N2]");
    assertThat(next.getString("sessionId")).isEqualTo(reset.getString("sessionId"));
    chat.dm("u", "/reset and go on [in:N3]");
    chat.awaitText("u", "[in:N3]");

    String oldId = first.getString("sessionId");
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE session_id = '" + reset.getString("sessionId")
        + "' AND payload LIKE '%falcon%'")).isZero();
    assertThat(TestDatabases.scalar(db, db.workspaceSchema("w"), "SELECT status FROM sessions WHERE id = '" + oldId + "'"))
        .isEqualTo("inactive");
    // one checkpoint per replaced session, findable through memory search
    assertThat(count("SELECT COUNT(*) FROM memory_entries WHERE kind = 'checkpoint' AND source_session_id = '" + oldId + "'"))
        .isEqualTo(1);
    JsonObject found = vertx.eventBus().<JsonObject>request("ws.w.memory.search",
        new JsonObject().put("agentId", "main").put("query", "falcon")).map(Message::body).await(10, TimeUnit.SECONDS);
    assertThat(found.getJsonArray("entries")).hasSize(1);
    assertThat(count("SELECT COUNT(*) FROM sessions WHERE session_key = '" + first.getString("sessionKey") + "'")).isEqualTo(3);
  }

  @Test
  @DisplayName("/status answers at once, ahead of the running turn, saying what runs and what waits")
  void status() {
    start("followup");
    chat.dm("u", "A [in:X1] " + SLOW);
    chat.dm("u", "B [in:X2]");
    chat.dm("u", "/status");
    TestChannel.Shown status = chat.await(s -> s.text().startsWith("Running a turn"));
    assertThat(status.text()).contains("1 message waits");
    chat.awaitText("u", "[in:X2]");
    assertThat(texts("u").get(0)).startsWith("Running a turn");
  }

  @Test
  @DisplayName("background turns have their own slots: they never delay a reply")
  void backgroundNeverDelaysReplies() throws Exception {
    start(new JsonObject(), new JsonObject().put("maxConcurrentTurns", 1).put("maxBackgroundTurns", 1));
    var pool = Database.pool(vertx, db, db.workspaceSchema("w"));
    Session bg = new SessionStore(pool).open("agent:main:cron:job", "main", new JsonObject().put("kind", "schedule"),
        new JsonObject()).await(10, TimeUnit.SECONDS);
    pool.close().await(10, TimeUnit.SECONDS);
    for (String id : List.of("bg1", "bg2")) {
      TurnRequest t = new TurnRequest(id, null, bg.sessionKey(), bg.id(), "main", id + " " + SLOW, null, new JsonObject(),
          new ReplyTarget("test", "default", "direct", "cron", null, null), "followup", true, true, null, 0,
          null, null, false);
      vertx.eventBus().request("ws.w." + LaneAddresses.ENQUEUE, t.toJson()).await(10, TimeUnit.SECONDS);
    }
    chat.dm("u", "urgent [in:B1]");
    chat.awaitText("u", "[in:B1]");
    // the reply came while the first background turn still ran and the second still waited
    assertThat(chat.chat("cron")).isEmpty();
    chat.await(s -> s.text().contains("bg2"));
    assertThat(chat.chat("cron")).extracting(TestChannel.Shown::text).first().asString().contains("bg1");
  }

  @Test
  @DisplayName("200 concurrent sessions each get their replies, in order, each once")
  void manySessions() {
    start(new JsonObject(), new JsonObject());
    List<String> users = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      users.add("user" + i);
    }
    users.parallelStream().forEach(u -> {
      chat.dm(u, "first " + u + " [in:" + u + "-1]");
      chat.dm(u, "second " + u + " [in:" + u + "-2]");
    });
    for (String u : users) {
      chat.awaitText(u, "[in:" + u + "-2]");
    }
    for (String u : users) {
      List<String> t = texts(u);
      assertThat(t).hasSize(2);
      assertThat(t.get(0)).contains("[in:" + u + "-1]");
      assertThat(t.get(1)).contains("[in:" + u + "-2]");
    }
  }
}
