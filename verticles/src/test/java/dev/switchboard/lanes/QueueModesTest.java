package dev.switchboard.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.delivery.ChannelOutlet;
import dev.switchboard.delivery.ReplyTarget;
import dev.switchboard.store.Database;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.store.Session;
import dev.switchboard.store.SessionStore;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.ScriptedModelServer;
import dev.switchboard.support.ScriptedOpenAiServer;
import dev.switchboard.support.TestChannel;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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

/**
 * Lanes through the real gateway with the scripted model. A turn is held at the model with a gate
 * while the next messages arrive; the lane's status says they wait before the gate opens. Negative
 * claims are settled by a later barrier message, never by sleeping.
 */
@Timeout(120)
class QueueModesTest {
  static final Duration WAIT = Duration.ofSeconds(20);
  static Vertx vertx;
  @TempDir
  Path root;
  ScriptedOpenAiServer model;
  DatabaseConfig db;
  TestGateway gateway;
  TestChannel chat;
  JsonObject workspace;

  @BeforeAll
  static void vertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void closeVertx() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void model() {
    model = new ScriptedOpenAiServer(vertx).start();
  }

  @AfterEach
  void tearDown() {
    if (chat != null) {
      chat.close();
    }
    if (gateway != null) {
      gateway.close();
    }
    model.close();
    TestDatabases.dropSchemas(db);
  }

  void start(JsonObject session, JsonObject limits) {
    start(session, limits, new JsonObject());
  }

  void start(JsonObject session, JsonObject limits, JsonObject extra) {
    workspace = new JsonObject().put("port", 0)
        .put("agents", new JsonArray().add(new JsonObject().put("id", "main").put("model", new JsonObject()
            .put("provider", "openai").put("model", "gpt-test").put("baseUrl", model.baseUrl())
            .put("apiKey", "sk-test-0000"))))
        .put("session", session).put("limits", limits)
        .put("channels", new JsonObject().put("test", new JsonObject().put("accounts", new JsonArray()
            .add(TestChannel.account("default", "open", new JsonArray())))))
        .mergeIn(extra);
    db = TestDatabases.h2();
    gateway = TestGateway.in(vertx, root, db).workspace("w", workspace).start();
    chat = new TestChannel(vertx, db, "w", "test", "default");
  }

  void start(String queueMode) {
    start(new JsonObject().put("queueMode", queueMode).put("collectDebounceMs", 300), new JsonObject());
  }

  /** The next model call waits until the returned gate is opened. */
  Promise<Void> holdNextCall() {
    Promise<Void> gate = ScriptedModelServer.gate();
    model.enqueue(new ScriptedModelServer.Gate(gate.future()));
    return gate;
  }

  long count(String sql) {
    return ((Number) TestDatabases.scalar(db, db.workspaceSchema("w"), sql)).longValue();
  }

  List<String> texts(String peer) {
    return chat.chat(peer).stream().map(TestChannel.Shown::text).toList();
  }

  long requestsWith(String token) {
    return model.requests().stream().filter(r -> r.conversation().lastUserTextValue().contains(token)).count();
  }

  /** The lane's own account of one session: what runs, what waits and why ({@link LaneAddresses#STATUS}). */
  static JsonObject lane(String sessionKey) {
    JsonArray lanes = status(sessionKey).getJsonArray("lanes");
    return lanes.isEmpty() ? new JsonObject() : lanes.getJsonObject(0);
  }

