package dev.switchboard.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.delivery.DeliveryAddresses;
import dev.switchboard.delivery.ReplyTarget;
import dev.switchboard.lanes.LaneAddresses;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.ProtocolClient;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Routing through the real gateway: access, agents, session keys, group gating, broadcast. */
@Timeout(90)
class RoutingTest {
  static Vertx vertx;
  @TempDir
  Path root;
  DatabaseConfig db;
  TestGateway gateway;
  TestChannel forum;
  TestChannel slack;

  @BeforeAll
  static void vertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void closeVertx() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() {
    if (forum != null) {
      forum.close();
    }
    if (slack != null) {
      slack.close();
    }
    if (gateway != null) {
      gateway.close();
    }
    TestDatabases.dropSchemas(db);
  }

  static JsonObject agent(String id) {
    return new JsonObject().put("id", id).put("model", new JsonObject().put("provider", "echo")
        .put("options", new JsonObject().put("chunkDelayMs", 0)));
  }

  void start(JsonObject workspace) {
    db = TestDatabases.h2();
    gateway = TestGateway.in(vertx, root, db).workspace("w", workspace).start();
    forum = new TestChannel(vertx, db, "w", "forum", "default");
    slack = new TestChannel(vertx, db, "w", "slack", "default");
  }

  long count(String sql) {
    return ((Number) TestDatabases.scalar(db, db.workspaceSchema("w"), sql)).longValue();
  }

  static JsonObject channels(JsonObject forumAccount, JsonObject slackAccount) {
    return new JsonObject()
        .put("forum", new JsonObject().put("accounts", new JsonArray().add(forumAccount)))
        .put("slack", new JsonObject().put("accounts", new JsonArray().add(slackAccount)));
  }

  @Test
  @DisplayName("R3: an unknown DM sender on an allowlist gets nothing: no reply, no session, no model call")
  void allowlist() {
    start(TestGateway.echoWorkspace().put("channels", channels(
        TestChannel.account("default", "allowlist", new JsonArray().add("111")),
        TestChannel.account("default", "disabled", new JsonArray()))));
    JsonObject refused = forum.dm("999", "let me in [in:X1]");
    assertThat(refused.getString("status")).isEqualTo("rejected");
    JsonObject ok = forum.dm("111", "hello [in:A1]");
    assertThat(ok.getString("status")).isEqualTo("started");
    forum.awaitText("111", "[in:A1]"); // barrier: the allowed sender's reply came
    assertThat(forum.chat("999")).isEmpty();
    assertThat(slack.dm("111", "on slack [in:S1]").getString("status")).isEqualTo("rejected");
    assertThat(count("SELECT COUNT(*) FROM sessions")).isEqualTo(1);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE payload LIKE '%[in:X1]%'")).isZero();
    assertThat(count("SELECT COUNT(*) FROM inbound WHERE status = 'rejected'")).isEqualTo(2);
    // the same refused update again is a no-op, not a second refusal
    assertThat(count("SELECT COUNT(*) FROM inbound")).isEqualTo(3);
  }

