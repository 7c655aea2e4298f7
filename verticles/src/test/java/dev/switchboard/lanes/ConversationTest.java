package dev.switchboard.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.ScriptedModelServer;
import dev.switchboard.support.ScriptedModelServer.Recorded;
import dev.switchboard.support.ScriptedOpenAiServer;
import dev.switchboard.support.TestChannel;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Conversation behaviours judged by what the model saw: the scripted OpenAI-compatible model
 * records every request, so "the model saw exactly one turn" and "the prompt holds none of the old
 * turns" are counted, not inferred.
 */
@Timeout(120)
class ConversationTest {
  static Vertx vertx;
  ScriptedOpenAiServer model;
  DatabaseConfig db;
  TestGateway gateway;
  TestChannel chat;
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

  @BeforeEach
  void start() {
    model = new ScriptedOpenAiServer(vertx).start();
    db = TestDatabases.h2File(root.resolve("data"));
    gateway = startGateway("followup");
    chat = new TestChannel(vertx, db, "w", "test", "default");
  }

  /** Barriers are plain follow-ups; only the steer test runs the workspace in steer mode. */
  TestGateway startGateway(String queueMode) {
    JsonObject agent = new JsonObject().put("id", "main").put("default", true).put("model", new JsonObject()
        .put("provider", "openai").put("model", "gpt-test").put("baseUrl", model.baseUrl()).put("apiKey", "sk-test-0000"));
    JsonObject ws = new JsonObject().put("port", 0).put("agents", new JsonArray().add(agent))
        .put("session", new JsonObject().put("dmScope", "per-peer").put("queueMode", queueMode))
        .put("channels", new JsonObject().put("test", new JsonObject().put("accounts", new JsonArray()
            .add(TestChannel.account("default", "allowlist", new JsonArray().add("ann").add("bob"))))));
    return TestGateway.in(vertx, root, db).workspace("w", ws).start();
  }

  @AfterEach
  void stop() {
    chat.close();
    gateway.close();
    model.close();
  }

  List<Recorded> requestsWith(String token) {
    return model.requests().stream().filter(r -> r.conversation().lastUserTextValue().contains(token)).toList();
  }

  long count(String sql) {
    return ((Number) TestDatabases.scalar(db, db.workspaceSchema("w"), sql)).longValue();
  }

