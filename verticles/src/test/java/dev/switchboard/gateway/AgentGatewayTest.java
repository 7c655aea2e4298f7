package dev.switchboard.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.LogCapture;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.ScriptedModelServer;
import dev.switchboard.support.ScriptedOpenAiServer;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import dev.switchboard.workspace.AgentConfig;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent loop through the real gateway: webchat protocol in, lanes, an agent configured against
 * the scripted OpenAI server (keys from the environment), tools, tool events, usage, the context
 * inspector and error kinds, out through delivery.
 */
@Timeout(120)
class AgentGatewayTest {
  static final String KEY_A = "sk-test-keyA-7f3a9c2e4b6d8f1a0c3e5b7d";
  static final String KEY_B = "sk-test-keyB-2d4f6a8c0e1b3d5f7a9c2e4b";
  static final Map<String, String> ENV = Map.of("SB_TEST_KEY_A", KEY_A, "SB_TEST_KEY_B", KEY_B);
  static Vertx vertx;
  static WebClient web;

  ScriptedOpenAiServer model;
  TestGateway gateway;
  ProtocolClient client;
  DatabaseConfig db;

  @TempDir
  Path root;

  @BeforeAll
  static void vertx() {
    vertx = Vertx.vertx();
    web = WebClient.create(vertx);
  }

