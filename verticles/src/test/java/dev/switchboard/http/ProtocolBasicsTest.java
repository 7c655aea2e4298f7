package dev.switchboard.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.FrameGuard;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * Handshake, errors and bad input: each gets its documented answer and nobody else is affected
 * (a healthy client, connected before each test, must still chat after it).
 */
@Timeout(60)
class ProtocolBasicsTest {
  static Vertx vertx;
  static TestGateway gateway;
  static int port;
  ProtocolClient healthy;

  @BeforeAll
  static void start(@TempDir Path root) {
    JsonObject shared = TestGateway.echoWorkspace().put("session", new JsonObject().put("dmScope", "main")
        .put("mainKey", "lobby"));
    shared.getJsonArray("agents").add(new JsonObject().put("id", "helper").put("name", "Helper").put("default", true));
    shared.getJsonArray("agents").getJsonObject(0).remove("default");
    gateway = TestGateway.standalone(root).workspace("main", TestGateway.echoWorkspace())
        .workspace("shared", shared).start();
    vertx = gateway.vertx();
    port = gateway.port("main");
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @BeforeEach
  void connectHealthy() {
    healthy = gateway.client("main");
  }

  @AfterEach
  void healthyStillWorks() {
    try {
      assertThat(healthy.isClosed()).isFalse();
      assertThat(healthy.chat("main", "still answered").getString("state")).isEqualTo("final");
      FrameGuard.assertWellFormed(healthy.frames(f -> true));
    } finally {
      healthy.close();
    }
  }

  @Test
  @DisplayName("hello-ok carries protocol 4, the granted scopes, the methods and the policy")
  void helloOk() {
    try (ProtocolClient c = ProtocolClient.connect(vertx, port, ProtocolClient.connectParams(TestGateway.TOKEN,
        new JsonArray().add("operator.read").add("not.a.scope")))) {
      JsonObject hello = c.hello();
      assertThat(hello.getString("type")).isEqualTo("hello-ok");
      assertThat(hello.getInteger("protocol")).isEqualTo(4);
      assertThat(hello.getJsonObject("auth").getJsonArray("scopes")).containsExactly("operator.read");
      assertThat(hello.getJsonObject("features").getJsonArray("methods")).contains("chat.send", "chat.history", "health");
      assertThat(hello.getJsonObject("policy").getInteger("tickIntervalMs")).isPositive();
      assertThat(hello.getJsonObject("snapshot").getJsonObject("sessionDefaults").getString("mainSessionKey"))
          .isEqualTo("agent:main:main");
      // read scope only: a write method is refused with the documented shape
      JsonObject denied = c.request("chat.send", new JsonObject().put("sessionKey", "main").put("message", "x")
          .put("idempotencyKey", "k1"));
      assertThat(denied.getJsonObject("error").getString("code")).isEqualTo("FORBIDDEN");
      assertThat(denied.getJsonObject("error").getString("message")).isEqualTo("missing scope: operator.write");
      assertThat(denied.getJsonObject("error").getJsonObject("details").getString("code")).isEqualTo("MISSING_SCOPE");
    }
  }

  @Test
  @DisplayName("connect.challenge comes first, unnumbered, with a nonce and the server time; hello-ok has the full schema shape")
  void challengeAndHelloShape() {
    long before = System.currentTimeMillis();
    try (ProtocolClient c = ProtocolClient.connect(vertx, port, TestGateway.TOKEN)) {
      JsonObject challenge = c.frames(f -> true).get(0);
      assertThat(challenge.fieldNames()).containsExactlyInAnyOrder("type", "event", "payload");
      assertThat(challenge.getString("event")).isEqualTo("connect.challenge");
      assertThat(challenge.getJsonObject("payload").getString("nonce")).hasSize(36);
      assertThat(challenge.getJsonObject("payload").getLong("ts")).isBetween(before, System.currentTimeMillis());

      JsonObject hello = c.hello();
      assertThat(hello.fieldNames()).containsExactlyInAnyOrder("type", "protocol", "server", "features", "snapshot",
          "auth", "policy");
      assertThat(hello.getJsonObject("server").getString("version")).isNotEmpty();
      assertThat(hello.getJsonObject("server").getString("connId")).startsWith("c-");
      JsonObject snapshot = hello.getJsonObject("snapshot");
      assertThat(snapshot.getJsonArray("presence")).isEmpty();
      assertThat(snapshot.getJsonObject("health").getBoolean("ok")).isTrue();
      assertThat(snapshot.getJsonObject("stateVersion"))
          .isEqualTo(new JsonObject().put("presence", 0).put("health", 0));
      assertThat(snapshot.getLong("uptimeMs")).isNotNegative();
      assertThat(snapshot.getString("authMode")).isEqualTo("token");
      assertThat(snapshot.getJsonObject("sessionDefaults")).isEqualTo(new JsonObject().put("defaultAgentId", "main")
          .put("mainKey", "main").put("mainSessionKey", "agent:main:main").put("scope", "per-sender")
          .put("modelConfigured", true));
      // the defaults are the workspace's own: one that merges every DM into its main session is "global"
      try (ProtocolClient other = gateway.client("shared")) {
        assertThat(other.hello().getJsonObject("snapshot").getJsonObject("sessionDefaults"))
            .isEqualTo(new JsonObject().put("defaultAgentId", "helper").put("mainKey", "lobby")
                .put("mainSessionKey", "agent:helper:lobby").put("scope", "global").put("modelConfigured", true));
        assertThat(other.call("agents.list", new JsonObject())).isEqualTo(new JsonObject().put("defaultId", "helper")
            .put("mainKey", "lobby").put("scope", "global").put("agents", new JsonArray()
                .add(new JsonObject().put("id", "main").put("name", "main"))
                .add(new JsonObject().put("id", "helper").put("name", "Helper"))));
      }
      assertThat(hello.getJsonObject("auth").getString("role")).isEqualTo("operator");
      assertThat(hello.getJsonObject("auth").getString("method")).isEqualTo("token");
      assertThat(hello.getJsonObject("auth").containsKey("deviceToken")).isFalse();
      JsonObject policy = hello.getJsonObject("policy");
      assertThat(policy).isEqualTo(new JsonObject().put("maxPayload", 26214400).put("maxBufferedBytes", 52428800)
          .put("tickIntervalMs", 30000));
      // a second connect on an open connection is refused, the connection stays
      JsonObject again = c.request("connect", ProtocolClient.connectParams(TestGateway.TOKEN, new JsonArray()));
      assertThat(again.getJsonObject("error").getString("message"))
          .isEqualTo("invalid request: connect is only valid as the first request");
      assertThat(c.call("health", new JsonObject()).getBoolean("ok")).isTrue();
    }
  }

  @Test
  @DisplayName("the shared secret is accepted from auth.password too; a protocol range containing 4 is accepted")
  void passwordAndRange() {
    JsonObject params = ProtocolClient.connectParams(null, new JsonArray().add("operator.read"))
        .put("auth", new JsonObject().put("password", TestGateway.TOKEN)).put("minProtocol", 3).put("maxProtocol", 5);
    try (ProtocolClient c = ProtocolClient.connect(vertx, port, params)) {
      assertThat(c.hello().getInteger("protocol")).isEqualTo(4);
      assertThat(c.hello().getJsonObject("auth").getString("method")).isEqualTo("password");
    }
    // the TUI's connect: its client id and mode, a device block we accept without verifying
    JsonObject tui = ProtocolClient.connectParams(TestGateway.TOKEN, new JsonArray().add("operator.admin")
            .add("operator.read").add("operator.write").add("operator.approvals"))
        .put("client", new JsonObject().put("id", "openclaw-tui").put("displayName", "openclaw-tui")
            .put("version", "2026.9.6").put("platform", "linux").put("deviceFamily", "Linux").put("mode", "ui")
            .put("instanceId", "7b1e0a8c-3f0e-4d5e-9a55-0b9a7c2e4f11"))
        .put("caps", new JsonArray().add("agent-kind").add("plugin-approvals").add("tool-events"))
        .put("device", new JsonObject().put("id", "b1248172").put("publicKey", "AAAA").put("signature", "BBBB")
            .put("signedAt", 1795443478723L).put("nonce", "whatever"))
        .put("locale", "en-US").put("userAgent", "openclaw-tui/2026.9.6");
    try (ProtocolClient c = ProtocolClient.connect(vertx, port, tui)) {
      assertThat(c.hello().getJsonObject("auth").getJsonArray("scopes")).containsExactly("operator.admin",
          "operator.read", "operator.write", "operator.approvals");
    }
  }

  @Test
  @DisplayName("connect params outside the schema are refused with \"invalid connect params: ...\" and close 1008")
  void invalidConnectParams() {
    JsonObject good = ProtocolClient.connectParams(TestGateway.TOKEN, new JsonArray());
    Map<String, JsonObject> cases = new LinkedHashMap<>();
    cases.put("client.id must be one of the known client ids", good.copy().put("client",
        good.getJsonObject("client").copy().put("id", "my-bot")));
    cases.put("client.mode must be one of", good.copy().put("client", good.getJsonObject("client").copy()
        .put("mode", "robot")));
    cases.put("client.version must be a non-empty string", good.copy().put("client",
        good.getJsonObject("client").copy().put("version", 7)));
    cases.put("missing required property 'client'", good.copy().put("client", "cli"));
    cases.put("invalid role (only operator is supported)", good.copy().put("role", "node"));
    cases.put("minProtocol must be a positive integer", good.copy().put("minProtocol", "4"));
    cases.put("scopes must be an array", good.copy().put("scopes", "operator.read"));
    cases.put("auth.token must be a string", good.copy().put("auth", new JsonObject().put("token", 12345)));
    for (Map.Entry<String, JsonObject> e : cases.entrySet()) {
      try (ProtocolClient c = ProtocolClient.open(vertx, port)) {
        JsonObject res = c.request("connect", e.getValue());
        assertThat(res.getJsonObject("error").getString("code")).isEqualTo("INVALID_REQUEST");
        assertThat(res.getJsonObject("error").getString("message")).as(e.getKey())
            .startsWith("invalid connect params: " + e.getKey());
        assertThat(c.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1008);
      }
    }
    try (ProtocolClient c = ProtocolClient.open(vertx, port)) {
      String id = c.nextId();
      c.send(new JsonObject().put("type", "req").put("id", id).put("method", "connect"));
      JsonObject res = c.awaitFrame(f -> id.equals(f.getString("id")), ProtocolClient.WAIT);
      assertThat(res.getJsonObject("error").getString("message"))
          .isEqualTo("invalid connect params: params must be an object");
      assertThat(c.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1008);
    }
  }

  @Test
  @DisplayName("a missing token is refused with AUTH_TOKEN_MISSING and the documented details")
  void missingToken() {
    try (ProtocolClient c = ProtocolClient.open(vertx, port)) {
      JsonObject res = c.request("connect", ProtocolClient.connectParams(null, new JsonArray()).put("auth",
          new JsonObject()));
      JsonObject error = res.getJsonObject("error");
      assertThat(error.getString("message")).isEqualTo("unauthorized: gateway token missing (provide gateway auth token)");
      assertThat(error.getJsonObject("details")).isEqualTo(new JsonObject().put("code", "AUTH_TOKEN_MISSING")
          .put("authReason", "token_missing").put("canRetryWithDeviceToken", false)
          .put("recommendedNextStep", "update_auth_credentials"));
      assertThat(c.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1008);
      assertThat(c.closeReason()).isEqualTo(error.getString("message"));
    }
  }

  @Test
  @DisplayName("a malformed frame after the handshake gets an error frame and the connection keeps working")
  void malformedFrameAfterHandshake() {
    try (ProtocolClient c = ProtocolClient.connect(vertx, port, TestGateway.TOKEN)) {
      c.sendRaw("this is not json {");
      JsonObject err = c.awaitFrame(f -> "res".equals(f.getString("type")) && !f.getBoolean("ok"), ProtocolClient.WAIT);
      assertThat(err.getJsonObject("error").getString("code")).isEqualTo("INVALID_REQUEST");
      assertThat(err.getJsonObject("error").getString("message")).contains("not valid JSON");
      c.sendRaw("[1,2,3]");
      c.sendRaw("{\"type\":\"req\",\"id\":\"x1\"}");
      JsonObject noMethod = c.awaitFrame(f -> "x1".equals(f.getString("id")), ProtocolClient.WAIT);
      assertThat(noMethod.getJsonObject("error").getString("message"))
          .isEqualTo("invalid request frame: method must be a non-empty string");
      c.sendRaw("{\"type\":\"event\",\"id\":\"x2\",\"method\":\"health\"}");
      JsonObject notReq = c.awaitFrame(f -> "x2".equals(f.getString("id")), ProtocolClient.WAIT);
      assertThat(notReq.getJsonObject("error").getString("message")).isEqualTo("invalid request frame: type must be \"req\"");
      List<JsonObject> invalid = c.frames(f -> "invalid-frame".equals(f.getString("id")));
      c.sendRaw("{\"type\":\"req\",\"id\":7,\"method\":\"health\"}");
      c.call("health", new JsonObject()); // barrier: answered after the frame before it
      assertThat(c.frames(f -> "invalid-frame".equals(f.getString("id")))).hasSize(invalid.size() + 1);
      FrameGuard.assertWellFormed(c.frames(f -> true));
      assertThat(c.call("health", new JsonObject()).getBoolean("ok")).isTrue();
      assertThat(c.isClosed()).isFalse();
    }
  }

  @Test
  @DisplayName("an unknown method answers INVALID_REQUEST \"unknown method: <name>\"")
  void unknownMethod() {
    try (ProtocolClient c = ProtocolClient.connect(vertx, port, TestGateway.TOKEN)) {
      JsonObject res = c.request("sessions.patch", new JsonObject());
      assertThat(res.getBoolean("ok")).isFalse();
      assertThat(res.getJsonObject("error").getString("code")).isEqualTo("INVALID_REQUEST");
      assertThat(res.getJsonObject("error").getString("message")).isEqualTo("unknown method: sessions.patch");
    }
  }

  @Test
  @DisplayName("a first frame that is not a request closes with 1008; a first request other than connect is refused")
  void handshakeGuards() {
    try (ProtocolClient c = ProtocolClient.open(vertx, port)) {
      c.sendRaw("garbage");
      assertThat(c.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1008);
    }
    try (ProtocolClient c = ProtocolClient.open(vertx, port)) {
      JsonObject res = c.request("health", new JsonObject());
      assertThat(res.getJsonObject("error").getString("message"))
          .isEqualTo("invalid handshake: first request must be connect");
      assertThat(c.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1008);
    }
  }

  @Test
  @DisplayName("a wrong token is refused with AUTH_TOKEN_MISMATCH and close 1008")
  void wrongToken() {
    try (ProtocolClient c = ProtocolClient.open(vertx, port)) {
      JsonObject res = c.request("connect", ProtocolClient.connectParams("wrong-token-wrong-token", new JsonArray()));
      assertThat(res.getBoolean("ok")).isFalse();
      assertThat(res.getJsonObject("error").getJsonObject("details").getString("code")).isEqualTo("AUTH_TOKEN_MISMATCH");
      assertThat(c.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1008);
    }
  }

  @Test
  @DisplayName("a protocol range without 4 is refused with PROTOCOL_MISMATCH and close 1002")
  void protocolMismatch() {
    try (ProtocolClient c = ProtocolClient.open(vertx, port)) {
      JsonObject params = ProtocolClient.connectParams(TestGateway.TOKEN, new JsonArray()).put("minProtocol", 5)
          .put("maxProtocol", 6);
      JsonObject res = c.request("connect", params);
      assertThat(res.getJsonObject("error").getJsonObject("details").getString("code")).isEqualTo("PROTOCOL_MISMATCH");
      assertThat(c.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1002);
    }
  }

  @Test
  @DisplayName("a token in the upgrade URL is refused before any WebSocket exists")
  void tokenInUrl() {
    var client = vertx.createWebSocketClient();
    try {
      Throwable failure = client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
              .setURI("/?token=" + TestGateway.TOKEN))
          .map(ws -> (Throwable) null).otherwise(t -> t).await(10, TimeUnit.SECONDS);
      assertThat(failure).isNotNull();
      assertThat(failure.getMessage()).contains("400");
    } catch (Exception e) {
      throw new AssertionError(e);
    } finally {
      client.close();
    }
  }
}
