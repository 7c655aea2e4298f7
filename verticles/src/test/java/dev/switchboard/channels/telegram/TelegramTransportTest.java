package dev.switchboard.channels.telegram;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.channels.telegram.TelegramFixture.Mode;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.lanes.LaneVerticle;
import dev.switchboard.support.LogCapture;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.ScriptedModelServer;
import dev.switchboard.support.ScriptedOpenAiServer;
import dev.switchboard.support.TelegramStandIn;
import dev.switchboard.support.TelegramStandIn.Bot;
import dev.switchboard.support.TelegramStandIn.Fault;
import dev.switchboard.support.TelegramStandIn.Incoming;
import dev.switchboard.support.TelegramStandIn.Shown;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transports across restarts and competition: offsets that survive a restart, 409 conflicts,
 * one consumer per bot in a process, the command menu sent only when it changed, webhooks set and
 * removed from config, a token Telegram refuses.
 */
@Timeout(120)
class TelegramTransportTest {
  Vertx vertx;
  TelegramStandIn api;
  DatabaseConfig db;
  @TempDir
  Path root;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    api = new TelegramStandIn(vertx);
    db = TestDatabases.h2();
  }

  @AfterEach
  void stop() throws Exception {
    api.close();
    TestDatabases.dropSchemas(db);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  JsonObject workspace(Bot bot, Mode mode, int port) {
    return TelegramFixture.workspace(port, new JsonArray().add(TelegramFixture.account(mode, "main", bot, api, port)
        .put("dmPolicy", "open")));
  }

  TelegramFixture fixture(JsonObject ws) {
    return new TelegramFixture(vertx, api, Mode.POLLING, root, db, "w", ws);
  }

  static long updateId(JsonObject update) {
    return update.getLong("update_id");
  }

  @Test
  @DisplayName("a restart mid-poll neither loses nor replays an update")
  void restartMidPoll() {
    Bot bot = api.bot("7301:AArestart", 7301, "restart_bot");
    TelegramFixture f = fixture(workspace(bot, Mode.POLLING, 0));
    JsonObject u1 = f.talk("main", bot, Incoming.dm(701, "Pat", "hello [in:RS1]"));
    // the poller moved past u1 and waits in its next long poll
    bot.awaitCall("getUpdates", c -> c.params().getLong("offset", 0L) == updateId(u1) + 1);
    f.gateway.stop();
    JsonObject u2 = bot.receive(Incoming.dm(701, "Pat", "while you were away [in:RS2]"));
    int before = bot.calls("getUpdates").size();
    f.gateway.start();
    f.awaitDelivered(f.runOf("main", u2));
    TelegramStandIn.Call firstAfter = bot.calls("getUpdates").get(before);
    assertThat(firstAfter.params().getLong("offset")).isEqualTo(updateId(u1) + 1);
    assertThat(bot.botMessages(701)).extracting(Shown::text)
        .containsExactly("echo: hello [in:RS1]", "echo: while you were away [in:RS2]");
    f.close();
  }

  @Test
  @DisplayName("D3 by long polling: the offset is lost after an update was stored, Telegram hands it out again: one stored message, one turn, one reply")
  void replayAfterLostOffset() {
    Bot bot = api.bot("7306:AAreplay", 7306, "replay_bot");
    TelegramFixture f = fixture(workspace(bot, Mode.POLLING, 0));
    JsonObject u0 = f.talk("main", bot, Incoming.dm(705, "Uma", "first [in:LO0]"));
    bot.awaitCall("getUpdates", c -> c.params().getLong("offset", 0L) == updateId(u0) + 1);
    // the poll that would confirm the next update to Telegram never arrives there: it stays pending
    bot.inject(c -> c.method().equals("getUpdates") && c.params().getLong("offset", 0L) > updateId(u0) + 1,
        Fault.timeoutBefore());
    JsonObject u1 = bot.receive(Incoming.dm(705, "Uma", "only once [in:LO1]"));
    String run = f.runOf("main", u1);
    f.awaitDelivered(run);
    bot.awaitCall("getUpdates", c -> c.params().getLong("offset", 0L) == updateId(u1) + 1);
    f.gateway.stop();
    // a crash between storing u1 and saving its offset leaves the offset where it was
    setOffset(f, updateId(u1));
    assertThat(bot.pending()).isEqualTo(1);
    int before = bot.calls("getUpdates").size();
    f.gateway.start();
    String barrier = f.runOf("main", bot.receive(Incoming.dm(705, "Uma", "barrier [in:LO2]")));
    f.awaitDelivered(barrier);
    assertThat(bot.calls("getUpdates").get(before).params().getLong("offset")).isEqualTo(updateId(u1));
    assertThat(bot.botMessages(705)).extracting(Shown::text)
        .containsExactly("echo: first [in:LO0]", "echo: only once [in:LO1]", "echo: barrier [in:LO2]");
    f.assertOneTurn(u1, "LO1");
    f.assertStoredAndRun(3);
    f.close();
  }

  @Test
  @DisplayName("D3 by webhook: Telegram retries an update after a gateway restart, also under a new update id: one stored message, one turn, one reply")
  void webhookRetryAfterRestart() {
    Bot bot = api.bot("7307:AAretry", 7307, "retry_bot");
    int port = TelegramFixture.freePort();
    TelegramFixture f = fixture(workspace(bot, Mode.WEBHOOK, port));
    api.await(() -> bot.webhookUrl() != null, () -> "no webhook set");
    JsonObject u1 = f.talk("main", bot, Incoming.dm(706, "Vic", "only once [in:WR1]"));
    f.gateway.stop();
    f.gateway.start();
    assertThat(bot.redeliver(u1)).isEqualTo(200);
    bot.repeat(u1);
    String barrier = f.runOf("main", bot.receive(Incoming.dm(706, "Vic", "barrier [in:WR2]")));
    f.awaitDelivered(barrier);
    assertThat(bot.botMessages(706)).extracting(Shown::text)
        .containsExactly("echo: only once [in:WR1]", "echo: barrier [in:WR2]");
    f.assertOneTurn(u1, "WR1");
    f.assertStoredAndRun(2);
    f.close();
  }

  @Test
  @DisplayName("stopped while a getUpdates answer carrying updates is on its way: after the restart each is answered once, none lost")
  void restartWithPollAnswerInFlight() {
    Bot bot = api.bot("7308:AAinflight", 7308, "inflight_bot");
    // every poll after the first carries an offset: the first of those loses its answer on the way
    bot.inject(c -> c.method().equals("getUpdates") && c.params().containsKey("offset"), Fault.timeoutAfter());
    TelegramFixture f = fixture(workspace(bot, Mode.POLLING, 0));
    JsonObject u0 = f.talk("main", bot, Incoming.dm(707, "Wes", "first [in:IF0]"));
    JsonObject u1 = bot.receive(Incoming.dm(707, "Wes", "one [in:IF1]"));
    JsonObject u2 = bot.receive(Incoming.dm(707, "Wes", "two [in:IF2]"));
    api.await(() -> !bot.lostAnswers().isEmpty() && bot.pending() == 2, () -> "no answer lost on its way");
    assertThat(bot.lostAnswers().get(0).getJsonObject(0).getLong("update_id")).isEqualTo(updateId(u1));
    f.gateway.stop();
    int before = bot.calls("getUpdates").size();
    f.gateway.start();
    f.awaitDelivered(f.runOf("main", u1));
    f.awaitDelivered(f.runOf("main", u2));
    f.talk("main", bot, Incoming.dm(707, "Wes", "barrier [in:IF3]"));
    assertThat(bot.calls("getUpdates").get(before).params().getLong("offset")).isEqualTo(updateId(u0) + 1);
    assertThat(bot.botMessages(707)).extracting(Shown::text).containsExactly("echo: first [in:IF0]", "echo: one [in:IF1]",
        "echo: two [in:IF2]", "echo: barrier [in:IF3]");
    f.assertStoredAndRun(4);
    f.close();
  }

  @Test
  @DisplayName("stopped with a batch of updates half handled: the stored one is not answered again, the other is answered once after the restart")
  void restartWithBatchHalfHandled() {
    Bot bot = api.bot("7309:AAhalf", 7309, "half_bot");
    TelegramFixture f = fixture(workspace(bot, Mode.POLLING, 0));
    JsonObject u0 = f.talk("main", bot, Incoming.dm(708, "Xia", "first [in:HH0]"));
    f.gateway.stop();
    // both wait for the next start, so one getUpdates answer carries both; the second cannot be stored
    JsonObject u1 = bot.receive(Incoming.dm(708, "Xia", "one [in:HH1]"));
    JsonObject u2 = bot.receive(Incoming.dm(708, "Xia", "two [in:HH2]"));
    addCheck(f, "no_hh2", "payload NOT LIKE '%[in:HH2]%'");
    f.gateway.start();
    f.awaitDelivered(f.runOf("main", u1));
    // the poller kept u1, and asks again from u2 on
    bot.awaitCall("getUpdates", c -> c.params().getLong("offset", 0L) == updateId(u1) + 1);
    f.gateway.stop();
    dropCheck(f, "no_hh2");
    int before = bot.calls("getUpdates").size();
    f.gateway.start();
    f.awaitDelivered(f.runOf("main", u2));
    f.talk("main", bot, Incoming.dm(708, "Xia", "barrier [in:HH3]"));
    assertThat(bot.calls("getUpdates").get(before).params().getLong("offset")).isEqualTo(updateId(u1) + 1);
    assertThat(bot.botMessages(708)).extracting(Shown::text).containsExactly("echo: first [in:HH0]", "echo: one [in:HH1]",
        "echo: two [in:HH2]", "echo: barrier [in:HH3]");
    f.assertStoredAndRun(4);
    f.close();
  }

  @Test
  @DisplayName("an update Telegram posts while the gateway is down is retried until it is back, then answered once")
  void webhookUpdateWhileDown() {
    Bot bot = api.bot("7310:AAdown", 7310, "down_bot");
    int port = TelegramFixture.freePort();
    TelegramFixture f = fixture(workspace(bot, Mode.WEBHOOK, port));
    api.await(() -> bot.webhookUrl() != null, () -> "no webhook set");
    f.talk("main", bot, Incoming.dm(709, "Yan", "first [in:WD0]"));
    f.gateway.stop();
    JsonObject u1 = bot.receive(Incoming.dm(709, "Yan", "while you were away [in:WD1]"));
    api.await(() -> bot.webhookAnswers().contains(0), () -> "Telegram never tried while the gateway was down");
    f.gateway.start();
    f.awaitDelivered(f.runOf("main", u1));
    f.talk("main", bot, Incoming.dm(709, "Yan", "barrier [in:WD2]"));
    assertThat(bot.botMessages(709)).extracting(Shown::text).containsExactly("echo: first [in:WD0]",
        "echo: while you were away [in:WD1]", "echo: barrier [in:WD2]");
    f.assertStoredAndRun(3);
    f.close();
  }

  @Test
  @DisplayName("a webhook update the store refuses is answered 503, so Telegram retries; once it is stored, it is answered once")
  void webhookStoreFailure() {
    Bot bot = api.bot("7311:AAstore", 7311, "store_bot");
    int port = TelegramFixture.freePort();
    TelegramFixture f = fixture(workspace(bot, Mode.WEBHOOK, port));
    api.await(() -> bot.webhookUrl() != null, () -> "no webhook set");
    addCheck(f, "no_sf1", "payload NOT LIKE '%[in:SF1]%'");
    JsonObject u1 = bot.receive(Incoming.dm(710, "Zoe", "store me [in:SF1]"));
    api.await(() -> bot.webhookAnswers().stream().filter(a -> a == 503).count() >= 2, () -> "no 503 for the update");
    assertThat(f.count("SELECT COUNT(*) FROM inbound")).isZero();
    dropCheck(f, "no_sf1");
    f.awaitDelivered(f.runOf("main", u1));
    f.talk("main", bot, Incoming.dm(710, "Zoe", "barrier [in:SF2]"));
    assertThat(bot.botMessages(710)).extracting(Shown::text).containsExactly("echo: store me [in:SF1]",
        "echo: barrier [in:SF2]");
    assertThat(bot.webhookAnswers()).containsOnly(503, 200).endsWith(200, 200);
    f.assertStoredAndRun(2);
    f.close();
  }

  @Test
  @DisplayName("a webhook is answered once its update is stored, not when routing takes it; a full queue's refusal is told once, never answered later")
  void webhookAnsweredOnceStored() throws Exception {
    Bot bot = api.bot("7312:AAqueue", 7312, "queue_bot");
    int port = TelegramFixture.freePort();
    ScriptedOpenAiServer model = new ScriptedOpenAiServer(vertx).start();
    JsonObject ws = workspace(bot, Mode.WEBHOOK, port)
        .put("agents", new JsonArray().add(new JsonObject().put("id", "main").put("default", true).put("model",
            new JsonObject().put("provider", "openai").put("model", "gpt-test").put("baseUrl", model.baseUrl())
                .put("apiKey", "sk-test"))))
        .put("limits", new JsonObject().put("maxQueuedPerSession", 1))
        .put("session", new JsonObject().put("queueMode", "followup"));
    TelegramFixture f = fixture(ws);
    api.await(() -> bot.webhookUrl() != null, () -> "no webhook set");
    Promise<Void> gate = ScriptedModelServer.gate();
    model.enqueue(new ScriptedModelServer.Gate(gate.future()));
    try {
      String first = f.runOf("main", bot.receive(Incoming.dm(711, "Ari", "first [in:Q1]")));
      model.awaitRequests(1, Duration.ofSeconds(30)); // its turn runs until the gate opens
      // routed in the order stored: the second waits in the queue, which is then full for the third
      String queued = f.runOf("main", bot.receive(Incoming.dm(711, "Ari", "queued [in:Q2]")));
      String refused = f.runOf("main", bot.receive(Incoming.dm(711, "Ari", "refused [in:Q3]")));
      // the refusal is decided, recorded and told while the first turn still runs; Telegram got 200s
      api.await(() -> bot.botMessages(711).size() == 1, () -> "no notice of the refusal");
      assertThat(bot.botMessages(711).get(0).text()).isEqualTo(LaneVerticle.QUEUE_FULL_NOTICE);
      assertThat(f.scalar("SELECT status FROM inbound WHERE run_id = '" + refused + "'")).isEqualTo("refused");
      assertThat(bot.webhookAnswers()).containsOnly(200);
      gate.complete();
      f.awaitDelivered(first);
      f.awaitDelivered(queued);
    } finally {
      model.close();
    }
    // the refused message is not answered behind the sender's back: they were asked to send it again
    assertThat(bot.botMessages(711)).extracting(Shown::text).containsExactly(
        LaneVerticle.QUEUE_FULL_NOTICE, "<<Q1>> ok <<end-Q1>>", "<<Q2>> ok <<end-Q2>>");
    assertThat(bot.webhookAnswers()).containsOnly(200);
    assertThat(f.count("SELECT COUNT(*) FROM session_events WHERE type = 'agent_start'")).isEqualTo(2);
    f.close();
  }

  /** Adds a check constraint to the inbound table: storing a message that breaks it fails. */
  private void addCheck(TelegramFixture f, String name, String condition) {
    execute(f, "ALTER TABLE inbound ADD CONSTRAINT " + name + " CHECK (" + condition + ")");
  }

  private void dropCheck(TelegramFixture f, String name) {
    execute(f, "ALTER TABLE inbound DROP CONSTRAINT " + name);
  }

  private void execute(TelegramFixture f, String sql) {
    TestDatabases.execute(db, f.schema(), sql);
  }

  /** Sets the persisted offset of account main, as a crash before the last one was saved leaves it. */
  private void setOffset(TelegramFixture f, long offset) {
    assertThat(TestDatabases.execute(db, f.schema(), "UPDATE channel_state SET state = '" + offset
        + "' WHERE name = 'offset'")).isEqualTo(1);
  }

  @Test
  @DisplayName("409 from another poller of the same bot: logged, reported in status, retried ever later (1 s, 2 s, 4 s ...), polling resumes when it stops")
  void conflict() {
    Bot bot = api.bot("7302:AAconflict", 7302, "conflict_bot");
    TelegramFixture f = fixture(workspace(bot, Mode.POLLING, 0));
    f.awaitStatus(vertx, "main", st -> "polling".equals(st.getString("state")));
    bot.awaitCall("getUpdates", c -> true);
    int before = bot.calls("getUpdates").size();
    // another process polls the same token, again and again
    AtomicBoolean rogue = new AtomicBoolean(true);
    WebClient web = WebClient.create(vertx);
    Runnable[] poll = new Runnable[1];
    poll[0] = () -> web.postAbs(api.url() + "/bot" + bot.token + "/getUpdates")
        .sendJsonObject(new JsonObject().put("timeout", 1)).onComplete(ar -> {
          if (rogue.get()) {
            poll[0].run();
          }
        });
    vertx.runOnContext(v -> poll[0].run());
    JsonObject seen = f.awaitStatus(vertx, "main", st -> "conflict".equals(st.getString("state")));
    assertThat(seen.getString("detail")).contains("Conflict: terminated by other getUpdates request");
    // operators see it in the gateway's status view
    try (ProtocolClient c = f.gateway.client(f.workspace)) {
      JsonObject status = c.call("status", new JsonObject());
      JsonArray channels = status.getJsonArray("channels");
      assertThat(channels).hasSize(1);
      assertThat(channels.getJsonObject(0).getString("channel")).isEqualTo("telegram");
      assertThat(channels.getJsonObject(0).getString("state")).isEqualTo("conflict");
      // the TUI prints channelSummary's strings as they are
      assertThat(status.getJsonArray("channelSummary")).hasSize(1);
      assertThat(status.getJsonArray("channelSummary").getString(0))
          .startsWith("telegram/main").contains(": conflict - Conflict: terminated by other getUpdates request");
    }
    // the gateway's polls (they name allowed_updates; the rogue's do not) come ever further apart:
    // each one ends the rogue's poll, whose next ends it at once
    java.util.function.Predicate<TelegramStandIn.Call> ours = c -> c.params().containsKey("allowed_updates");
    api.await(() -> bot.calls("getUpdates").stream().skip(before).filter(ours).count() >= 3,
        () -> "the gateway did not try three times");
    List<TelegramStandIn.Call> calls = bot.calls("getUpdates").subList(before, bot.calls("getUpdates").size());
    long rogueStart = calls.stream().filter(ours.negate()).findFirst().orElseThrow().at();
    List<Long> tries = calls.stream().filter(ours).map(TelegramStandIn.Call::at).limit(3).toList();
    assertThat(tries.get(0) - rogueStart).isGreaterThanOrEqualTo(1_000);
    assertThat(tries.get(1) - tries.get(0)).isGreaterThanOrEqualTo(2_000);
    assertThat(tries.get(2) - tries.get(1)).isGreaterThanOrEqualTo(4_000);
    rogue.set(false);
    // the next poll holds, and a message ends it at once
    f.talk("main", bot, Incoming.dm(702, "Quin", "still there? [in:C409]"));
    assertThat(bot.botMessages(702)).hasSize(1);
    f.awaitStatus(vertx, "main", st -> "polling".equals(st.getString("state")));
    web.close();
    f.close();
  }

  @Test
  @DisplayName("two workspaces with the same bot: one receives its updates, the other reports the conflict and takes over when the first stops")
  void oneConsumerPerBot() throws Exception {
    Bot bot = api.bot("7303:AAshared", 7303, "shared_bot");
    TestGateway gw = TestGateway.in(vertx, root, db).workspace("a", workspace(bot, Mode.POLLING, 0))
        .workspace("b", workspace(bot, Mode.POLLING, 0)).start();
    try {
      TelegramFixture a = new TelegramFixture(gw, api, db, "a", Mode.POLLING);
      TelegramFixture b = new TelegramFixture(gw, api, db, "b", Mode.POLLING);
      // the first to start serves the bot; the other never polls
      String[] states = new String[2];
      a.awaitStatus(vertx, "main", st -> !"starting".equals(st.getString("state")));
      b.awaitStatus(vertx, "main", st -> !"starting".equals(st.getString("state")));
      states[0] = a.status(vertx, "main").getString("state");
      states[1] = b.status(vertx, "main").getString("state");
      assertThat(List.of(states)).containsExactlyInAnyOrder("polling", "conflict");
      JsonObject conflicted = states[0].equals("conflict") ? a.status(vertx, "main") : b.status(vertx, "main");
      assertThat(conflicted.getString("detail")).contains("already served by");
      JsonObject u = bot.receive(Incoming.dm(703, "Rae", "who answers? [in:ONE]"));
      bot.awaitText(703, "[in:ONE]");
      TelegramFixture serving = states[0].equals("polling") ? a : b;
      TelegramFixture waiting = serving == a ? b : a;
      serving.awaitDelivered(serving.runOf("main", u));
      assertThat(bot.botMessages(703)).hasSize(1);
      // the serving workspace confirmed the update to Telegram, then stops: the other one claims the
      // bot and polls from its own offset
      bot.awaitCall("getUpdates", c -> c.params().getLong("offset", 0L) == updateId(u) + 1);
      gw.gateway().workspaces().stream().filter(d -> d.config().id().equals(serving.workspace)).findFirst().orElseThrow()
          .undeploy().await(30, TimeUnit.SECONDS);
      waiting.awaitStatus(vertx, "main", st -> "polling".equals(st.getString("state")));
      JsonObject later = bot.receive(Incoming.dm(703, "Rae", "and now? [in:TWO]"));
      waiting.awaitDelivered(waiting.runOf("main", later));
      assertThat(bot.botMessages(703)).extracting(Shown::text).containsExactly("echo: who answers? [in:ONE]",
          "echo: and now? [in:TWO]");
    } finally {
      gw.close();
    }
  }

  @Test
  @DisplayName("the command menu is sent at the first start and again only when it changed")
  void commandsOnlyWhenChanged() {
    Bot bot = api.bot("7304:AAcommands", 7304, "commands_bot");
    JsonObject ws = workspace(bot, Mode.POLLING, 0);
    TelegramFixture f = fixture(ws);
    bot.awaitCall("getUpdates", c -> true); // the menu is settled before polling starts
    assertThat(bot.calls("setMyCommands")).hasSize(1);
    assertThat(bot.calls("setMyCommands").get(0).params().getJsonArray("commands")).isEqualTo(TelegramAccount.defaultCommands());
    f.gateway.stop();
    int polls = bot.calls("getUpdates").size();
    f.gateway.start();
    bot.awaitCall("getUpdates", c -> bot.calls("getUpdates").indexOf(c) >= polls);
    assertThat(bot.calls("setMyCommands")).hasSize(1);
    f.gateway.stop();
    JsonArray changed = new JsonArray().add(new JsonObject().put("command", "new").put("description", "Fresh start"));
    ws.getJsonObject("channels").getJsonObject("telegram").getJsonArray("accounts").getJsonObject(0).put("commands", changed);
    f.gateway.workspace("w", ws);
    f.gateway.start();
    bot.awaitCall("setMyCommands", c -> c.params().getJsonArray("commands").equals(changed));
    assertThat(bot.calls("setMyCommands")).hasSize(2);
    f.close();
  }

  @Test
  @DisplayName("webhook mode sets the webhook; switching the account to polling deletes it and polls")
  void webhookThenPolling() {
    Bot bot = api.bot("7305:AAswitch", 7305, "switch_bot");
    int port = TelegramFixture.freePort();
    JsonObject ws = workspace(bot, Mode.WEBHOOK, port);
    TelegramFixture f = fixture(ws);
    api.await(() -> bot.webhookUrl() != null, () -> "no webhook set");
    assertThat(bot.webhookUrl()).isEqualTo("http://127.0.0.1:" + port + "/channels/telegram/main/webhook");
    assertThat(bot.calls("setWebhook").get(0).params().getString("secret_token")).isEqualTo("hook-secret-main");
    f.talk("main", bot, Incoming.dm(704, "Sam", "by webhook [in:W1]"));
    f.gateway.stop();
    f.gateway.workspace("w", workspace(bot, Mode.POLLING, 0));
    f.gateway.start();
    f.talk("main", bot, Incoming.dm(704, "Sam", "by polling [in:W2]"));
    assertThat(bot.webhookUrl()).isNull();
    assertThat(bot.calls("deleteWebhook")).isNotEmpty();
    assertThat(bot.botMessages(704)).extracting(Shown::text)
        .containsExactly("echo: by webhook [in:W1]", "echo: by polling [in:W2]");
    f.close();
  }

  @Test
  @DisplayName("a webhook someone else set is left alone by polling: a conflict until they remove it, at start and when set mid-run")
  void foreignWebhookLeftAlone() {
    Bot bot = api.bot("7313:AAforeign", 7313, "foreign_bot");
    String theirs = "http://127.0.0.1:1/their/hook";
    telegram(bot, "setWebhook", new JsonObject().put("url", theirs));
    TelegramFixture f = fixture(workspace(bot, Mode.POLLING, 0));
    JsonObject st = f.awaitStatus(vertx, "main", s -> "conflict".equals(s.getString("state")));
    assertThat(st.getString("detail")).contains("a webhook someone else set is active");
    // looked at again (with the backoff) and still left alone
    bot.awaitCall("getWebhookInfo", c -> bot.calls("getWebhookInfo").size() >= 2);
    assertThat(bot.webhookUrl()).isEqualTo(theirs);
    assertThat(bot.calls("deleteWebhook")).isEmpty();
    assertThat(bot.calls("getUpdates")).isEmpty();
    // they remove it: polling starts
    telegram(bot, "deleteWebhook", new JsonObject());
    f.talk("main", bot, Incoming.dm(712, "Bea", "now [in:FW1]"));
    // they set it again while the gateway polls: Telegram ends the poll (409), the webhook stays
    telegram(bot, "setWebhook", new JsonObject().put("url", theirs));
    int checks = bot.calls("getWebhookInfo").size();
    f.awaitStatus(vertx, "main", s -> "conflict".equals(s.getString("state")));
    bot.awaitCall("getWebhookInfo", c -> bot.calls("getWebhookInfo").size() > checks);
    assertThat(bot.webhookUrl()).isEqualTo(theirs);
    assertThat(bot.calls("deleteWebhook")).hasSize(1); // theirs
    telegram(bot, "deleteWebhook", new JsonObject());
    f.talk("main", bot, Incoming.dm(712, "Bea", "again [in:FW2]"));
    assertThat(bot.botMessages(712)).extracting(Shown::text).containsExactly("echo: now [in:FW1]", "echo: again [in:FW2]");
    f.close();
  }

  @Test
  @DisplayName("with mode: polling written out, a webhook someone else set is deleted and the bot polled")
  void explicitPollingDeletesForeignWebhook() {
    Bot bot = api.bot("7314:AAforce", 7314, "force_bot");
    telegram(bot, "setWebhook", new JsonObject().put("url", "http://127.0.0.1:1/their/hook"));
    JsonObject ws = workspace(bot, Mode.POLLING, 0);
    ws.getJsonObject("channels").getJsonObject("telegram").getJsonArray("accounts").getJsonObject(0).put("mode", "polling");
    TelegramFixture f = fixture(ws);
    f.talk("main", bot, Incoming.dm(713, "Cal", "mine now [in:XP1]"));
    assertThat(bot.webhookUrl()).isNull();
    assertThat(bot.calls("deleteWebhook")).hasSize(1);
    assertThat(bot.botMessages(713)).extracting(Shown::text).containsExactly("echo: mine now [in:XP1]");
    f.close();
  }

  /** Calls the Bot API as another program using the same bot would. */
  private void telegram(Bot bot, String method, JsonObject params) {
    WebClient web = WebClient.create(vertx);
    try {
      JsonObject answer = web.postAbs(api.url() + "/bot" + bot.token + "/" + method).sendJsonObject(params)
          .await(10, TimeUnit.SECONDS).bodyAsJsonObject();
      assertThat(answer.getBoolean("ok")).as(answer.encode()).isTrue();
    } catch (Exception e) {
      throw new AssertionError(e);
    } finally {
      web.close();
    }
  }

  @Test
  @DisplayName("a token Telegram refuses stops the workspace with the key path; the token never appears")
  void refusedToken() {
    JsonObject ws = TelegramFixture.workspace(0, new JsonArray().add(new JsonObject().put("id", "main")
        .put("botToken", "9999:AAnot-a-known-bot").put("apiBaseUrl", api.url())));
    LogCapture logs = LogCapture.start();
    try (TestGateway gw = TestGateway.in(vertx, root, db).workspace("ok", TestGateway.echoWorkspace())
        .workspace("bad", ws).start()) {
      List<String> problems = gw.gateway().failed().get(0).problems().stream().map(Object::toString).toList();
      assertThat(problems).anyMatch(p -> p.endsWith("channels.telegram.accounts[0].botToken: Telegram refused this token"
          + " (Unauthorized)"));
      assertThat(String.join("\n", problems)).doesNotContain("AAnot-a-known-bot");
      assertThat(gw.port("ok")).isPositive();
    } finally {
      logs.close();
    }
    TelegramChannelTest.assertNeverLogged(logs, "Telegram refused this token", "9999:AAnot-a-known-bot");
  }
}