  @AfterAll
  static void closeVertx() throws Exception {
    web.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void start() throws Exception {
    model = new ScriptedOpenAiServer(vertx).start();
    db = TestDatabases.h2();
    JsonObject agent = new JsonObject().put("id", "main").put("name", "Main").put("default", true)
        .put("model", new JsonObject().put("provider", "openai").put("model", "gpt-test").put("baseUrl", model.baseUrl())
            .put("apiKeys", new JsonArray().add("${env:SB_TEST_KEY_A}").add("${env:SB_TEST_KEY_B}"))
            .put("pricing", new JsonObject().put("inputPerMTok", 0.4).put("outputPerMTok", 1.6))
            .put("retry", new JsonObject().put("maxRetries", 1).put("backoffMs", 1).put("maxRetryAfterMs", 100)));
    gateway = TestGateway.in(vertx, root, db)
        .workspace("main", new JsonObject().put("port", 0).put("agents", new JsonArray().add(agent)));
    // the agent files a fresh install ships
    Path repo = Path.of(System.getProperty("switchboard.root", "..")).toAbsolutePath().normalize();
    Files.copy(repo.resolve("workspaces/main/AGENTS.md"), root.resolve("workspaces/main/AGENTS.md"));
    gateway.start(gateway.gatewayJson(), ENV);
    client = connect(ProtocolClient.ALL_SCOPES, new JsonArray().add("tool-events"));
  }

  @AfterEach
  void stop() {
    client.close();
    gateway.close();
    model.close();
    TestDatabases.dropSchemas(db);
  }

  ProtocolClient connect(JsonArray scopes, JsonArray caps) {
    return ProtocolClient.connect(vertx, gateway.port("main"), ProtocolClient.connectParams(TestGateway.TOKEN, scopes)
        .put("caps", caps));
  }

  String send(ProtocolClient c, String sessionKey, String message) {
    return c.call("chat.send", new JsonObject().put("sessionKey", sessionKey).put("message", message)
        .put("idempotencyKey", UUID.randomUUID().toString())).getString("runId");
  }

  static String text(JsonObject chat) {
    JsonObject m = chat.getJsonObject("message");
    return m == null ? "" : m.getJsonArray("content").getJsonObject(0).getString("text");
  }

  // ---- a tool turn end to end --------------------------------------------------------------

  @Test
  @DisplayName("a tool turn through the gateway: tool events for clients that asked, one final, events stored, usage counted")
  void toolTurn() throws Exception {
    try (ProtocolClient plain = connect(ProtocolClient.ALL_SCOPES, new JsonArray())) {
      String runId = send(client, "main", "save it [call:memory_write:{\"text\":\"blue is my colour\"}] [in:E1]");
      JsonObject end = client.awaitChatEnd(runId);
      JsonObject endPlain = plain.awaitChatEnd(runId); // barrier: everything before the end reached both

      assertThat(end.getString("state")).isEqualTo("final");
      assertThat(text(end)).startsWith("<<E1>> tool memory_write said: Saved fact ").endsWith("<<end-E1>>");
      assertThat(text(endPlain)).isEqualTo(text(end));
      List<JsonObject> tools = client.events("agent", runId).stream()
          .filter(p -> "tool".equals(p.getString("stream"))).toList();
      assertThat(tools).extracting(p -> p.getJsonObject("data").getString("phase")).containsExactly("start", "result");
      assertThat(tools.get(0).getJsonObject("data").getString("name")).isEqualTo("memory_write");
      assertThat(tools.get(0).getJsonObject("data").getJsonObject("args").getString("text")).isEqualTo("blue is my colour");
      assertThat(tools.get(1).getJsonObject("data").getBoolean("isError")).isFalse();
      assertThat(tools.get(0).getJsonObject("data").getString("toolCallId"))
          .isEqualTo(tools.get(1).getJsonObject("data").getString("toolCallId"));
      assertThat(plain.events("agent", runId)).noneMatch(p -> "tool".equals(p.getString("stream")));
      assertThat(client.events("chat", runId).stream().filter(p -> !"delta".equals(p.getString("state")))).hasSize(1);
    }
    String schema = db.workspaceSchema("main");
    assertThat(rows(schema, "SELECT type FROM session_events ORDER BY seq")).containsExactly("user_message",
        "agent_start", "tool_call", "tool_result", "text_final", "agent_end");
    JsonObject agentEnd = new JsonObject(rows(schema, "SELECT payload FROM session_events WHERE type = 'agent_end'").get(0));
    assertThat(agentEnd.getInteger("steps")).isEqualTo(2);
    assertThat(agentEnd.getInteger("toolCalls")).isEqualTo(1);
    assertThat(agentEnd.getJsonObject("usage").getLong("input")).isPositive();
    assertThat(agentEnd.getDouble("costUsd")).isPositive();

    // totals: status (protocol) and REST agree with the stored turn
    JsonObject usage = client.call("status", new JsonObject()).getJsonObject("usage");
    assertThat(usage.getLong("inputTokens")).isEqualTo(agentEnd.getJsonObject("usage").getLong("input"));
    assertThat(usage.getLong("outputTokens")).isEqualTo(agentEnd.getJsonObject("usage").getLong("output"));
    assertThat(usage.getLong("modelCalls")).isEqualTo(2);
    assertThat(usage.getLong("turns")).isEqualTo(1);
    assertThat(usage.getDouble("costUsd")).isCloseTo(agentEnd.getDouble("costUsd"), org.assertj.core.data.Offset.offset(1e-9));
    assertThat(usage.getBoolean("costComplete")).isTrue();
    JsonObject rest = get("/api/usage", TestGateway.TOKEN).bodyAsJsonObject();
    assertThat(rest.getJsonObject("usage")).isEqualTo(usage);
    assertThat(rest.getJsonArray("sessions").getJsonObject(0).getString("sessionKey")).isEqualTo("agent:main:main");
    JsonObject one = get("/api/sessions/main/usage", TestGateway.TOKEN).bodyAsJsonObject();
    assertThat(one.getJsonObject("usage")).isEqualTo(usage);
    JsonObject recent = client.call("status", new JsonObject()).getJsonObject("sessions").getJsonArray("recent")
        .getJsonObject(0);
    assertThat(recent.getLong("totalTokens")).isEqualTo(usage.getLong("totalTokens"));
  }

  @Test
  @DisplayName("status shows each recent session's own usage, even when more than a hundred older sessions used more")
  void statusShowsUsageOfRecentSessions() throws Exception {
    String schema = db.workspaceSchema("main");
    // 120 older sessions, every one heavier than the turn below: the heaviest-keys ranking is all theirs
    int fillers = 120;
    try (Connection c = dev.switchboard.store.Database.connect(db);
        PreparedStatement session = c.prepareStatement("INSERT INTO " + schema + ".sessions (id, session_key,"
            + " agent_id, status, source, metadata, created_at, last_activity_at, input_tokens, output_tokens)"
            + " VALUES (?, ?, 'main', 'idle', '{}', '{}', ?, ?, ?, 1000)");
        PreparedStatement head = c.prepareStatement("INSERT INTO " + schema + ".session_heads (session_key,"
            + " session_id, agent_id, updated_at) VALUES (?, ?, 'main', ?)")) {
      for (int i = 0; i < fillers; i++) {
        OffsetDateTime at = OffsetDateTime.of(2020, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC).plusMinutes(i);
        String key = "agent:main:filler-" + i;
        session.setString(1, "filler-" + i);
        session.setString(2, key);
        session.setObject(3, at);
        session.setObject(4, at);
        session.setLong(5, 1_000_000 + i);
        session.executeUpdate();
        head.setString(1, key);
        head.setString(2, "filler-" + i);
        head.setObject(3, at);
        head.executeUpdate();
      }
    }
    client.awaitChatEnd(send(client, "main", "hi [in:SU1]"));
    JsonObject used = get("/api/sessions/main/usage", TestGateway.TOKEN).bodyAsJsonObject().getJsonObject("usage");
    assertThat(used.getLong("totalTokens")).isPositive().isLessThan(1_000_000L);

    JsonArray recent = client.call("status", new JsonObject()).getJsonObject("sessions").getJsonArray("recent");
    assertThat(recent).hasSize(10);
    JsonObject mine = recent.getJsonObject(0);
    assertThat(mine.getString("key")).isEqualTo("agent:main:main");
    assertThat(mine.getLong("inputTokens")).isEqualTo(used.getLong("inputTokens"));
    assertThat(mine.getLong("totalTokens")).isEqualTo(used.getLong("totalTokens"));
    assertThat(mine.getDouble("costUsd")).isEqualTo(used.getDouble("costUsd"));
    // the other nine are the newest fillers, each with its own figures
    for (int n = 1; n < 10; n++) {
      int i = fillers - n;
      assertThat(recent.getJsonObject(n).getString("key")).isEqualTo("agent:main:filler-" + i);
      assertThat(recent.getJsonObject(n).getLong("totalTokens")).isEqualTo(1_000_000L + i + 1000);
    }
  }

  // ---- error kinds ---------------------------------------------------------------------------

  @Test
  @DisplayName("every key rate-limited: the chat error says rate_limit with the provider's details, and it is stored so")
  void rateLimitErrorKind() throws Exception {
    model.failKey(KEY_A, ScriptedOpenAiServer.rateLimited("30")).failKey(KEY_B, ScriptedOpenAiServer.rateLimited("30"));
    String runId = send(client, "main", "hi [in:R1]");
    JsonObject end = client.awaitChatEnd(runId);

    assertThat(end.getString("state")).isEqualTo("error");
    assertThat(end.getString("errorKind")).isEqualTo("rate_limit");
    JsonObject detail = end.getJsonObject("errorDetail");
    assertThat(detail.getInteger("httpStatus")).isEqualTo(429);
    assertThat(detail.getString("failoverReason")).isEqualTo("rate_limit");
    assertThat(detail.getString("provider")).isEqualTo("openai");
    assertThat(detail.getJsonArray("attempts")).hasSize(2); // key A, then key B at once
    assertThat(model.requests()).extracting(ScriptedModelServer.Recorded::apiKey).containsExactly(KEY_A, KEY_B);
    JsonObject error = new JsonObject(rows(db.workspaceSchema("main"),
        "SELECT payload FROM session_events WHERE type = 'error'").get(0));
    assertThat(error.getString("kind")).isEqualTo("rate_limit");
    JsonObject agentEnd = new JsonObject(rows(db.workspaceSchema("main"),
        "SELECT payload FROM session_events WHERE type = 'agent_end'").get(0));
    assertThat(agentEnd.getString("errorKind")).isEqualTo("rate_limit");
    assertThat(agentEnd.getString("status")).isEqualTo("error");
  }

  @Test
  @DisplayName("a context the model refuses even after compaction ends as context_length; the lane is free afterwards")
  void contextLengthErrorKind() {
    model.contextLimitMessages(0);
    JsonObject end = client.awaitChatEnd(send(client, "main", "hi [in:C1]"));
    assertThat(end.getString("errorKind")).isEqualTo("context_length");
    model.contextLimitMessages(Integer.MAX_VALUE);
    JsonObject next = client.awaitChatEnd(send(client, "main", "again [in:C2]"));
    assertThat(text(next)).isEqualTo("<<C2>> ok <<end-C2>>");
  }

  // ---- what the model sees -------------------------------------------------------------------

  @Test
  @DisplayName("agent.inspect and GET /api/sessions/{key}/context show exactly what the next model request contains")
  void inspector() throws Exception {
    client.awaitChatEnd(send(client, "main", "first [in:V1]"));
    assertThat(client.hello().getJsonObject("features").getJsonArray("methods")).contains("agent.inspect");

    JsonObject view = client.call("agent.inspect", new JsonObject().put("sessionKey", "main"));
    assertThat(view.getString("sessionKey")).isEqualTo("agent:main:main");
    assertThat(view.getString("system")).startsWith("You are Main, an assistant reached through Switchboard.")
        .contains("## AGENTS.md");
    assertThat(view.getJsonArray("messages")).hasSize(2);
    assertThat(view.getJsonArray("tools")).hasSize(AgentConfig.TOOLS.size());
    assertThat(view.getJsonObject("model").getInteger("keys")).isEqualTo(2);
    assertThat(view.getJsonObject("estimate").getInteger("totalTokens")).isPositive();
    assertThat(view.encode()).doesNotContain(KEY_A).doesNotContain(KEY_B);

    // the next request is the inspected one plus the new user message
    client.awaitChatEnd(send(client, "main", "second [in:V2]"));
    JsonObject sent = model.requests().get(model.requests().size() - 1).body();
    JsonObject expected = view.getJsonObject("request").copy();
    expected.getJsonArray("messages").add(new JsonObject().put("role", "user").put("content", "second [in:V2]"));
    assertThat(sent).isEqualTo(expected);

    // the same view over REST, for operators only
    HttpResponse<Buffer> ok = get("/api/sessions/" + URLEncoder.encode("agent:main:main", StandardCharsets.UTF_8)
        + "/context", TestGateway.TOKEN);
    assertThat(ok.statusCode()).isEqualTo(200);
    JsonObject restView = ok.bodyAsJsonObject();
    assertThat(restView.getJsonObject("request").getJsonArray("messages")).hasSize(5); // system + 2 turns
    assertThat(get("/api/sessions/main/context", null).statusCode()).isEqualTo(401);
    assertThat(get("/api/sessions/main/context", "wrong-token-wrong-token").statusCode()).isEqualTo(401);
    assertThat(web.get(gateway.port("main"), "127.0.0.1", "/api/sessions/main/context?token=" + TestGateway.TOKEN)
        .send().await(10, TimeUnit.SECONDS).statusCode()).isEqualTo(400);

    // operator.admin only
    try (ProtocolClient reader = connect(new JsonArray().add("operator.read"), new JsonArray())) {
      JsonObject refused = reader.request("agent.inspect", new JsonObject().put("sessionKey", "main"));
      assertThat(refused.getBoolean("ok")).isFalse();
      assertThat(refused.getJsonObject("error").getString("message")).contains("operator.admin");
    }
  }

  @Test
  @DisplayName("\"hello\" to a default agent costs at most 1.5K prompt tokens, counted from what the model received")
  void helloIsLean() {
    JsonObject end = client.awaitChatEnd(send(client, "main", "hello"));
    assertThat(end.getString("state")).isEqualTo("final");
    JsonObject request = model.requests().get(0).body();
    // everything a model tokenizes: the messages (system prompt included) and the tool schemas
    String prompt = request.getJsonArray("messages").encode() + request.getJsonArray("tools").encode();
    int estimate = (prompt.length() + 3) / 4;
    // a stricter count: every run of letters/digits and every other visible character is one token
    // (real BPE tokenizers merge far more; this overcounts JSON punctuation)
    Matcher m = Pattern.compile("[\\p{L}\\p{N}]+|[^\\s\\p{L}\\p{N}]").matcher(prompt);
    int pessimistic = 0;
    while (m.find()) {
      pessimistic++;
    }
    assertThat(estimate).as("chars/4 estimate of %s", prompt).isLessThanOrEqualTo(1_500);
    assertThat(pessimistic).as("word-and-punctuation count").isLessThanOrEqualTo(1_500);
    // and the provider's own count (the stand-in reports the request size / 4) is what usage shows
    assertThat(end.getJsonObject("usage").getLong("input")).isLessThanOrEqualTo(1_500L);
  }

  // ---- secrets -------------------------------------------------------------------------------

  @Test
  @DisplayName("API keys never appear in logs, errors, events, stored rows or views, even when a provider echoes them")
  void secretsNeverLeak() throws Exception {
    LogCapture logs = LogCapture.start();
    List<String> seen = new ArrayList<>();
    try {
      // key A is refused and the provider quotes it; the call rotates to key B
      model.failKey(KEY_A, ScriptedOpenAiServer.badKey(KEY_A));
      JsonObject first = client.awaitChatEnd(send(client, "main", "one [in:K1]"));
      assertThat(text(first)).isEqualTo("<<K1>> ok <<end-K1>>");
      // then key B is refused too: the turn fails, and the error travels to the client and the log
      model.failKey(KEY_B, ScriptedOpenAiServer.badKey(KEY_B));
      JsonObject second = client.awaitChatEnd(send(client, "main", "two [in:K2]"));
      assertThat(second.getString("state")).isEqualTo("error");
      assertThat(second.getString("errorMessage")).contains("[redacted]");
      seen.add(client.call("status", new JsonObject()).encode());
      seen.add(client.call("agent.inspect", new JsonObject().put("sessionKey", "main")).encode());
      seen.add(client.call("chat.history", new JsonObject().put("sessionKey", "main")).encode());
      seen.add(get("/api/usage", TestGateway.TOKEN).bodyAsString());
      seen.add(get("/api/sessions/main/context", TestGateway.TOKEN).bodyAsString());
    } finally {
      logs.close();
    }
    assertThat(model.requests()).extracting(ScriptedModelServer.Recorded::apiKey).contains(KEY_A, KEY_B);
    List<String> logged = logs.lines();
    seen.addAll(logged);
    client.frames(f -> true).forEach(f -> seen.add(f.encode()));
    String schema = db.workspaceSchema("main");
    seen.addAll(rows(schema, "SELECT payload FROM session_events"));
    seen.addAll(rows(schema, "SELECT text FROM memory_entries"));
    seen.addAll(rows(schema, "SELECT payload FROM outbox"));
    seen.addAll(rows(schema, "SELECT payload FROM inbound"));
    assertThat(logged).as("the failures were logged").isNotEmpty();
    for (String s : seen) {
      for (String key : List.of(KEY_A, KEY_B)) {
        assertThat(s).doesNotContain(key).doesNotContain(key.substring(0, 16));
      }
    }
  }

  // ---- session_send --------------------------------------------------------------------------

  @Test
  @DisplayName("session_send posts into another session: its agent answers there, once, and the reply comes back to the sender")
  void sessionSend() throws Exception {
    client.awaitChatEnd(send(client, "other", "hello there [in:B0]"));
    // the token is escaped in the JSON arguments, so only the receiving model sees it as [in:X1]
    String runId = send(client, "main", "[call:session_send:{\"sessionKey\":\"agent:main:other\","
        + "\"message\":\"ping [in\\u003aX1]\",\"waitSeconds\":30}] [in:S1]");
    JsonObject end = client.awaitChatEnd(runId);

    assertThat(text(end)).startsWith("<<S1>> tool session_send said: Posted to agent:main:other")
        .contains("ok). Reply: <<X1>> ok <<end-X1>>");
    JsonObject other = client.call("chat.history", new JsonObject().put("sessionKey", "other"));
    List<String> texts = other.getJsonArray("messages").stream()
        .map(o -> ((JsonObject) o).getJsonArray("content").getJsonObject(0).getString("text")).toList();
    assertThat(texts).containsExactly("hello there [in:B0]", "<<B0>> ok <<end-B0>>",
        "[message from agent main, session agent:main:main]\nping [in:X1]", "<<X1>> ok <<end-X1>>");
    // the other session's reply was delivered to webchat like any reply there: one final, for that session
    List<JsonObject> finals = client.frames(f -> "event".equals(f.getString("type")) && "chat".equals(f.getString("event"))
        && "final".equals(f.getJsonObject("payload").getString("state"))
        && text(f.getJsonObject("payload")).startsWith("<<X1>>")).stream().map(f -> f.getJsonObject("payload")).toList();
    assertThat(finals).hasSize(1).allSatisfy(p -> assertThat(p.getString("sessionKey")).isEqualTo("agent:main:other"));
    // posting into one's own session is refused to the model, not done
    JsonObject self = client.awaitChatEnd(send(client, "main", "[call:session_send:{\"sessionKey\":\"agent:main:main\","
        + "\"message\":\"loop\"}] [in:S2]"));
    assertThat(text(self)).contains("this is your own session");
  }

  // ---- helpers -------------------------------------------------------------------------------

  HttpResponse<Buffer> get(String path, String token) throws Exception {
    var req = web.get(gateway.port("main"), "127.0.0.1", path);
    if (token != null) {
      req.putHeader("Authorization", "Bearer " + token);
    }
    return req.send().await(10, TimeUnit.SECONDS);
  }

  List<String> rows(String schema, String sql) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = dev.switchboard.store.Database.connect(db); Statement s = c.createStatement()) {
      s.execute("SET SCHEMA " + schema);
      try (ResultSet rs = s.executeQuery(sql)) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
    }
    return out;
  }
}