  static JsonObject status(String sessionKey) {
    try {
      return vertx.eventBus().<JsonObject>request("ws.w." + LaneAddresses.STATUS,
          new JsonObject().put("sessionKey", sessionKey)).map(Message::body).await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static List<String> queuedRuns(JsonObject lane) {
    return lane.getJsonArray("queued", new JsonArray()).stream().map(q -> ((JsonObject) q).getString("runId")).toList();
  }

  static String runningRun(JsonObject lane) {
    return lane.getJsonObject("running", new JsonObject()).getString("runId");
  }

  static String run(JsonObject routed) {
    return routed.getString("runId");
  }

  @Test
  @DisplayName("C4 followup: a message during a turn waits behind it, then gets its own reply, each once, in order")
  void followup() {
    start("followup");
    Promise<Void> gate = holdNextCall();
    JsonObject a = chat.dm("u", "A [in:F1]");
    model.awaitRequests(1, WAIT);
    JsonObject b = chat.dm("u", "B [in:F2]");
    JsonObject lane = lane(a.getString("sessionKey"));
    assertThat(runningRun(lane)).isEqualTo(run(a));
    assertThat(queuedRuns(lane)).containsExactly(run(b));
    assertThat(lane.getString("waitingReason")).isEqualTo("a turn is running in this session");
    gate.complete();
    chat.awaitText("u", "<<end-F2>>");
    assertThat(texts("u")).containsExactly("<<F1>> ok <<end-F1>>", "<<F2>> ok <<end-F2>>");
    assertThat(requestsWith("[in:F1]")).isEqualTo(1);
    assertThat(requestsWith("[in:F2]")).isEqualTo(1);
  }

  @Test
  @DisplayName("C4 collect: messages during a turn are merged into one follow-up turn")
  void collect() {
    start("collect");
    Promise<Void> gate = holdNextCall();
    JsonObject a = chat.dm("u", "A [in:C1]");
    model.awaitRequests(1, WAIT);
    JsonObject b = chat.dm("u", "B [in:C2]");
    JsonObject c = chat.dm("u", "C [in:C3]");
    assertThat(queuedRuns(lane(a.getString("sessionKey")))).containsExactly(run(b), run(c));
    gate.complete();
    TestChannel.Shown merged = chat.awaitText("u", "<<end-C3>>");
    assertThat(merged.text()).contains("<<C2>>").doesNotContain("C1");
    chat.dm("u", "barrier [in:C4]");
    chat.awaitText("u", "<<end-C4>>");
    assertThat(texts("u")).hasSize(3);
    assertThat(model.requests()).hasSize(3);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'agent_start'")).isEqualTo(3);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message'")).isEqualTo(4);
    assertThat(count("SELECT COUNT(*) FROM inbound WHERE status = 'done'")).isEqualTo(4);
  }