  @Test
  @DisplayName("identity links make one person's DMs on two channels one session (dmScope per-peer)")
  void identityLinks() {
    start(TestGateway.echoWorkspace()
        .put("identities", new JsonObject().put("alice", new JsonArray().add("forum:111").add("slack:U1")))
        .put("session", new JsonObject().put("dmScope", "per-peer"))
        .put("channels", channels(TestChannel.account("default", "allowlist", new JsonArray().add("alice")),
            TestChannel.account("default", "allowlist", new JsonArray().add("alice")))));
    JsonObject viaForum = forum.dm("111", "from forum [in:L1]");
    forum.awaitText("111", "[in:L1]");
    JsonObject viaSlack = slack.dm("U1", "from slack [in:L2]");
    slack.awaitText("U1", "[in:L2]");
    assertThat(viaForum.getString("sessionKey")).isEqualTo("agent:main:direct:alice");
    assertThat(viaSlack.getString("sessionKey")).isEqualTo("agent:main:direct:alice");
    assertThat(viaSlack.getString("sessionId")).isEqualTo(viaForum.getString("sessionId"));
    // replies go back to the channel each message came from
    assertThat(forum.chat("111")).hasSize(1);
    assertThat(slack.chat("U1")).hasSize(1);
    // the session's metadata follows where the person wrote last
    assertThat(metadata(viaSlack.getString("sessionId")).getString("channel")).isEqualTo("slack");
    assertThat(metadata(viaSlack.getString("sessionId")).getJsonObject("peer").getString("id")).isEqualTo("U1");
    forum.dm("111", "back on forum [in:L3]");
    forum.awaitText("111", "[in:L3]");
    assertThat(metadata(viaSlack.getString("sessionId")).getString("channel")).isEqualTo("forum");
    assertThat(metadata(viaSlack.getString("sessionId")).getJsonObject("peer").getString("id")).isEqualTo("111");
  }

  JsonObject metadata(String sessionId) {
    return new JsonObject((String) TestDatabases.scalar(db, db.workspaceSchema("w"),
        "SELECT metadata FROM sessions WHERE id = '" + sessionId + "'"));
  }

  JsonObject source(String sessionId) {
    return new JsonObject((String) TestDatabases.scalar(db, db.workspaceSchema("w"),
        "SELECT source FROM sessions WHERE id = '" + sessionId + "'"));
  }

  @Test
  @DisplayName("a session's source: channel sessions from the chat, operator sessions from the client and the key, the opening run as triggerId")
  void sessionSources() {
    start(TestGateway.echoWorkspace().put("channels", channels(
        TestChannel.account("default", "open", new JsonArray()).put("requireMention", false),
        TestChannel.account("default", "open", new JsonArray()))));
    JsonObject group = forum.send(forum.message().peer("group", "-3").sender("5", "e").runId("g-1").text("hi [in:O1]").build());
    forum.awaitText("-3", "[in:O1]");
    // a later message reopens the session: the source stays the one it was opened with
    forum.send(forum.message().peer("group", "-3").sender("6", "f").runId("g-2").text("more [in:O2]").build());
    forum.awaitText("-3", "[in:O2]");
    assertThat(source(group.getString("sessionId"))).isEqualTo(new JsonObject().put("kind", "channel")
        .put("interactive", true).put("platform", "forum").put("triggerId", "g-1").put("type", "group"));

    JsonObject cliParams = ProtocolClient.connectParams(TestGateway.TOKEN,
        ProtocolClient.ALL_SCOPES);
    cliParams.getJsonObject("client").put("mode", "cli");
    try (var cli = ProtocolClient.connect(vertx, gateway.port("w"), cliParams);
        var backend = gateway.client("w")) {
      JsonObject ack = cli.call("chat.send", new JsonObject().put("sessionKey", "agent:main:forum:group:ops")
          .put("message", "from the cli").put("idempotencyKey", "cli-run-1"));
      cli.awaitChatEnd(ack.getString("runId"));
      assertThat(backend.chat("tools-1", "from a backend").getString("state")).isEqualTo("final");
      JsonObject created = cli.call("sessions.create", new JsonObject().put("key", "scratch"));
      assertThat(source(sessionOf("agent:main:forum:group:ops"))).isEqualTo(new JsonObject().put("kind", "cli")
          .put("interactive", true).put("platform", "webchat").put("type", "group").put("triggerId", "cli-run-1"));
      JsonObject api = source(sessionOf("agent:main:tools-1"));
      assertThat(api.getString("kind")).isEqualTo("api");
      assertThat(api.getString("type")).isEqualTo("direct");
      assertThat(api.getString("triggerId")).isNotBlank();
      assertThat(source(created.getString("sessionId"))).isEqualTo(new JsonObject().put("kind", "cli")
          .put("interactive", true).put("platform", "webchat").put("type", "direct"));
    }
  }

