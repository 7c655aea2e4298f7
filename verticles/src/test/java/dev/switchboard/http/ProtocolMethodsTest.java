package dev.switchboard.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.routing.Commands;
import dev.switchboard.support.FrameGuard;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Conformance of every method in {@code features.methods}: params, results, errors, the events
 * they cause, and the scope each needs. Clients connect as OpenClaw's reference client does; every
 * frame they receive must pass the reference client's frame guard.
 */
@Timeout(90)
class ProtocolMethodsTest {
  /**
   * The subset we serve, with the scope each method needs (PROTOCOL.md 6.2; sessions.delete, send
   * and agent.inspect, which reach beyond the caller's own chat, need admin; DM pairing needs
   * operator.pairing).
   */
  static final Map<String, String> SCOPES = Map.ofEntries(
      Map.entry("health", "operator.read"), Map.entry("status", "operator.read"),
      Map.entry("chat.send", "operator.write"), Map.entry("chat.history", "operator.read"),
      Map.entry("chat.abort", "operator.write"), Map.entry("chat.inject", "operator.admin"),
      Map.entry("agent", "operator.write"), Map.entry("agent.wait", "operator.write"),
      Map.entry("sessions.list", "operator.read"), Map.entry("sessions.describe", "operator.read"),
      Map.entry("sessions.resolve", "operator.read"), Map.entry("sessions.reset", "operator.admin"),
      Map.entry("sessions.delete", "operator.admin"), Map.entry("send", "operator.admin"),
      Map.entry("agent.inspect", "operator.admin"),
      Map.entry("sessions.create", "operator.write"), Map.entry("sessions.subscribe", "operator.read"),
      Map.entry("sessions.messages.subscribe", "operator.read"),
      Map.entry("sessions.messages.unsubscribe", "operator.read"), Map.entry("models.list", "operator.read"),
      Map.entry("agents.list", "operator.read"), Map.entry("commands.list", "operator.read"),
      Map.entry("config.get", "operator.read"), Map.entry("question.list", "operator.questions"),
      Map.entry("plugin.approval.list", "operator.approvals"), Map.entry("pairing.list", "operator.pairing"),
      Map.entry("pairing.approve", "operator.pairing"), Map.entry("pairing.revoke", "operator.pairing"));

  static Vertx vertx;
  static TestGateway gateway;
  static int port;
  final List<ProtocolClient> clients = new ArrayList<>();
  ProtocolClient client;