  @Test
  @DisplayName("C4 interrupt: the new message aborts the running turn, whose reply never appears")
  void interrupt() {
    start("interrupt");
    holdNextCall();
    chat.dm("u", "A [in:I1]");
    model.awaitRequests(1, WAIT);
    chat.dm("u", "B [in:I2]");
    chat.awaitText("u", "<<end-I2>>");
    chat.dm("u", "barrier [in:I3]");
    chat.awaitText("u", "<<end-I3>>");
    assertThat(texts("u")).containsExactly("<<I2>> ok <<end-I2>>", "<<I3>> ok <<end-I3>>");
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'agent_end' AND payload LIKE '%\"aborted\"%'"
        + " AND payload LIKE '%interrupt%'")).isEqualTo(1);
  }

  @Test
  @DisplayName("C4 interrupt: two interrupting messages in a row run in the order they came")
  void interruptsKeepArrivalOrder() throws Exception {
    start("interrupt");
    holdNextCall();
    JsonObject a = chat.dm("u", "A [in:J1]");
    model.awaitRequests(1, WAIT);
    JsonObject b;
    JsonObject c;
    // A cannot record its end while its session row is held: it is still winding down when B and C come
    try (AutoCloseable held = TestDatabases.lockRows(db, db.workspaceSchema("w"),
        "SELECT id FROM sessions WHERE id = '" + a.getString("sessionId") + "' FOR UPDATE")) {
      b = chat.dm("u", "B [in:J2]");
      c = chat.dm("u", "C [in:J3]");
      JsonObject lane = lane(a.getString("sessionKey"));
      assertThat(runningRun(lane)).isEqualTo(run(a));
      assertThat(queuedRuns(lane)).containsExactly(run(b), run(c));
    }
    chat.awaitText("u", "<<end-J3>>");
    assertThat(texts("u")).containsExactly("<<J2>> ok <<end-J2>>", "<<J3>> ok <<end-J3>>");
    long bStart = count("SELECT seq FROM session_events WHERE type = 'agent_start' AND run_id = '" + run(b) + "'");
    long cStart = count("SELECT seq FROM session_events WHERE type = 'agent_start' AND run_id = '" + run(c) + "'");
    assertThat(bStart).isLessThan(cStart);
  }

  @Test
  @DisplayName("C4 steer: a message during a turn's only model call is stored at once and runs next, never lost")
  void steer() {
    start("steer");
    Promise<Void> gate = holdNextCall();
    JsonObject a = chat.dm("u", "A [in:S1]");
    model.awaitRequests(1, WAIT);
    JsonObject b = chat.dm("u", "B [in:S2]");
    // B is stored before the running turn takes it, and waits for the turn's next model step
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message' AND run_id = '" + run(b) + "'"))
        .isEqualTo(1);
    assertThat(lane(a.getString("sessionKey")).getJsonObject("running").getInteger("steering")).isEqualTo(1);
    gate.complete();
    chat.awaitText("u", "<<end-S2>>");
    assertThat(texts("u")).containsExactly("<<S1>> ok <<end-S1>>", "<<S2>> ok <<end-S2>>");
    // B was stored while A ran: before A's reply in the log, and only once
    long bSeq = count("SELECT seq FROM session_events WHERE type = 'user_message' AND run_id = '" + run(b) + "'");
    long aFinal = count("SELECT seq FROM session_events WHERE type = 'text_final' AND run_id = '" + run(a) + "'");
    assertThat(bSeq).isLessThan(aFinal);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message' AND payload LIKE '%[in:S2]%'"))
        .isEqualTo(1);
  }

  @Test
  @DisplayName("a full queue drops the oldest waiting message when configured so")
  void dropOldest() {
    start(new JsonObject().put("queueDrop", "drop-oldest"), new JsonObject().put("maxQueuedPerSession", 1));
    Promise<Void> gate = holdNextCall();
    JsonObject a = chat.dm("u", "A [in:Q1]");
    model.awaitRequests(1, WAIT);
    chat.dm("u", "B [in:Q2]");
    JsonObject c = chat.dm("u", "C [in:Q3]");
    assertThat(queuedRuns(lane(a.getString("sessionKey")))).containsExactly(run(c));
    gate.complete();
    chat.awaitText("u", "<<end-Q3>>");
    assertThat(texts("u")).containsExactly("<<Q1>> ok <<end-Q1>>", "<<Q3>> ok <<end-Q3>>");
    assertThat(requestsWith("[in:Q2]")).isZero();
    assertThat(count("SELECT COUNT(*) FROM inbound WHERE status <> 'done'")).isZero();
  }

  @Test
  @DisplayName("a message a full queue refuses is finished and the sender told, once; a platform retry of it is routed again")
  void refusedThenRetried() {
    start(new JsonObject(), new JsonObject().put("maxQueuedPerSession", 1));
    Promise<Void> gate = holdNextCall();
    chat.dm("u", "A [in:R1]");
    model.awaitRequests(1, WAIT);
    chat.dm("u", "B [in:R2]");
    var c = chat.message().peer("direct", "u").sender("u", "u").text("C [in:R3]").build();
    // the channel hears a decided outcome, not a failure to retry
    JsonObject refusedC = chat.send(c);
    assertThat(refusedC.getString("status")).isEqualTo("refused");
    assertThat(refusedC.getString("reason")).contains("queue is full");
    var d = chat.message().peer("direct", "u").sender("u", "u").text("D [in:R4]").build();
    assertThat(chat.send(d).getString("status")).isEqualTo("refused");
    chat.awaitText("u", "did not take");
    assertThat(count("SELECT COUNT(*) FROM inbound WHERE status = 'refused'")).isEqualTo(2);
    gate.complete();
    chat.awaitText("u", "<<end-R2>>");
    // the platform sends C again: it is taken now
    assertThat(chat.send(c).getString("status")).isEqualTo("started");
    chat.awaitText("u", "<<end-R3>>");
    // one notice for the two refused messages, and D (never sent again) is not answered
    assertThat(texts("u")).containsExactly(LaneVerticle.QUEUE_FULL_NOTICE, "<<R1>> ok <<end-R1>>",
        "<<R2>> ok <<end-R2>>", "<<R3>> ok <<end-R3>>");
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE payload LIKE '%[in:R4]%'")).isZero();
    assertThat(count("SELECT COUNT(*) FROM inbound WHERE status = 'refused'")).isEqualTo(1);

    // a restart does not answer the refused message late
    chat.close();
    gateway.close();
    gateway = TestGateway.in(vertx, root, db).workspace("w", workspace).start();
    chat = new TestChannel(vertx, db, "w", "test", "default");
    chat.dm("u", "after the restart [in:R5]");
    chat.awaitText("u", "<<end-R5>>");
    assertThat(chat.chat("u")).hasSize(1);
    assertThat(requestsWith("[in:R4]")).isZero();
  }

  @Test
  @DisplayName("C5 /stop: confirmation shown, no further edit or final from the stopped turn, session idle, next message answered")
  void stopCommand() {
    start(new JsonObject(), new JsonObject());
    chat.close();
    // a channel that edits a preview while the reply streams
    chat = new TestChannel(vertx, db, "w", new ChannelOutlet.Profile("test", "default", 0, true, 0, "markdown", false),
        false);
    model.enqueue(new ScriptedModelServer.Stall("<<T1>> partial"));
    JsonObject a = chat.dm("u", "A [in:T1]");
    TestChannel.Shown preview = chat.await(s -> run(a).equals(s.runId()) && s.text().contains("partial"));
    chat.dm("u", "/stop");
    chat.awaitText("u", "Stopped.");
    JsonObject next = chat.dm("u", "next [in:T2]");
    chat.awaitText("u", "<<end-T2>>");
    // the preview can show the whole text before the turn has ended: its delivery marks the end
    TestDatabases.awaitDelivered(db, db.workspaceSchema("w"), run(next));
    // everything the stopped turn sent went out before the confirmation; nothing of it came after
    List<ChannelOutlet.Request> calls = chat.calls(r -> true);
    int confirmation = calls.indexOf(calls.stream().filter(r -> "Stopped.".equals(r.text())).findFirst().orElseThrow());
    assertThat(calls.subList(confirmation, calls.size())).noneMatch(r -> run(a).equals(r.runId()));
    assertThat(chat.shown(s -> run(a).equals(s.runId()))).containsExactly(preview);
    assertThat(preview.text()).isEqualTo("<<T1>> partial");
    assertThat(texts("u")).hasSize(3).contains("Stopped.");
    assertThat(count("SELECT COUNT(*) FROM sessions WHERE status = 'idle'")).isEqualTo(1);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'text_final' AND run_id = '" + run(a) + "'"))
        .isZero();
  }

  @Test
  @DisplayName("/stop over webchat ends the running run with chat aborted and answers with a final of its own")
  void stopOverWebchat() {
    start(new JsonObject(), new JsonObject());
    model.enqueue(new ScriptedModelServer.Stall("partial answer"));
    try (ProtocolClient c = gateway.client("w")) {
      String slow = UUID.randomUUID().toString();
      c.call("chat.send", new JsonObject().put("sessionKey", "main").put("message", "A").put("idempotencyKey", slow));
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
    model.enqueue(new ScriptedModelServer.Stall("<<D1>> never finished"));
    chat.dm("u", "A [in:D1]");
    chat.awaitText("u", "took too long");
    chat.dm("u", "next [in:D2]");
    chat.awaitText("u", "<<end-D2>>");
    assertThat(texts("u")).containsExactly(LaneVerticle.FAILURE_NOTICES.get("timeout"), "<<D2>> ok <<end-D2>>");
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'error' AND payload LIKE '%timeout%'")).isEqualTo(1);
  }

  @Test
  @DisplayName("C6 over webchat: the deadline ends the run with chat error of kind timeout")
  void deadlineOverWebchat() {
    start(new JsonObject(), new JsonObject().put("turnTimeoutMs", 1000));
    model.enqueue(new ScriptedModelServer.Stall("never finished"));
    try (ProtocolClient c = gateway.client("w")) {
      JsonObject end = c.chat("main", "A");
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
    chat.awaitText("u", "<<end-N1>>");
    JsonObject reset = chat.dm("u", "/new");
    chat.awaitText("u", "New session started.");
    assertThat(reset.getString("sessionKey")).isEqualTo(first.getString("sessionKey"));
    assertThat(reset.getString("sessionId")).isNotEqualTo(first.getString("sessionId"));
    JsonObject next = chat.dm("u", "fresh start [in:N2]");
    chat.awaitText("u", "<<end-N2>>");
    assertThat(next.getString("sessionId")).isEqualTo(reset.getString("sessionId"));
    chat.dm("u", "/reset and go on [in:N3]");
    chat.awaitText("u", "<<end-N3>>");

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
  void statusCommand() {
    start("followup");
    Promise<Void> gate = holdNextCall();
    chat.dm("u", "A [in:X1]");
    model.awaitRequests(1, WAIT);
    chat.dm("u", "B [in:X2]");
    chat.dm("u", "/status");
    TestChannel.Shown status = chat.await(s -> s.text().startsWith("Running a turn"));
    assertThat(status.text()).endsWith("1 message waits for it to end.");
    gate.complete();
    chat.awaitText("u", "<<end-X2>>");
    assertThat(texts("u")).hasSize(3).first().asString().startsWith("Running a turn");
  }

  @Test
  @DisplayName("the workspace cap holds a second session's turn back; status and REST /api/lanes say it waits and why")
  void interactiveCap() throws Exception {
    start(new JsonObject(), new JsonObject().put("maxConcurrentTurns", 1));
    Promise<Void> gate = holdNextCall();
    JsonObject x = chat.dm("x", "X [in:L1]");
    model.awaitRequests(1, WAIT);
    JsonObject y = chat.dm("y", "Y [in:L2]");
    JsonObject lane = lane(y.getString("sessionKey"));
    assertThat(lane.containsKey("running")).isFalse();
    assertThat(queuedRuns(lane)).containsExactly(run(y));
    assertThat(lane.getString("waitingReason")).isEqualTo("workspace limit of 1 concurrent turns reached");
    assertThat(status(null).getInteger("running")).isEqualTo(1);

    HttpResponse<String> rest = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
            "http://127.0.0.1:" + gateway.port("w") + "/api/lanes?sessionKey=" + y.getString("sessionKey")))
        .header("Authorization", "Bearer " + TestGateway.TOKEN).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(rest.statusCode()).isEqualTo(200);
    JsonObject viaRest = new JsonObject(rest.body()).getJsonArray("lanes").getJsonObject(0);
    assertThat(viaRest.getString("waitingReason")).isEqualTo("workspace limit of 1 concurrent turns reached");
    assertThat(queuedRuns(viaRest)).containsExactly(run(y));
    assertThat(runningRun(lane(x.getString("sessionKey")))).isEqualTo(run(x));

    gate.complete();
    chat.awaitText("y", "<<end-L2>>");
    assertThat(texts("x")).containsExactly("<<L1>> ok <<end-L1>>");
    // Y's model call came only after X's turn had ended
    assertThat(model.requests().get(1).conversation().lastUserTextValue()).contains("[in:L2]");
  }

  @Test
  @DisplayName("deleting a session with a turn running or waiting, or a group session, is refused; an idle direct one goes")
  void deleteRules() {
    start(new JsonObject(), new JsonObject().put("maxConcurrentTurns", 1));
    JsonObject group = chat.send(chat.message().peer("group", "-9").sender("g", "g").mentioned(true)
        .text("group [in:E0]").build());
    chat.awaitText("-9", "<<end-E0>>");
    Promise<Void> gate = holdNextCall();
    JsonObject running = chat.dm("x", "X [in:E1]");
    model.awaitRequests(2, WAIT);
    // waits for the workspace's only slot: queued, not running
    JsonObject queued = chat.dm("y", "Y [in:E2]");
    assertThat(queuedRuns(lane(queued.getString("sessionKey")))).containsExactly(run(queued));
    try (ProtocolClient c = gateway.client("w")) {
      for (JsonObject busy : List.of(running, queued)) {
        JsonObject refused = c.request("sessions.delete", new JsonObject().put("key", busy.getString("sessionKey")));
        assertThat(refused.getBoolean("ok")).isFalse();
        assertThat(refused.getJsonObject("error").getString("code")).isEqualTo("INVALID_REQUEST");
        assertThat(refused.getJsonObject("error").getString("message"))
            .isEqualTo("the session has a turn running or waiting; stop it first");
      }
      JsonObject kept = c.request("sessions.delete", new JsonObject().put("key", group.getString("sessionKey")));
      assertThat(kept.getBoolean("ok")).isFalse();
      assertThat(kept.getJsonObject("error").getString("message"))
          .isEqualTo("only a direct session that is not running can be deleted; group sessions are kept");
      gate.complete();
      chat.awaitText("y", "<<end-E2>>");
      assertThat(c.call("sessions.delete", new JsonObject().put("key", queued.getString("sessionKey")))
          .getBoolean("deleted")).isTrue();
      assertThat(count("SELECT COUNT(*) FROM sessions WHERE id = '" + queued.getString("sessionId") + "'")).isZero();
      assertThat(count("SELECT COUNT(*) FROM sessions WHERE id = '" + group.getString("sessionId") + "'")).isEqualTo(1);
    }
  }

  @Test
  @DisplayName("background turns have their own slots: they never delay a reply")
  void backgroundNeverDelaysReplies() throws Exception {
    start(new JsonObject(), new JsonObject().put("maxConcurrentTurns", 1).put("maxBackgroundTurns", 1));
    var pool = Database.pool(vertx, db, db.workspaceSchema("w"));
    Session bg = new SessionStore(pool).open("agent:main:cron:job", "main", new JsonObject().put("kind", "schedule"),
        new JsonObject()).await(10, TimeUnit.SECONDS);
    pool.close().await(10, TimeUnit.SECONDS);
    Promise<Void> gate = holdNextCall();
    for (String id : List.of("bg1", "bg2")) {
      TurnRequest t = new TurnRequest(id, null, bg.sessionKey(), bg.id(), "main", id + " [in:" + id + "]", null,
          new JsonObject(), new ReplyTarget("test", "default", "direct", "cron", null, null), "followup", true, true,
          null, 0, null, null, false, false);
      vertx.eventBus().request("ws.w." + LaneAddresses.ENQUEUE, t.toJson()).await(10, TimeUnit.SECONDS);
    }
    assertThat(model.awaitRequests(1, WAIT).get(0).conversation().lastUserTextValue()).contains("[in:bg1]");
    assertThat(lane(bg.sessionKey()).getString("waitingReason")).isEqualTo("a turn is running in this session");
    chat.dm("u", "urgent [in:B1]");
    chat.awaitText("u", "<<end-B1>>");
    // the reply came while the first background turn still ran and the second still waited
    assertThat(chat.chat("cron")).isEmpty();
    gate.complete();
    chat.awaitText("cron", "<<end-bg2>>");
    assertThat(texts("cron")).containsExactly("<<bg1>> ok <<end-bg1>>", "<<bg2>> ok <<end-bg2>>");
  }

  @Test
  @DisplayName("200 concurrent sessions each get their replies, in order, each once")
  void manySessions() {
    start(new JsonObject(), new JsonObject());
    List<String> users = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      users.add("user" + i);
    }
    // every session's two messages go out at once; each person's second follows their first, as a platform delivers them
    List<Future<JsonObject>> sent = new ArrayList<>();
    for (String u : users) {
      sent.add(chat.sendAsync(chat.message().peer("direct", u).sender(u, u).text("first [in:" + u + "-1]").build())
          .compose(x -> chat.sendAsync(chat.message().peer("direct", u).sender(u, u)
              .text("second [in:" + u + "-2]").build())));
    }
    try {
      Future.all(sent).await(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    for (String u : users) {
      chat.awaitText(u, "<<end-" + u + "-2>>");
    }
    for (String u : users) {
      assertThat(texts(u)).as(u).containsExactly("<<" + u + "-1>> ok <<end-" + u + "-1>>",
          "<<" + u + "-2>> ok <<end-" + u + "-2>>");
    }
    assertThat(model.requests()).hasSize(400);
  }
}