  @Test
  @DisplayName("a session opened by a message delivered into a group chat (mirroring) is a group session")
  void mirroredSessionSource() {
    start(TestGateway.echoWorkspace().put("channels", channels(TestChannel.account("default", "open", new JsonArray()),
        TestChannel.account("default", "open", new JsonArray()))));
    String key = "agent:main:forum:group:-8";
    vertx.eventBus().publish("ws.w." + DeliveryAddresses.DELIVERED, new JsonObject()
        .put("obligationId", "o-1").put("runId", "cron-1").put("channel", "forum").put("accountId", "default")
        .put("target", new ReplyTarget("forum", "default", "group", "-8", null, null).toJson())
        .put("text", "deploy done").put("mirrorSessionKey", key));
    // recorded a moment after the publish: wait for the mirrored note
    TestDatabases.awaitValue(db, db.workspaceSchema("w"), "SELECT COUNT(*) FROM session_events WHERE type = 'assistant_note'",
        1L);
    assertThat(source(sessionOf(key))).isEqualTo(new JsonObject().put("kind", "channel").put("interactive", true)
        .put("platform", "forum").put("triggerId", "cron-1").put("type", "group"));
  }

  String sessionOf(String key) {
    return (String) TestDatabases.scalar(db, db.workspaceSchema("w"),
        "SELECT session_id FROM session_heads WHERE session_key = '" + key + "'");
  }