  @BeforeAll
  static void start(@TempDir Path root) {
    JsonObject slowModel = new JsonObject().put("provider", "echo")
        .put("options", new JsonObject().put("chunkWords", 1).put("chunkDelayMs", 100));
    JsonObject main = TestGateway.echoWorkspace();
    main.getJsonArray("agents").add(new JsonObject().put("id", "slow").put("name", "Slow").put("model", slowModel));
    JsonObject strict = new JsonObject().put("port", 0)
        .put("agents", new JsonArray().add(new JsonObject().put("id", "main").put("model", slowModel)))
        .put("limits", new JsonObject().put("turnTimeoutMs", 1000));
    JsonObject busy = new JsonObject().put("port", 0)
        .put("agents", new JsonArray().add(new JsonObject().put("id", "main").put("model", slowModel)))
        .put("limits", new JsonObject().put("maxQueuedPerSession", 1));
    gateway = TestGateway.standalone(root).workspace("main", main).workspace("strict", strict)
        .workspace("busy", busy).start();
    vertx = gateway.vertx();
    port = gateway.port("main");
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @BeforeEach
  void connect() {
    client = connect(ProtocolClient.ALL_SCOPES);
  }

  @AfterEach
  void framesAreWellFormed() {
    try {
      for (ProtocolClient c : clients) {
        FrameGuard.assertWellFormed(c.frames(f -> true));
      }
    } finally {
      clients.forEach(ProtocolClient::close);
    }
  }

  ProtocolClient connect(JsonArray scopes) {
    ProtocolClient c = ProtocolClient.connect(vertx, port, ProtocolClient.connectParams(TestGateway.TOKEN, scopes));
    clients.add(c);
    return c;
  }

  static String newKey() {
    return "t-" + UUID.randomUUID();
  }

  static String text(JsonObject message) {
    return message.getJsonArray("content").getJsonObject(0).getString("text");
  }

  static List<String> texts(JsonObject history) {
    return history.getJsonArray("messages").stream().map(m -> text((JsonObject) m)).toList();
  }

  static String error(JsonObject res) {
    assertThat(res.getBoolean("ok")).as("expected a failure: %s", res.encode()).isFalse();
    return res.getJsonObject("error").getString("code") + " " + res.getJsonObject("error").getString("message");
  }

  String send(ProtocolClient c, String sessionKey, String message) {
    String runId = UUID.randomUUID().toString();
    JsonObject ack = c.call("chat.send", new JsonObject().put("sessionKey", sessionKey).put("message", message)
        .put("idempotencyKey", runId));
    assertThat(ack.getString("runId")).isEqualTo(runId);
    assertThat(ack.getString("status")).isEqualTo("started");
    return runId;
  }

  // ---- catalogue and scopes ------------------------------------------------------------------

  @Test
  @DisplayName("features.methods lists exactly the methods served; features.events exactly the events emitted")
  void features() {
    JsonObject features = client.hello().getJsonObject("features");
    assertThat(features.getJsonArray("methods").getList()).containsExactlyInAnyOrderElementsOf(SCOPES.keySet());
    assertThat(features.getJsonArray("events").getList()).containsExactlyInAnyOrder("connect.challenge", "tick",
        "shutdown", "chat", "agent", "sessions.changed", "session.message");
    assertThat(features.getJsonArray("capabilities")).isEmpty();
  }

  @Test
  @DisplayName("each method needs its scope: admin satisfies all, write also read; refusals say which scope")
  void scopesPerMethod() {
    for (String granted : List.of("operator.read", "operator.write", "operator.admin", "operator.approvals",
        "operator.questions", "operator.pairing")) {
      ProtocolClient c = connect(new JsonArray().add(granted));
      assertThat(c.hello().getJsonObject("auth").getJsonArray("scopes")).containsExactly(granted);
      for (Map.Entry<String, String> m : SCOPES.entrySet()) {
        String required = m.getValue();
        boolean allowed = granted.equals("operator.admin") || granted.equals(required)
            || granted.equals("operator.write") && required.equals("operator.read");
        JsonObject res = c.request(m.getKey(), new JsonObject());
        JsonObject err = res.getJsonObject("error");
        if (allowed) {
          assertThat(err == null ? null : err.getString("code")).as("%s with %s", m.getKey(), granted)
              .isNotEqualTo("FORBIDDEN");
        } else {
          assertThat(err.getString("code")).as("%s with %s", m.getKey(), granted).isEqualTo("FORBIDDEN");
          assertThat(err.getString("message")).isEqualTo("missing scope: " + required);
          assertThat(err.getJsonObject("details")).isEqualTo(new JsonObject().put("code", "MISSING_SCOPE")
              .put("missingScope", required).put("requiredScopes", new JsonArray().add(required)));
        }
      }
    }
  }

  @Test
  @DisplayName("agent needs admin when the message is /new or /reset, write otherwise")
  void agentDynamicScope() {
    ProtocolClient writer = connect(new JsonArray().add("operator.write"));
    for (String m : List.of("/new", "/RESET please", "  /reset")) {
      JsonObject res = writer.request("agent", new JsonObject().put("message", m)
          .put("idempotencyKey", UUID.randomUUID().toString()));
      assertThat(error(res)).as(m).isEqualTo("FORBIDDEN missing scope: operator.admin");
    }
    JsonObject ok = writer.request("agent", new JsonObject().put("message", "/newsletter is not a command")
        .put("sessionKey", newKey()).put("idempotencyKey", UUID.randomUUID().toString()));
    assertThat(ok.getJsonObject("payload").getString("status")).isEqualTo("accepted");
  }

  @Test
  @DisplayName("an unknown method is INVALID_REQUEST \"unknown method: <name>\", before any scope or params check")
  void unknownMethod() {
    ProtocolClient none = connect(new JsonArray());
    assertThat(error(none.request("sessions.patch", new JsonObject())))
        .isEqualTo("INVALID_REQUEST unknown method: sessions.patch");
    assertThat(error(none.request("sessions.unsubscribe", new JsonObject())))
        .isEqualTo("INVALID_REQUEST unknown method: sessions.unsubscribe");
    String id = none.nextId();
    none.send(new JsonObject().put("type", "req").put("id", id).put("method", "nope.nothing").put("params", 5));
    assertThat(error(none.awaitFrame(f -> id.equals(f.getString("id")), ProtocolClient.WAIT)))
        .isEqualTo("INVALID_REQUEST unknown method: nope.nothing");
  }

  @Test
  @DisplayName("params that are not an object, of the wrong type or missing get INVALID_REQUEST \"invalid <method> params: ...\"")
  void badParams() {
    String id = client.nextId();
    client.send(new JsonObject().put("type", "req").put("id", id).put("method", "chat.send").put("params", "hi"));
    assertThat(error(client.awaitFrame(f -> id.equals(f.getString("id")), ProtocolClient.WAIT)))
        .isEqualTo("INVALID_REQUEST invalid chat.send params: params must be an object");
    assertThat(error(client.request("chat.send", new JsonObject().put("sessionKey", "main").put("message", "x"))))
        .isEqualTo("INVALID_REQUEST invalid chat.send params: missing required property 'idempotencyKey'");
    assertThat(error(client.request("chat.send", new JsonObject().put("message", "x").put("idempotencyKey", "k"))))
        .isEqualTo("INVALID_REQUEST invalid chat.send params: missing required property 'sessionKey'");
    assertThat(error(client.request("chat.send", new JsonObject().put("sessionKey", "main").put("message", 42)
        .put("idempotencyKey", "k")))).isEqualTo("INVALID_REQUEST invalid chat.send params: 'message' must be a string");
    assertThat(error(client.request("chat.send", new JsonObject().put("sessionKey", "x".repeat(513))
        .put("message", "x").put("idempotencyKey", "k"))))
        .startsWith("INVALID_REQUEST invalid chat.send params: 'sessionKey' must be at most 512");
    assertThat(error(client.request("chat.history", new JsonObject().put("sessionKey", "main").put("limit", 0))))
        .isEqualTo("INVALID_REQUEST invalid chat.history params: 'limit' must be between 1 and 1000");
    assertThat(error(client.request("chat.history", new JsonObject().put("sessionKey", "main").put("limit", "9"))))
        .isEqualTo("INVALID_REQUEST invalid chat.history params: 'limit' must be an integer");
    assertThat(error(client.request("chat.send", new JsonObject().put("sessionKey", "main").put("message", "x")
        .put("idempotencyKey", "k").put("queueMode", "later"))))
        .startsWith("INVALID_REQUEST invalid chat.send params: queueMode must be one of");
    assertThat(error(client.request("chat.send", new JsonObject().put("sessionKey", "main").put("message", "x")
        .put("idempotencyKey", "k").put("agentId", "ghost"))))
        .isEqualTo("INVALID_REQUEST invalid chat.send params: unknown agent \"ghost\"");
    // none of these reached a lane: the key was never used
    assertThat(client.call("agent.wait", new JsonObject().put("runId", "k").put("timeoutMs", 0))
        .getString("status")).isEqualTo("timeout");
  }

  // ---- gateway methods -----------------------------------------------------------------------

  @Test
  @DisplayName("health, status (sent without params), models.list, agents.list, commands.list, config.get, question.list, plugin.approval.list")
  void gatewayMethods() {
    JsonObject health = client.call("health", new JsonObject());
    assertThat(health.getBoolean("ok")).isTrue();
    assertThat(health.getString("defaultAgentId")).isEqualTo("main");
    assertThat(health.getJsonArray("agents").stream().map(a -> ((JsonObject) a).getString("agentId")))
        .containsExactly("main", "slow");
    assertThat(health.getJsonObject("sessions").getInteger("count")).isNotNegative();

    // the TUI sends status with no params key at all
    String id = client.nextId();
    client.send(new JsonObject().put("type", "req").put("id", id).put("method", "status"));
    JsonObject status = client.awaitFrame(f -> id.equals(f.getString("id")), ProtocolClient.WAIT);
    assertThat(status.getBoolean("ok")).isTrue();
    assertThat(status.getJsonObject("payload").getString("runtimeVersion")).isNotEmpty();
    assertThat(status.getJsonObject("payload").getJsonObject("sessions").getJsonArray("paths")).containsExactly("sessions");
    assertThat(status.getJsonObject("payload").getJsonObject("websocket").getInteger("connections")).isPositive();

    JsonArray models = client.call("models.list", new JsonObject()).getJsonArray("models");
    assertThat(models).hasSize(1);
    assertThat(models.getJsonObject(0).getString("provider")).isEqualTo("echo");
    assertThat(models.getJsonObject(0).getString("id")).isEqualTo("echo");

    JsonObject agents = client.call("agents.list", new JsonObject());
    assertThat(agents.getString("defaultId")).isEqualTo("main");
    assertThat(agents.getString("mainKey")).isEqualTo("main");
    assertThat(agents.getString("scope")).isEqualTo("per-sender");
    assertThat(agents.getJsonArray("agents").stream().map(a -> ((JsonObject) a).getString("name")))
        .containsExactly("main", "Slow");

    // the TUI's autocomplete: every listed command is one that a chat message really runs
    JsonArray commands = client.call("commands.list", new JsonObject().put("agentId", "main").put("scope", "text")
        .put("includeArgs", false)).getJsonArray("commands");
    assertThat(commands.stream().map(x -> ((JsonObject) x).getString("name")))
        .containsExactly("stop", "new", "reset", "status", "sethome");
    for (Object x : commands) {
      assertThat(Commands.parse("/" + ((JsonObject) x).getString("name"))).isNotNull();
      assertThat(((JsonObject) x).getString("scope")).isEqualTo("text");
    }
    assertThat(client.call("commands.list", new JsonObject().put("scope", "native")).getJsonArray("commands")).isEmpty();
    assertThat(client.call("config.get", new JsonObject()))
        .isEqualTo(new JsonObject().put("runtimeConfig", new JsonObject().put("gateway", new JsonObject())));
    assertThat(client.call("question.list", new JsonObject()))
        .isEqualTo(new JsonObject().put("questions", new JsonArray()));
    JsonObject approvals = client.request("plugin.approval.list", new JsonObject());
    assertThat(approvals.getValue("payload")).isEqualTo(new JsonArray());
  }

  // ---- chat ----------------------------------------------------------------------------------

  @Test
  @DisplayName("chat.send: started, then in_flight while running and ok once finished for the same key; one turn only")
  void chatSendIdempotency() {
    String key = newKey();
    String runId = UUID.randomUUID().toString();
    JsonObject params = new JsonObject().put("sessionKey", "agent:slow:" + key).put("message", "one two three")
        .put("idempotencyKey", runId);
    assertThat(client.call("chat.send", params).getString("status")).isEqualTo("started");
    assertThat(client.call("chat.send", params).getString("status")).isEqualTo("in_flight");
    JsonObject end = client.awaitChatEnd(runId);
    assertThat(end.getString("state")).isEqualTo("final");
    assertThat(end.getString("sessionKey")).isEqualTo("agent:slow:" + key);
    assertThat(client.call("chat.send", params)).isEqualTo(new JsonObject().put("runId", runId).put("status", "ok"));
    // barrier: a later turn in the same session ends after anything the repeats could have started
    client.awaitChatEnd(send(client, "agent:slow:" + key, "barrier"));
    JsonObject history = client.call("chat.history", new JsonObject().put("sessionKey", "agent:slow:" + key));
    assertThat(texts(history)).containsExactly("one two three", "echo: one two three", "barrier", "echo: barrier");
    assertThat(client.events("chat", runId).stream().filter(p -> !p.getString("state").equals("delta"))).hasSize(1);
  }

  @Test
  @DisplayName("chat.send refuses attachments rather than dropping them")
  void attachmentsRefused() {
    JsonObject res = client.request("chat.send", new JsonObject().put("sessionKey", newKey()).put("message", "see pic")
        .put("idempotencyKey", UUID.randomUUID().toString()).put("attachments", new JsonArray()
            .add(new JsonObject().put("type", "image").put("mimeType", "image/png").put("content", "AAAA"))));
    assertThat(error(res)).isEqualTo("INVALID_REQUEST invalid chat.send params: attachments are not supported by this gateway");
  }

  @Test
  @DisplayName("chat.history: the last limit messages oldest first; an unknown session is empty with a session id")
  void historyLimit() {
    String key = newKey();
    JsonObject empty = client.call("chat.history", new JsonObject().put("sessionKey", key));
    assertThat(empty.getString("sessionKey")).isEqualTo("agent:main:" + key);
    assertThat(empty.getString("sessionId")).isNotEmpty();
    assertThat(empty.getJsonArray("messages")).isEmpty();
    for (int i = 1; i <= 3; i++) {
      client.awaitChatEnd(send(client, key, "m" + i));
    }
    JsonObject all = client.call("chat.history", new JsonObject().put("sessionKey", key).put("limit", 200));
    assertThat(texts(all)).containsExactly("m1", "echo: m1", "m2", "echo: m2", "m3", "echo: m3");
    assertThat(all.getJsonArray("messages").stream().map(m -> ((JsonObject) m).getString("role")))
        .containsExactly("user", "assistant", "user", "assistant", "user", "assistant");
    assertThat(all.getInteger("totalMessages")).isEqualTo(6);
    assertThat(all.getBoolean("hasMore")).isFalse();
    assertThat(all.getJsonObject("sessionInfo").getString("key")).isEqualTo("agent:main:" + key);
    JsonObject last3 = client.call("chat.history", new JsonObject().put("sessionKey", key).put("limit", 3));
    assertThat(texts(last3)).containsExactly("echo: m2", "m3", "echo: m3");
    assertThat(last3.getBoolean("hasMore")).isTrue();
    JsonObject cut = client.call("chat.history", new JsonObject().put("sessionKey", key).put("limit", 1)
        .put("maxChars", 4));
    assertThat(texts(cut)).containsExactly("echo");
    assertThat(cut.getJsonArray("messages").getJsonObject(0).getBoolean("truncated")).isTrue();
  }

  @Test
  @DisplayName("chat.history with a cursor answers only what came after it; a stale or foreign cursor answers reset")
  void historyCursor() {
    String key = newKey();
    client.awaitChatEnd(send(client, key, "before"));
    JsonObject first = client.call("chat.history", new JsonObject().put("sessionKey", key));
    String cursor = first.getString("deltaCursor");
    JsonObject nothing = client.call("chat.history", new JsonObject().put("sessionKey", key).put("cursor", cursor));
    assertThat(nothing.getString("kind")).isEqualTo("delta");
    assertThat(nothing.getJsonArray("messages")).isEmpty();
    assertThat(nothing.getString("deltaCursor")).isEqualTo(cursor);

    client.awaitChatEnd(send(client, key, "after one"));
    client.awaitChatEnd(send(client, key, "after two"));
    JsonObject delta = client.call("chat.history", new JsonObject().put("sessionKey", key).put("cursor", cursor));
    assertThat(delta.getString("kind")).isEqualTo("delta");
    assertThat(texts(delta)).containsExactly("after one", "echo: after one", "after two", "echo: after two");
    JsonObject again = client.call("chat.history", new JsonObject().put("sessionKey", key)
        .put("cursor", delta.getString("deltaCursor")));
    assertThat(again.getJsonArray("messages")).isEmpty();

    String sessionId = first.getString("sessionId");
    for (String bad : List.of("garbage", sessionId + ":999999", "other-session:1", sessionId + ":-3")) {
      assertThat(client.call("chat.history", new JsonObject().put("sessionKey", key).put("cursor", bad)))
          .as(bad).isEqualTo(new JsonObject().put("kind", "reset"));
    }
    client.call("sessions.reset", new JsonObject().put("key", key));
    assertThat(client.call("chat.history", new JsonObject().put("sessionKey", key).put("cursor", cursor)))
        .as("after a reset the old transcript's cursor").isEqualTo(new JsonObject().put("kind", "reset"));
  }

  @Test
  @DisplayName("chat.abort: nothing running answers aborted false; a running reply ends with one aborted event keeping its partial text")
  void chatAbort() {
    String key = "agent:slow:" + newKey();
    assertThat(client.call("chat.abort", new JsonObject().put("sessionKey", key).put("preserveSideRuns", true)))
        .isEqualTo(new JsonObject().put("ok", true).put("aborted", false).put("runIds", new JsonArray()));
    String runId = send(client, key, "a b c d e f g h i j k l m n o p q r s t u v w x y z");
    client.awaitEvent("chat", p -> runId.equals(p.getString("runId")) && p.getString("state").equals("delta"));
    JsonObject res = client.call("chat.abort", new JsonObject().put("sessionKey", key).put("runId", runId));
    assertThat(res).isEqualTo(new JsonObject().put("ok", true).put("aborted", true)
        .put("runIds", new JsonArray().add(runId)));
    JsonObject end = client.awaitChatEnd(runId);
    assertThat(end.getString("state")).isEqualTo("aborted");
    String partial = text(end.getJsonObject("message"));
    assertThat("echo: a b c d e f g h i j k l m n o p q r s t u v w x y z").startsWith(partial);
    assertThat(partial).isNotEqualTo("echo: a b c d e f g h i j k l m n o p q r s t u v w x y z");
    List<JsonObject> lifecycle = client.events("agent", runId).stream()
        .filter(p -> p.getString("stream").equals("lifecycle")).toList();
    assertThat(lifecycle.get(lifecycle.size() - 1).getJsonObject("data").getBoolean("aborted")).isTrue();
    // barrier: the next turn in the session ends; nothing more came from the aborted run
    client.awaitChatEnd(send(client, key, "next"));
    assertThat(client.events("chat", runId).stream().filter(p -> !p.getString("state").equals("delta"))).hasSize(1);
    assertThat(client.call("agent.wait", new JsonObject().put("runId", runId)).getString("status")).isEqualTo("timeout");
  }

  @Test
  @DisplayName("chat.send into a full session queue answers UNAVAILABLE, retryable, with retryAfterMs; nothing is lost")
  void fullQueueIsUnavailable() {
    try (ProtocolClient c = ProtocolClient.connect(vertx, gateway.port("busy"), TestGateway.TOKEN)) {
      String running = send(c, "main", "one two three four five six seven eight nine ten eleven twelve thirteen");
      c.awaitEvent("chat", p -> running.equals(p.getString("runId")) && p.getString("state").equals("delta"));
      String queued = send(c, "main", "queued [in:Q1]");
      JsonObject refused = c.request("chat.send", new JsonObject().put("sessionKey", "main")
          .put("message", "one too many").put("idempotencyKey", UUID.randomUUID().toString()));
      assertThat(refused.getBoolean("ok")).isFalse();
      JsonObject err = refused.getJsonObject("error");
      assertThat(err.getString("code")).isEqualTo("UNAVAILABLE");
      assertThat(err.getString("message")).contains("queue is full");
      assertThat(err.getBoolean("retryable")).isTrue();
      assertThat(err.getLong("retryAfterMs")).isEqualTo(1000L);
      // the running and the queued message are both answered; the refused one never runs
      c.call("chat.abort", new JsonObject().put("sessionKey", "main").put("runId", running));
      assertThat(c.awaitChatEnd(running).getString("state")).isEqualTo("aborted");
      assertThat(text(c.awaitChatEnd(queued).getJsonObject("message"))).isEqualTo("echo: queued [in:Q1]");
      JsonObject history = c.call("chat.history", new JsonObject().put("sessionKey", "main"));
      assertThat(texts(history)).noneMatch(t -> t.contains("one too many"));
      FrameGuard.assertWellFormed(c.frames(f -> true));
    }
  }

  @Test
  @DisplayName("a turn over its deadline ends with one chat error of kind timeout")
  void chatErrorKind() {
    try (ProtocolClient strict = ProtocolClient.connect(vertx, gateway.port("strict"), TestGateway.TOKEN)) {
      String runId = UUID.randomUUID().toString();
      strict.call("chat.send", new JsonObject().put("sessionKey", "main").put("idempotencyKey", runId)
          .put("message", "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"));
      JsonObject end = strict.awaitChatEnd(runId);
      assertThat(end.getString("state")).isEqualTo("error");
      assertThat(end.getString("errorKind")).isEqualTo("timeout");
      assertThat(end.getString("errorMessage")).isEqualTo("the turn exceeded its deadline of 1 s");
      JsonObject wait = strict.call("agent.wait", new JsonObject().put("runId", runId));
      assertThat(wait.getString("status")).isEqualTo("timeout");
      FrameGuard.assertWellFormed(strict.frames(f -> true));
    }
  }

  @Test
  @DisplayName("chat.inject: admin only, needs an existing session, appends a note, emits one chat final and a session.message")
  void chatInject() {
    String key = newKey();
    assertThat(error(client.request("chat.inject", new JsonObject().put("sessionKey", key).put("message", "note"))))
        .isEqualTo("INVALID_REQUEST session not found");
    client.awaitChatEnd(send(client, key, "hello"));
    ProtocolClient watcher = connect(new JsonArray().add("operator.read"));
    watcher.call("sessions.messages.subscribe", new JsonObject().put("key", key));
    ProtocolClient writer = connect(new JsonArray().add("operator.write"));
    assertThat(error(writer.request("chat.inject", new JsonObject().put("sessionKey", key).put("message", "n"))))
        .isEqualTo("FORBIDDEN missing scope: operator.admin");

    JsonObject res = client.call("chat.inject", new JsonObject().put("sessionKey", key).put("message", "a note")
        .put("label", "ops"));
    String messageId = res.getString("messageId");
    assertThat(res.getBoolean("ok")).isTrue();
    JsonObject event = client.awaitEvent("chat", p -> ("inject-" + messageId).equals(p.getString("runId")));
    assertThat(event.getString("state")).isEqualTo("final");
    assertThat(event.getLong("seq")).isZero();
    assertThat(text(event.getJsonObject("message"))).isEqualTo("a note");
    JsonObject note = watcher.awaitEvent("session.message", p -> messageId.equals(p.getString("messageId")));
    assertThat(note.getString("sessionKey")).isEqualTo("agent:main:" + key);
    assertThat(texts(client.call("chat.history", new JsonObject().put("sessionKey", key))))
        .containsExactly("hello", "echo: hello", "a note");
  }

  // ---- agent ---------------------------------------------------------------------------------

  @Test
  @DisplayName("agent: an accepted ack, then the final on the same id; the same key later replays the final alone")
  void agentAckThenFinal() {
    String idem = UUID.randomUUID().toString();
    JsonObject params = new JsonObject().put("message", "hi agent").put("agentId", "main").put("deliver", false)
        .put("timeout", 600).put("idempotencyKey", idem).put("sessionKey", newKey());
    String id = client.nextId();
    client.send(new JsonObject().put("type", "req").put("id", id).put("method", "agent").put("params", params));
    client.awaitFrame(f -> id.equals(f.getString("id")) && !"accepted".equals(
        f.getJsonObject("payload", new JsonObject()).getString("status")), ProtocolClient.WAIT);
    List<JsonObject> responses = client.responses(id);
    assertThat(responses).hasSize(2);
    JsonObject ack = responses.get(0).getJsonObject("payload");
    assertThat(ack.getString("status")).isEqualTo("accepted");
    assertThat(ack.getString("runId")).isEqualTo(idem);
    assertThat(ack.getString("agentId")).isEqualTo("main");
    assertThat(ack.getLong("acceptedAt")).isPositive();
    JsonObject fin = responses.get(1).getJsonObject("payload");
    assertThat(fin.getString("status")).isEqualTo("ok");
    assertThat(fin.getString("summary")).isEqualTo("completed");
    assertThat(fin.getJsonObject("result").getJsonArray("payloads").getJsonObject(0).getString("text"))
        .isEqualTo("echo: hi agent");
    assertThat(fin.getJsonObject("result").getJsonObject("meta").getJsonObject("agentMeta").getString("provider"))
        .isEqualTo("echo");
    // the run also streamed chat events for its session
    assertThat(client.awaitChatEnd(idem).getString("state")).isEqualTo("final");

    String again = client.nextId();
    client.send(new JsonObject().put("type", "req").put("id", again).put("method", "agent").put("params", params));
    JsonObject replay = client.awaitFrame(f -> again.equals(f.getString("id")), ProtocolClient.WAIT);
    assertThat(replay.getJsonObject("payload").getString("status")).isEqualTo("ok");
    // barrier: a later request's answer proves the replay sent nothing more
    client.call("health", new JsonObject());
    assertThat(client.responses(again)).hasSize(1);
  }

  @Test
  @DisplayName("agent: the same key while running answers in_flight; its timeout aborts the run and reports timeout")
  void agentInFlightAndTimeout() {
    String idem = UUID.randomUUID().toString();
    JsonObject params = new JsonObject().put("message", "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19 w20 w21 w22 w23 w24 w25 w26 w27 w28 w29 w30")
        .put("sessionKey", "agent:slow:" + newKey()).put("timeout", 1).put("idempotencyKey", idem);
    String id = client.nextId();
    client.send(new JsonObject().put("type", "req").put("id", id).put("method", "agent").put("params", params));
    client.awaitFrame(f -> id.equals(f.getString("id")), ProtocolClient.WAIT);
    JsonObject second = client.call("agent", params);
    assertThat(second.getString("status")).isEqualTo("in_flight");
    JsonObject fin = client.awaitFrame(f -> id.equals(f.getString("id")) && !"accepted".equals(
        f.getJsonObject("payload", new JsonObject()).getString("status")), ProtocolClient.WAIT).getJsonObject("payload");
    assertThat(fin.getString("status")).isEqualTo("timeout");
    assertThat(fin.getString("summary")).isEqualTo("aborted");
    assertThat(client.awaitChatEnd(idem).getString("state")).isEqualTo("aborted");
  }

  @Test
  @DisplayName("agent.wait: the outcome of a finished run (also one started by chat.send); unknown runs time out")
  void agentWait() {
    String runId = send(client, newKey(), "wait for me");
    JsonObject done = client.call("agent.wait", new JsonObject().put("runId", runId).put("timeoutMs", 30_000));
    assertThat(done.getString("status")).isEqualTo("ok");
    assertThat(done.getLong("endedAt")).isGreaterThanOrEqualTo(done.getLong("startedAt"));
    assertThat(client.call("agent.wait", new JsonObject().put("runId", "no-such-run").put("timeoutMs", 0)))
        .isEqualTo(new JsonObject().put("runId", "no-such-run").put("status", "timeout"));
    String slow = send(client, "agent:slow:" + newKey(), "x1 x2 x3 x4 x5 x6 x7 x8 x9 x10");
    JsonObject running = client.call("agent.wait", new JsonObject().put("runId", slow).put("timeoutMs", 0));
    assertThat(running.getString("status")).isIn("timeout", "pending");
    assertThat(running.containsKey("endedAt")).isFalse();
    assertThat(client.call("agent.wait", new JsonObject().put("runId", slow)).getString("status")).isEqualTo("ok");
  }

  // ---- sessions ------------------------------------------------------------------------------

  @Test
  @DisplayName("sessions.list pages by limit and offset, newest first; sessions.describe answers a row or null")
  void sessionsListAndDescribe() {
    String a = newKey();
    String b = newKey();
    client.awaitChatEnd(send(client, "agent:slow:" + newKey(), "s"));
    client.awaitChatEnd(send(client, a, "first"));
    client.awaitChatEnd(send(client, b, "second"));
    JsonObject page = client.call("sessions.list", new JsonObject().put("limit", 1));
    assertThat(page.getInteger("count")).isEqualTo(1);
    assertThat(page.getInteger("limitApplied")).isEqualTo(1);
    assertThat(page.getBoolean("hasMore")).isTrue();
    assertThat(page.getInteger("nextOffset")).isEqualTo(1);
    assertThat(page.getJsonObject("defaults").getString("model")).isEqualTo("echo");
    JsonObject newest = page.getJsonArray("sessions").getJsonObject(0);
    assertThat(newest.getString("key")).isEqualTo("agent:main:" + b);
    assertThat(newest.getString("kind")).isEqualTo("direct");
    assertThat(newest.getString("lastMessagePreview")).isEqualTo("echo: second");
    JsonObject next = client.call("sessions.list", new JsonObject().put("limit", 1).put("offset", 1));
    assertThat(next.getJsonArray("sessions").getJsonObject(0).getString("key")).isEqualTo("agent:main:" + a);
    assertThat(client.call("sessions.list", new JsonObject().put("agentId", "slow").put("limit", 500))
        .getJsonArray("sessions").stream().map(r -> ((JsonObject) r).getString("agentId"))).containsOnly("slow");
    assertThat(error(client.request("sessions.list", new JsonObject().put("agentId", "ghost"))))
        .isEqualTo("INVALID_REQUEST invalid sessions.list params: unknown agent \"ghost\"");

    JsonObject described = client.call("sessions.describe", new JsonObject().put("key", a)).getJsonObject("session");
    assertThat(described.getString("key")).isEqualTo("agent:main:" + a);
    assertThat(described.getString("sessionId")).isNotEmpty();
    assertThat(client.call("sessions.describe", new JsonObject().put("key", newKey())).getValue("session")).isNull();
  }

  @Test
  @DisplayName("sessions.resolve by key or session id; missing ones answer ok false unless allowMissing")
  void sessionsResolve() {
    String key = newKey();
    client.awaitChatEnd(send(client, key, "resolve me"));
    String sessionId = client.call("chat.history", new JsonObject().put("sessionKey", key)).getString("sessionId");
    JsonObject byKey = client.call("sessions.resolve", new JsonObject().put("key", key));
    assertThat(byKey).isEqualTo(new JsonObject().put("ok", true).put("key", "agent:main:" + key)
        .put("agentId", "main").put("displayName", "resolve me")); // the session's name: its first message
    assertThat(client.call("sessions.resolve", new JsonObject().put("sessionId", sessionId)).getString("key"))
        .isEqualTo("agent:main:" + key);
    String missing = newKey();
    assertThat(client.call("sessions.resolve", new JsonObject().put("key", missing)))
        .isEqualTo(new JsonObject().put("ok", false));
    assertThat(client.call("sessions.resolve", new JsonObject().put("key", missing).put("allowMissing", true))
        .getString("key")).isEqualTo("agent:main:" + missing);
    assertThat(client.call("sessions.resolve", new JsonObject().put("label", "anything")))
        .isEqualTo(new JsonObject().put("ok", false));
    assertThat(error(client.request("sessions.resolve", new JsonObject())))
        .isEqualTo("INVALID_REQUEST invalid sessions.resolve params: one of key, sessionId, label or shortId is required");
  }

  @Test
  @DisplayName("sessions.reset: admin only; a fresh session id under the same key, a fresh transcript, sessions.changed to subscribers only")
  void sessionsReset() {
    String key = newKey();
    client.awaitChatEnd(send(client, key, "old turn"));
    String oldId = client.call("chat.history", new JsonObject().put("sessionKey", key)).getString("sessionId");
    ProtocolClient subscriber = connect(new JsonArray().add("operator.read"));
    assertThat(subscriber.call("sessions.subscribe", new JsonObject())).isEqualTo(new JsonObject().put("subscribed", true));
    ProtocolClient bystander = connect(new JsonArray().add("operator.read"));
    ProtocolClient writer = connect(new JsonArray().add("operator.write"));
    assertThat(error(writer.request("sessions.reset", new JsonObject().put("key", key))))
        .isEqualTo("FORBIDDEN missing scope: operator.admin");

    JsonObject res = client.call("sessions.reset", new JsonObject().put("key", key).put("reason", "reset"));
    assertThat(res.getBoolean("ok")).isTrue();
    assertThat(res.getString("key")).isEqualTo("agent:main:" + key);
    String newId = res.getJsonObject("entry").getString("sessionId");
    assertThat(newId).isNotEqualTo(oldId);
    assertThat(res.getJsonObject("entry").getLong("updatedAt")).isPositive();
    JsonObject changed = subscriber.awaitEvent("sessions.changed", p -> ("agent:main:" + key).equals(p.getString("sessionKey"))
        && "reset".equals(p.getString("reason")));
    assertThat(changed.getString("sessionId")).isEqualTo(newId);
    // the same as typing /reset: the new transcript holds only the lane's notice; the old one is kept
    JsonObject history = client.call("chat.history", new JsonObject().put("sessionKey", key));
    assertThat(history.getString("sessionId")).isEqualTo(newId);
    assertThat(texts(history)).containsExactly("New session started.");
    assertThat(client.call("sessions.resolve", new JsonObject().put("sessionId", oldId)).getBoolean("ok")).isTrue();
    assertThat(error(client.request("sessions.reset", new JsonObject().put("key", key).put("reason", "later"))))
        .isEqualTo("INVALID_REQUEST invalid sessions.reset params: 'reason' must be new or reset");

    // barrier: a chat event broadcast after the reset reaches the bystander after anything before it
    String barrier = send(client, key, "barrier");
    bystander.awaitChatEnd(barrier);
    assertThat(bystander.events("sessions.changed")).isEmpty();
  }

  @Test
  @DisplayName("sessions.create: a new key (TUI /new shape or none), refuses an existing key, may start the first turn")
  void sessionsCreate() {
    ProtocolClient subscriber = connect(new JsonArray().add("operator.read"));
    subscriber.call("sessions.subscribe", new JsonObject());
    String tuiKey = "tui-" + UUID.randomUUID();
    JsonObject created = client.call("sessions.create", new JsonObject().put("key", tuiKey).put("agentId", "main")
        .put("parentSessionKey", "agent:main:main").put("succeedsParent", true).put("emitCommandHooks", true));
    assertThat(created.getBoolean("ok")).isTrue();
    assertThat(created.getString("key")).isEqualTo("agent:main:" + tuiKey);
    assertThat(created.getJsonObject("entry").getString("sessionId")).isEqualTo(created.getString("sessionId"));
    subscriber.awaitEvent("sessions.changed", p -> created.getString("key").equals(p.getString("sessionKey"))
        && "new".equals(p.getString("reason")));
    assertThat(error(client.request("sessions.create", new JsonObject().put("key", tuiKey))))
        .isEqualTo("INVALID_REQUEST invalid sessions.create params: session already exists: agent:main:" + tuiKey);

    JsonObject generated = client.call("sessions.create", new JsonObject().put("agentId", "slow"));
    assertThat(generated.getString("key")).startsWith("agent:slow:s-");

    ProtocolClient writer = connect(new JsonArray().add("operator.write"));
    JsonObject withTurn = writer.call("sessions.create", new JsonObject().put("message", "first words"));
    assertThat(withTurn.getBoolean("runStarted")).isTrue();
    assertThat(writer.awaitChatEnd(withTurn.getString("runId")).getString("state")).isEqualTo("final");
    assertThat(texts(writer.call("chat.history", new JsonObject().put("sessionKey", withTurn.getString("key")))))
        .containsExactly("first words", "echo: first words");
  }

  @Test
  @DisplayName("sessions.messages.subscribe streams persisted rows of that session only, until unsubscribed")
  void messageSubscriptions() {
    String key = newKey();
    String other = newKey();
    ProtocolClient watcher = connect(new JsonArray().add("operator.read"));
    assertThat(watcher.call("sessions.messages.subscribe", new JsonObject().put("key", key)))
        .isEqualTo(new JsonObject().put("subscribed", true).put("key", "agent:main:" + key));
    String runId = send(client, key, "watched");
    watcher.awaitChatEnd(runId);
    client.awaitChatEnd(send(client, other, "not watched"));
    List<JsonObject> rows = watcher.events("session.message");
    assertThat(rows).extracting(p -> p.getString("sessionKey")).containsOnly("agent:main:" + key);
    assertThat(rows).extracting(p -> text(p.getJsonObject("message"))).containsExactly("watched", "echo: watched");
    assertThat(rows).extracting(p -> p.getString("runId")).containsOnly(runId);
    assertThat(rows.get(0).getLong("messageSeq")).isLessThan(rows.get(1).getLong("messageSeq"));

    assertThat(watcher.call("sessions.messages.unsubscribe", new JsonObject().put("key", key)))
        .isEqualTo(new JsonObject().put("subscribed", false).put("key", "agent:main:" + key));
    String after = send(client, key, "after unsubscribe");
    watcher.awaitChatEnd(after);
    assertThat(watcher.events("session.message")).hasSize(2);
  }

  @Test
  @DisplayName("sessions.subscribe with filters also answers the list")
  void subscribeWithList() {
    JsonObject res = client.call("sessions.subscribe", new JsonObject().put("limit", 2));
    assertThat(res.getBoolean("subscribed")).isTrue();
    assertThat(res.getJsonObject("list").getInteger("limitApplied")).isEqualTo(2);
  }
}