  @Test
  @DisplayName("C1: a DM gets exactly one complete reply; the model saw exactly one turn; history has one user and one assistant message")
  void oneReply() {
    chat.dm("ann", "hello [in:T1]");
    TestChannel.Shown reply = chat.awaitText("ann", "<<end-T1>>");
    chat.dm("ann", "barrier [in:B1]");
    chat.awaitText("ann", "<<end-B1>>");
    assertThat(reply.text()).isEqualTo("<<T1>> ok <<end-T1>>");
    assertThat(chat.chat("ann").stream().filter(s -> s.text().contains("T1"))).hasSize(1);
    assertThat(requestsWith("[in:T1]")).hasSize(1);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type IN ('user_message', 'text_final')"
        + " AND payload LIKE '%T1%'")).isEqualTo(2);
  }

  @Test
  @DisplayName("C2: after a restart the next prompt still holds the earlier turns, in the same session")
  void historyAfterRestart() {
    JsonObject first = chat.dm("ann", "my name is Ann [in:R1]");
    chat.awaitText("ann", "<<end-R1>>");
    chat.close();
    gateway.close();
    gateway = startGateway("followup");
    chat = new TestChannel(vertx, db, "w", "test", "default");
    JsonObject second = chat.dm("ann", "what is my name? [in:R2]");
    chat.awaitText("ann", "<<end-R2>>");
    assertThat(second.getString("sessionId")).isEqualTo(first.getString("sessionId"));
    List<String> seen = requestsWith("[in:R2]").get(0).conversation().texts();
    assertThat(seen).contains("my name is Ann [in:R1]", "<<R1>> ok <<end-R1>>");
  }

  @Test
  @DisplayName("C3: after /new the next prompt holds none of the old turns")
  void newSessionPrompt() {
    chat.dm("bob", "the code word is tangerine [in:N1]");
    chat.awaitText("bob", "<<end-N1>>");
    chat.dm("bob", "/new");
    chat.awaitText("bob", "New session started.");
    chat.dm("bob", "what was the code word? [in:N2]");
    chat.awaitText("bob", "<<end-N2>>");
    List<String> seen = requestsWith("[in:N2]").get(0).conversation().texts();
    assertThat(String.join("\n", seen)).doesNotContain("tangerine").doesNotContain("N1");
    // the old session is findable in memory through its checkpoint
    assertThat(count("SELECT COUNT(*) FROM memory_entries WHERE kind = 'checkpoint' AND text LIKE '%tangerine%'"))
        .isEqualTo(1);
  }

  @Test
  @DisplayName("C9: a reply that is only a silence marker sends nothing but is stored")
  void silentReply() {
    JsonObject quiet = chat.dm("ann", "[say:<NO_REPLY>] ignore this");
    chat.dm("ann", "barrier [in:Q2]");
    chat.awaitText("ann", "<<end-Q2>>");
    assertThat(chat.chat("ann")).hasSize(1);
    JsonObject stored = new JsonObject((String) TestDatabases.scalar(db, db.workspaceSchema("w"),
        "SELECT payload FROM session_events WHERE type = 'text_final' AND run_id = '" + quiet.getString("runId") + "'"));
    assertThat(stored.getString("text")).isEmpty();
    assertThat(stored.getString("rawText")).isEqualTo("<NO_REPLY>");
    assertThat(count("SELECT COUNT(*) FROM outbox WHERE run_id = '" + quiet.getString("runId") + "'")).isZero();
  }

  @Test
  @DisplayName("C4 steer: a message that arrives while a turn waits on a tool step is folded into that turn's next model call")
  void steerFoldsIntoNextStep() {
    chat.close();
    gateway.close();
    gateway = startGateway("steer");
    chat = new TestChannel(vertx, db, "w", "test", "default");
    Promise<Void> gate = ScriptedModelServer.gate();
    model.enqueue(new ScriptedModelServer.Gate(gate.future()));
    JsonObject a = chat.dm("ann", "look it up [call:memory_search:{\"query\":\"plans\"}] [in:S1]");
    model.awaitRequests(1, Duration.ofSeconds(20));
    JsonObject b = chat.dm("ann", "also mention the weather [in:S2]");
    // B is stored before the turn goes on, then the model step is released
    TestDatabases.awaitValue(db, db.workspaceSchema("w"), "SELECT COUNT(*) FROM session_events WHERE type = 'user_message'"
        + " AND run_id = '" + b.getString("runId") + "'", 1L);
    gate.complete();
    // A's answer comes from a model step whose newest user message is B: it answers B's token
    TestChannel.Shown answer = chat.awaitText("ann", "<<end-S2>>");
    assertThat(answer.runId()).isEqualTo(a.getString("runId"));
    TestDatabases.awaitDelivered(db, db.workspaceSchema("w"), a.getString("runId"));
    chat.dm("ann", "barrier [in:S3]");
    chat.awaitText("ann", "<<end-S3>>");
    // two model calls for A's turn (the tool step and the answer); B rode along in the second
    List<Recorded> turnA = model.requests().stream().filter(r -> r.conversation().texts().stream()
        .anyMatch(t -> t.contains("[in:S1]")) && !r.conversation().lastUserTextValue().contains("[in:S3]")).toList();
    assertThat(turnA).hasSize(2);
    assertThat(turnA.get(0).conversation().texts()).noneMatch(t -> t.contains("also mention the weather"));
    assertThat(turnA.get(1).conversation().lastUserTextValue()).isEqualTo("also mention the weather [in:S2]");
    assertThat(turnA.get(1).conversation().toolResults()).hasSize(1);
    assertThat(requestsWith("[in:S2]")).hasSize(1);
    // B got no reply of its own: two replies in the chat (A's and the barrier's)
    assertThat(chat.chat("ann")).hasSize(2);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'agent_start' AND run_id = '"
        + b.getString("runId") + "'")).isZero();
  }

  String systemPromptOf(String token) {
    return requestsWith(token).get(0).conversation().system();
  }

  @Test
  @DisplayName("working memory: the agent replaces it with its tool; later turns (also after a restart) see it; describe shows it; empty clears it")
  void workingMemory() throws Exception {
    JsonObject first = chat.dm("ann", "keep this [call:working_memory_update:{\"text\":\"plan: book the 9:10 train\"}] [in:M1]");
    assertThat(chat.awaitText("ann", "<<end-M1>>").text())
        .isEqualTo("<<M1>> tool working_memory_update said: Working memory saved (25 characters). <<end-M1>>");
    assertThat(systemPromptOf("[in:M1]")).doesNotContain("Working memory");
    chat.dm("ann", "what was the plan? [in:M2]");
    chat.awaitText("ann", "<<end-M2>>");
    assertThat(systemPromptOf("[in:M2]")).contains("## Working memory").endsWith("\nplan: book the 9:10 train");
    try (var c = gateway.client("w")) {
      assertThat(c.call("sessions.describe", new JsonObject().put("key", first.getString("sessionKey")))
          .getJsonObject("session").getString("workingMemory")).isEqualTo("plan: book the 9:10 train");
    }

    // durable: after a restart the next turn still sees it (read from the store)
    chat.close();
    gateway.close();
    gateway = startGateway("followup");
    chat = new TestChannel(vertx, db, "w", "test", "default");
    chat.dm("ann", "still there? [in:M3]");
    chat.awaitText("ann", "<<end-M3>>");
    assertThat(systemPromptOf("[in:M3]")).endsWith("\nplan: book the 9:10 train");

    chat.dm("ann", "done with it [call:working_memory_update:{\"text\":\"\"}] [in:M4]");
    assertThat(chat.awaitText("ann", "<<end-M4>>").text()).contains("Working memory cleared.");
    chat.dm("ann", "and now? [in:M5]");
    chat.awaitText("ann", "<<end-M5>>");
    assertThat(systemPromptOf("[in:M5]")).doesNotContain("Working memory");
    assertThat(TestDatabases.scalar(db, db.workspaceSchema("w"), "SELECT working_memory FROM sessions WHERE id = '"
        + first.getString("sessionId") + "'")).isNull();
  }

  @Test
  @DisplayName("working memory refuses a text over its limit and an unknown session, and keeps what it had")
  void workingMemoryLimits() throws Exception {
    JsonObject first = chat.dm("bob", "keep [call:working_memory_update:{\"text\":\"short note\"}] [in:L1]");
    chat.awaitText("bob", "<<end-L1>>");
    String tooLong = "x".repeat(dev.switchboard.agent.AgentAddresses.WORKING_MEMORY_MAX_CHARS + 1);
    chat.dm("bob", "[call:working_memory_update:{\"text\":\"" + tooLong + "\"}] [in:L2]");
    assertThat(chat.awaitText("bob", "<<end-L2>>").text())
        .contains("tool working_memory_update said: 'text' must be at most 4000 characters");
    // the lanes' own guard, for any caller of the address
    String address = "ws.w." + dev.switchboard.agent.AgentAddresses.WORKING_MEMORY;
    Throwable tooLongErr = vertx.eventBus().request(address, new JsonObject().put("sessionId", first.getString("sessionId"))
        .put("text", tooLong)).map(x -> (Throwable) null).otherwise(t -> t).await(10, TimeUnit.SECONDS);
    assertThat(tooLongErr).hasMessageContaining("limited to 4000 characters");
    Throwable unknown = vertx.eventBus().request(address, new JsonObject().put("sessionId", "no-such-session")
        .put("text", "x")).map(x -> (Throwable) null).otherwise(t -> t).await(10, TimeUnit.SECONDS);
    assertThat(unknown).hasMessageContaining("no session");
    assertThat(TestDatabases.scalar(db, db.workspaceSchema("w"), "SELECT working_memory FROM sessions WHERE id = '"
        + first.getString("sessionId") + "'")).isEqualTo("short note");
  }
}