  @Test
  @DisplayName("in a group, /new, /reset and /stop work for the owner and for whoever addresses the agent; anyone else's is a plain message")
  void groupCommandsAreGated() {
    start(TestGateway.echoWorkspace().put("owners", new JsonArray().add("forum:1"))
        .put("channels", channels(TestChannel.account("default", "open", new JsonArray()).put("requireMention", false),
            TestChannel.account("default", "open", new JsonArray()))));
    JsonObject first = forum.send(forum.message().peer("group", "-4").sender("2", "bob").text("hello [in:C1]").build());
    forum.awaitText("-4", "[in:C1]");
    String sessionId = first.getString("sessionId");
    // unaddressed commands of a member: stored as context, no turn, nothing reset or stopped
    for (String command : List.of("/new", "/reset", "/stop")) {
      JsonObject r = forum.send(forum.message().peer("group", "-4").sender("2", "bob").text(command).build());
      assertThat(r.getString("status")).as(command).isEqualTo("stored");
      assertThat(r.getString("sessionId")).as(command).isEqualTo(sessionId);
    }
    forum.send(forum.message().peer("group", "-4").sender("2", "bob").text("barrier [in:C2]").build());
    forum.awaitText("-4", "[in:C2]");
    assertThat(forum.chat("-4")).hasSize(2);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message' AND payload LIKE '%\"triggered\":false%'"))
        .isEqualTo(3);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'agent_start'")).isEqualTo(2);

    // addressed by a member (mention, or /new@bot as the adapter reports it): the session rolls
    JsonObject addressed = forum.send(forum.message().peer("group", "-4").sender("2", "bob").mentioned(true)
        .text("/new").build());
    forum.awaitText("-4", "New session started.");
    assertThat(addressed.getString("sessionId")).isNotEqualTo(sessionId);
    // the owner needs no mention
    JsonObject owner = forum.send(forum.message().peer("group", "-4").sender("1", "owner").text("/reset").build());
    forum.await(s -> s.text().equals("New session started.") && s.runId().equals(owner.getString("runId")));
    assertThat(owner.getString("sessionId")).isNotEqualTo(addressed.getString("sessionId"));
    assertThat(count("SELECT COUNT(*) FROM sessions WHERE session_key = 'agent:main:forum:group:-4'")).isEqualTo(3);
  }

  @Test
  @DisplayName("with one allowed sender (and nobody else let in) the DM scope defaults to main")
  void defaultDmScopeOneSender() {
    start(TestGateway.echoWorkspace().put("channels", channels(
        TestChannel.account("default", "allowlist", new JsonArray().add("111")),
        TestChannel.account("default", "allowlist", new JsonArray()))));
    assertThat(forum.dm("111", "hi [in:D1]").getString("sessionKey")).isEqualTo("agent:main:main");
    forum.awaitText("111", "[in:D1]");
  }

  @Test
  @DisplayName("with several allowed senders the DM scope defaults to per-channel-peer: each person has their own session")
  void defaultDmScopeSeveralSenders() {
    start(TestGateway.echoWorkspace().put("channels", channels(
        TestChannel.account("default", "allowlist", new JsonArray().add("111").add("222")),
        TestChannel.account("default", "allowlist", new JsonArray().add("111")))));
    JsonObject ann = forum.dm("111", "hi [in:D1]");
    JsonObject bob = forum.dm("222", "hi [in:D2]");
    JsonObject annOnSlack = slack.dm("111", "hi [in:D3]");
    forum.awaitText("111", "[in:D1]");
    forum.awaitText("222", "[in:D2]");
    slack.awaitText("111", "[in:D3]");
    assertThat(ann.getString("sessionKey")).isEqualTo("agent:main:forum:direct:111");
    assertThat(bob.getString("sessionKey")).isEqualTo("agent:main:forum:direct:222");
    assertThat(annOnSlack.getString("sessionKey")).isEqualTo("agent:main:slack:direct:111");
    assertThat(count("SELECT COUNT(*) FROM sessions")).isEqualTo(3);
  }

  @ParameterizedTest(name = "dmScope {0} → {1}")
  @CsvSource({
      "main, agent:main:home",
      "per-peer, agent:main:direct:111",
      "per-channel-peer, agent:main:forum:direct:111",
      "per-account-channel-peer, agent:main:forum:default:direct:111"})
  @DisplayName("a DM lands on the key its dmScope names (with a custom mainKey)")
  void dmScopes(String scope, String key) {
    start(TestGateway.echoWorkspace().put("session", new JsonObject().put("dmScope", scope).put("mainKey", "home"))
        .put("channels", channels(TestChannel.account("default", "open", new JsonArray()),
            TestChannel.account("default", "open", new JsonArray()))));
    JsonObject first = forum.dm("111", "hi [in:K1]");
    JsonObject again = forum.dm("111", "again [in:K2]");
    forum.awaitText("111", "[in:K2]");
    assertThat(first.getString("sessionKey")).isEqualTo(key);
    assertThat(again.getString("sessionKey")).isEqualTo(key);
    assertThat(again.getString("sessionId")).isEqualTo(first.getString("sessionId"));
  }

  @Test
  @DisplayName("groups, rooms, Slack threads, Discord threads (a thread is its own chat under its parent) and topics have their own keys")
  void chatKeyShapes() {
    start(TestGateway.echoWorkspace().put("channels", channels(
        TestChannel.account("default", "open", new JsonArray()).put("requireMention", false),
        TestChannel.account("default", "open", new JsonArray()).put("requireMention", false))));
    JsonObject group = forum.send(forum.message().peer("group", "G1").sender("5", "e").text("group [in:S1]").build());
    JsonObject room = slack.send(slack.message().peer("channel", "C1").sender("5", "e").text("room [in:S2]").build());
    JsonObject slackThread = slack.send(slack.message().peer("channel", "C1").thread("1700.1").sender("5", "e")
        .text("slack thread [in:S3]").build());
    JsonObject discordThread = forum.send(forum.message().peer("channel", "T77").parentPeer("C9").sender("5", "e")
        .text("discord thread [in:S4]").build());
    JsonObject topic = forum.send(forum.message().peer("group", "G1").topic("7").sender("5", "e").text("topic [in:S5]").build());
    assertThat(group.getString("sessionKey")).isEqualTo("agent:main:forum:group:g1");
    assertThat(room.getString("sessionKey")).isEqualTo("agent:main:slack:channel:c1");
    assertThat(slackThread.getString("sessionKey")).isEqualTo("agent:main:slack:channel:c1:thread:1700.1");
    assertThat(discordThread.getString("sessionKey")).isEqualTo("agent:main:forum:channel:c9:thread:t77");
    assertThat(topic.getString("sessionKey")).isEqualTo("agent:main:forum:group:g1:topic:7");
    // every reply goes back to the chat and thread it came from
    assertThat(slack.awaitText("C1", "[in:S3]").threadId()).isEqualTo("1700.1");
    assertThat(forum.awaitText("T77", "[in:S4]").threadId()).isNull();
    assertThat(forum.awaitText("G1", "[in:S5]").threadId()).isEqualTo("7");
    assertThat(forum.awaitText("G1", "[in:S1]").threadId()).isNull();
    assertThat(slack.awaitText("C1", "[in:S2]").threadId()).isNull();
    assertThat(count("SELECT COUNT(DISTINCT session_key) FROM sessions")).isEqualTo(5);
  }

  @Test
  @DisplayName("R1: a reply goes back through the account the message came in on")
  void replyToSameAccount() {
    JsonObject forumChannel = new JsonObject().put("accounts", new JsonArray()
        .add(TestChannel.account("default", "open", new JsonArray()))
        .add(TestChannel.account("second", "open", new JsonArray())));
    start(TestGateway.echoWorkspace().put("channels", new JsonObject().put("forum", forumChannel)
        .put("slack", new JsonObject().put("accounts", new JsonArray().add(TestChannel.account("default", "open",
            new JsonArray()))))));
    try (TestChannel second = new TestChannel(vertx, db, "w", "forum", "second")) {
      second.dm("7", "via the second bot [in:A2]");
      second.awaitText("7", "[in:A2]");
      forum.dm("7", "via the first bot [in:A1]");
      forum.awaitText("7", "[in:A1]");
      assertThat(second.chat("7")).extracting(TestChannel.Shown::text).singleElement().asString().contains("[in:A2]");
      assertThat(forum.chat("7")).extracting(TestChannel.Shown::text).singleElement().asString().contains("[in:A1]");
    }
  }

  @Test
  @DisplayName("R4: in a group, an unmentioned message is stored without a turn; a mention gets one reply; the owner always triggers")
  void groupGating() {
    start(TestGateway.echoWorkspace().put("owners", new JsonArray().add("forum:1"))
        .put("channels", channels(TestChannel.account("default", "allowlist", new JsonArray()),
            TestChannel.account("default", "allowlist", new JsonArray()))));
    JsonObject quiet = forum.send(forum.message().peer("group", "-100").sender("2", "bob")
        .text("just chatting [in:G1]").build());
    assertThat(quiet.getString("status")).isEqualTo("stored");
    forum.send(forum.message().peer("group", "-100").sender("2", "bob").mentioned(true)
        .text("@bot what did I say? [in:G2]").build());
    forum.awaitText("-100", "[in:G2]");
    forum.send(forum.message().peer("group", "-100").sender("1", "owner").text("owner speaks [in:G3]").build());
    forum.awaitText("-100", "[in:G3]");
    // barrier reached: exactly two replies, none for the unmentioned message
    assertThat(forum.chat("-100")).extracting(TestChannel.Shown::text)
        .noneMatch(t -> t.contains("[in:G1]") && !t.contains("[in:G2]")).hasSize(2);
    // the owner's unaddressed message reached the model with the note that lets it stay quiet
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message' AND payload LIKE '%"
        + "Not addressed to you%[in:G3]%'")).isEqualTo(1);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message' AND payload LIKE '%[in:G1]%'"
        + " AND payload LIKE '%\"triggered\":false%'")).isEqualTo(1);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'agent_start'")).isEqualTo(2);
  }

  @Test
  @DisplayName("R5: per-member group sessions keep members apart; a thread or forum topic is its own session")
  void perMemberAndThreads() {
    start(TestGateway.echoWorkspace().put("session", new JsonObject().put("groupScope", "per-member"))
        .put("channels", channels(TestChannel.account("default", "open", new JsonArray()).put("requireMention", false),
            TestChannel.account("default", "open", new JsonArray()))));
    JsonObject a = forum.send(forum.message().peer("group", "-5").sender("10", "a").text("A's secret [in:M1]").build());
    JsonObject b = forum.send(forum.message().peer("group", "-5").sender("20", "b").text("B asks [in:M2]").build());
    JsonObject topic = forum.send(forum.message().peer("group", "-5").topic("7").sender("10", "a").text("in a topic [in:M3]").build());
    forum.awaitText("-5", "[in:M1]");
    forum.awaitText("-5", "[in:M2]");
    TestChannel.Shown inTopic = forum.awaitText("-5", "[in:M3]");
    assertThat(a.getString("sessionKey")).isEqualTo("agent:main:forum:group:-5:member:10");
    assertThat(b.getString("sessionKey")).isEqualTo("agent:main:forum:group:-5:member:20");
    assertThat(topic.getString("sessionKey")).isEqualTo("agent:main:forum:group:-5:topic:7:member:10");
    // the reply went back into the topic it came from
    assertThat(inTopic.threadId()).isEqualTo("7");
    // B's session holds none of A's text
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE session_id = '" + b.getString("sessionId")
        + "' AND payload LIKE '%A''s secret%'")).isZero();
  }

  @Test
  @DisplayName("reply context is appended to the message as a [Replying to …] block")
  void replyContext() {
    start(TestGateway.echoWorkspace().put("channels", channels(TestChannel.account("default", "open", new JsonArray()),
        TestChannel.account("default", "open", new JsonArray()))));
    forum.send(forum.message().peer("direct", "5").sender("5", "eve").text("yes please [in:Q1]")
        .replyTo("77", "Shall I book it?", "bot").build());
    TestChannel.Shown reply = forum.awaitText("5", "[in:Q1]");
    assertThat(reply.text()).contains("[Replying to bot (message 77)]\nShall I book it?\n[/Replying]");
  }

  /** alpha and beta answer through the scripted model (their calls can be held at a gate); main is echo. */
  JsonObject broadcastWorkspace(ScriptedModelServer model) {
    JsonArray agents = new JsonArray().add(agent("main").put("default", true));
    for (String id : List.of("alpha", "beta")) {
      agents.add(new JsonObject().put("id", id).put("model", new JsonObject().put("provider", "openai")
          .put("model", "gpt-test").put("baseUrl", model.baseUrl()).put("apiKey", "sk-" + id)));
    }
    return new JsonObject().put("port", 0).put("agents", agents)
        .put("broadcast", new JsonArray()
            .add(new JsonObject().put("channel", "forum").put("peer", new JsonObject().put("kind", "group").put("id", "-1"))
                .put("agents", new JsonArray().add("alpha").add("beta")).put("mode", "parallel"))
            .add(new JsonObject().put("channel", "forum").put("peer", new JsonObject().put("kind", "group").put("id", "-2"))
                .put("agents", new JsonArray().add("alpha").add("beta")).put("mode", "sequential")))
        .put("channels", channels(TestChannel.account("default", "open", new JsonArray()).put("requireMention", false),
            TestChannel.account("default", "open", new JsonArray())));
  }

  @Test
  @DisplayName("R7 parallel: both agents' turns run at once, each answers once, each in its own session")
  void broadcastParallel() {
    try (ScriptedOpenAiServer model = new ScriptedOpenAiServer(vertx).start()) {
      start(broadcastWorkspace(model));
      Promise<Void> first = ScriptedModelServer.gate();
      Promise<Void> second = ScriptedModelServer.gate();
      (model).enqueue(new ScriptedModelServer.Gate(first.future()),
          new ScriptedModelServer.Gate(second.future()));
      forum.send(forum.message().peer("group", "-1").sender("9", "x").runId("par").text("both of you [in:B1]").build());
      // both model calls are in flight while neither has been answered: the turns overlap
      var calls = (model).awaitRequests(2, Duration.ofSeconds(20));
      assertThat(calls).extracting(ScriptedModelServer.Recorded::apiKey)
          .containsExactlyInAnyOrder("sk-alpha", "sk-beta");
      first.complete();
      second.complete();
      forum.await(s -> s.runId().equals("par#alpha"));
      forum.await(s -> s.runId().equals("par#beta"));
      forum.dm("z", "barrier [in:B9]");
      forum.awaitText("z", "[in:B9]");
      assertThat(forum.chat("-1")).hasSize(2);
      assertThat((model).requests()).hasSize(2);
      assertThat(count("SELECT COUNT(DISTINCT session_id) FROM session_events WHERE run_id LIKE 'par#%'")).isEqualTo(2);
      assertThat(count("SELECT COUNT(*) FROM inbound WHERE status = 'done' AND run_id = 'par'")).isEqualTo(1);
    }
  }

  @Test
  @DisplayName("R7 sequential: the second agent's turn starts only after the first one's ended; each answers once")
  void broadcastSequential() throws Exception {
    try (ScriptedOpenAiServer model = new ScriptedOpenAiServer(vertx).start()) {
      start(broadcastWorkspace(model));
      Promise<Void> gate = ScriptedModelServer.gate();
      model.enqueue(new ScriptedModelServer.Gate(gate.future()));
      forum.send(forum.message().peer("group", "-2").sender("9", "x").runId("seq").text("in turn [in:B2]").build());
      assertThat(model.awaitRequests(1, Duration.ofSeconds(20)).get(0).apiKey()).isEqualTo("sk-alpha");
      // a later message is answered meanwhile, and beta has still not been asked
      forum.dm("z", "barrier [in:B8]");
      forum.awaitText("z", "[in:B8]");
      assertThat(model.requests()).hasSize(1);
      gate.complete();
      forum.await(s -> s.runId().equals("seq#beta"));
      assertThat(forum.chat("-2")).extracting(TestChannel.Shown::runId).containsExactly("seq#alpha", "seq#beta");
      assertThat(model.requests()).extracting(ScriptedModelServer.Recorded::apiKey)
          .containsExactly("sk-alpha", "sk-beta");
      JsonObject first = wait("seq#alpha");
      JsonObject second = wait("seq#beta");
      assertThat(second.getLong("startedAt")).isGreaterThanOrEqualTo(first.getLong("endedAt"));
    }
  }

  JsonObject wait(String runId) throws Exception {
    return vertx.eventBus().<JsonObject>request("ws.w." + LaneAddresses.WAIT,
        new JsonObject().put("runId", runId).put("timeoutMs", 10_000)).map(Message::body).await(20, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("the same inbound message delivered twice is one stored message, one turn, one reply")
  void replayedUpdate() {
    start(TestGateway.echoWorkspace().put("channels", channels(TestChannel.account("default", "open", new JsonArray()),
        TestChannel.account("default", "open", new JsonArray()))));
    var in = forum.message().peer("direct", "6").sender("6", "f").text("once [in:U1]").build();
    forum.send(in);
    JsonObject again = forum.send(in);
    assertThat(again.getBoolean("duplicate")).isTrue();
    forum.awaitText("6", "[in:U1]");
    forum.dm("6", "barrier [in:U2]");
    forum.awaitText("6", "[in:U2]");
    assertThat(forum.chat("6")).extracting(TestChannel.Shown::text).filteredOn(t -> t.contains("[in:U1]")).hasSize(1);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message'")).isEqualTo(2);
    assertThat(List.of(again.getString("status"))).containsAnyOf("ok", "in_flight");
  }
}
