package dev.switchboard.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.routing.Inbound;
import dev.switchboard.store.Database;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.store.InboundStore;
import dev.switchboard.support.ScriptedModelServer;
import dev.switchboard.support.ScriptedOpenAiServer;
import dev.switchboard.support.TestChannel;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Queued input is stored: a restart answers every message that was not finished exactly once, and
 * only those. The gateway is stopped while the scripted model holds a turn at a gate, so what is
 * running and what waits at that moment is known, not timed.
 */
@Timeout(120)
class LaneRestartTest {
  static final Duration WAIT = Duration.ofSeconds(20);
  @TempDir
  Path root;
  Vertx vertx;
  DatabaseConfig db;
  ScriptedOpenAiServer model;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    db = TestDatabases.h2File(root.resolve("data"));
    model = new ScriptedOpenAiServer(vertx).start();
  }

  @AfterEach
  void tearDown() throws Exception {
    model.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  JsonObject agent(String id, String apiKey) {
    return new JsonObject().put("id", id).put("model", new JsonObject().put("provider", "openai").put("model", "gpt-test")
        .put("baseUrl", model.baseUrl()).put("apiKey", apiKey));
  }

  JsonObject workspace(JsonArray agents) {
    return new JsonObject().put("port", 0).put("agents", agents)
        .put("channels", new JsonObject().put("test", new JsonObject().put("accounts", new JsonArray()
            .add(TestChannel.account("default", "open", new JsonArray())))));
  }

  /** A gateway whose stop gives running turns half a second before it cuts them off (they are resumed). */
  TestGateway startWithShortGrace(JsonObject ws) {
    TestGateway gateway = TestGateway.in(vertx, root, db).workspace("w", ws);
    return gateway.start(gateway.gatewayJson().put("shutdown", new JsonObject().put("timeoutMs", 2500)));
  }

  long count(String sql) {
    return ((Number) TestDatabases.scalar(db, db.workspaceSchema("w"), sql)).longValue();
  }

  long requests(String token, String apiKey) {
    return model.requests().stream().filter(r -> r.conversation().lastUserTextValue().contains(token)
        && (apiKey == null || apiKey.equals(r.apiKey()))).count();
  }

  JsonObject laneStatus(String sessionKey) throws Exception {
    return vertx.eventBus().<JsonObject>request("ws.w." + LaneAddresses.STATUS, new JsonObject().put("sessionKey", sessionKey))
        .map(Message::body).await(10, TimeUnit.SECONDS).getJsonArray("lanes").getJsonObject(0);
  }

  @Test
  @DisplayName("messages queued behind a running turn when the gateway stops are each answered exactly once after a restart")
  void queuedMessagesSurviveRestart() throws Exception {
    JsonObject ws = workspace(new JsonArray().add(agent("main", "sk-main")));
    TestGateway first = startWithShortGrace(ws);
    Promise<Void> gate = ScriptedModelServer.gate();
    model.enqueue(new ScriptedModelServer.Gate(gate.future()));
    try (TestChannel chat = new TestChannel(vertx, db, "w", "test", "default")) {
      JsonObject a = chat.dm("u", "A [in:K1]");
      model.awaitRequests(1, WAIT);
      JsonObject b = chat.dm("u", "B [in:K2]");
      JsonObject c = chat.dm("u", "C [in:K3]");
      assertThat(laneStatus(a.getString("sessionKey")).getJsonArray("queued").stream()
          .map(q -> ((JsonObject) q).getString("runId"))).containsExactly(b.getString("runId"), c.getString("runId"));
      // A is cut off by the stop and must be resumed too
      first.stop();
    }
    assertThat(count("SELECT COUNT(*) FROM inbound WHERE status <> 'done'")).as("messages left for the next start")
        .isEqualTo(3);

    try (TestGateway second = TestGateway.in(vertx, root, db).workspace("w", ws).start();
        TestChannel chat = new TestChannel(vertx, db, "w", "test", "default")) {
      chat.awaitText("u", "<<end-K3>>");
      chat.dm("u", "barrier [in:K4]");
      chat.awaitText("u", "<<end-K4>>");
      assertThat(chat.chat("u")).extracting(TestChannel.Shown::text).containsExactly("<<K1>> ok <<end-K1>>",
          "<<K2>> ok <<end-K2>>", "<<K3>> ok <<end-K3>>", "<<K4>> ok <<end-K4>>");
      for (String token : List.of("[in:K1]", "[in:K2]", "[in:K3]")) {
        assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'text_final' AND payload LIKE '%<<end-"
            + token.substring(4, 6) + ">>%'")).as("replies to %s", token).isEqualTo(1);
        assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message' AND payload LIKE '%"
            + token + "%'")).as("stored messages %s", token).isEqualTo(1);
      }
      // A's cut-off call and its rerun; B and C once each
      assertThat(requests("[in:K1]", null)).isEqualTo(2);
      assertThat(requests("[in:K2]", null)).isEqualTo(1);
      assertThat(requests("[in:K3]", null)).isEqualTo(1);
      assertThat(count("SELECT COUNT(*) FROM outbox")).isEqualTo(4);
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"parallel", "sequential"})
  @DisplayName("a broadcast stopped between its two agents' turns: after the restart only the unfinished agent answers, each agent once")
  void broadcastSurvivesRestart(String mode) throws Exception {
    JsonObject ws = workspace(new JsonArray().add(agent("main", "sk-main").put("default", true))
        .add(agent("alpha", "sk-alpha")).add(agent("beta", "sk-beta")))
        .put("broadcast", new JsonArray().add(new JsonObject().put("channel", "test")
            .put("peer", new JsonObject().put("kind", "group").put("id", "-1"))
            .put("agents", new JsonArray().add("alpha").add("beta")).put("mode", mode)));
    ws.getJsonObject("channels").getJsonObject("test").getJsonArray("accounts").getJsonObject(0)
        .put("requireMention", false);
    // beta's model call waits at a gate: alpha has answered, beta has not, when the gateway stops
    Promise<Void> betaGate = ScriptedModelServer.gate();
    model.failKey("sk-beta", new ScriptedModelServer.Gate(betaGate.future()));
    TestGateway first = startWithShortGrace(ws);
    TestChannel before = new TestChannel(vertx, db, "w", "test", "default");
    try (before) {
      before.send(before.message().peer("group", "-1").sender("9", "x").runId("b1").text("both of you [in:W1]").build());
      before.await(s -> "b1#alpha".equals(s.runId()));
      model.awaitRequests(2, WAIT);
      first.stop();
    }
    betaGate.complete();
    assertThat(count("SELECT COUNT(*) FROM inbound_shares WHERE status = 'done'")).as("alpha's share").isEqualTo(1);
    assertThat(count("SELECT COUNT(*) FROM inbound WHERE status <> 'done'")).isEqualTo(1);

    try (TestGateway second = TestGateway.in(vertx, root, db).workspace("w", ws).start();
        TestChannel chat = new TestChannel(vertx, db, "w", "test", "default")) {
      chat.await(s -> "b1#beta".equals(s.runId()));
      chat.dm("z", "barrier [in:W2]");
      chat.awaitText("z", "<<end-W2>>");
      assertThat(before.chat("-1")).extracting(TestChannel.Shown::runId).containsExactly("b1#alpha");
      assertThat(chat.chat("-1")).extracting(TestChannel.Shown::runId).containsExactly("b1#beta");
      // alpha was not asked again; beta's cut-off call was repeated once
      assertThat(requests("[in:W1]", "sk-alpha")).isEqualTo(1);
      assertThat(requests("[in:W1]", "sk-beta")).isEqualTo(2);
      for (String run : List.of("b1#alpha", "b1#beta")) {
        assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message' AND run_id = '" + run + "'"))
            .as("stored messages of %s", run).isEqualTo(1);
        assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'text_final' AND run_id = '" + run + "'"))
            .as("replies of %s", run).isEqualTo(1);
      }
      assertThat(count("SELECT COUNT(*) FROM inbound WHERE status <> 'done'")).isZero();
    }
  }

  @Test
  @DisplayName("more unfinished messages than one page holds are all resumed after a restart, each once")
  void resumesEveryPage() throws Exception {
    JsonObject ws = workspace(new JsonArray().add(agent("main", "sk-main")));
    // the schema exists, the gateway does not run: messages stored by the adapter, never routed
    Database.migrate(vertx, db, db.workspaceSchema("w")).await(30, TimeUnit.SECONDS);
    var pool = Database.pool(vertx, db, db.workspaceSchema("w"));
    InboundStore inbound = new InboundStore(pool);
    int n = 1_005;
    for (int i = 0; i < n; i++) {
      // unmentioned group chatter: each is stored as context, without a turn
      Inbound in = Inbound.from("test", "default").peer("group", "-7").sender("9", "x").runId("r-" + i)
          .platformMessageId("p-" + i).text("chatter " + i).build();
      inbound.accept("test", "default", in.platformMessageId(), in.runId(), in.toJson()).await(10, TimeUnit.SECONDS);
    }
    pool.close().await(10, TimeUnit.SECONDS);

    try (TestGateway gateway = TestGateway.in(vertx, root, db).workspace("w", ws).start();
        TestChannel chat = new TestChannel(vertx, db, "w", "test", "default")) {
      // the barrier's turn is stored after every resumed message (one lane writes them in order)
      chat.dm("u", "barrier [in:P1]");
      chat.awaitText("u", "<<end-P1>>");
      assertThat(count("SELECT COUNT(*) FROM inbound WHERE status = 'done'")).isEqualTo(n + 1);
      assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message' AND payload LIKE '%chatter%'"))
          .isEqualTo(n);
      assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message' AND payload LIKE '%chatter "
          + (n - 1) + "\"%'")).isEqualTo(1);
    }
  }
}
